// What the bench reads about a process, from the same source for the watchdog and for
// blackbox_exporter (/proc), so the two columns of every table are measured alike.
import { execFileSync, fork, type Serializable } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { parseExposition, type Exposition } from '../src/util/promText.js';
import { freePort } from '../test/support/ports.js';
import { onExit, startProcess, type ManagedProcess } from '../test/support/process.js';

export interface Memory {
  /** Resident set size now, KiB. */
  rssKiB: number;
  /** Highest RSS since the process started, KiB. */
  peakKiB: number;
}

export function memory(pid: number | 'self'): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), peakKiB: field('VmHWM') };
}

/** One round of PROBES probes, on either side. */
export interface Round {
  wallMs: number;
  cpuMs: number;
  rssKiB: number;
  /** Probes that did not succeed: 0, or the figures are not worth reading. */
  notOk: number;
}

let ticksPerSecond: number | undefined;

/** CPU time (user + system, all threads) the process has used so far, in ms. */
export function cpuMs(pid: number | 'self'): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** This checkout: the bench's compiled files are in bench/.build/bench/, three levels below it. */
const checkout = join(fileURLToPath(new URL('.', import.meta.url)), '../../..');

/** The Dockerfile's `ENV NAME=value` (or `ENV NAME="value"`) line in `root` (default: this checkout), if there is one. */
function imageEnvLine(name: string, root = checkout): string | undefined {
  const m = new RegExp(`^ENV ${name}=(?:"([^"]*)"|(\\S+))$`, 'm').exec(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  return m ? (m[1] ?? m[2]) : undefined;
}

/** The heap caps the image runs the daemon with (Dockerfile, `ENV NODE_OPTIONS=...`): RSS is then what a container shows. */
export function imageNodeOptions(root = checkout): string {
  const options = imageEnvLine('NODE_OPTIONS', root);
  if (options === undefined) throw new Error(`${join(root, 'Dockerfile')}: no ENV NODE_OPTIONS="..." line to run the daemon with`);
  return options;
}

/** The environment the image (of `root`, default this checkout) gives the daemon that shapes its memory: heap caps, glibc's malloc arenas. */
export function imageMemoryEnv(root = checkout): { NODE_OPTIONS: string; MALLOC_ARENA_MAX?: string } {
  const arenas = imageEnvLine('MALLOC_ARENA_MAX', root);
  return { NODE_OPTIONS: imageNodeOptions(root), ...(arenas === undefined ? {} : { MALLOC_ARENA_MAX: arenas }) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The probe file both the engine child and the daemon load: `count` http probes, one path each. */
export function probeFile(targetUrl: string, count: number, interval: string, timeout: string): string {
  const probes = Array.from({ length: count }, (_, i) => `  - name: target-${i}\n    kind: http\n    url: ${targetUrl}/t/${i}\n`);
  return `defaults:\n  interval: ${interval}\n  timeout: ${timeout}\nprobes:\n${probes.join('')}`;
}

/** The figures of one `wrk --latency` run: requests/s, p50 and p99 in ms, and errors of any kind. */
export function parseWrk(out: string): { requestsPerSec: number; p50Ms: number; p99Ms: number; errors: number } {
  const latency = (pct: string) => {
    const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
    if (!m) throw new Error(`wrk printed no ${pct}% latency:\n${out}`);
    return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2] as 'us' | 'ms' | 's'];
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    requestsPerSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50Ms: latency('50'),
    p99Ms: latency('99'),
    errors: non2xx + (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0),
  };
}

/**
 * A forked bench child (engine-child.ts, containers-child.ts) that answers each request with one
 * message over IPC: `next(msg)` sends and waits for the answer, `next()` waits for one unasked (the
 * child's first report). Killed at exit, also when the bench fails half way.
 */
export function ipcChild<Req extends Serializable, Reply>(file: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  const child = fork(file, { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const unregister = onExit(() => child.kill('SIGKILL'));
  const next = (send?: Req) =>
    new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the engine child did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
      const exited = (code: number | null) => reject(new Error(`the engine child exited (code ${code})`));
      child.once('exit', exited);
      child.once('message', (msg: Reply) => {
        clearTimeout(timer);
        child.off('exit', exited);
        resolve(msg);
      });
      if (send !== undefined) child.send(send);
    });
  return {
    next,
    kill: () => {
      unregister();
      child.kill('SIGKILL');
    },
  };
}

/**
 * The probed service (bench/target.ts, compiled beside this file) in a process of its own on a free
 * loopback port, so its CPU counts for neither side; its log goes to `dir`.
 */
export async function startTarget(dir: string): Promise<{ url: string; process: ManagedProcess }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = await startProcess({
    name: 'target',
    command: process.execPath,
    args: [join(fileURLToPath(new URL('.', import.meta.url)), 'target.js')],
    env: { ...process.env, BENCH_TARGET_PORT: String(port) },
    logFile: join(dir, 'target.log'),
    readyUrl: `${url}/`,
  });
  return { url, process: child };
}

/** A process's /metrics, read with the project's one text-format reader. */
export async function scrape(url: string): Promise<Exposition> {
  return parseExposition(await (await request(`${url}/metrics`)).body.text());
}

/** A counter summed over all its series. */
export async function counter(url: string, name: string): Promise<number> {
  return (await scrape(url)).sum(name);
}
