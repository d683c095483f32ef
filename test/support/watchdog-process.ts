// The daemon as a real process (`bin/watchdog.js run`) on a free port of 127.0.0.1, for tests of
// signals, reloads and faults that only a separate process shows: its JSON log lines parsed as they
// come, its stderr kept whole (an unhandled rejection or a stack trace lands there).
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { makeTempDir } from './process.js';
import { eventually } from './engine.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'watchdog.js');

export interface RunningWatchdog {
  child: ChildProcess;
  url: string;
  logs: Record<string, unknown>[];
  /** Everything written to stderr so far. */
  stderr(): string;
  exited: Promise<number | null>;
}

const probeThread = () => (process.env.WATCHDOG_TEST_PROBE_THREAD ? { WATCHDOG_PROBE_THREAD: process.env.WATCHDOG_TEST_PROBE_THREAD } : {});

export interface StartOptions extends Pick<SpawnOptions, 'uid' | 'gid'> {
  /** Where each start's port comes from (default freePort): the harness test hands out a taken one. */
  pickPort?: () => Promise<number>;
}

export async function startWatchdog(configPath: string, env: Record<string, string> = {}, { pickPort = freePort, ...opts }: StartOptions = {}): Promise<RunningWatchdog> {
  // freePort's check and the daemon's bind are two moments: another test process can take the port
  // between them. A daemon that lost that race exits with EADDRINUSE and is started again on another
  // port, a bounded number of times; any other early exit fails the test at once.
  for (let attempt = 1; ; attempt++) {
    const w = await launch(await pickPort(), configPath, env, opts);
    if (w.child.exitCode === null) return w;
    if (attempt < 3 && /EADDRINUSE/.test(w.stderr())) continue;
    throw new Error(`the daemon exited with ${w.child.exitCode} (start ${attempt}): ${w.stderr()}`);
  }
}

/** One daemon process on `port`, resolved once it logged its start or exited. */
async function launch(port: number, configPath: string, env: Record<string, string>, opts: Pick<SpawnOptions, 'uid' | 'gid'>): Promise<RunningWatchdog> {
  const child = spawn(process.execPath, [bin, 'run'], {
    // WATCHDOG_TEST_PROBE_THREAD=worker runs every daemon of the suite with its engine on the probe thread.
    env: { PATH: process.env.PATH, WATCHDOG_CONFIG: configPath, WATCHDOG_PORT: String(port), WATCHDOG_HOST: '127.0.0.1', ...probeThread(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...opts,
  });
  const logs: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      // Every stdout line must be a JSON log record: parse failures fail the test.
      logs.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await eventually(() => logs.some((l) => l.msg === 'stack-watchdog started') || child.exitCode !== null, 'the daemon to start', 20_000);
  // An exit's last stderr bytes may still be in the pipe: wait for them before anyone reads them.
  if (child.exitCode !== null) await new Promise<void>((resolve) => (child.stderr.readableEnded ? resolve() : child.stderr.once('end', resolve)));
  return { child, url, logs, stderr: () => stderr, exited };
}

/** A probe's `status:reason message` as /status shows them. */
export async function probeStatus(url: string, name: string): Promise<string> {
  const res = await fetch(`${url}/status/${name}`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { status: string; reason: string; message: string };
  return `${body.status}:${body.reason} ${body.message}`;
}

/** /healthz, /status and /metrics answer (any status /status documents), each within `ms`. */
export async function assertAnswering(w: RunningWatchdog, ms = 5000): Promise<void> {
  for (const path of ['/healthz', '/status', '/metrics']) {
    const started = Date.now();
    const res = await fetch(`${w.url}${path}`, { signal: AbortSignal.timeout(ms) });
    await res.arrayBuffer();
    assert.ok(path === '/status' ? [200, 503].includes(res.status) : res.status === 200, `${path} answered ${res.status}`);
    assert.ok(Date.now() - started < ms, `${path} took ${Date.now() - started} ms`);
  }
}

/**
 * No crash, unhandled rejection or stack trace on stderr (the daemon logs to stdout). node-cron writes
 * its own "missed execution" warning there when the event loop was held past a tick: allowed here
 * (a 2-core machine under a burst), counted in the test's output.
 */
export function assertQuietStderr(w: RunningWatchdog): void {
  const lines = w.stderr().split('\n').filter(Boolean);
  const other = lines.filter((l) => !/\[NODE-CRON\].*missed execution/.test(l));
  assert.deepEqual(other, [], 'the daemon wrote to stderr');
  assert.doesNotMatch(w.stderr(), /unhandled|uncaught/i);
  assert.equal(w.child.exitCode, null, 'the daemon is still running');
  if (lines.length > other.length) console.log(`# node-cron reported ${lines.length - other.length} missed tick(s) under the load`);
}

export async function waitForStatus(w: RunningWatchdog, name: string, match: RegExp, what: string, ms = 20_000): Promise<string> {
  const until = Date.now() + ms;
  let last = '';
  while (Date.now() < until) {
    last = await probeStatus(w.url, name);
    if (match.test(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: ${name} is ${last}, never ${match}`);
}

export interface CliRun {
  /** The exit code; -1 when it was killed (past `timeoutMs`). */
  code: number;
  stdout: string;
  stderr: string;
  /** From start to exit. */
  ms: number;
}

/**
 * One `watchdog ARGS...` run to its end, as an operator's shell runs it: exit code, stdout and stderr,
 * with PATH and `env` as its only environment. Killed past `timeoutMs` (default 30 s).
 */
export function runWatchdogCli(args: string[], env: Record<string, string> = {}, { timeoutMs = 30_000 }: { timeoutMs?: number } = {}): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** `text` as `probes.yaml` in a fresh temp dir (removed at exit, see makeTempDir): its path. */
export function probeFile(text: string, prefix = 'probes'): string {
  const file = join(makeTempDir(prefix), 'probes.yaml');
  writeFileSync(file, text);
  return file;
}
