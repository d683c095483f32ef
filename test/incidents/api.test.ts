// GET /incidents, /status/<probe> and `watchdog incidents` against a running daemon whose state dir
// holds a known history, on an injected clock.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { Incident } from '../../src/incidents/incidents.js';
import { IncidentList, ProbeDetail, readView } from '../../src/report/schemas.js';
import { captureLogger, eventually } from '../support/engine.js';
import { closedPort, jsonServer } from '../support/misbehaving.js';
import { ManualTime } from '../support/time.js';
import { runWatchdogCli } from '../support/watchdog-process.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

const history: Incident[] = [
  { probe: 'api', start: T0 - 8 * DAY, end: T0 - 8 * DAY + HOUR, reasons: ['connect'], message: 'connection refused', hint: 'start it', maintenance: [] },
  { probe: 'api', start: T0 - 2 * DAY, end: T0 - 2 * DAY + 30 * MIN, reasons: ['http_status'], message: 'HTTP 503', hint: null, maintenance: ['m-0000abcd'] },
  { probe: 'api', start: T0 - 20 * MIN, end: T0 - 5 * MIN, reasons: ['timeout', 'http_status'], message: 'no answer within 1s', hint: null, maintenance: [] },
  { probe: 'db', start: T0 - 3 * HOUR, end: null, reasons: ['connect'], message: 'connection refused', hint: null, maintenance: [] },
];

async function daemonWithHistory(t: TestContext): Promise<Daemon> {
  const up = await jsonServer(() => ({ status: 200, body: {} }));
  const down = await closedPort();
  t.after(() => up.close());
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-incidents-api-'));
  writeFileSync(
    join(dir, 'probes.yaml'),
    `
probes:
  - { name: api, kind: http, url: "${up.url}/" }
  - { name: db, kind: tcp, address: "127.0.0.1:${down.port}", timeout: 1s }
`,
  );
  const stateDir = mkdtempSync(join(tmpdir(), 'watchdog-incidents-state-'));
  writeFileSync(join(stateDir, 'incidents.json'), JSON.stringify({ version: 1, watched: { api: T0 - 10 * DAY, db: T0 - 10 * DAY }, incidents: history }));
  // The first runs are spread over up to a second (start jitter): the clock moves through it to T0.
  const time = new ManualTime(T0 - 1000);
  const settings = readSettings({ WATCHDOG_CONFIG: join(dir, 'probes.yaml'), WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_STATE_DIR: stateDir });
  const d = await startDaemon(settings, { logger: captureLogger('warn').logger, processMetrics: false, now: time.now, timers: time });
  t.after(() => d.stop());
  await time.advance(1000);
  await eventually(() => d.engine.ready, 'first results');
  return d;
}

async function list(d: Daemon, query: string): Promise<IncidentList> {
  const res = await fetch(`${d.url}/incidents${query}`);
  assert.equal(res.status, 200, query);
  const view = readView(IncidentList, await res.json());
  assert.ok(view.ok, view.ok ? '' : view.problem);
  return view.value;
}

const starts = (l: IncidentList) => l.incidents.map((i) => `${i.probe}@-${(T0 - Date.parse(i.start)) / MIN}m`);

