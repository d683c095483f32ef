// The direct line against a real Alertmanager, driven by a real engine whose probes point at local
// servers the tests switch between healthy (200) and failing (503).
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { checkAlerting } from '../../src/config/alerting.js';
import { startAlerting, type AlertingOptions } from '../../src/alerting/index.js';
import { parseConfig, type WatchdogConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { parseExposition } from '../../src/util/promText.js';
import { startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.js';
import { jsonServer, type JsonRequest } from '../support/misbehaving.js';
import { freePort } from '../support/ports.js';
import { ManualTime } from '../support/time.js';
import { waitFor as poll } from '../support/wait.js';

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

/** A target whose health the test switches: 200 while up, 503 while down. */
async function switchable(t: TestContext, up: boolean) {
  let healthy = up;
  const server = await jsonServer(() => ({ status: healthy ? 200 : 503, body: { healthy } }));
  t.after(() => server.close());
  return {
    url: server.url,
    set: (v: boolean) => void (healthy = v),
  };
}

function logSink() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, count: (msg: string) => lines.filter((l) => l.msg === msg).length, lines };
}

interface ProbeDef {
  name: string;
  url: string;
  severity?: 'critical' | 'warning';
}

function makeConfig(probes: ProbeDef[], alertingConfig: object): WatchdogConfig {
  // Runs are made by hand (round()), so the interval never applies. The targets answer at once, but the
  // test process that serves them may be starved on a loaded machine: a 500 ms timeout made a healthy
  // probe fail there, and the alerts asserted below are a probe's status.
  const doc = { alerting: alertingConfig, probes: probes.map((p) => ({ kind: 'http', interval: '1m', timeout: '10s', ...p })) };
  // JSON is YAML: the loader sees exactly what a probe file would give it.
  return parseConfig([{ file: 'alerting.yaml', text: JSON.stringify(doc) }], {});
}

/**
 * `extra.timers` (a ManualTime) holds the direct path's debounce, renewal and retry until the test
 * moves time; `extra.now` is the clock of both the engine and the sender.
 */
async function startWatchdog(t: TestContext, probes: ProbeDef[], alertingConfig: object, extra: Partial<AlertingOptions> = {}) {
  const config = makeConfig(probes, alertingConfig);
  const logs = logSink();
  const http = createHttpClient({ userAgent: 'alerting-test' });
  const now = extra.now ?? Date.now;
  const engine = new Engine({ http, docker: createDockerClient({}), logger: logs.logger, now, maxStartJitterMs: 0 });
  engine.load(config);
  const alerting = startAlerting({
    engine,
    config: () => config,
    http,
    logger: logs.logger,
    now,
    tuning: { retry: { baseMs: 100, maxMs: 400 }, debounceMs: 10 },
    ...extra,
  });
  t.after(async () => {
    await alerting.stop();
    await engine.stop(100);
    await http.close();
  });
  return {
    engine,
    alerting,
    logs,
    /** One pass over every probe, then the post it causes. */
    async round(): Promise<boolean> {
      await engine.runOnce();
      return alerting.flush();
    },
  };
}

