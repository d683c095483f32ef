// The probe thread (WATCHDOG_PROBE_THREAD=worker, src/engine/thread.ts): the engine stays on the main
// thread and only the runs move. Each test runs a real worker_thread against real targets on 127.0.0.1
// (and the real dockerd for the memory round trip): the results must be what the same probes give on
// the main thread, a probe's memory must travel both ways, a stop must cut runs in flight, and a thread
// that dies must be replaced with its runs reported as the watchdog's own failure.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import type { MemoryCell, ProbeState } from '../../src/engine/result.js';
import { ProbeThread } from '../../src/engine/thread.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { dockerAvailable, removeContainer, runContainer, uniqueName } from '../support/docker.js';
import { closedPort, hangAfterAccept, jsonServer, statusServer } from '../support/misbehaving.js';
import { makeTempDir } from '../support/process.js';
import { runWatchdogCli, startWatchdog, waitForStatus } from '../support/watchdog-process.js';
import { waitFor } from '../support/wait.js';

const silent = pino({ level: 'silent' });
const DOCKER_HOST = process.env.DOCKER_HOST || undefined;

function thread(): ProbeThread {
  return new ProbeThread({ logger: silent, data: { userAgent: 'stack-watchdog-test', dockerHost: DOCKER_HOST, logLevel: 'silent' } });
}

function config(probes: Record<string, unknown>[]) {
  return parseConfig([{ file: 'thread.yaml', text: stringify({ probes }) }], {});
}

function engine(runner?: ProbeThread) {
  const http = createHttpClient({ userAgent: 'stack-watchdog-test' });
  const e = new Engine({ http, docker: createDockerClient({ dockerHost: DOCKER_HOST }), logger: silent, now: Date.now, maxStartJitterMs: 0, runner });
  return { engine: e, close: () => e.stop(200).then(() => http.close()) };
}

/** What people read of a run, minus what differs from run to run (durations). */
const seen = (s: ProbeState) => `${s.current.status}:${s.current.reason} ${s.current.message.replace(/\d+(\.\d+)? ?(ms|s)\b/g, 'N')} | ${s.current.hint ?? ''}`;

test('the probe thread gives the results the main thread gives, for the same probes', async (t) => {
  const ok = await statusServer(200);
  const bad = await statusServer(503);
  const refused = await closedPort();
  t.after(() => Promise.all([ok.close(), bad.close(), refused.close()]));
  const cfg = config([
    { name: 'ok', kind: 'http', url: `${ok.url}/`, timeout: '2s' },
    { name: 'bad', kind: 'http', url: `${bad.url}/`, timeout: '2s' },
    { name: 'refused', kind: 'http', url: `${refused.url}/`, timeout: '2s' },
    { name: 'port', kind: 'tcp', address: ok.hostPort, timeout: '2s' },
  ]);
  const here = engine();
  const runner = thread();
  const there = engine(runner);
  t.after(async () => {
    await Promise.all([here.close(), there.close()]);
    await runner.close();
  });
  here.engine.load(cfg);
  there.engine.load(cfg);
  const [a, b] = await Promise.all([here.engine.runOnce(), there.engine.runOnce()]);
  assert.deepEqual(b.map(seen), a.map(seen));
  assert.deepEqual(
    b.map((s) => `${s.spec.name}=${s.current.status}`),
    ['ok=ok', 'bad=failing', 'refused=failing', 'port=ok'],
  );
  // The thread really dialled: the targets counted its connections (one each engine).
  assert.ok(ok.connections >= 3, `ok saw ${ok.connections} connections`);
  assert.deepEqual(b[2]!.current.details?.target, a[2]!.current.details?.target);
});

test('a spec replaced by a reload runs as the new spec in the thread', async (t) => {
  const ok = await statusServer(200);
  const bad = await statusServer(500);
  t.after(() => Promise.all([ok.close(), bad.close()]));
  const runner = thread();
  const { engine: e, close } = engine(runner);
  t.after(async () => {
    await close();
    await runner.close();
  });
  e.load(config([{ name: 'p', kind: 'http', url: `${ok.url}/`, timeout: '2s' }]));
  assert.equal((await e.runOnce())[0]!.current.status, 'ok');
  e.load(config([{ name: 'p', kind: 'http', url: `${bad.url}/`, timeout: '2s' }]));
  const after = (await e.runOnce())[0]!.current;
  assert.equal(`${after.status}:${after.reason}`, 'failing:http_status', after.message);
  assert.equal(bad.connections, 1);
  // A probe the reload removed is forgotten on both sides; a new one of the same name runs again.
  e.load(config([{ name: 'q', kind: 'http', url: `${ok.url}/`, timeout: '2s' }]));
  e.load(config([{ name: 'p', kind: 'http', url: `${ok.url}/`, timeout: '2s' }]));
  assert.equal((await e.runOnce())[0]!.current.status, 'ok');
});

