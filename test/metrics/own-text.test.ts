// How old the watchdog's own families (config, scheduler, discovery, schedule lag, alerting) may be on
// /metrics: their text is kept for up to OWN_TEXT_MAX_AGE_MS between close scrapes (issue 21 §3), but
// a reload's result and discovery's report show at the very next scrape, with the rest brought up to date.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { DiscoveryStatus } from '../../src/discovery/state.js';
import { Engine } from '../../src/engine/engine.js';
import type { ProbeState } from '../../src/engine/result.js';
import { createMetrics, OWN_TEXT_MAX_AGE_MS, type ReloadStatus } from '../../src/metrics/registry.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { parseExposition } from '../../src/util/promText.js';

test('/metrics own families: counts may lag by at most OWN_TEXT_MAX_AGE_MS between close scrapes; a reload or a discovery report never does', async (t) => {
  const http = createHttpClient({ userAgent: 'own-text-test' });
  t.after(() => http.close());
  const engine = new Engine({ http, docker: createDockerClient({}), logger: pino({ level: 'silent' }), now: Date.now });
  let clock = 0;
  let reload: ReloadStatus = { ok: true, at: 1_000 };
  let discovery: DiscoveryStatus = { status: 'ok', message: '', endpoint: 'unix:///var/run/docker.sock', lastSuccess: 1_000, lastAttempt: 1_000, containers: 1, probes: [] };
  const registry = createMetrics({
    engine,
    version: 'test',
    stack: 's',
    reloadStatus: () => reload,
    discovery: { current: () => discovery },
    processMetrics: false,
    now: () => clock,
  });
  const scrape = async () => {
    const text = parseExposition(await registry.metrics());
    return {
      lagged: text.value('watchdog_schedule_lag_seconds_count', { stack: 's' }),
      reloadOk: text.value('watchdog_config_last_reload_successful', { stack: 's' }),
      discoveryUp: text.value('watchdog_discovery_up', { stack: 's' }),
    };
  };
  // The engine reports lateness per run; no probe is needed to move the histogram.
  const late = () => engine.emit('lag', {} as ProbeState, 30);

  assert.deepEqual(await scrape(), { lagged: 0, reloadOk: 1, discoveryUp: 1 });
  late();
  assert.deepEqual(await scrape(), { lagged: 0, reloadOk: 1, discoveryUp: 1 }, 'a count within OWN_TEXT_MAX_AGE_MS of the last write is held');
  clock += OWN_TEXT_MAX_AGE_MS - 1;
  assert.equal((await scrape()).lagged, 0, 'still held 1 ms before OWN_TEXT_MAX_AGE_MS');
  clock += 1;
  assert.equal((await scrape()).lagged, 1, 'shown once OWN_TEXT_MAX_AGE_MS passed');

  late();
  reload = { ...reload, ok: false, at: 2_000, error: 'probes.yaml: bad' };
  assert.deepEqual(await scrape(), { lagged: 2, reloadOk: 0, discoveryUp: 1 }, 'a refused reload shows at once, with the counts brought up to date');

  late();
  discovery = { ...discovery, status: 'stale', lastAttempt: 2_000 };
  assert.deepEqual(await scrape(), { lagged: 3, reloadOk: 0, discoveryUp: 0 }, "discovery's new report shows at once");
});
