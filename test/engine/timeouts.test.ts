// The hard timeout and the scheduler's bounds: a stuck target costs the timeout and no more, a
// slow probe is never run twice at once, and no more probes run at once than `concurrency`.
import { before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { runProbe, type RunDeps } from '../../src/engine/runner.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient, type HttpClient } from '../../src/net/http.js';
import type { ProbeContext, ProbeOutcome, ProbeSpec } from '../../src/probers/types.js';
import { engineFor, eventually } from '../support/engine.js';
import { hangAfterAccept, jsonServer } from '../support/misbehaving.js';
import { waitFor } from '../support/wait.js';

/**
 * The runner's own deadline is the timeout plus 50 ms; the rest is event-loop noise, which on a
 * busy 2-core machine running other suites reaches a couple of hundred ms. Without the bound a
 * stuck run would last undici's 120 s header timeout, so this margin still tells the two apart.
 */
const HARD_MARGIN_MS = 600;

function spec(probe: Record<string, unknown>): ProbeSpec {
  return parseConfig([{ file: 'probes/timeouts.yaml', text: JSON.stringify({ probes: [{ name: 'stuck', interval: '30s', ...probe }] }) }], {}).probes[0]!;
}

function deps(t: TestContext, http = createHttpClient({ userAgent: 'stack-watchdog-test' })): RunDeps {
  t.after(() => http.close());
  return { http, docker: createDockerClient({}), logger: pino({ level: 'silent' }), now: Date.now };
}

// A process's first request costs tens of ms more than the next (undici compiles its WebAssembly
// HTTP parser): pay it here, so the bounds below measure the runner and not that.
before(async () => {
  const warm = await jsonServer(() => ({ status: 200, body: {} }));
  const http = createHttpClient({ userAgent: 'stack-watchdog-test' });
  await runProbe(spec({ kind: 'http', url: warm.url }), { http, docker: createDockerClient({}), logger: pino({ level: 'silent' }), now: Date.now });
  await http.close();
  await warm.close();
});

async function timed<T>(t: TestContext, run: () => Promise<T>): Promise<{ value: T; elapsedMs: number }> {
  const started = performance.now();
  const value = await run();
  const elapsedMs = performance.now() - started;
  t.diagnostic(`elapsed ${elapsedMs.toFixed(0)} ms`);
  return { value, elapsedMs };
}

test('an http run against a target that accepts and hangs ends at the timeout', async (t) => {
  const target = await hangAfterAccept();
  t.after(() => target.close());
  const { value: r, elapsedMs } = await timed(t, () => runProbe(spec({ kind: 'http', url: target.url, timeout: '1s' }), deps(t)));
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'timeout');
  assert.match(r.message, /did not answer in time/);
  assert.ok(elapsedMs >= 990 && elapsedMs < 1000 + HARD_MARGIN_MS, `took ${elapsedMs.toFixed(0)} ms`);
  assert.equal(target.connections, 1);
});

test('a run that ignores its signal is still cut at the timeout by the runner', async (t) => {
  const target = await hangAfterAccept();
  const http = createHttpClient({ userAgent: 'stack-watchdog-test' });
  // Stands in for a prober that forgets to pass ctx.signal on: only the runner's deadline can end it.
  const deaf: HttpClient = { request: (url, opts) => http.request(url, { ...opts, signal: new AbortController().signal }), close: () => http.close() };
  // Closing the target first ends the request the runner abandoned.
  t.after(() => target.close());
  const { value: r, elapsedMs } = await timed(t, () => runProbe(spec({ kind: 'http', url: target.url, timeout: '1s' }), deps(t, deaf)));
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'timeout');
  assert.equal(r.message, 'no result within the 1s timeout');
  assert.match(r.hint ?? '', /did not answer in time/);
  assert.ok(elapsedMs >= 1000 && elapsedMs < 1000 + HARD_MARGIN_MS, `took ${elapsedMs.toFixed(0)} ms`);
  assert.ok(r.durationMs >= 1000 && r.durationMs < 1000 + HARD_MARGIN_MS, `durationMs ${r.durationMs}`);
});

