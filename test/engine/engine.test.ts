// The engine against real local targets: dependencies, thresholds, history, reload, one-shot order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { jsonServer, closedPort } from '../support/misbehaving.js';
import { advanceEngine, captureLogger, engineFor, eventually } from '../support/engine.js';
import { ManualTime } from '../support/time.js';

/** An HTTP target whose answer the test switches between 200 and 500. */
async function switchable() {
  let code = 200;
  const server = await jsonServer(() => ({ status: code, body: { code } }));
  return { server, set: (c: number) => (code = c) };
}

test('a failing dependency blocks its dependents instead of failing them too', async (t) => {
  const down = await closedPort();
  const up = await switchable();
  t.after(() => up.server.close());
  const { engine, close } = engineFor(`
probes:
  - { name: prometheus-ready, kind: http, url: "${down.url}/-/ready", timeout: 1s }
  - { name: span-rate, kind: http, url: "${up.server.url}/q", dependsOn: [prometheus-ready] }
  - { name: rule-groups, kind: http, url: "${up.server.url}/r", dependsOn: [span-rate] }
  - { name: independent, kind: http, url: "${up.server.url}/i" }
`);
  t.after(close);
  const states = await engine.runOnce();
  const by = Object.fromEntries(states.map((s) => [s.spec.name, s.current]));
  assert.equal(by['prometheus-ready']!.status, 'failing');
  assert.equal(by['prometheus-ready']!.reason, 'connect');
  assert.equal(by['span-rate']!.status, 'blocked');
  assert.equal(by['span-rate']!.reason, 'dependency_failed');
  assert.match(by['span-rate']!.message, /depends on "prometheus-ready", which is failing \(connect\)/);
  // Transitively blocked: the chain reads as one outage.
  assert.equal(by['rule-groups']!.status, 'blocked');
  assert.match(by['rule-groups']!.message, /"span-rate", which is blocked/);
  assert.equal(by.independent!.status, 'ok');
  assert.equal(up.server.connections > 0, true);
  // Blocked probes were never sent to their target.
  assert.equal(engine.state('span-rate')!.failuresByReason.size, 0);
});

test('runOnce runs dependencies before dependents and only what was asked for', async (t) => {
  const up = await switchable();
  t.after(() => up.server.close());
  const { engine, close } = engineFor(`
probes:
  - { name: base, kind: http, url: "${up.server.url}/b" }
  - { name: mid, kind: http, url: "${up.server.url}/m", dependsOn: [base] }
  - { name: top, kind: http, url: "${up.server.url}/t", dependsOn: [mid] }
  - { name: other, kind: http, url: "${up.server.url}/o" }
`);
  t.after(close);
  const states = await engine.runOnce(['top']);
  assert.deepEqual(states.map((s) => s.spec.name).sort(), ['base', 'mid', 'top']);
  const at = Object.fromEntries(states.map((s) => [s.spec.name, s.last!.at]));
  assert.ok(at.base! <= at.mid! && at.mid! <= at.top!, JSON.stringify(at));
  assert.equal(engine.state('other')!.last, undefined);
});

test('failureThreshold and successThreshold damp flapping; the raw runs are still counted', async (t) => {
  const target = await switchable();
  t.after(() => target.server.close());
  const { logger, lines } = captureLogger('info');
  const { engine, close } = engineFor(
    `
probes:
  - { name: flappy, kind: http, url: "${target.server.url}/", failureThreshold: 2, successThreshold: 2 }
`,
    { logger },
  );
  t.after(close);
  const status = () => engine.state('flappy')!.current.status;
  await engine.runNow('flappy');
  assert.equal(status(), 'ok');
  target.set(500);
  await engine.runNow('flappy');
  assert.equal(status(), 'ok', 'one failure is below the threshold');
  assert.match(String(engine.state('flappy')!.current.details?.flapping), /1 of 2 failures/);
  await engine.runNow('flappy');
  assert.equal(status(), 'failing');
  assert.equal(engine.state('flappy')!.current.reason, 'http_status');
  target.set(200);
  await engine.runNow('flappy');
  assert.equal(status(), 'failing', 'one success is below the recovery threshold');
  await engine.runNow('flappy');
  assert.equal(status(), 'ok');
  const s = engine.state('flappy')!;
  assert.equal(s.runs.get('ok'), 3);
  assert.equal(s.runs.get('failing'), 2);
  assert.equal(s.failuresByReason.get('http_status'), 2);
  // One warn line going down, one info line coming back; steady runs are not logged at info.
  const changes = lines.filter((l) => l.probe === 'flappy');
  assert.deepEqual(
    changes.map((l) => [l.level, l.msg, l.status]),
    [
      [30, 'probe ok', 'ok'],
      [40, 'probe failing', 'failing'],
      [30, 'probe recovered', 'ok'],
    ],
  );
  const failingLine = changes[1]!;
  assert.equal(failingLine.reason, 'http_status');
  assert.match(String(failingLine.message), /answered HTTP 500/);
});

