// The heartbeat against local node:http targets: one ping per complete round, and a target that
// hangs or fails costs the probes nothing.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { startAlerting } from '../../src/alerting/index.js';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { advanceEngine } from '../support/engine.js';
import { closedPort, hangAfterAccept, jsonServer, type JsonRequest } from '../support/misbehaving.js';
import { ManualTime } from '../support/time.js';

/**
 * The probes' timeout is generous: their targets answer at once, but this (possibly starved) test
 * process serves them, and at 500 ms a loaded machine made the healthy probe fail ("failing: 2").
 * `time` moves the scheduler by hand for the test that starts it.
 */
async function startWatchdog(t: TestContext, heartbeat: object, heartbeatTimeoutMs = 2000, time?: ManualTime) {
  const target = await jsonServer(() => ({ status: 200, body: 'ok' }));
  t.after(() => target.close());
  const doc = {
    alerting: { heartbeat },
    probes: [
      { name: 'app', kind: 'http', url: target.url, interval: '1m', timeout: '10s' },
      { name: 'port', kind: 'tcp', address: (await closedPort()).hostPort, interval: '1m', timeout: '10s' },
    ],
  };
  const config = parseConfig([{ file: 'heartbeat.yaml', text: JSON.stringify(doc) }], {});
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const http = createHttpClient({ userAgent: 'heartbeat-test' });
  const engine = new Engine({ http, docker: createDockerClient({}), logger, now: time?.now ?? Date.now, timers: time, maxStartJitterMs: 0 });
  engine.load(config);
  const alerting = startAlerting({ engine, config: () => config, http, logger, now: Date.now, tuning: { heartbeatTimeoutMs } });
  t.after(async () => {
    await alerting.stop();
    await engine.stop(100);
    await http.close();
  });
  return { engine, alerting, count: (msg: string) => lines.filter((l) => l.msg === msg), stats: alerting.stats.heartbeat };
}

/** A dead man's switch service that records its pings. */
async function deadMansSwitch(t: TestContext, status = 200) {
  const pings: JsonRequest[] = [];
  const server = await jsonServer((req) => {
    pings.push(req);
    return { status };
  });
  t.after(() => server.close());
  return { url: server.url, pings };
}

async function until(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('heartbeat: one ping per complete round, with the configured method and only counts in the body', async (t) => {
  const { url, pings } = await deadMansSwitch(t);
  const w = await startWatchdog(t, { url: `${url}/ping/abc`, method: 'POST' });

  for (let i = 1; i <= 3; i++) {
    await w.engine.runOnce();
    await until(`ping ${i}`, () => pings.length === i);
  }
  // Running one probe alone is no complete round: no ping. A ping hangs only on a round: had this
  // run made one, its ping is waited for (and the count below is 4), instead of sleeping on it.
  let rounds = 0;
  w.engine.on('round', () => rounds++);
  await w.engine.runOnce(['app']);
  if (rounds > 0) await until('the ping of that round', () => pings.length > 3);
  assert.equal(pings.length, 3);
  assert.equal(pings[0]!.method, 'POST');
  assert.equal(pings[0]!.path, '/ping/abc');
  assert.deepEqual(pings[0]!.json, { source: 'stack-watchdog', probes: 2, failing: 1 });
  assert.deepEqual(w.stats, { ok: 3, error: 0, skipped: 0 });
});

test('heartbeat: GET by default, driven by the running scheduler', async (t) => {
  const { url, pings } = await deadMansSwitch(t, 204);
  const time = new ManualTime();
  const w = await startWatchdog(t, { url }, 2000, time);
  let rounds = 0;
  w.engine.on('round', () => rounds++);
  w.engine.start();
  // The first round at start, the second one interval (1m of the engine's time) later.
  await until('the first ping', () => pings.length >= 1, 10_000);
  await advanceEngine(w.engine, time, 60_000, 1000);
  await until('two pings', () => pings.length >= 2, 6000);
  assert.equal(pings[0]!.method, 'GET');
  assert.equal(pings[0]!.text, '');
  assert.ok(Math.abs(rounds - pings.length) <= 1, `${rounds} rounds, ${pings.length} pings`);
});

test('heartbeat: a hanging target neither delays the rounds nor stacks pings, and is logged once', async (t) => {
  const hang = await hangAfterAccept();
  t.after(() => hang.close());
  const w = await startWatchdog(t, { url: hang.url }, 1500);

  const started = Date.now();
  for (let i = 0; i < 3; i++) await w.engine.runOnce();
  // Had the rounds waited for the ping, the last two would each have waited out its 1.5 s.
  assert.ok(Date.now() - started < 2000, `three rounds took ${Date.now() - started} ms`);
  await until('the ping to time out', () => w.stats.error === 1, 4000);
  // One ping at a time: the rounds that found it going were skipped, not stacked.
  assert.deepEqual(w.stats, { ok: 0, error: 1, skipped: 2 });
  assert.equal(w.count('heartbeat unreachable').length, 1);
  assert.equal(w.count('heartbeat unreachable')[0]!.reason, 'timeout');
  // The probes ran every round regardless.
  assert.equal(w.engine.state('app')!.runs.get('ok'), 3);
  assert.equal(w.engine.state('port')!.runs.get('failing'), 3);

  // stop() does not wait out a hanging ping.
  await w.engine.runOnce();
  const stopping = Date.now();
  await w.alerting.stop();
  assert.ok(Date.now() - stopping < 1000, `stop took ${Date.now() - stopping} ms`);
});

test('heartbeat: a failing target is logged once per state change, and its return once', async (t) => {
  let status = 503;
  const deadMansSwitch = await jsonServer(() => ({ status }));
  t.after(() => deadMansSwitch.close());
  const w = await startWatchdog(t, { url: deadMansSwitch.url });

  for (let i = 1; i <= 3; i++) {
    await w.engine.runOnce();
    await until(`ping ${i}`, () => w.stats.error === i);
  }
  assert.equal(w.count('heartbeat unreachable').length, 1);
  assert.equal(w.count('heartbeat unreachable')[0]!.reason, 'http_503');
  assert.equal(w.count('heartbeat still unreachable').length, 2);

  status = 200;
  await w.engine.runOnce();
  await until('a good ping', () => w.stats.ok === 1);
  await w.engine.runOnce();
  await until('another good ping', () => w.stats.ok === 2);
  const back = w.count('heartbeat reachable again');
  assert.equal(back.length, 1);
  assert.equal(back[0]!.failedAttempts, 3);
  assert.equal(back[0]!.lastReason, 'http_503');
});
