// Maintenance windows end to end: a running daemon, a real Alertmanager, probes against local targets.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Daemon } from '../../src/daemon.js';
import { parseExposition } from '../../src/util/promText.js';
import { startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.js';
import { startTestDaemon } from '../support/daemon.js';
import { eventually } from '../support/engine.js';
import { jsonServer } from '../support/misbehaving.js';
import { stays, waitFor } from '../support/wait.js';
import { farDailyWindow } from '../support/time.js';

const TOKEN = 'maint-token';

async function switchable(t: TestContext) {
  let healthy = true;
  const server = await jsonServer(() => ({ status: healthy ? 200 : 503, body: { healthy } }));
  t.after(() => server.close());
  return { url: server.url, set: (v: boolean) => void (healthy = v) };
}

async function daemon(t: TestContext, am: AlertmanagerHandle, target: string, stateDir: string, extra = '', env: Record<string, string> = {}) {
  const started = await startTestDaemon(
    t,
    `
alerting:
  alertmanager: { url: "${am.url}", mode: always, resolveTimeout: 4s }
maintenance:
  silence: true
  maxDuration: 1h
${extra}
probes:
  - { name: api, kind: http, url: "${target}/", interval: 1s, timeout: 500ms, labels: { team: web } }
  - { name: other, kind: http, url: "${target}/", interval: 1s, timeout: 500ms }
`,
    { WATCHDOG_ADMIN_TOKEN: TOKEN, WATCHDOG_STATE_DIR: stateDir, ...env },
  );
  await eventually(() => started.d.engine.ready, 'first results', 10_000);
  return started;
}

async function amAlerts(am: AlertmanagerHandle): Promise<string[]> {
  const res = await fetch(`${am.url}/api/v2/alerts?filter=alertname="WatchdogProbeFailing"&silenced=true&active=true`);
  return ((await res.json()) as { labels: { probe: string } }[]).map((a) => a.labels.probe).sort();
}

async function amSilences(am: AlertmanagerHandle): Promise<{ id: string; status: { state: string }; comment: string; matchers: { name: string; value: string; isRegex: boolean }[] }[]> {
  return (await (await fetch(`${am.url}/api/v2/silences`)).json()) as never;
}

/** Ends every window Alertmanager holds: for the steps whose subject is the state file alone. */
async function expireAll(am: AlertmanagerHandle): Promise<void> {
  for (const s of await amSilences(am)) if (s.status.state !== 'expired') assert.equal((await fetch(`${am.url}/api/v2/silence/${s.id}`, { method: 'DELETE' })).status, 200);
}

const post = (d: Daemon, body: unknown, token = TOKEN) =>
  fetch(`${d.url}/maintenance`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });

async function metric(d: Daemon, probe: string): Promise<string | undefined> {
  const value = parseExposition(await (await fetch(`${d.url}/metrics`)).text()).value('watchdog_probe_maintenance', { probe, stack: d.stack.name });
  return value === undefined ? undefined : String(value);
}

