// alert_path on the transients every healthy stack goes through (issue 19), against a real Prometheus
// 2.42 and Alertmanager 0.25: a restart of either, a stack whose Alertmanager comes up after Prometheus,
// ten reloads in a minute. Each reads ok or "not yet known" (reason settling), never failing, and the
// watchdog's direct path posts nothing. The same faults held past their grace fail with the reason
// they had before, and a one-shot run (as `watchdog check`) sees broken delivery within its run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { startAlerting } from '../../src/alerting/index.js';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import type { ProbeResult, ProbeState } from '../../src/engine/result.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.js';
import { eventually } from '../support/engine.js';
import { closedPort } from '../support/misbehaving.js';
import { freePort } from '../support/ports.js';
import { runProber } from '../support/prober.js';
import { shippedRoute, webhook } from '../support/alert-route.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { parseExposition } from '../../src/util/promText.js';

const root = resolve(import.meta.dirname, '../..');
const shippedRules = readFileSync(resolve(root, 'deploy/prometheus/watchdog-rules.yml'), 'utf8');
const name = 'alert-path';

/**
 * Prometheus with the shipped rules (evaluated every second) sending to a real Alertmanager.
 * `resend` is Prometheus's --rules.alert.resend-delay: how long a lost heartbeat stays lost.
 */
async function stack(t: TestContext, resend: string, opts: { alertmanagers?: (am: AlertmanagerHandle) => string[] } = {}) {
  const hook = await webhook(t);
  const am = await startAlertmanager({ config: shippedRoute(hook.url) });
  t.after(() => am.stop());
  const prom = await startPrometheus({
    ruleFiles: { 'watchdog-rules.yml': shippedRules },
    alertmanagers: opts.alertmanagers ? opts.alertmanagers(am) : [`127.0.0.1:${am.port}`],
    extraArgs: [`--rules.alert.resend-delay=${resend}`],
  });
  t.after(() => prom.stop());
  return { hook, am, prom };
}

/**
 * The watchdog as the daemon runs it: alert-path every 2 s, its direct path to `am` with
 * alert-path as the guard (as probes/mystocks.yaml has it). Every raw result is kept.
 */
function watchdog(t: TestContext, prom: PrometheusHandle, am: AlertmanagerHandle, opts: { direct?: boolean } = {}) {
  const doc = {
    probes: [{ name, kind: 'alert_path', interval: '2s', timeout: '1900ms', prometheus: prom.url, alertmanager: am.url }],
    ...(opts.direct ? { alerting: { alertmanager: { url: am.url, guardProbes: [name], resolveTimeout: '1m' } } } : {}),
  };
  const config = parseConfig([{ file: 'transients.yaml', text: JSON.stringify(doc) }], {});
  const http = createHttpClient({ userAgent: 'alert-path-transients' });
  const logger = pino({ level: 'silent' });
  const engine = new Engine({ http, docker: createDockerClient({}), logger, now: Date.now, maxStartJitterMs: 0 });
  engine.load(config);
  const results: ProbeResult[] = [];
  engine.on('result', (state: ProbeState, raw: ProbeResult) => {
    if (state.spec.name === name) results.push(raw);
  });
  const alerting = opts.direct ? startAlerting({ engine, config: () => config, http, logger, now: Date.now, tuning: { retry: { baseMs: 100, maxMs: 400 }, debounceMs: 10 } }) : undefined;
  engine.start();
  t.after(async () => {
    await alerting?.stop();
    await engine.stop(500);
    await http.close();
  });
  return {
    results,
    alerting,
    /** Waits until the newest result satisfies `settled`; fails with what was seen. */
    async until(settled: (r: ProbeResult) => boolean, what: string, ms = 60_000): Promise<ProbeResult> {
      await eventually(() => results.length > 0 && settled(results.at(-1)!), `${what}; last: ${seen(results.slice(-3))}`, ms);
      return results.at(-1)!;
    },
  };
}

function seen(results: ProbeResult[]): string {
  return results.map((r) => `${r.status}/${r.reason}: ${r.message}`).join(' | ') || 'no result';
}