async function amAlerts(am: { url: string }): Promise<AmAlert[]> {
  const res = await fetch(`${am.url}/api/v2/alerts?filter=${encodeURIComponent('alertname="WatchdogProbeFailing"')}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as AmAlert[]).sort((a, b) => a.labels.probe!.localeCompare(b.labels.probe!));
}

const probesOf = (alerts: AmAlert[]) => alerts.map((a) => a.labels.probe);

/** alertmanager_alerts_received_total by status, since the process started. */
async function received(am: { url: string }): Promise<{ firing: number; resolved: number }> {
  const metrics = parseExposition(await (await fetch(`${am.url}/metrics`)).text());
  const read = (status: string) => metrics.value('alertmanager_alerts_received_total', { status, version: 'v2' }) ?? NaN;
  return { firing: read('firing'), resolved: read('resolved') };
}

/** Polls (bounded) until `fn` gives something; the failure names what the direct path had done by then. */
const waitFor = <T>(what: string, fn: () => Promise<T | undefined | false>, w?: { alerting: { stats: { alertmanager: { posts: object } } } }) =>
  poll(what, fn, { timeoutMs: 15_000, intervalMs: 100, describe: () => w && { posts: w.alerting.stats.alertmanager.posts } });

async function alertmanager(t: TestContext): Promise<AlertmanagerHandle> {
  const am = await startAlertmanager();
  t.after(() => am.stop());
  return am;
}

const GUARD = 'prometheus-ready';

test('fallback: nothing is posted while the guard is ok; when it fails, one alert per failing critical probe with only alertname, probe and severity', async (t) => {
  const am = await alertmanager(t);
  const guard = await switchable(t, true);
  const app = await switchable(t, false);
  const minor = await switchable(t, false);
  const w = await startWatchdog(
    t,
    [
      { name: GUARD, url: guard.url },
      { name: 'app', url: app.url },
      { name: 'minor', url: minor.url, severity: 'warning' },
    ],
    { alertmanager: { url: am.url, resolveTimeout: '4s' } },
    { instance: 'replica-a' },
  );

  assert.equal(await w.round(), true);
  assert.deepEqual(await amAlerts(am), []);
  assert.deepEqual(await received(am), { firing: 0, resolved: 0 }, 'Prometheus can alert: the direct path stays silent');

  guard.set(false);
  const before = Date.now();
  assert.equal(await w.round(), true);
  const alerts = await amAlerts(am);
  // The guard is itself a failing critical probe: Prometheus being down is one alert, not two.
  assert.deepEqual(probesOf(alerts), ['app', GUARD]);
  assert.deepEqual(alerts[0]!.labels, { alertname: 'WatchdogProbeFailing', probe: 'app', severity: 'critical' });
  assert.deepEqual(alerts[1]!.labels, { alertname: 'WatchdogProbeFailing', probe: GUARD, severity: 'critical' });
  const app0 = alerts[0]!;
  assert.equal(app0.status.state, 'active');
  assert.equal(app0.annotations.source, 'stack-watchdog-direct');
  assert.equal(app0.annotations.reason, 'http_status');
  assert.equal(app0.annotations.watchdog, 'replica-a');
  assert.match(app0.annotations.description!, /answered HTTP 503/);
  assert.match(app0.annotations.hint!, /read its logs/);
  assert.match(alerts[1]!.annotations.summary!, /^Prometheus cannot alert: probe prometheus-ready is failing/);
  // startsAt is when the failure began (the engine's `since`), endsAt one resolveTimeout ahead.
  assert.equal(Date.parse(app0.startsAt), w.engine.state('app')!.since);
  const endsIn = Date.parse(app0.endsAt) - before;
  assert.ok(endsIn >= 4000 && endsIn < 4000 + 2000, `endsAt ${endsIn} ms ahead`);
  assert.equal(w.logs.count('Prometheus cannot alert (its guard probe is failing): alerting Alertmanager directly'), 1);
});

test('renewal: the timer moves endsAt forward while startsAt stays put', async (t) => {
  const am = await alertmanager(t);
  const guard = await switchable(t, false);
  // Time moves by hand: the renewals happen at 500 and 1000 ms, each post lands before time moves on.
  // Alerts stamped ahead of the real clock only last longer at Alertmanager: nothing here resolves.
  const time = new ManualTime();
  const w = await startWatchdog(t, [{ name: GUARD, url: guard.url }], { alertmanager: { url: am.url, resolveTimeout: '2s' } }, { now: time.now, timers: time });
  await w.round();
  const [first] = await amAlerts(am);
  assert.ok(first);
  // resolveTimeout 2s renews every 500 ms; no engine round runs meanwhile.
  const posts = w.alerting.stats.alertmanager.posts;
  for (const step of [500, 500, 300]) {
    const before = posts.ok;
    await time.advance(step);
    if (step === 500) await waitFor('the renewal post', async () => posts.ok > before, w);
  }
  const [later] = await amAlerts(am);
  assert.ok(later, 'renewed: still active after more than half its resolveTimeout');
  assert.equal(later.startsAt, first.startsAt);
  assert.ok(Date.parse(later.endsAt) - Date.parse(first.endsAt) >= 800, `endsAt moved ${Date.parse(later.endsAt) - Date.parse(first.endsAt)} ms`);
  assert.ok(w.alerting.stats.alertmanager.posts.ok >= 3);
});

test('recovery: a probe that recovers is resolved at once; the others keep firing', async (t) => {
  const am = await alertmanager(t);
  const guard = await switchable(t, false);
  const app = await switchable(t, false);
  const w = await startWatchdog(
    t,
    [
      { name: GUARD, url: guard.url },
      { name: 'app', url: app.url },
    ],
    { alertmanager: { url: am.url, resolveTimeout: '1m' } },
  );
  await w.round();
  assert.deepEqual(probesOf(await amAlerts(am)), ['app', GUARD]);

  app.set(true);
  await w.round();
  // endsAt is a minute away: only an explicit resolution can make it go now.
  assert.deepEqual(probesOf(await amAlerts(am)), [GUARD]);
  assert.equal((await received(am)).resolved, 1);
  assert.equal(w.logs.count('direct alert resolved'), 1);
  assert.deepEqual(w.alerting.stats.alertmanager.tracked(), { firing: 1, handedOver: 0, resolving: 0 });

  // Delivered once is enough: later posts carry only what fires.
  await w.round();
  assert.equal((await received(am)).resolved, 1);
});

test('fallback hand-over: when the guard recovers its alert resolves; a probe still failing is left to run out, or resolved if it recovers first', async (t) => {
  const am = await alertmanager(t);
  const guard = await switchable(t, false);
  const app = await switchable(t, false);
  const db = await switchable(t, false);
  // The renewal timer moves by hand; the clock stays real, as Alertmanager's is (alerts resolve and run out here).
  const time = new ManualTime();
  const w = await startWatchdog(
    t,
    [
      { name: GUARD, url: guard.url },
      { name: 'app', url: app.url },
      { name: 'db', url: db.url },
    ],
    { alertmanager: { url: am.url, resolveTimeout: '3s' } },
    { timers: time },
  );
  await w.round();
  assert.deepEqual(probesOf(await amAlerts(am)), ['app', 'db', GUARD]);

  guard.set(true);
  await w.round();
  const handed = await amAlerts(am);
  assert.deepEqual(probesOf(handed), ['app', 'db']);
  assert.equal(w.logs.count('guard probe recovered: Prometheus alerts again; direct alerts of probes still failing are handed over'), 1);
  assert.deepEqual(w.alerting.stats.alertmanager.tracked(), { firing: 0, handedOver: 2, resolving: 0 });

  // Not renewed any more (the timer runs every 750 ms): endsAt stays where the last renewal put it.
  // The flush waits for anything the renewal started, and would itself carry a wrongly renewed alert.
  await time.advance(1000);
  await w.alerting.flush();
  const still = await amAlerts(am);
  assert.deepEqual(
    still.map((a) => a.endsAt),
    handed.map((a) => a.endsAt),
  );

  app.set(true);
  await w.round();
  assert.deepEqual(probesOf(await amAlerts(am)), ['db'], 'app recovered before its alert ran out: resolved explicitly');

  // db never recovers: Alertmanager ends it at its endsAt (on its own clock: waited for, bounded),
  // and the sender forgets it.
  const dbEnds = Date.parse(still.find((a) => a.labels.probe === 'db')!.endsAt);
  await waitFor(`Alertmanager to end db at its endsAt ${new Date(dbEnds).toISOString()}`, async () => Date.now() > dbEnds && (await amAlerts(am)).length === 0, w);
  await w.round();
  assert.deepEqual(await amAlerts(am), []);
  assert.deepEqual(w.alerting.stats.alertmanager.tracked(), { firing: 0, handedOver: 0, resolving: 0 });
});

/** Guard and app fail and reach Alertmanager; then the line goes down, and app recovers meanwhile. */
async function recoveryDuringOutage(t: TestContext, am: AlertmanagerHandle, url: string, goDown: () => Promise<void>) {
  const guard = await switchable(t, false);
  const app = await switchable(t, false);
  const w = await startWatchdog(
    t,
    [
      { name: GUARD, url: guard.url },
      { name: 'app', url: app.url },
    ],
    { alertmanager: { url, resolveTimeout: '1m' } },
  );
  await w.round();
  assert.deepEqual(probesOf(await amAlerts(am)), ['app', GUARD]);
  await goDown();
  app.set(true);
  assert.equal(await w.round(), false);
  return w;
}

test('Alertmanager restarted: a recovery during the outage is sent as resolved, the failure that remains fires again once, the outage is logged once', async (t) => {
  const am = await alertmanager(t);
  const w = await recoveryDuringOutage(t, am, am.url, () => am.stop());
  // Backoff 100..400 ms: a few retries happen (waited for, not slept on), and are logged once.
  await waitFor('three failed posts', async () => w.alerting.stats.alertmanager.posts.error >= 3, w);
  const failedPosts = w.alerting.stats.alertmanager.posts.error;
  assert.ok(failedPosts >= 3, `${failedPosts} failed posts`);
  assert.equal(w.logs.count('alertmanager unreachable'), 1);
  assert.equal(w.logs.lines.find((l) => l.msg === 'alertmanager unreachable')!.reason, 'connect');

  await am.start();
  // Alertmanager keeps no alerts across a restart: what it shows now came from the retries.
  const alerts = await waitFor(
    'the alert to come back',
    async () => {
      const a = await amAlerts(am);
      return a.length ? a : undefined;
    },
    w,
  );
  assert.deepEqual(probesOf(alerts), [GUARD]);
  assert.deepEqual(alerts[0]!.labels, { alertname: 'WatchdogProbeFailing', probe: GUARD, severity: 'critical' });
  // The first post that got through carried both: the resolution of app and the guard still firing.
  const counts = await received(am);
  assert.equal(counts.resolved, 1);
  assert.ok(counts.firing >= 1);
  await waitFor('the reconnect log', async () => w.logs.count('alertmanager reachable again') === 1);
  assert.deepEqual(w.alerting.stats.alertmanager.tracked(), { firing: 1, handedOver: 0, resolving: 0 });
  assert.equal(w.logs.count('alertmanager unreachable'), 1);
});

/** A TCP forwarder to Alertmanager the test can cut, as a network partition would: Alertmanager keeps its alerts. */
async function partition(t: TestContext, targetPort: number) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  };
  const open = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        track(client);
        track(upstream);
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  const cut = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise((r) => s.close(r));
  };
  await open();
  t.after(cut);
  return { url: `http://127.0.0.1:${port}`, cut, heal: open };
}

test('partition: a recovery during the outage resolves the alert Alertmanager still holds as soon as it is reachable', async (t) => {
  const am = await alertmanager(t);
  const link = await partition(t, am.port);
  const w = await recoveryDuringOutage(t, am, link.url, () => link.cut());
  // A retry has failed against the cut link too: nothing got through since the cut.
  await waitFor('a failed retry', async () => w.alerting.stats.alertmanager.posts.error >= 2, w);
  // Alertmanager still believes app fails, for up to a minute.
  assert.deepEqual(probesOf(await amAlerts(am)), ['app', GUARD]);

  await link.heal();
  await waitFor('app to be resolved', async () => (await amAlerts(am)).length === 1);
  assert.deepEqual(probesOf(await amAlerts(am)), [GUARD]);
  assert.equal((await received(am)).resolved, 1);
  assert.equal(w.logs.count('alertmanager unreachable'), 1);
  await waitFor('the reconnect log', async () => w.logs.count('alertmanager reachable again') === 1);
});

test('two watchdogs against one Alertmanager: one group, one alert per probe', async (t) => {
  const am = await alertmanager(t);
  const guard = await switchable(t, false);
  const app = await switchable(t, false);
  const probes = [
    { name: GUARD, url: guard.url },
    { name: 'app', url: app.url },
  ];
  const settings = { alertmanager: { url: am.url, resolveTimeout: '1m' } };
  const a = await startWatchdog(t, probes, settings, { instance: 'replica-a' });
  await a.round();
  // The two replicas' failures start at different times (the earlier must win below): let the clock move on.
  await waitFor("the clock past replica a's start", async () => Date.now() > a.engine.state('app')!.since + 10);
  const b = await startWatchdog(t, probes, settings, { instance: 'replica-b' });
  await b.round();
  await Promise.all([a.round(), b.round()]);

  const groups = (await (await fetch(`${am.url}/api/v2/alerts/groups`)).json()) as { labels: Record<string, string>; alerts: AmAlert[] }[];
  assert.equal(groups.length, 1);
  assert.deepEqual(groups[0]!.labels, { alertname: 'WatchdogProbeFailing' });
  assert.deepEqual(groups[0]!.alerts.map((x) => x.labels.probe).sort(), ['app', GUARD]);
  // Merged, not replaced: the earlier start of the two replicas wins.
  const appAlert = (await amAlerts(am)).find((x) => x.labels.probe === 'app')!;
  assert.equal(Date.parse(appAlert.startsAt), Math.min(a.engine.state('app')!.since, b.engine.state('app')!.since));
  assert.ok((await received(am)).firing >= 8, 'both replicas did post');
});

test('mode always posts while Prometheus is fine (the guard too, whatever its severity); mode off posts nothing', async (t) => {
  const am = await alertmanager(t);
  const guard = await switchable(t, true);
  const app = await switchable(t, false);
  const minor = await switchable(t, false);
  const probes: ProbeDef[] = [
    { name: 'prom', url: guard.url, severity: 'warning' },
    { name: 'app', url: app.url },
    { name: 'minor', url: minor.url, severity: 'warning' },
  ];

  const always = await startWatchdog(t, probes, { alertmanager: { url: am.url, mode: 'always', guardProbe: 'prom', resolveTimeout: '1m' } });
  await always.round();
  assert.deepEqual(probesOf(await amAlerts(am)), ['app']);
  guard.set(false);
  await always.round();
  const alerts = await amAlerts(am);
  assert.deepEqual(probesOf(alerts), ['app', 'prom']);
  assert.equal(alerts[1]!.labels.severity, 'warning');
  await always.alerting.stop();

  const am2 = await alertmanager(t);
  const time = new ManualTime();
  const off = await startWatchdog(t, probes, { alertmanager: { url: am2.url, mode: 'off' } }, { timers: time });
  assert.equal(await off.round(), true);
  // Whatever the debounce, renewal or a retry would post in the next 300 ms is posted, and waited for.
  await time.advance(300);
  await off.alerting.flush();
  assert.deepEqual(await received(am2), { firing: 0, resolved: 0 });
});

test('backoff: retries double up to the cap, each carrying the whole current set', async (t) => {
  const posts: { at: number; req: JsonRequest }[] = [];
  // Each retry is fired by hand, one at a time, and stamped with the time it fired at: the gaps are
  // the backoff's, not the machine's.
  const time = new ManualTime();
  // Alertmanager cannot be made to answer 503; a local server that does stands in for one that is overloaded.
  const busy = await jsonServer((req) => {
    posts.push({ at: time.now(), req });
    return { status: 503, body: 'overloaded' };
  });
  t.after(() => busy.close());
  const guard = await switchable(t, false);
  const app = await switchable(t, false);
  const registry = new Registry();
  const w = await startWatchdog(
    t,
    [
      { name: GUARD, url: guard.url },
      { name: 'app', url: app.url },
    ],
    { alertmanager: { url: busy.url, resolveTimeout: '1m' } },
    { registry, tuning: { retry: { baseMs: 100, maxMs: 400 }, debounceMs: 60_000, random: () => 1 }, timers: time },
  );
  assert.equal(await w.round(), false);
  // 1.7 s of backoff (100 + 200 + 400 + 400 + 400 ms): the first post and five retries.
  for (let retry = 1; retry <= 5; retry++) {
    const failed = w.alerting.stats.alertmanager.posts.error;
    await time.advanceToNext();
    await waitFor(`retry ${retry} answered`, async () => w.alerting.stats.alertmanager.posts.error > failed, w);
  }
  await w.alerting.stop();

  const gaps = posts.slice(1).map((p, i) => p.at - posts[i]!.at);
  // random() = 1 takes the full ceiling: 100, 200, 400, then 400 for good.
  assert.ok(gaps.length >= 4, `${gaps.length + 1} posts`);
  for (const [i, want] of [100, 200, 400, 400].entries()) assert.ok(gaps[i]! >= want - 10 && gaps[i]! < want + 600, `gap ${i}: ${gaps[i]} ms, expected about ${want}`);
  for (const p of posts) {
    assert.equal(p.req.path, '/api/v2/alerts');
    assert.deepEqual((p.req.json as { labels: { probe: string } }[]).map((a) => a.labels.probe).sort(), ['app', GUARD]);
  }
  assert.equal(w.logs.count('alertmanager unreachable'), 1);
  assert.equal(w.logs.lines.find((l) => l.msg === 'alertmanager unreachable')!.reason, 'http_503');
  const metrics = await registry.metrics();
  assert.match(metrics, new RegExp(`^watchdog_alertmanager_posts_total\\{result="error"\\} ${posts.length}$`, 'm'));
  assert.match(metrics, /^watchdog_alertmanager_posts_total\{result="ok"\} 0$/m);
  assert.match(metrics, /^watchdog_alertmanager_direct_alerts\{state="firing"\} 2$/m);
});

test('checkAlerting: what the loader lets through is reported, one line each', () => {
  assert.deepEqual(checkAlerting({ alertmanager: { url: 'http://am:9093', resolveTimeout: '5 minutes' } }, ['prometheus-ready']), [
    'alerting.alertmanager.resolveTimeout: expected a duration such as "5m", got "5 minutes"',
  ]);
  assert.deepEqual(checkAlerting({ alertmanager: { url: 'http://am:9093', resolveTimeout: '500ms' } }, ['prometheus-ready']), [
    'alerting.alertmanager.resolveTimeout: 500ms leaves no time to renew an alert; use 1s or more (default 5m)',
  ]);
  assert.deepEqual(checkAlerting({ alertmanager: { url: 'http://am:9093' } }, ['app']), [
    'alerting.alertmanager.guardProbe: mode "fallback" needs a probe that fails when Prometheus is down; no probe is named "prometheus-ready", so nothing is sent directly (name one, or set mode: always)',
  ]);
  assert.deepEqual(checkAlerting({ alertmanager: { url: 'http://am:9093', mode: 'always' } }, ['app']), []);
  assert.deepEqual(checkAlerting(undefined, []), []);
});

test('stacks sharing one Alertmanager: the same probe failing in two stacks is two alerts, each with its stack as a label and in its summary', async (t) => {
  const am = await alertmanager(t);
  const app = await switchable(t, false);
  // The same probe file in two stacks: only the stack's name (WATCHDOG_STACK) tells them apart.
  const stacks = await Promise.all(['shop-prod', 'shop-staging'].map((stack) => startWatchdog(t, [{ name: 'app', url: app.url }], { alertmanager: { url: am.url, mode: 'always' } }, { stack })));
  for (const w of stacks) assert.equal(await w.round(), true);
  const alerts = await amAlerts(am);
  assert.deepEqual(
    alerts.map((a) => a.labels).sort((a, b) => a.stack!.localeCompare(b.stack!)),
    [
      { alertname: 'WatchdogProbeFailing', probe: 'app', severity: 'critical', stack: 'shop-prod' },
      { alertname: 'WatchdogProbeFailing', probe: 'app', severity: 'critical', stack: 'shop-staging' },
    ],
  );
  assert.deepEqual(alerts.map((a) => a.annotations.summary).sort(), ['Probe app of stack shop-prod is failing: http_status', 'Probe app of stack shop-staging is failing: http_status']);
});