test('a window opened over the API stops the direct path for its probes, shows in /status, /metrics and the page, silences Alertmanager, and ends by itself', async (t) => {
  const am = await startAlertmanager();
  t.after(() => am.stop());
  const target = await switchable(t);
  const stateDir = mkdtempSync(join(tmpdir(), 'watchdog-state-'));
  const { d, log } = await daemon(t, am, target.url, stateDir);

  assert.equal((await post(d, { duration: '5s', reason: 'x' }, 'wrong')).status, 401);
  assert.equal((await post(d, { duration: '2h', reason: 'x' })).status, 400, 'over maintenance.maxDuration');
  const noReason = await post(d, { duration: '5s' });
  assert.equal(noReason.status, 400);
  assert.deepEqual(await noReason.json(), { statusCode: 400, error: 'Bad Request', message: "body must have required property 'reason'" });
  const unknown = await post(d, { duration: '5s', reason: 'x', probes: ['nope'] });
  assert.equal(unknown.status, 400);
  assert.match(((await unknown.json()) as { message: string }).message, /no probe named "nope"/);

  const res = await post(d, { duration: '6s', reason: 'db upgrade', labels: { team: 'web' } });
  assert.equal(res.status, 201);
  const window = (await res.json()) as { id: string; until: string; covered: string[] };
  assert.match(window.id, /^m-[0-9a-f]{8}$/);
  assert.deepEqual(window.covered, ['api']);

  // Both probes fail; only the one outside the window reaches Alertmanager.
  target.set(false);
  await eventually(() => d.engine.state('api')?.current.status === 'failing' && d.engine.state('other')?.current.status === 'failing', 'both failing', 5000);
  // Each post carries every alert that should fire: once "other" is there, a wrongly posted "api" would be too.
  let seen: string[] = [];
  await waitFor('the alert of the probe outside the window at Alertmanager', async () => (seen = await amAlerts(am)).includes('other'), { describe: () => seen });
  assert.deepEqual(await amAlerts(am), ['other']);
  assert.equal(await metric(d, 'api'), '1');
  assert.equal(await metric(d, 'other'), '0');

  const status = (await (await fetch(`${d.url}/status`)).json()) as { probes: { name: string; status: string; maintenance?: { id: string; reason: string } }[]; maintenance: { id: string }[] };
  const api = status.probes.find((p) => p.name === 'api')!;
  assert.equal(api.status, 'failing', 'the probe keeps its real status');
  assert.deepEqual({ id: api.maintenance?.id, reason: api.maintenance?.reason }, { id: window.id, reason: 'db upgrade' });
  assert.deepEqual(
    status.maintenance.map((w) => w.id),
    [window.id],
  );
  assert.match(await (await fetch(`${d.url}/status?format=text`)).text(), new RegExp(`maintenance ${window.id}: api until .*: db upgrade`));
  const page = await (await fetch(`${d.url}/`)).text();
  assert.match(page, new RegExp(`data-probe="api" data-status="failing" data-maintenance="${window.id}"`));
  assert.match(page, /class="banner"/);

  const silences = await amSilences(am);
  const silence = silences.find((s) => s.comment.includes(window.id));
  assert.equal(silence?.status.state, 'active');
  assert.deepEqual(
    silence?.matchers.map((m) => `${m.name}${m.isRegex ? '=~' : '='}${m.value}`),
    // Only this stack's alerts: another stack in the same Alertmanager may have a probe "api" too.
    ['probe=~api', `stack=${d.stack.name}`],
  );

  // Ends by itself: the direct path posts the probe's alert, the metric goes back to 0.
  await eventually(() => log.lines.some((l) => l.msg === 'maintenance window ended' && l.id === window.id), 'window end logged', 10_000);
  await waitFor("the window's probe alerting again", async () => (seen = await amAlerts(am)).includes('api'), { describe: () => seen });
  assert.deepEqual(await amAlerts(am), ['api', 'other']);
  assert.equal(await metric(d, 'api'), '0');
  const list = (await (await fetch(`${d.url}/maintenance`)).json()) as { active: unknown[] };
  assert.deepEqual(list.active, []);
});