test('a request a prober left in flight is cut when its run ends', async (t) => {
  const target = await hangAfterAccept();
  t.after(() => target.close());
  const leaky = spec({ kind: 'http', url: target.url, timeout: '10s' });
  // Stands in for a prober that returns while one of its requests still waits (a query it gave up on,
  // or one the runner's hard stop left behind): the run is over, so the request must end with it.
  const run = async (ctx: ProbeContext): Promise<ProbeOutcome> => {
    void ctx.http.request(`${target.url}/left-behind`, { signal: ctx.signal }).catch(() => undefined);
    await waitFor('the request reached the target', () => target.connections === 1, { describe: () => ({ connections: target.connections }) });
    return { status: 'ok', reason: 'ok', message: 'returned with a request in flight' };
  };
  const r = await runProbe({ ...leaky, run }, deps(t));
  assert.equal(r.status, 'ok');
  // Without the cut it waits for undici's 120 s header timeout, or for the target.
  await waitFor('the target holds no connection of the run', () => target.open === 0, { timeoutMs: 2000, describe: () => ({ open: target.open }) });
});

test('the runner answers for a prober that ignores its signal only after that signal aborted', async (t) => {
  const deaf = spec({ kind: 'http', url: 'http://127.0.0.1:9/', timeout: '300ms' });
  const reasons: string[] = [];
  const run = (ctx: ProbeContext): Promise<ProbeOutcome> => {
    ctx.signal.addEventListener('abort', () => reasons.push((ctx.signal.reason as Error).name), { once: true });
    return new Promise(() => {});
  };
  const r = await runProbe({ ...deaf, run }, deps(t));
  assert.equal(r.message, 'no result within the 300ms timeout');
  // The deadline's TimeoutError, not the abort that ends every run: a prober always gets its signal
  // before the runner gives up on it (two timers 50 ms apart were seen firing out of order at load 15).
  assert.deepEqual(reasons, ['TimeoutError']);
});

/**
 * A port whose SYNs go unanswered, on loopback: a listener whose process never accepts (its
 * event loop is blocked), with the accept queue filled, makes the kernel drop further SYNs,
 * as a firewall that drops packets does.
 */
