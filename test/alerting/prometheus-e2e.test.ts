// End to end through Prometheus: a real Prometheus scrapes a running watchdog, evaluates the shipped
// rules and notifies a real Alertmanager. A probe fails: the alert arrives with the labels routes
// key on. The probe recovers: the alert resolves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon.js';
import { startPrometheus, exporterScrapeConfig } from '../support/prometheus.js';
import { startAlertmanager } from '../support/alertmanager.js';
import { jsonServer } from '../support/misbehaving.js';
import { captureLogger } from '../support/engine.js';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
}

async function alertsFor(amUrl: string, probe: string): Promise<AmAlert[]> {
  const res = await fetch(`${amUrl}/api/v2/alerts?active=true&silenced=false&inhibited=false`);
  return ((await res.json()) as AmAlert[]).filter((a) => a.labels.alertname === 'WatchdogProbeFailing' && a.labels.probe === probe);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a failing probe pages through Prometheus and Alertmanager, and resolves when fixed', { timeout: 180_000 }, async (t) => {
  let code = 500;
  const target = await jsonServer(() => ({ status: code, body: {} }));
  t.after(() => target.close());

  const dir = mkdtempSync(join(tmpdir(), 'watchdog-e2e-'));
  writeFileSync(join(dir, 'p.yaml'), `probes:\n  - { name: checkout-api, kind: http, url: "${target.url}/", interval: 1s, timeout: 500ms, severity: critical }\n`);
  const watchdog = await startDaemon(readSettings({ WATCHDOG_CONFIG: dir, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_STACK: 'shop' }), {
    logger: captureLogger('warn').logger,
    processMetrics: false,
  });
  t.after(() => watchdog.stop());

  const am = await startAlertmanager();
  t.after(() => am.stop());
  // The shipped rules, with the pager's patience shortened from 2m so the test takes seconds; the
  // `for:` boundary itself is covered by promtool test rules.
  const shipped = readFileSync('deploy/prometheus/watchdog-rules.yml', 'utf8');
  const rules = shipped.replace(/(alert: WatchdogProbeFailing[\s\S]*?\n\s+for: )2m/, '$11s');
  assert.notEqual(rules, shipped, 'the WatchdogProbeFailing rule has a for: 2m to shorten');
  const prometheus = await startPrometheus({
    ruleFiles: { 'watchdog-rules.yml': rules },
    scrapeConfigs: [exporterScrapeConfig('watchdog', new URL(watchdog.url).host)],
    alertmanagers: [new URL(am.url).host],
  });
  t.after(() => prometheus.stop());

  const firing = await until('the alert in Alertmanager', async () => (await alertsFor(am.url, 'checkout-api'))[0]);
  assert.equal(firing.labels.severity, 'critical');
  assert.equal(firing.labels.alertname, 'WatchdogProbeFailing');
  // The stack travels with the alert through Prometheus and Alertmanager (issue 21 §2).
  assert.equal(firing.labels.stack, 'shop');
  assert.match(firing.annotations.summary ?? '', /checkout-api of stack shop is failing: http_status/);
  assert.match(firing.annotations.hint ?? '', /status\/checkout-api/);
  // No label carries free text (a message in a label would make every new message a new alert).
  for (const v of Object.values(firing.labels)) assert.doesNotMatch(v, /\s/);

  code = 200;
  await until('the alert to resolve', async () => ((await alertsFor(am.url, 'checkout-api')).length === 0 ? true : undefined));
});