/** One-shot runs (as `watchdog check` makes them) every second until `done` or `ms`; every result. */
async function oneShots(prom: PrometheusHandle, am: AlertmanagerHandle, done: (r: ProbeResult) => boolean, ms = 60_000): Promise<ProbeResult[]> {
  const out: ProbeResult[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const r = await runProber('alert_path', { name, prometheus: prom.url, alertmanager: am.url });
    out.push(r);
    if (done(r)) return out;
    await new Promise((res) => setTimeout(res, 1000));
  }
  throw new Error(`one-shot runs never settled within ${ms} ms; last: ${seen(out.slice(-3))}`);
}

/** What the direct path has at Alertmanager. */
async function directAlerts(amUrl: string): Promise<string[]> {
  const res = await fetch(`${amUrl}/api/v2/alerts?filter=${encodeURIComponent('alertname="WatchdogProbeFailing"')}`);
  return ((await res.json()) as { labels: Record<string, string> }[]).map((a) => a.labels.probe ?? '');
}

async function heartbeatAt(amUrl: string): Promise<boolean> {
  const res = await fetch(`${amUrl}/api/v2/alerts?filter=${encodeURIComponent('alertname="WatchdogAlertPathHeartbeat"')}`);
  return ((await res.json()) as unknown[]).length > 0;
}

const failing = (rs: ProbeResult[]) => rs.filter((r) => r.status === 'failing');
const healthy = (r: ProbeResult) => r.reason === 'ok';

/**
 * A healthy stack (heartbeat re-sent every 20 s), a daemon running through `restart`, one-shot runs from
 * the moment the restarted program is ready, and a daemon with the direct path started then: none reads
 * failing, nothing reaches Alertmanager on the direct path. Returns the one-shot runs.
 */
async function throughRestart(t: TestContext, restart: (s: Awaited<ReturnType<typeof stack>>) => Promise<void>): Promise<{ checks: ProbeResult[]; readyAt: number }> {
  const s = await stack(t, '20s');
  const { prom, am } = s;
  const through = watchdog(t, prom, am);
  await through.until(healthy, 'healthy before the restart');
  await restart(s);
  const readyAt = Date.now();
  const direct = watchdog(t, prom, am, { direct: true });
  const checks = await oneShots(prom, am, healthy);
  await through.until(healthy, 'the daemon that ran through the restart is healthy again');
  const after = through.results.filter((r) => r.at > readyAt + r.durationMs);
  assert.deepEqual(failing(after), [], `after the restart: ${seen(failing(after))}`);
  assert.deepEqual(failing(checks), [], `one-shot runs: ${seen(failing(checks))}`);
  assert.deepEqual(failing(direct.results), []);
  assert.deepEqual(await directAlerts(am.url), [], 'nothing reached Alertmanager on the direct path');
  return { checks, readyAt };
}

test('Prometheus restarted on a healthy stack: ok or settling from the moment it is ready, never failing; a daemon started then posts nothing', async (t) => {
  const { checks, readyAt } = await throughRestart(t, async ({ prom }) => {
    await prom.stop();
    await prom.start();
  });
  t.diagnostic(
    `ok again ${checks.length} one-shot runs (${Math.round((Date.now() - readyAt) / 1000)}s) after Prometheus was ready; settling runs: ${checks.filter((r) => r.reason === 'settling').length}`,
  );
});

test('Alertmanager restarted: the heartbeat is back a resend delay later; ok or settling meanwhile, never failing, nothing posted', async (t) => {
  const { checks, readyAt } = await throughRestart(t, async ({ am }) => {
    await am.stop();
    await am.start();
  });
  const settled = checks.filter((r) => r.reason === 'settling');
  for (const r of settled) assert.match(r.message, /^not yet known: the heartbeat alert WatchdogAlertPathHeartbeat is not at Alertmanager yet; Alertmanager started \d+s ago/, r.message);
  t.diagnostic(`heartbeat back ${Math.round((Date.now() - readyAt) / 1000)}s after Alertmanager was ready; ${settled.length} of ${checks.length} one-shot runs read settling`);
});

