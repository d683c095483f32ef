// /metrics as Prometheus reads it: promtool (a real Prometheus program) accepts the text, label values
// that need escaping are escaped, and the per-probe text that is kept between scrapes follows every
// change: a new result, a reload that changes a probe's spec, a reload that removes a probe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { parseExposition } from '../../src/util/promText.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { startTempoStandin } from '../support/tempo-standin.js';
import { jsonServer } from '../support/misbehaving.js';

/** `promtool check metrics` on the text: its exit code and what it said. */
async function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.stdin.end(text);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output };
}

test('/metrics text: promtool accepts it, awkward label values are escaped, and kept text follows every change', async (t) => {
  let n = 3;
  const target = await jsonServer(() => ({ status: 200, body: { n } }));
  const tempo = await startTempoStandin();
  // A service name with a quote and a backslash ends up in the trace-age gauge's labels.
  const service = 'odd "svc" \\ name';
  tempo.addTrace({ serviceName: service, startedAgoMs: 5_000, rootName: 'GET /' });
  const http = createHttpClient({ userAgent: 'exposition-test' });
  t.after(async () => {
    await http.close();
    await target.close();
    await tempo.stop();
  });
  const probes = (expect: string, withSearch = true) => ({
    probes: [
      { name: 'api', kind: 'http', url: `${target.url}/n`, assertions: [{ path: '$.n', expect }] },
      ...(withSearch ? [{ name: 'traces', kind: 'tempo_search', tempo: tempo.url, service }] : []),
    ],
  });
  const engine = new Engine({ http, docker: createDockerClient({}), logger: pino({ level: 'silent' }), now: Date.now });
  engine.load(parseConfig([{ file: 'm.yaml', text: JSON.stringify(probes('> 2')) }], {}));
  const registry = createMetrics({ engine, version: 'test', stack: 'shop-a', reloadStatus: () => ({ ok: true, at: Date.now() }), processMetrics: false });

  await engine.runOnce();
  const first = await registry.metrics();
  const check = await promtoolCheck(first);
  assert.equal(check.code, 0, `promtool check metrics:\n${check.output}`);
  assert.match(first, /^watchdog_tempo_newest_trace_age_seconds\{probe="traces",service="odd \\"svc\\" \\\\ name",stack="shop-a"\} \d/m);
  assert.match(first, /^watchdog_probe_value\{probe="api",kind="http",stack="shop-a"\} 200$/m);
  assert.match(first, /^watchdog_probe_success\{probe="api",kind="http",stack="shop-a"\} 1$/m);
  // Every series carries the stack (issue 21 §2), whichever writer made it: the kept per-probe
  // lines, the kinds' gauges, prom-client's own families.
  const unstacked = parseExposition(first)
    .allSamples()
    .filter((s) => s.labels.stack !== 'shop-a');
  assert.deepEqual(unstacked, [], 'series without stack="shop-a"');
  assert.match(first, /^watchdog_config_last_reload_successful\{stack="shop-a"\} 1$/m);
  assert.match(first, /^watchdog_schedule_lag_seconds_bucket\{le="0.005",stack="shop-a"\} \d+$/m);
  // Each family once, with its HELP and TYPE, whatever the number of probes.
  assert.equal(first.match(/^# TYPE watchdog_probe_runs_total counter$/gm)?.length, 1);
  // Schedule lateness is one histogram for all probes, not a series set per probe.
  assert.match(first, /^# TYPE watchdog_schedule_lag_seconds histogram$/m);

  // A new result of one probe: its lines change at the next scrape, the other probe's stay.
  n = 1;
  await engine.runNow('api');
  const second = await registry.metrics();
  assert.match(second, /^watchdog_probe_success\{probe="api",kind="http",stack="shop-a"\} 0$/m);
  assert.match(second, /^watchdog_probe_failures_total\{probe="api",kind="http",stack="shop-a",reason="assertion"\} 1$/m);
  assert.match(second, /^watchdog_probe_success\{probe="traces",kind="tempo_search",stack="shop-a"\} 1$/m);

  // A reload that changes the spec (new severity) and one that removes a probe.
  engine.load(parseConfig([{ file: 'm.yaml', text: JSON.stringify({ probes: [{ ...probes('> 0').probes[0], severity: 'warning' }, probes('> 0').probes[1]] }) }], {}));
  assert.match(await registry.metrics(), /^watchdog_probe_info\{probe="api",kind="http",stack="shop-a",severity="warning"\} 1$/m);
  engine.load(parseConfig([{ file: 'm.yaml', text: JSON.stringify(probes('> 0', false)) }], {}));
  const third = await registry.metrics();
  assert.doesNotMatch(third, /probe="traces"/);
  assert.doesNotMatch(third, /^watchdog_tempo_newest_trace_age_seconds\{/m);
  assert.equal((await promtoolCheck(third)).code, 0);
});