test('history keeps the last N runs and failures longer', async (t) => {
  const target = await switchable();
  t.after(() => target.server.close());
  const { engine, close } = engineFor(`probes: [{ name: p, kind: http, url: "${target.server.url}/" }]`, { historySize: 3, failureHistorySize: 5 });
  t.after(close);
  target.set(500);
  await engine.runNow('p');
  target.set(200);
  for (let i = 0; i < 5; i++) await engine.runNow('p');
  const s = engine.state('p')!;
  assert.equal(s.history.length, 3);
  assert.ok(s.history.every((r) => r.status === 'ok'));
  assert.equal(s.failures.length, 1, 'the failure outlives the short history');
  assert.equal(s.failures[0]!.reason, 'http_status');
  assert.ok(s.history[0]!.at >= s.history[1]!.at, 'newest first');
});

test('start runs every probe once, then on its interval, and the scheduler ticks', async (t) => {
  const target = await switchable();
  t.after(() => target.server.close());
  const { engine, close } = engineFor(`
probes:
  - { name: fast, kind: http, url: "${target.server.url}/f", interval: 1s, timeout: 900ms }
  - { name: slow, kind: http, url: "${target.server.url}/s", interval: 1h }
  - { name: cron, kind: http, url: "${target.server.url}/c", schedule: "0 0 1 1 *" }
`);
  t.after(close);
  assert.equal(engine.ready, false);
  engine.start();
  // Bounds for a loaded CI machine: the claims are about counts, not about how fast they come.
  await eventually(() => engine.ready, 'every probe has a first result', 15_000);
  await eventually(
    () => (engine.state('fast')!.runs.get('ok') ?? 0) >= 3,
    'fast ran three times',
    15_000,
    () => [...engine.state('fast')!.runs],
  );
  assert.equal(engine.state('slow')!.runs.get('ok'), 1, 'an hourly probe ran once, at start');
  assert.equal(engine.state('cron')!.runs.get('ok'), 1, 'a cron probe runs once at start too');
  assert.ok(Date.now() - engine.lastTick < 1500, 'the scheduler keeps ticking (every 25 ms)');
});

test("a dependent waits for its dependency's first result instead of running blind", async (t) => {
  const target = await switchable();
  t.after(() => target.server.close());
  const down = await closedPort();
  const { engine, close } = engineFor(`
probes:
  - { name: dependent, kind: http, url: "${target.server.url}/d", dependsOn: [guard] }
  - { name: guard, kind: http, url: "${down.url}/", timeout: 1s }
`);
  t.after(close);
  engine.start();
  await eventually(() => engine.ready, 'both probes have results', 5000);
  assert.equal(engine.state('dependent')!.current.status, 'blocked');
  assert.equal(target.server.connections, 0);
});