test('DELETE ends a window early and expires its silence; windows survive a restart; a corrupt state file is ignored', async (t) => {
  const am = await startAlertmanager();
  t.after(() => am.stop());
  const target = await switchable(t);
  const stateDir = mkdtempSync(join(tmpdir(), 'watchdog-state-'));
  const first = await daemon(t, am, target.url, stateDir);
  const opened = (await (await post(first.d, { duration: '10m', reason: 'kept across a restart', probes: ['other'] })).json()) as { id: string };
  const ending = (await (await post(first.d, { duration: '10m', reason: 'ended early' })).json()) as { id: string };
  await eventually(() => first.log.lines.filter((l) => l.msg === 'alertmanager silence created for the maintenance window').length === 2, 'two silences', 5000);

  const del = await fetch(`${first.d.url}/maintenance/${ending.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(del.status, 200);
  assert.equal((await fetch(`${first.d.url}/maintenance/${ending.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);
  await eventually(() => first.log.lines.some((l) => l.msg === 'alertmanager silence expired with the maintenance window'), 'silence expired', 5000);
  const states = Object.fromEntries((await amSilences(am)).map((s) => [s.comment.split(':')[0] ?? '', s.status.state]));
  assert.equal(states[`maintenance ${ending.id}`], 'expired');
  assert.equal(states[`maintenance ${opened.id}`], 'active');
  await first.d.stop();

  const saved = JSON.parse(readFileSync(join(stateDir, 'maintenance.json'), 'utf8')) as { windows: { id: string }[] };
  assert.deepEqual(
    saved.windows.map((w) => w.id),
    [opened.id],
  );
  const second = await daemon(t, am, target.url, stateDir);
  const list = (await (await fetch(`${second.d.url}/maintenance`)).json()) as { active: { id: string; reason: string }[] };
  assert.deepEqual(
    list.active.map((w) => w.id),
    [opened.id],
  );
  await second.d.stop();

  // Expired windows are dropped when the file is read. The file alone is the subject from here: the
  // window kept above is ended in Alertmanager, which replicas read windows back from (issue 21).
  await expireAll(am);
  const selector = { probes: [], kinds: [], labels: {} };
  const window = (id: string, endsAt: number) => ({ id, source: 'api', reason: id, startsAt: Date.now() - 60_000, endsAt, selector });
  writeFileSync(join(stateDir, 'maintenance.json'), JSON.stringify({ version: 1, windows: [window('m-00000001', Date.now() - 1000), window('m-00000002', Date.now() + 600_000)], silences: {} }));
  const restored = await daemon(t, am, target.url, stateDir);
  const kept = (await (await fetch(`${restored.d.url}/maintenance`)).json()) as { active: { id: string }[] };
  assert.deepEqual(
    kept.active.map((w) => w.id),
    ['m-00000002'],
  );
  await restored.d.stop();

  await expireAll(am);
  writeFileSync(join(stateDir, 'maintenance.json'), '{"version": 1, "windows": [');
  const third = await daemon(t, am, target.url, stateDir);
  assert.ok(third.log.lines.some((l) => l.msg === 'maintenance state file ignored: it cannot be used; API windows from before the restart are lost' && String(l.problem).includes('not JSON')));
  assert.deepEqual(((await (await fetch(`${third.d.url}/maintenance`)).json()) as { active: unknown[] }).active, []);
});

test('config windows: a one-off window open now covers its kind; a recurring one lists its next start', async (t) => {
  const am = await startAlertmanager();
  t.after(() => am.stop());
  const target = await switchable(t);
  const now = Date.now();
  const nightly = farDailyWindow(now);
  const extra = `  windows:
    - { name: now, reason: planned, start: "${new Date(now - 60_000).toISOString()}", duration: 1h, kinds: [http] }
    - { name: nightly, reason: backup, cron: "${nightly.cron}", timezone: ${nightly.timezone}, duration: 30m, probes: [api] }`;
  const { d } = await daemon(t, am, target.url, mkdtempSync(join(tmpdir(), 'watchdog-state-')), extra);
  const list = (await (await fetch(`${d.url}/maintenance`)).json()) as { active: { id: string; covered: string[] }[]; upcoming: { id: string; startsAt: string }[] };
  assert.deepEqual(
    list.active.map((w) => [w.id, w.covered]),
    [['now', ['api', 'other']]],
  );
  assert.equal(list.upcoming.length, 1);
  assert.match(list.upcoming[0]!.id, /^nightly@/);
  // Its hour in Berlin is one or two hours later than in UTC.
  const startsAt = new Date(list.upcoming[0]!.startsAt);
  assert.equal(startsAt.getUTCMinutes(), 0, list.upcoming[0]!.startsAt);
  assert.ok(nightly.utcHours.includes(startsAt.getUTCHours()), `${list.upcoming[0]!.startsAt} starts at one of the UTC hours ${nightly.utcHours.join(', ')}`);
  const del = await fetch(`${d.url}/maintenance/now`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(del.status, 409);
  assert.equal(await metric(d, 'other'), '1');
});

test('a window opened over a firing direct alert lets it run out instead of resolving it; a reload adds and removes config windows', async (t) => {
  const am = await startAlertmanager();
  t.after(() => am.stop());
  const target = await switchable(t);
  target.set(false);
  const { d, log } = await daemon(t, am, target.url, mkdtempSync(join(tmpdir(), 'watchdog-state-')));
  // Both probes fail: wait until Alertmanager holds both alerts (each posted on its own probe's run), so
  // what follows compares against a known start.
  let firing: string[] = [];
  await waitFor('both direct alerts firing at Alertmanager', async () => (firing = await amAlerts(am)).length === 2, { timeoutMs: 15_000, describe: () => firing });
  assert.deepEqual(firing, ['api', 'other']);
  assert.equal((await post(d, { duration: '1m', reason: 'known outage', probes: ['api'] })).status, 201);
  await eventually(() => log.lines.some((l) => l.msg === 'direct alert not renewed: the probe is in a maintenance window; it runs out' && l.probe === 'api'), 'handed over', 5000);
  // No "resolved" was posted: Alertmanager still holds it as firing until its endsAt (resolveTimeout 4s) passes.
  assert.deepEqual(await amAlerts(am), ['api', 'other']);
  assert.ok(!log.lines.some((l) => l.msg === 'direct alert resolved' && l.probe === 'api'));
  // Alertmanager ends it on its own clock (resolveTimeout 4s): waited for, bounded; renewed, it would never go.
  let seen: string[] = [];
  await waitFor('the alert to run out at Alertmanager', async () => !(seen = await amAlerts(am)).includes('api'), { timeoutMs: 15_000, describe: () => seen });
  assert.deepEqual(await amAlerts(am), ['other'], 'run out at its endsAt, not renewed');

  // A config window added by a reload applies at once; removed again, it ends and its silence expires.
  const file = d.config().files[0]!;
  const text = readFileSync(file, 'utf8');
  writeFileSync(
    file,
    text.replace(
      'maxDuration: 1h\n',
      `maxDuration: 1h\n  windows:\n    - { name: planned, reason: planned work, start: "${new Date(Date.now() - 1000).toISOString()}", duration: 1h, probes: [other] }\n`,
    ),
  );
  assert.equal(await d.reload(), true);
  assert.equal(await metric(d, 'other'), '1');
  await eventually(() => log.lines.some((l) => l.msg === 'alertmanager silence created for the maintenance window' && l.id === 'planned'), 'config window silence', 5000);
  writeFileSync(file, text);
  assert.equal(await d.reload(), true);
  assert.equal(await metric(d, 'other'), '0');
  await eventually(() => log.lines.some((l) => l.msg === 'alertmanager silence expired with the maintenance window' && l.id === 'planned'), 'config window silence expired', 5000);
});

test('stacks sharing one Alertmanager keep their windows apart: a replica of the stack takes the window up, another stack never does', async (t) => {
  const am = await startAlertmanager();
  t.after(() => am.stop());
  const target = await switchable(t);
  const start = (stack: string) => daemon(t, am, target.url, mkdtempSync(join(tmpdir(), 'watchdog-state-')), '', { WATCHDOG_STACK: stack });
  const [a1, a2, b] = [await start('shop-prod'), await start('shop-prod'), await start('shop-staging')];
  const windows = async (d: Daemon) => ((await (await fetch(`${d.url}/maintenance`)).json()) as { active: { id: string }[] }).active.map((w) => w.id);

  const res = await post(a1.d, { duration: '1h', reason: 'prod db upgrade', probes: ['api'] });
  assert.equal(res.status, 201);
  const { id } = (await res.json()) as { id: string };
  // The replica of the same stack reads the silences back every 5 s and takes the window up...
  let seen: string[] = [];
  await waitFor('the other shop-prod replica to take the window up', async () => (seen = await windows(a2.d)).includes(id), { timeoutMs: 15_000, intervalMs: 200, describe: () => seen });
  // ...the other stack, reading the same silences on the same schedule, never does (two reads).
  await stays('shop-staging took up a shop-prod window', async () => (await windows(b.d)).includes(id), Date.now() + 11_000, { describe: () => seen });
  const silence = (await amSilences(am)).find((s) => s.comment.includes(id));
  assert.deepEqual(
    silence?.matchers.map((m) => `${m.name}${m.isRegex ? '=~' : '='}${m.value}`),
    ['probe=~api', 'stack=shop-prod'],
  );
});
