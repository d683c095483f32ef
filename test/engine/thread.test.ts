// The engine on a thread of its own (WATCHDOG_PROBE_THREAD=worker, src/engine/thread.ts): the probe
// thread schedules and runs; the main thread's ThreadedEngine holds the same probes and judges the
// same results for every view. Each test runs a real worker_thread against real targets on 127.0.0.1:
// the states must be what an engine on one thread gives, a reload must reach the thread, run-now must
// answer, a stop must cut runs in flight, and a thread that dies must be replaced.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import type { ProbeState } from '../../src/engine/result.js';
import { ProbeThreadUnavailable, ThreadedEngine } from '../../src/engine/thread.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { captureLogger } from '../support/engine.js';
import { closedPort, hangAfterAccept, jsonServer, statusServer } from '../support/misbehaving.js';
import { makeTempDir } from '../support/process.js';
import { runWatchdogCli, startWatchdog, waitForStatus } from '../support/watchdog-process.js';
import { waitFor } from '../support/wait.js';

const DOCKER_HOST = process.env.DOCKER_HOST || undefined;

function config(probes: Record<string, unknown>[]) {
  return parseConfig([{ file: 'thread.yaml', text: stringify({ probes }) }], {});
}

/** An engine on this thread, or a threaded one; both with real clients. */
function engine(threaded: boolean) {
  const { logger, lines } = captureLogger('info');
  const http = createHttpClient({ userAgent: 'stack-watchdog-test' });
  const opts = { http, docker: createDockerClient({ dockerHost: DOCKER_HOST }), logger, now: Date.now, maxStartJitterMs: 0 };
  const e = threaded ? new ThreadedEngine({ ...opts, thread: { userAgent: 'stack-watchdog-test', dockerHost: DOCKER_HOST, logLevel: 'silent' } }) : new Engine(opts);
  return { engine: e, lines, close: () => e.stop(200).then(() => http.close()) };
}

/** What people read of a run, minus what differs from run to run (durations). */
const seen = (s: ProbeState) => `${s.spec.name}=${s.current.status}:${s.current.reason} ${s.current.message.replace(/\d+(\.\d+)? ?(ms|s)\b/g, 'N')} | ${s.current.hint ?? ''}`;

/**
 * The bound of a wait that includes a thread's start. Run from the TypeScript sources, a thread
 * compiles its modules through tsx as it starts. From a thread's death to its successor's first
 * request: 1.3-1.5 s here when quiet, 4.4-5.1 s with eight busy processes beside the test, and more
 * than 10 s (the default bound) in CI run N, beside another suite building the image.
 */
const THREAD_START = { timeoutMs: 30_000 };

const describe = (e: Engine) => () => e.states().map((s) => `${s.spec.name}=${s.current.status}:${s.current.reason} runs=${s.history.length}`);

test('the probe thread judges as an engine on one thread does: same states, one log line per change, kept here', async (t) => {
  const ok = await statusServer(200);
  const bad = await statusServer(503);
  const refused = await closedPort();
  t.after(() => Promise.all([ok.close(), bad.close(), refused.close()]));
  const cfg = config([
    { name: 'ok', kind: 'http', url: `${ok.url}/`, timeout: '2s', interval: '30s' },
    { name: 'bad', kind: 'http', url: `${bad.url}/`, timeout: '2s', interval: '30s' },
    { name: 'refused', kind: 'http', url: `${refused.url}/`, timeout: '2s', interval: '30s' },
    { name: 'port', kind: 'tcp', address: ok.hostPort, timeout: '2s', interval: '30s' },
    { name: 'after-bad', kind: 'http', url: `${ok.url}/`, timeout: '2s', interval: '30s', dependsOn: ['bad'] },
  ]);
  const here = engine(false);
  const there = engine(true);
  t.after(() => Promise.all([here.close(), there.close()]));
  here.engine.load(cfg);
  there.engine.load(cfg);
  const a = await here.engine.runOnce();
  there.engine.start();
  await waitFor('every probe judged through the thread', () => there.engine.ready && there.engine.state('after-bad')!.current.status !== 'pending', {
    ...THREAD_START,
    describe: describe(there.engine),
  });
  assert.deepEqual(there.engine.states().map(seen), a.map(seen));
  assert.deepEqual(
    there.engine.states().map((s) => `${s.spec.name}=${s.current.status}`),
    ['ok=ok', 'bad=failing', 'refused=failing', 'port=ok', 'after-bad=blocked'],
  );
  // The thread really dialled (the targets counted it), and the change was logged once, here.
  assert.ok(ok.connections >= 3, `ok saw ${ok.connections} connections`);
  assert.equal(there.lines.filter((l) => l.msg === 'probe failing' && l.probe === 'bad').length, 1, JSON.stringify(there.lines));
  assert.ok(there.engine.lastTick > 0, 'the thread ticks');
});

test("a reload reaches the thread: a probe replaced runs as the new probe, and the old one's results are not kept", async (t) => {
  const ok = await statusServer(200);
  let badRequests = 0;
  const bad = await jsonServer(() => (badRequests++, { status: 500, body: 'no' }));
  t.after(() => Promise.all([ok.close(), bad.close()]));
  const { engine: e, close } = engine(true);
  t.after(close);
  e.load(config([{ name: 'p', kind: 'http', url: `${ok.url}/`, timeout: '500ms', interval: '1s' }]));
  e.start();
  await waitFor('p ok', () => e.state('p')?.current.status === 'ok', { ...THREAD_START, describe: describe(e) });
  e.load(config([{ name: 'p', kind: 'http', url: `${bad.url}/`, timeout: '500ms', interval: '1s' }]));
  await waitFor('p failing against the new URL', () => e.state('p')?.current.reason === 'http_status', { describe: describe(e) });
  assert.ok(badRequests >= 1);
  // A probe the reload removed leaves the thread too: its target is asked no more.
  e.load(config([{ name: 'q', kind: 'http', url: `${ok.url}/`, timeout: '500ms', interval: '1s' }]));
  await waitFor('q ok', () => e.state('q')?.current.status === 'ok', { describe: describe(e) });
  const after = badRequests;
  await waitFor('two more runs of q', () => e.state('q')!.history.length >= 3, { describe: describe(e) });
  assert.equal(badRequests, after, 'the removed probe still ran');
  assert.equal(e.state('p'), undefined);
});