async function unansweredSyn(t: TestContext): Promise<number> {
  const script = `const s = require('net').createServer();
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(s.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const [line] = (await Promise.race([once(child.stdout, 'data'), new Promise((_, reject) => setTimeout(() => reject(new Error('listener did not start')), 10_000))])) as [Buffer];
  const port = Number(String(line).trim());
  const fillers: Socket[] = [];
  t.after(() => fillers.forEach((s) => s.destroy()));
  for (let i = 0; i < 8; i++) {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    fillers.push(socket);
    const connected = await Promise.race([once(socket, 'connect').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
    if (!connected) return port;
  }
  throw new Error('the accept queue never filled');
}

test('a tcp run whose SYN is never answered ends at the timeout', async (t) => {
  const port = await unansweredSyn(t);
  const { value: r, elapsedMs } = await timed(t, () => runProbe(spec({ kind: 'tcp', address: `127.0.0.1:${port}`, timeout: '1s' }), deps(t)));
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'timeout');
  assert.equal(r.message, `127.0.0.1:${port} did not accept a connection in time`);
  assert.match(r.hint ?? '', /Packets are dropped on the way/);
  assert.ok(elapsedMs >= 990 && elapsedMs < 1000 + HARD_MARGIN_MS, `took ${elapsedMs.toFixed(0)} ms`);
});

test('stopping the watchdog cancels a run in flight at once', async (t) => {
  const target = await hangAfterAccept();
  t.after(() => target.close());
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 200);
  const { value: r, elapsedMs } = await timed(t, () => runProbe(spec({ kind: 'http', url: target.url, timeout: '10s' }), { ...deps(t), stopSignal: stop.signal }));
  assert.equal(r.reason, 'timeout');
  assert.equal(r.message, 'run cancelled: the watchdog is stopping');
  assert.ok(elapsedMs < 200 + HARD_MARGIN_MS, `took ${elapsedMs.toFixed(0)} ms`);
});

/**
 * A target that accepts and hangs, and counts how many requests it holds at once. It counts
 * requests, not sockets: after an aborted request undici opens a spare connection that carries
 * nothing (nodejs/undici#5845), which says nothing about how many probes run at once.
 */
async function countingTarget(t: TestContext) {
  let busy = 0;
  let maxBusy = 0;
  let requests = 0;
  let open = 0;
  let maxOpen = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    maxOpen = Math.max(maxOpen, ++open);
    sockets.add(socket);
    let state: 'idle' | 'busy' | 'gone' = 'idle';
    socket.once('data', () => {
      if (state !== 'idle') return;
      state = 'busy';
      requests++;
      maxBusy = Math.max(maxBusy, ++busy);
    });
    // The client's FIN ('end') is the moment it let go; 'close' comes a loop turn later, after a
    // new connection may already have been accepted, and would count one run twice.
    const gone = () => {
      if (state === 'busy') busy--;
      if (state !== 'gone') open--;
      state = 'gone';
      sockets.delete(socket);
    };
    socket
      .on('end', gone)
      .on('close', gone)
      .on('error', () => {});
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    sockets.forEach((s) => s.destroy());
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, stats: () => ({ requests, busy, maxBusy, open, maxOpen }) };
}

test('a run that outlasts its schedule is not overlapped; the skipped ticks are counted', async (t) => {
  const target = await countingTarget(t);
  // Every second, with a 2.5 s timeout: a cron schedule has no interval for the timeout to be shorter than.
  const { engine, close } = engineFor(JSON.stringify({ probes: [{ name: 'slow', kind: 'http', url: target.url, schedule: '* * * * * *', timeout: '2500ms' }] }));
  t.after(close);
  const started = performance.now();
  engine.start();
  await eventually(
    () => target.stats().requests >= 2,
    'a second run after the first timed out',
    15_000,
    () => target.stats(),
  );
  const secondRunAfterMs = performance.now() - started;
  await engine.stop(100);
  const state = engine.state('slow')!;
  t.diagnostic(`second run began after ${secondRunAfterMs.toFixed(0)} ms; skipped ${state.skipped}; ${JSON.stringify(target.stats())}`);

  assert.equal(target.stats().maxBusy, 1, 'never two runs of one probe at once');
  assert.ok(secondRunAfterMs >= 2500, `second run began after ${secondRunAfterMs.toFixed(0)} ms`);
  // The first run spans two or three of the per-second ticks; on a loaded machine node-cron may fire a
  // tick late (one fewer) or the run end late (one more): the claim is that ticks found it running and
  // were counted, not how many a second holds.
  assert.ok(state.skipped >= 1 && state.skipped <= 4, `skipped ${state.skipped}`);
  assert.equal(state.history.at(-1)?.reason, 'timeout');
});

test('no more probes run at once than concurrency allows', async (t) => {
  const target = await countingTarget(t);
  const probes = [1, 2, 3, 4, 5].map((i) => ({ name: `stuck-${i}`, kind: 'http', url: `${target.url}/${i}`, timeout: '500ms', interval: '30s' }));
  const { engine, close } = engineFor(JSON.stringify({ probes }), { concurrency: 2 });
  t.after(close);
  const { value: states, elapsedMs } = await timed(t, () => engine.runOnce());
  t.diagnostic(JSON.stringify(target.stats()));

  assert.deepEqual(
    states.map((s) => s.current.reason),
    ['timeout', 'timeout', 'timeout', 'timeout', 'timeout'],
  );
  assert.equal(target.stats().requests, 5);
  assert.equal(target.stats().maxBusy, 2);
  // Three waves of 500 ms: two, two, one.
  assert.ok(elapsedMs >= 1450 && elapsedMs < 1500 + 3 * HARD_MARGIN_MS, `took ${elapsedMs.toFixed(0)} ms`);
  // A run's duration is its own, not the wait for a free slot.
  for (const s of states) assert.ok(s.current.durationMs < 500 + HARD_MARGIN_MS, `${s.spec.name}: ${s.current.durationMs} ms`);
});