test('Alertmanager up only after Prometheus sent (one alert dropped while it started): settling, then ok; never failing', async (t) => {
  const hook = await webhook(t);
  const amPort = await freePort();
  // Prometheus first, sending to a port where Alertmanager is not up yet.
  const prom = await startPrometheus({ ruleFiles: { 'watchdog-rules.yml': shippedRules }, alertmanagers: [`127.0.0.1:${amPort}`], extraArgs: ['--rules.alert.resend-delay=20s'] });
  t.after(() => prom.stop());
  const dropped = async () => parseExposition(await (await fetch(`${prom.url}/metrics`)).text()).value('prometheus_notifications_dropped_total') ?? 0;
  for (const until = Date.now() + 30_000; (await dropped()) < 1 && Date.now() < until;) await new Promise((r) => setTimeout(r, 250));
  assert.ok((await dropped()) >= 1, `Prometheus dropped the heartbeat while Alertmanager was not up: ${await dropped()}`);
  const am = await startAlertmanager({ config: shippedRoute(hook.url), port: amPort });
  t.after(() => am.stop());
  const checks = await oneShots(prom, am, healthy);
  assert.deepEqual(failing(checks), [], `one-shot runs: ${seen(failing(checks))}`);
  t.diagnostic(`ok after ${checks.length} one-shot runs; settling: ${checks.filter((r) => r.reason === 'settling').length}`);
});

test('Prometheus reloaded 10 times in a minute: never failing, nothing posted on the direct path', async (t) => {
  const { prom, am } = await stack(t, '1s');
  const w = watchdog(t, prom, am, { direct: true });
  await w.until(healthy, 'healthy before the reloads');
  const checks: ProbeResult[] = [];
  for (let i = 0; i < 10; i++) {
    await prom.reload();
    // A one-shot right after each reload, while Prometheus re-discovers its Alertmanagers.
    checks.push(await runProber('alert_path', { name, prometheus: prom.url, alertmanager: am.url }));
    await new Promise((r) => setTimeout(r, 5000));
  }
  await w.until(healthy, 'healthy after the reloads');
  assert.deepEqual(failing(w.results), [], seen(failing(w.results)));
  assert.deepEqual(failing(checks), [], seen(failing(checks)));
  assert.equal(w.alerting?.stats.alertmanager.tracked().firing, 0);
  assert.deepEqual(await directAlerts(am.url), []);
  t.diagnostic(`one-shot runs right after a reload: ${checks.map((r) => r.reason).join(', ')}; daemon runs: ${w.results.length}, settling ${w.results.filter((r) => r.reason === 'settling').length}`);
});

test('held past the grace: an Alertmanager list that stays empty after a reload fails no_alertmanagers', async (t) => {
  const { prom, am } = await stack(t, '1s');
  // Configured, but the file discovery reads finds nobody.
  prom.writeConfig({ alerting: { alertmanagers: [{ file_sd_configs: [{ files: ['nobody-*.json'] }] }] } });
  await prom.reload();
  const first = await runProber('alert_path', { name, prometheus: prom.url, alertmanager: am.url });
  assert.equal(first.reason, 'settling', first.message);
  assert.match(first.message, /^not yet known: Prometheus lists no active Alertmanager yet; Prometheus loaded its config \d+s ago/);
  const checks = await oneShots(prom, am, (r) => r.status === 'failing', 40_000);
  const r = checks.at(-1)!;
  assert.equal(r.reason, 'no_alertmanagers', r.message);
  assert.equal(r.message, 'Prometheus has no active Alertmanager (alerting.alertmanagers is configured, none discovered), so its alerts reach nobody');
});