test('run-now goes through the thread and answers with the run it made', async (t) => {
  let requests = 0;
  const target = await jsonServer(() => (requests++, { status: 200, body: 'ok' }));
  t.after(() => target.close());
  const { engine: e, close } = engine(true);
  t.after(close);
  e.load(config([{ name: 'slow', kind: 'http', url: `${target.url}/`, timeout: '2s', interval: '1h' }]));
  e.start();
  await waitFor('the first run', () => e.state('slow')?.last !== undefined, { ...THREAD_START, describe: describe(e) });
  const before = requests;
  const raw = await e.runNow('slow');
  assert.equal(raw?.status, 'ok', raw?.message);
  assert.equal(requests, before + 1);
  assert.deepEqual(e.state('slow')!.last, raw, 'the state here holds the run that run-now answered with');
  assert.equal(await e.runNow('nonesuch'), undefined);
});

test('a stop cuts the runs in flight in the thread, and leaves no connection open', async (t) => {
  const hang = await hangAfterAccept();
  t.after(() => hang.close());
  const { engine: e, close } = engine(true);
  t.after(close);
  e.load(config([{ name: 'hang', kind: 'http', url: `${hang.url}/`, timeout: '20s', interval: '30s' }]));
  e.start();
  await waitFor('the thread to dial the hanging target', () => hang.open === 1, { describe: () => ({ open: hang.open }) });
  const started = Date.now();
  await e.stop(0);
  assert.ok(Date.now() - started < 5000, `the stop took ${Date.now() - started} ms`);
  await waitFor('the thread to close its connection', () => hang.open === 0, { describe: () => ({ open: hang.open }) });
});

test('a probe thread that dies is replaced: it gets the probes again, the states here keep their history, run-now in flight fails as ours', async (t) => {
  let requests = 0;
  const target = await jsonServer(() => (requests++, { status: 200, body: 'ok' }));
  const hang = await hangAfterAccept();
  t.after(() => Promise.all([target.close(), hang.close()]));
  const { engine: e, lines, close } = engine(true);
  t.after(close);
  e.load(
    config([
      { name: 'p', kind: 'http', url: `${target.url}/`, timeout: '500ms', interval: '1s' },
      { name: 'h', kind: 'http', url: `${hang.url}/`, timeout: '20s', interval: '1h' },
    ]),
  );
  e.start();
  await waitFor('two runs', () => (e.state('p')?.history.length ?? 0) >= 2, { ...THREAD_START, describe: describe(e) });
  const state = e.state('p')!;
  // A run-now in flight when the thread dies (h's first run holds the hanging target; run-now waits on it).
  await waitFor('the thread to dial the hanging target', () => hang.open === 1, { describe: () => ({ open: hang.open }) });
  const held = e.runNow('h');
  // What a crash of the thread (a native fault, its heap out of memory) looks like from here.
  await (e as unknown as { worker: Worker }).worker.terminate();
  await assert.rejects(held, (err: Error) => err instanceof ProbeThreadUnavailable && /the probe thread exited/.test(err.message));
  await waitFor('the exit logged', () => lines.some((l) => l.msg?.toString().startsWith('the probe thread exited')), { describe: () => lines });
  const seenBefore = requests;
  await waitFor('runs on the new thread', () => requests >= seenBefore + 2, {
    ...THREAD_START,
    describe: () => ({ requests, seenBefore, newThread: (e as unknown as { worker?: Worker }).worker ? 'spawned' : 'not yet' }),
  });
  await waitFor("the new thread's results here", () => state.history.length >= 4, { describe: describe(e) });
  assert.equal(e.state('p'), state, 'the same state, history kept');
});

test('watchdog run with WATCHDOG_PROBE_THREAD=worker: probes run on the thread, /status as usual; a bad value is refused at start', async (t) => {
  let requests = 0;
  const ok = await jsonServer(() => (requests++, { status: 200, body: 'ok' }));
  t.after(() => ok.close());
  const dir = makeTempDir('thread-daemon');
  const file = join(dir, 'probes.yaml');
  writeFileSync(file, stringify({ probes: [{ name: 'web', kind: 'http', url: `${ok.url}/`, interval: '1s', timeout: '500ms' }] }));
  const w = await startWatchdog(file, { WATCHDOG_PROBE_THREAD: 'worker' });
  t.after(() => void w.child.kill('SIGKILL'));
  assert.equal(w.logs.find((l) => l.msg === 'stack-watchdog started')?.probeThread, 'worker');
  await waitForStatus(w, 'web', /^ok:ok /, 'the probe to run on the thread');
  // Scheduled, not only the first run: the thread keeps running the probe every second.
  await waitFor('a third run', () => requests >= 3, { describe: () => ({ requests }) });
  w.child.kill('SIGTERM');
  assert.equal(await w.exited, 0, w.stderr());
  assert.equal(w.stderr(), '');

  const refused = await runWatchdogCli(['run'], { WATCHDOG_CONFIG: file, WATCHDOG_PROBE_THREAD: 'threads' });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /WATCHDOG_PROBE_THREAD: "threads" is not one of main, worker/);
});
