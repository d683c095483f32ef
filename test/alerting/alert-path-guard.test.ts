// The direct path engages while alert-path fails, as it does while prometheus-ready fails: Prometheus
// is up and ready but its alerts reach nobody (here: no Alertmanager in prometheus.yml), so the
// watchdog posts its failing critical probes to Alertmanager itself. Real Prometheus and Alertmanager.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { startAlerting } from '../../src/alerting/index.js';
import { checkAlerting } from '../../src/config/alerting.js';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { startAlertmanager } from '../support/alertmanager.js';
import { statusServer } from '../support/misbehaving.js';
import { startPrometheus } from '../support/prometheus.js';

async function watchdog(t: TestContext, doc: object) {
  const config = parseConfig([{ file: 'guard.yaml', text: JSON.stringify(doc) }], {});
  const http = createHttpClient({ userAgent: 'alerting-test' });
  const logger = pino({ level: 'silent' });
  const engine = new Engine({ http, docker: createDockerClient({}), logger, now: Date.now, maxStartJitterMs: 0 });
  engine.load(config);
  const alerting = startAlerting({ engine, config: () => config, http, logger, now: Date.now, tuning: { retry: { baseMs: 100, maxMs: 400 }, debounceMs: 10 } });
  t.after(async () => {
    await alerting.stop();
    await engine.stop(100);
    await http.close();
  });
  return {
    engine,
    async round(): Promise<boolean> {
      await engine.runOnce();
      return alerting.flush();
    },
  };
}

async function directAlerts(amUrl: string): Promise<string[]> {
  const res = await fetch(`${amUrl}/api/v2/alerts?filter=${encodeURIComponent('alertname="WatchdogProbeFailing"')}`);
  const alerts = (await res.json()) as { labels: Record<string, string> }[];
  return alerts.map((a) => a.labels.probe!).sort();
}

async function stackWithoutAlerting(t: TestContext) {
  const am = await startAlertmanager();
  t.after(() => am.stop());
  // Prometheus is up, but prometheus.yml has no alerting block: its alerts go nowhere.
  const prom = await startPrometheus();
  t.after(() => prom.stop());
  const app = await statusServer(503);
  t.after(() => app.close());
  const probes = [
    { name: 'prometheus-ready', kind: 'http', url: `${prom.url}/-/ready` },
    { name: 'alertmanager', kind: 'alertmanager_status', alertmanager: am.url },
    { name: 'alert-path', kind: 'alert_path', prometheus: prom.url, alertmanager: am.url, dependsOn: ['prometheus-ready', 'alertmanager'] },
    { name: 'app', kind: 'http', url: app.url },
  ].map((p) => ({ interval: '1s', timeout: '900ms', ...p }));
  return { am, prom, probes };
}

test('guardProbes [prometheus-ready, alert-path]: alert-path failing engages the direct path while Prometheus is ready', async (t) => {
  const { am, probes } = await stackWithoutAlerting(t);
  const w = await watchdog(t, { probes, alerting: { alertmanager: { url: am.url, guardProbes: ['prometheus-ready', 'alert-path'], resolveTimeout: '1m' } } });
  assert.equal(await w.round(), true);
  assert.equal(w.engine.state('prometheus-ready')?.current.status, 'ok');
  assert.equal(w.engine.state('alert-path')?.current.reason, 'no_alertmanagers');
  // alert-path is a failing guard (one alert), app a failing critical probe.
  assert.deepEqual(await directAlerts(am.url), ['alert-path', 'app']);
});

test('the old key, guardProbe: prometheus-ready, still works and does not engage while only alert-path fails', async (t) => {
  const { am, probes } = await stackWithoutAlerting(t);
  const w = await watchdog(t, { probes, alerting: { alertmanager: { url: am.url, guardProbe: 'prometheus-ready', resolveTimeout: '1m' } } });
  assert.equal(await w.round(), true);
  assert.equal(w.engine.state('alert-path')?.current.reason, 'no_alertmanagers');
  assert.deepEqual(await directAlerts(am.url), [], 'with only prometheus-ready as guard, nobody hears of app');
});

test('checkAlerting: guardProbes names existing probes, and excludes guardProbe', () => {
  const names = ['prometheus-ready', 'alert-path'];
  assert.deepEqual(checkAlerting({ alertmanager: { url: 'http://am:9093', guardProbes: ['prometheus-ready', 'alert-paht'] } }, names), [
    'alerting.alertmanager.guardProbes[1]: no probe is named "alert-paht"',
  ]);
  assert.deepEqual(checkAlerting({ alertmanager: { url: 'http://am:9093', guardProbe: 'prometheus-ready', guardProbes: ['alert-path'] } }, names), [
    'alerting.alertmanager: guardProbe and guardProbes exclude each other; list every guard under guardProbes',
  ]);
  assert.deepEqual(checkAlerting({ alertmanager: { url: 'http://am:9093', guardProbes: names } }, names), []);
});