test('GET /incidents filters by probe, since and open; /status/<probe> shows recent incidents and availability; bad parameters are 400s naming them', async (t) => {
  const d = await daemonWithHistory(t);
  const all = await list(d, '');
  assert.deepEqual(starts(all), ['api@-20m', 'db@-180m', 'api@-2880m', 'api@-11520m'], 'newest first');
  assert.equal(all.since, null);
  const open = all.incidents.find((i) => i.probe === 'db')!;
  assert.deepEqual(open, {
    probe: 'db',
    start: iso(T0 - 3 * HOUR),
    end: null,
    open: true,
    durationSeconds: 3 * 3600,
    reasons: ['connect'],
    message: 'connection refused',
    hint: null,
    maintenance: [],
  });

  const week = await list(d, '?since=7d');
  assert.equal(week.since, iso(T0 - 7 * DAY));
  assert.deepEqual(starts(week), ['api@-20m', 'db@-180m', 'api@-2880m'], 'the one that ended 8 days ago is out');
  assert.deepEqual(week.downtime, [
    { probe: 'db', incidents: 1, downtimeSeconds: 3 * 3600 },
    { probe: 'api', incidents: 2, downtimeSeconds: 45 * 60 },
  ]);
  assert.deepEqual(starts(await list(d, `?since=${iso(T0 - 10 * MIN)}`)), ['api@-20m', 'db@-180m'], 'an ISO time: open at or after it');
  assert.deepEqual(starts(await list(d, '?probe=api&open=false')), ['api@-20m', 'api@-2880m', 'api@-11520m']);
  assert.deepEqual(starts(await list(d, '?open=true')), ['db@-180m']);
  assert.deepEqual(starts(await list(d, '?probe=nothing-here')), []);

  const detail = readView(ProbeDetail, await (await fetch(`${d.url}/status/api`)).json());
  assert.ok(detail.ok, detail.ok ? '' : detail.problem);
  assert.deepEqual(
    detail.value.incidents?.map((i) => i.start),
    [T0 - 20 * MIN, T0 - 2 * DAY, T0 - 8 * DAY].map(iso),
  );
  assert.deepEqual(detail.value.availability, { hour: 45 / 60, day: (24 * 60 - 15) / (24 * 60), week: (7 * 24 * 60 - 45) / (7 * 24 * 60) });
  const db = (await (await fetch(`${d.url}/status/db`)).json()) as ProbeDetail;
  assert.deepEqual(db.availability, { hour: 0, day: 0.875, week: (7 * 24 - 3) / (7 * 24) });

  for (const [query, message] of [
    ['?since=yesterday', 'since: expected a span such as "7d", "24h" or "30m", or a time such as "2026-12-01T00:00:00Z", got "yesterday"'],
    ['?since=2026-13-45', 'since: expected a span such as "7d", "24h" or "30m", or a time such as "2026-12-01T00:00:00Z", got "2026-13-45"'],
    ['?open=maybe', 'querystring/open must be boolean'],
    ['?probe=Not_A_Name', 'querystring/probe must match pattern "^[a-z0-9-]{1,64}$"'],
    ['?format=xml', 'querystring/format must be equal to one of the allowed values'],
    ['?probes=api', 'probes: unknown parameter (probe, since, open and format are known)'],
  ]) {
    const res = await fetch(`${d.url}/incidents${query}`);
    assert.equal(res.status, 400, query);
    assert.equal(((await res.json()) as { message: string }).message, message, query);
  }

  const doc = (await (await fetch(`${d.url}/openapi.json`)).json()) as { paths: Record<string, { get?: { parameters?: { name: string }[] } }> };
  assert.deepEqual(
    doc.paths['/incidents']?.get?.parameters?.map((p) => p.name),
    ['probe', 'since', 'open', 'format'],
  );
});

test('?format=text: each incident with its duration, then the downtime per probe', async (t) => {
  const d = await daemonWithHistory(t);
  const res = await fetch(`${d.url}/incidents?since=7d&format=text`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/plain/);
  assert.equal(
    await res.text(),
    [
      `3 incident(s) since ${iso(T0 - 7 * DAY)}:`,
      'PROBE  START                     END                       DURATION  REASONS              MESSAGE',
      `api    ${iso(T0 - 20 * MIN)}  ${iso(T0 - 5 * MIN)}  15m       timeout,http_status  no answer within 1s`,
      `db     ${iso(T0 - 3 * HOUR)}  open                      3h        connect              connection refused`,
      `api    ${iso(T0 - 2 * DAY)}  ${iso(T0 - 2 * DAY + 30 * MIN)}  30m       http_status          HTTP 503 (in maintenance: m-0000abcd)`,
      '',
      `downtime per probe since ${iso(T0 - 7 * DAY)}:`,
      'PROBE  INCIDENTS  DOWNTIME',
      'db     1          3h',
      'api    2          45m',
      '',
    ].join('\n'),
  );
  assert.equal(await (await fetch(`${d.url}/incidents?probe=nothing-here&format=text`)).text(), 'no incidents kept\n');
});

const watchdog = (args: string[], env: Record<string, string>) => runWatchdogCli(['incidents', ...args], env);

test('watchdog incidents prints what /incidents?format=text does, with exit codes 0, 1, 2 and 3', async (t) => {
  const d = await daemonWithHistory(t);
  const env = { WATCHDOG_URL: d.url };
  const text = await watchdog(['--since', '7d'], env);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(text.stdout, await (await fetch(`${d.url}/incidents?since=7d&format=text`)).text());
  const json = await watchdog(['--probe', 'db', '--open', '--format', 'json'], env);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(
    (JSON.parse(json.stdout) as IncidentList).incidents.map((i) => i.start),
    [iso(T0 - 3 * HOUR)],
  );
  const ended = await watchdog(['--ended', '--probe', 'db'], env);
  assert.equal(ended.stdout, 'no incidents kept\n');

  const refused = await watchdog(['--since', 'last tuesday'], env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^watchdog incidents: the daemon answered 400: since: expected a span/);
  const both = await watchdog(['--open', '--ended'], env);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--open and --ended exclude each other/);
  const nobody = await closedPort();
  const unreachable = await watchdog([], { WATCHDOG_URL: nobody.url });
  assert.equal(unreachable.code, 3);
  assert.match(unreachable.stderr, /cannot reach the daemon at http:\/\/127\.0\.0\.1:\d+/);
  // Another program on the port: a 200 that is not the list is exit 1 saying where it differs.
  const other = await jsonServer(() => ({ status: 200, body: { incidents: 'none' } }));
  t.after(() => other.close());
  const skew = await watchdog([], { WATCHDOG_URL: other.url });
  assert.equal(skew.code, 1);
  assert.match(skew.stderr, /answered 200 but not with the list of incidents \(\/generatedAt: Expected required property\)/);
});