test('reload keeps the history of kept probes, drops removed ones, adds new ones', async (t) => {
  const target = await switchable();
  t.after(() => target.server.close());
  const { engine, close } = engineFor(`
probes:
  - { name: kept, kind: http, url: "${target.server.url}/k" }
  - { name: removed, kind: http, url: "${target.server.url}/r" }
`);
  t.after(close);
  await engine.runOnce();
  const before = engine.state('kept')!;
  // One array per install, handed to every view (each scrape and /status request asks): runs change
  // the states in it, not the array.
  const list = engine.states();
  assert.equal(engine.states(), list, 'the same array while no install happened');
  engine.load(
    parseConfig(
      [
        {
          file: 't.yaml',
          text: `
probes:
  - { name: kept, kind: http, url: "${target.server.url}/k2", severity: warning }
  - { name: added, kind: tcp, address: "127.0.0.1:${target.server.port}" }
`,
        },
      ],
      {},
    ),
  );
  assert.deepEqual(
    engine.states().map((s) => s.spec.name),
    ['kept', 'added'],
  );
  assert.notEqual(engine.states(), list, 'an install makes a new array');
  assert.deepEqual(
    list.map((s) => s.spec.name),
    ['kept', 'removed'],
    'and leaves the one handed out before as it was',
  );
  assert.equal(engine.state('kept'), before, 'same state object, so a run in flight lands in it');
  assert.equal(engine.state('kept')!.spec.severity, 'warning');
  assert.equal(engine.state('kept')!.runs.get('ok'), 1);
  assert.equal(engine.state('removed'), undefined);
  assert.equal(engine.state('added')!.current.status, 'pending');
});

test('a probe that changes kind on reload starts afresh', async (t) => {
  const target = await switchable();
  t.after(() => target.server.close());
  const { engine, close } = engineFor(`probes: [{ name: p, kind: http, url: "${target.server.url}/" }]`);
  t.after(close);
  await engine.runOnce();
  engine.load(parseConfig([{ file: 't.yaml', text: `probes: [{ name: p, kind: tcp, address: "127.0.0.1:${target.server.port}" }]` }], {}));
  assert.equal(engine.state('p')!.history.length, 0);
  assert.equal(engine.state('p')!.current.status, 'pending');
});

test("operator hints are appended to the kind's hint for that reason only", async (t) => {
  const down = await closedPort();
  const { engine, close } = engineFor(`
probes:
  - name: p
    kind: http
    url: "${down.url}/"
    hints: { connect: "Prometheus runs on the ops host: ssh ops1 docker ps.", timeout: "never shown" }
`);
  t.after(close);
  const [s] = await engine.runOnce();
  assert.match(s!.current.hint!, /Nothing accepts connections there.*Prometheus runs on the ops host: ssh ops1 docker ps\.$/);
  assert.doesNotMatch(s!.current.hint!, /never shown/);
});

test('a reload keeps kept probes in their schedule; a changed interval starts afresh', async (t) => {
  const target = await switchable();
  t.after(() => target.server.close());
  const yaml = (slowInterval: string) => `
probes:
  - { name: hourly, kind: http, url: "${target.server.url}/h", interval: 1h }
  - { name: retimed, kind: http, url: "${target.server.url}/r", interval: ${slowInterval} }
`;
  // Time moves by hand: "two more seconds" below is two seconds of ticks, however slow the machine.
  const time = new ManualTime();
  const { engine, close } = engineFor(yaml('1h'), { now: time.now, timers: time });
  t.after(close);
  engine.start();
  await eventually(() => engine.ready, 'first results', 5000);
  engine.load(parseConfig([{ file: 't.yaml', text: yaml('2h') }], {}));
  await advanceEngine(engine, time, 25);
  await eventually(() => engine.state('retimed')!.runs.get('ok') === 2, 'the re-timed probe ran again', 5000);
  // Two more seconds of ticks, each one's runs finished: the kept hourly probe must not have been re-run by the reload.
  await advanceEngine(engine, time, 2100);
  assert.equal(engine.state('hourly')!.runs.get('ok'), 1);
});

