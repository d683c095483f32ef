// Incidents as the engine feeds them (a real engine probing a local target on an injected clock), as
// they are read back from incidents.json (bounds, damaged entries), and availability over a known history.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Incidents, type Incident } from '../../src/incidents/incidents.js';
import { advanceEngine, captureLogger, engineFor } from '../support/engine.js';
import { jsonServer } from '../support/misbehaving.js';
import { ManualTime } from '../support/time.js';
import { waitFor } from '../support/wait.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** A fixed instant: nothing here depends on the wall clock's date or hour. */
const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);

function incident(probe: string, start: number, end: number | null, extra: Partial<Incident> = {}): Incident {
  return { probe, start, end, reasons: ['connect'], message: `${probe} down`, hint: null, maintenance: [], ...extra };
}

function stateDirWith(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-incidents-'));
  writeFileSync(join(dir, 'incidents.json'), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

test('an incident starts at the run that made the probe failing and ends at the run that made it ok, to the millisecond; blocked opens none', async (t) => {
  let healthy = true;
  const target = await jsonServer(() => ({ status: healthy ? 200 : 503, body: {} }));
  t.after(() => target.close());
  const time = new ManualTime(T0);
  const stateDir = mkdtempSync(join(tmpdir(), 'watchdog-incidents-'));
  const { engine, close } = engineFor(
    `
probes:
  - { name: api, kind: http, url: "${target.url}/", interval: 1s, timeout: 500ms, failureThreshold: 2 }
  - { name: after, kind: tcp, address: "127.0.0.1:${target.port}", interval: 1s, timeout: 500ms, dependsOn: [api] }
`,
    { now: time.now, timers: time },
  );
  t.after(close);
  const incidents = new Incidents({ logger: captureLogger('warn').logger, now: time.now, stateDir });
  engine.on('result', (state) => incidents.observe(state));
  engine.start();
  // "after" waits for api's first result, then runs at the next scheduler tick.
  await waitFor("api's first result", () => engine.state('api')!.last);
  await advanceEngine(engine, time, 25);
  assert.ok(engine.ready);

  healthy = false;
  // T0+1s: first failure (threshold 2: not yet failing); T0+2s: failing, the incident opens.
  await advanceEngine(engine, time, 2000);
  const [opened] = incidents.list({ open: true });
  assert.deepEqual(opened, { probe: 'api', start: T0 + 2000, end: null, reasons: ['http_status'], message: opened!.message, hint: opened!.hint, maintenance: [] });
  assert.match(opened.message, /503/);
  await advanceEngine(engine, time, 3000);
  assert.equal(engine.state('after')!.current.status, 'blocked');
  healthy = true;
  // T0+6s: the first ok run ends it (successThreshold 1).
  await advanceEngine(engine, time, 1000);
  assert.deepEqual(
    incidents.list().map((i) => [i.probe, i.start - T0, i.end === null ? null : i.end - T0]),
    [['api', 2000, 6000]],
    'one incident, of api only: "after" was blocked, which is the incident of api',
  );
  // At T0+6s, 4 of the 6 seconds watched were in the incident.
  assert.deepEqual(incidents.availability('api', T0 + 6000), { hour: 2 / 6, day: 2 / 6, week: 2 / 6 });
  assert.deepEqual(incidents.availability('after'), { hour: 1, day: 1, week: 1 });
  await incidents.stop();
  const saved = JSON.parse(readFileSync(join(stateDir, 'incidents.json'), 'utf8')) as { incidents: Incident[] };
  assert.deepEqual(
    saved.incidents.map((i) => [i.start - T0, i.end! - T0]),
    [[2000, 6000]],
  );
});

test('availability over a known history: the last hour, day and week, from the first result, open incidents counted up to now', async () => {
  const time = new ManualTime(T0);
  const dir = stateDirWith({
    version: 1,
    watched: { api: T0 - 10 * DAY, young: T0 - 2 * HOUR, quiet: T0 - 30 * DAY },
    incidents: [
      incident('api', T0 - 8 * DAY, T0 - 8 * DAY + HOUR),
      incident('api', T0 - 2 * DAY, T0 - 2 * DAY + 30 * MIN),
      incident('api', T0 - 20 * MIN, T0 - 5 * MIN),
      incident('young', T0 - 90 * MIN, null),
    ],
  });
  const incidents = new Incidents({ logger: captureLogger('warn').logger, now: time.now, stateDir: dir });
  await incidents.load();
  assert.deepEqual(incidents.availability('api'), { hour: 45 / 60, day: (24 * 60 - 15) / (24 * 60), week: (7 * 24 * 60 - 45) / (7 * 24 * 60) });
  // Watched for two hours, failing for the last ninety minutes: the day and week count from its first result.
  assert.deepEqual(incidents.availability('young'), { hour: 0, day: 0.25, week: 0.25 });
  assert.deepEqual(incidents.availability('quiet'), { hour: 1, day: 1, week: 1 });
  assert.deepEqual(incidents.availability('never-ran'), { hour: null, day: null, week: null });
  await time.advance(50 * MIN);
  assert.deepEqual(incidents.availability('young').hour, 0, 'the open incident grows with the clock');
  assert.deepEqual(incidents.availability('api').hour, 55 / 60);
  // All probes at once (the status page): the same figures as one by one.
  const all = incidents.availabilities();
  for (const probe of ['api', 'young', 'quiet', 'never-ran']) assert.deepEqual(all(probe), incidents.availability(probe), probe);
  assert.deepEqual(all('api'), { hour: 55 / 60, day: (24 * 60 - 15) / (24 * 60), week: (7 * 24 * 60 - 45) / (7 * 24 * 60) });
});

test('bounds: ended incidents past the age are dropped, then the oldest ended over the count; an open one always stays', async () => {
  const time = new ManualTime(T0);
  const dir = stateDirWith({
    version: 1,
    watched: {},
    incidents: [
      incident('a', T0 - 40 * DAY, null),
      incident('b', T0 - 10 * DAY, T0 - 10 * DAY + MIN),
      incident('c', T0 - 5 * DAY, T0 - 5 * DAY + MIN),
      incident('d', T0 - 4 * DAY, T0 - 4 * DAY + MIN),
      incident('e', T0 - 3 * DAY, T0 - 3 * DAY + MIN),
      incident('f', T0 - 2 * DAY, T0 - 2 * DAY + MIN),
    ],
  });
  const incidents = new Incidents({ logger: captureLogger('warn').logger, now: time.now, stateDir: dir, maxCount: 3, maxAgeMs: 7 * DAY });
  await incidents.load();
  assert.deepEqual(
    incidents.list().map((i) => i.probe),
    ['f', 'e', 'a'],
    'b is past the age; c and d are the oldest ended over the count of 3; a is open',
  );
  assert.deepEqual(
    incidents.list({ since: T0 - 3 * DAY }).map((i) => i.probe),
    ['f', 'e', 'a'],
  );
  assert.deepEqual(
    incidents.list({ since: T0 - 2 * DAY }).map((i) => i.probe),
    ['f', 'a'],
  );
});

test('a damaged entry is dropped with a log line naming the file and the entry; the others are kept', async () => {
  const dir = stateDirWith({
    version: 1,
    watched: {},
    incidents: [incident('a', T0 - HOUR, T0 - 30 * MIN), { ...incident('b', 0, null), start: 'yesterday' }, incident('c', T0 - HOUR, T0 - 2 * HOUR), incident('d', T0 - MIN, null)],
  });
  const log = captureLogger('info');
  const incidents = new Incidents({ logger: log.logger, now: () => T0, stateDir: dir });
  await incidents.load();
  assert.deepEqual(
    incidents.list().map((i) => i.probe),
    ['d', 'a'],
  );
  const dropped = log.lines.filter((l) => l.msg === 'incident state dropped: it cannot be used').map((l) => l.problem);
  assert.deepEqual(dropped, [`${join(dir, 'incidents.json')}: incidents/1/start: Expected number: entry dropped`, `${join(dir, 'incidents.json')}: incidents/2: ends before it starts: entry dropped`]);
});

test('a file that is not JSON is logged, moved aside to incidents.json.corrupt, and the watchdog starts with none', async () => {
  const dir = stateDirWith('{"version": 1, "incidents": [');
  const log = captureLogger('info');
  const incidents = new Incidents({ logger: log.logger, now: () => T0, stateDir: dir });
  await incidents.load();
  assert.deepEqual(incidents.list(), []);
  const line = log.lines.find((l) => l.msg === 'incident state dropped: it cannot be used');
  const path = join(dir, 'incidents.json');
  assert.match(String(line?.problem), new RegExp(`^${path}: not JSON: .*: every incident from before the restart is lost; moved to ${path}\\.corrupt$`));
  assert.equal(readFileSync(`${path}.corrupt`, 'utf8'), '{"version": 1, "incidents": [');
  assert.equal(existsSync(path), false);
});

test('without a state dir incidents live in memory', async () => {
  const incidents = new Incidents({ logger: captureLogger('warn').logger, now: () => T0 });
  await incidents.load();
  assert.deepEqual(incidents.list(), []);
  assert.deepEqual(incidents.availability('x'), { hour: null, day: null, week: null });
});