test("a probe's memory travels to the thread and back (container_state on the real dockerd)", async (t) => {
  assert.equal(await dockerAvailable(), true, 'dockerd + test image must be there (scripts/ensure-services.sh)');
  const name = uniqueName('thread-memory');
  t.after(() => removeContainer(name));
  await runContainer({ name, memory: '32m' });
  const runner = thread();
  t.after(() => runner.close());
  const spec = config([{ name: 'c', kind: 'container_state', container: name, window: '2m', timeout: '5s' }]).probes[0]!;
  const stop = new AbortController();

  // Out: what the kind keeps comes back into the engine's cell.
  const cell: MemoryCell = {};
  const first = await runner.run(spec, cell, stop.signal);
  assert.equal(first.status, 'ok', first.message);
  assert.ok(Array.isArray((cell.value as { restarts?: unknown }).restarts), `memory after the run: ${JSON.stringify(cell.value)}`);

  // In: an OOM kill the previous run saw 20 s ago keeps the probe red, although the container runs now.
  const previous: MemoryCell = { value: { restarts: [[Date.now() - 20_000, 0]], oomSeenAt: Date.now() - 20_000 } };
  const kept = await runner.run(spec, previous, stop.signal);
  assert.equal(`${kept.status}:${kept.reason}`, 'failing:oom_killed', kept.message);
  assert.match(kept.message, /OOM killer at its 32MiB limit 20s ago/);
  assert.ok((previous.value as { oomSeenAt?: number }).oomSeenAt! > 0);
});

test('a stop cuts the runs in flight in the thread, and leaves no connection open', async (t) => {
  const hang = await hangAfterAccept();
  t.after(() => hang.close());
  const runner = thread();
  const { engine: e, close } = engine(runner);
  t.after(async () => {
    await close();
    await runner.close();
  });
  e.load(config([{ name: 'hang', kind: 'http', url: `${hang.url}/`, timeout: '20s', interval: '30s' }]));
  const run = e.runNow('hang');
  await waitFor('the thread to dial the hanging target', () => hang.open === 1, { describe: () => ({ open: hang.open }) });
  const started = Date.now();
  await e.stop(0);
  const result = await run;
  assert.equal(result?.message, 'run cancelled: the watchdog is stopping');
  assert.ok(Date.now() - started < 5000, `the stop took ${Date.now() - started} ms`);
  await waitFor('the thread to close its connection', () => hang.open === 0, { describe: () => ({ open: hang.open }) });
});

test('a probe thread that dies is replaced; the runs it held read as the watchdog failing, not the target', async (t) => {
  const hang = await hangAfterAccept();
  const ok = await statusServer(200);
  t.after(() => Promise.all([hang.close(), ok.close()]));
  const runner = thread();
  t.after(() => runner.close());
  const [hangSpec, okSpec] = config([
    { name: 'hang', kind: 'http', url: `${hang.url}/`, timeout: '20s', interval: '30s' },
    { name: 'ok', kind: 'http', url: `${ok.url}/`, timeout: '2s' },
  ]).probes;
  const stop = new AbortController();
  const held = runner.run(hangSpec!, {}, stop.signal);
  await waitFor('the thread to dial the hanging target', () => hang.open === 1, { describe: () => ({ open: hang.open }) });
  // What a crash of the thread (a native fault, an out-of-memory kill of its heap) looks like from here.
  await (runner as unknown as { worker: Worker }).worker.terminate();
  const lost = await held;
  assert.equal(`${lost.status}:${lost.reason}`, 'failing:error');
  assert.match(lost.message, /internal error: the probe thread exited/);
  assert.match(lost.hint!, /stack-watchdog failing, not the target/);
  // The replacement comes up on its own and runs the next probe (it is sent the spec again).
  const next = await waitFor(
    'a run on the replacement thread',
    async () => {
      const r = await runner.run(okSpec!, {}, stop.signal);
      return r.status === 'ok' ? r : undefined;
    },
    { timeoutMs: 10_000 },
  );
  assert.equal(next.status, 'ok');
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