test('held past the grace: Alertmanager back on another address, Prometheus still sending to the old one: notifications_failing', async (t) => {
  const { prom, am } = await stack(t, '1s');
  await oneShots(prom, am, healthy);
  const hook = await webhook(t);
  const moved = await startAlertmanager({ config: shippedRoute(hook.url) });
  t.after(() => moved.stop());
  await am.stop();
  const first = await runProber('alert_path', { name, prometheus: prom.url, alertmanager: moved.url });
  assert.equal(first.reason, 'settling', first.message);
  const checks = await oneShots(prom, moved, (r) => r.status === 'failing', 40_000);
  const r = checks.at(-1)!;
  assert.equal(r.reason, 'notifications_failing', r.message);
  assert.match(r.message, new RegExp(`^Prometheus fails to send alerts to "http://127\\.0\\.0\\.1:${am.port}/api/v2/alerts" \\(\\d+ of \\d+ sends failed`));
});

test('one-shot: alerting switched to a dead port while the heartbeat is still at Alertmanager: notifications_failing', async (t) => {
  // Re-sent every 15s, so Alertmanager keeps the heartbeat a minute after the last send.
  const { prom, am } = await stack(t, '15s');
  await oneShots(prom, am, healthy);
  const dead = await closedPort();
  prom.writeConfig({ alertmanagers: [dead.hostPort] });
  await prom.reload();
  const fields = { name, prometheus: prom.url, alertmanager: am.url, maxHeartbeatAge: '5m' };
  const checks: ProbeResult[] = [];
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = await runProber('alert_path', fields);
    checks.push(r);
    if (r.status === 'failing') break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  const r = checks.at(-1)!;
  assert.equal(r.reason, 'notifications_failing', seen(checks.slice(-3)));
  assert.ok(await heartbeatAt(am.url), 'the heartbeat is still at Alertmanager: only the counters tell');
  assert.match(r.message, new RegExp(`^Prometheus fails to send alerts to "http://${dead.hostPort}/api/v2/alerts" \\((\\d+) of \\1 sends failed since Prometheus loaded its config`));
  assert.deepEqual(
    checks.slice(0, -1).filter((c) => c.status !== 'ok'),
    [],
    'before the grace: ok or settling',
  );
});

test('one-shot: a receiver that starts answering 500 after it worked is seen within the run (second reading)', async (t) => {
  const { prom, am, hook } = await stack(t, '1s');
  await oneShots(prom, am, healthy);
  const post = (probe: string) =>
    fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ labels: { alertname: 'WatchdogProbeFailing', probe, severity: 'critical' }, annotations: {} }]),
    });
  const requests = async () => {
    const exposition = parseExposition(await (await fetch(`${am.url}/metrics`)).text());
    const value = (metric: string) => exposition.value(metric, { integration: 'webhook' }) ?? 0;
    return { total: value('alertmanager_notification_requests_total'), failed: value('alertmanager_notification_requests_failed_total') };
  };
  // One notification that works, so that counts since start are not all failures.
  assert.equal((await post('tempo-ready')).status, 200);
  for (const until = Date.now() + 20_000; (await requests()).total < 1 && Date.now() < until;) await new Promise((r) => setTimeout(r, 250));
  const worked = await requests();
  assert.ok(worked.total >= 1 && worked.failed === 0, `a successful request: ${JSON.stringify(worked)}`);
  hook.set(500);
  assert.equal((await post('otlp-canary')).status, 200);
  for (const until = Date.now() + 20_000; (await requests()).failed < 1 && Date.now() < until;) await new Promise((r) => setTimeout(r, 250));
  assert.ok((await requests()).failed >= 1, `Alertmanager is retrying: ${JSON.stringify(await requests())}`);
  const started = Date.now();
  const r = await runProber('alert_path', { name, prometheus: prom.url, alertmanager: am.url });
  const ms = Date.now() - started;
  assert.equal(r.reason, 'notifications_failing', `${r.status}/${r.reason}: ${r.message}`);
  assert.match(r.message, /^Alertmanager's notifications through integration "webhook" \(\d+ of \d+ requests failed in the last \d+s\) fail$/);
  assert.ok(ms < 10_000, `the run took ${ms} ms, well under its 15 s timeout`);
  hook.set(200);
  const back = await oneShots(prom, am, healthy, 40_000);
  assert.equal(back.at(-1)!.reason, 'ok');
  t.diagnostic(`one-shot run with its second reading: ${ms} ms`);
});