test('a run that throws inside the runner is logged as a bug and the engine keeps scheduling', async (t) => {
  const target = await switchable();
  t.after(() => target.server.close());
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  const { logger: real, lines } = captureLogger('info');
  // The runner asks the logger for a per-probe child before its own try/catch: throwing there for
  // one probe makes runProbe itself reject, as a bug in the runner would.
  const logger = Object.create(real) as typeof real;
  logger.child = (bindings: Record<string, unknown>, options?: object) => {
    if (bindings.probe === 'broken') throw new Error('child logger exploded');
    return real.child(bindings, options);
  };
  const { engine, close } = engineFor(
    `
probes:
  - { name: broken, kind: http, url: "${target.server.url}/b", interval: 1s, timeout: 900ms }
  - { name: healthy, kind: http, url: "${target.server.url}/h", interval: 1s, timeout: 900ms }
`,
    { logger },
  );
  t.after(close);
  engine.start();
  const bugLines = () => lines.filter((l) => l.level === 50 && l.probe === 'broken');
  await eventually(() => bugLines().length >= 2, 'the broken probe was tried, and tried again on a later tick', 15_000);
  await eventually(
    () => (engine.state('healthy')!.runs.get('ok') ?? 0) >= 3,
    'the other probe keeps getting results',
    15_000,
    () => [...engine.state('healthy')!.runs],
  );
  // An unhandled rejection is reported once the microtasks of its turn have run: one more turn of the event loop is enough.
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(unhandled, []);
  const line = bugLines()[0]!;
  assert.match(String(line.msg), /bug/);
  assert.match(String((line.err as { message?: string } | undefined)?.message), /child logger exploded/);
  assert.equal(engine.state('broken')!.running, false);
  assert.ok(Date.now() - engine.lastTick < 1500, 'the scheduler still ticks');
});

test("runOnce reports a single run undamped without changing the probe's thresholds for later runs", async (t) => {
  const target = await switchable();
  t.after(() => target.server.close());
  const { engine, close } = engineFor(`
probes:
  - { name: damped, kind: http, url: "${target.server.url}/", failureThreshold: 3, successThreshold: 2 }
`);
  t.after(close);
  const state = engine.state('damped')!;
  const status = () => state.current.status;
  target.set(500);
  const [once] = await engine.runOnce();
  assert.equal(once!.current.status, 'failing', 'one failing run is reported as failing by runOnce');
  assert.equal(once!.current.reason, 'http_status');
  assert.equal(state.spec.failureThreshold, 3);
  assert.equal(state.spec.successThreshold, 2);

  // Later runs are damped as configured: two successes to recover...
  target.set(200);
  await engine.runNow('damped');
  assert.equal(status(), 'failing', 'one success is below the recovery threshold');
  await engine.runNow('damped');
  assert.equal(status(), 'ok');
  // ...and three failures to fail.
  target.set(500);
  await engine.runNow('damped');
  await engine.runNow('damped');
  assert.equal(status(), 'ok', 'two failures are below the failure threshold');
  assert.match(String(state.current.details?.flapping), /2 of 3 failures/);
  await engine.runNow('damped');
  assert.equal(status(), 'failing');
});

test('scheduled runs start when due, not at the next whole second: lateness stays under 100 ms', async (t) => {
  const target = await switchable();
  t.after(() => target.server.close());
  // Start offsets spread over the second: a once-a-second scheduler tick started each of these up
  // to a second late, whatever the load.
  const offsets = [0.1, 0.3, 0.5, 0.7, 0.9];
  let i = 0;
  const time = new ManualTime();
  const { engine, close } = engineFor(
    `
probes:
${offsets.map((_, n) => `  - { name: p${n}, kind: http, url: "${target.server.url}/${n}", interval: 1s, timeout: 500ms }`).join('\n')}
`,
    // Lateness is the scheduler's own (its tick, its queue), not the machine's: time moves by hand,
    // so a loaded CI machine cannot make a 25 ms tick fire 100 ms late.
    { maxStartJitterMs: 1000, random: () => offsets[i++ % offsets.length]!, now: time.now, timers: time },
  );
  t.after(close);
  const lags: number[] = [];
  engine.on('lag', (_s, ms) => lags.push(ms));
  engine.start();
  await advanceEngine(engine, time, 3000);
  await eventually(
    () => lags.length >= 15,
    'three scheduled runs of each probe',
    6000,
    () => lags,
  );
  assert.ok(Math.max(...lags) < 100, `lateness of each run (ms): ${lags.join(', ')}`);
  // Every run changed its probe's state, and so its version (what the views' caches key on).
  assert.ok(engine.states().every((s) => s.version >= 3));
});
