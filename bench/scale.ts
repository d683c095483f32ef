// `npm run bench:scale`: the daemon with 1,000 http probes every second, and what its two read paths
// cost under that load: GET /metrics and GET /status with wrk, each beside a plain node:http server
// (the anchor) that sends the very same bytes, in the same run. The anchor is what the work itself
// needs (HTTP plus the bytes); the daemon's figure above it is the cost of building the answer.
// Also: RSS, probe runs per second against the 1,000 expected, and runs skipped because the previous
// one was still going. Loopback only; every loop is bounded; every process is stopped at exit.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { freePort } from '../test/support/ports.js';
import { makeTempDir, startProcess } from '../test/support/process.js';
import { counter, imageMemoryEnv, memory, parseWrk, probeFile, scrape, startTarget } from './proc.js';

const PROBES = Number(process.env.BENCH_PROBES ?? 1000);
/**
 * BENCH_INTERVAL: the probes' interval (default 1s). At `1h` every probe runs once at start and then
 * waits: the scrapes then cost what serving alone costs on a thread that runs no probes, which is the
 * most splitting the engine off that thread could give (what /metrics and /status would cost).
 */
const INTERVAL = process.env.BENCH_INTERVAL ?? '1s';
const INTERVAL_S = (() => {
  const m = /^(\d+)(s|m|h)$/.exec(INTERVAL);
  if (!m) throw new Error(`BENCH_INTERVAL "${INTERVAL}": write a whole number of s, m or h, e.g. 1s`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
})();
const WRK_SECONDS = 5;
/** Every probe has run a few times, and the history (20 results each) has mostly filled. */
const WARMUP_SECONDS = 25;

const here = fileURLToPath(new URL('.', import.meta.url));
const run = promisify(execFile);

interface Scrape {
  bytes: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

async function wrk(url: string): Promise<Omit<Scrape, 'bytes'>> {
  const { stdout } = await run('wrk', ['-t1', '-c2', `-d${WRK_SECONDS}s`, '--latency', url], { timeout: (WRK_SECONDS + 15) * 1000 });
  return parseWrk(stdout);
}

/** A plain node:http server that answers every request with `body`: the anchor for one route. */
async function staticServer(body: Buffer, contentType: string): Promise<{ url: string; close: () => void }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': contentType, 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}/`, close: () => server.close() };
}

/** The schedule-lateness histogram's cumulative bucket counts, by upper bound (seconds). */
async function lagBuckets(url: string): Promise<Map<number, number>> {
  const buckets = (await scrape(url)).samples('watchdog_schedule_lag_seconds_bucket');
  return new Map(buckets.map((b) => [b.labels.le === '+Inf' ? Infinity : Number(b.labels.le), b.value]));
}

/**
 * The bucket bound under which `q` of the runs between two readings started: an upper bound of that
 * quantile, as exact as the buckets are (0.1 s is one, so "p99 under 100 ms" reads off directly).
 */
function lagQuantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = after.get(Infinity)! - (before.get(Infinity) ?? 0);
  for (const le of bounds) if (after.get(le)! - (before.get(le) ?? 0) >= q * total) return le * 1000;
  return Infinity;
}

async function compare(label: string, url: string, contentType: string) {
  const res = await request(url);
  const body = Buffer.from(await res.body.arrayBuffer());
  const daemon = { bytes: body.length, ...(await wrk(url)) };
  const anchor = await staticServer(body, contentType);
  try {
    return { label, daemon, anchor: { bytes: body.length, ...(await wrk(anchor.url)) } };
  } finally {
    anchor.close();
  }
}

/**
 * BENCH_NODE_FLAGS: node flags for the daemon's command line, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`
 * for a profile under this very load (Node writes it when the daemon exits on the bench's SIGTERM).
 * On the command line because NODE_OPTIONS refuses the profiling flags.
 */
const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

async function main(): Promise<void> {
  const load = [loadavg()[0]];
  const dir = makeTempDir('bench-scale');
  const { url: targetUrl, process: target } = await startTarget(dir);
  const config = join(dir, 'probes.yaml');
  writeFileSync(config, probeFile(targetUrl, PROBES, INTERVAL, '900ms'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    ...imageMemoryEnv(),
    NODE_ENV: 'production',
    WATCHDOG_CONFIG: config,
    WATCHDOG_HOST: '127.0.0.1',
    WATCHDOG_PORT: String(port),
    WATCHDOG_LOG_LEVEL: 'warn',
  };
  const daemon = await startProcess({
    name: 'daemon',
    command: process.execPath,
    args: [...nodeFlags, join(here, '../src/cli.js'), 'run'],
    env,
    logFile: join(dir, 'daemon.log'),
    readyUrl: `${url}/readyz`,
  });
  try {
    process.stdout.write(`[scale] ${PROBES} probes every ${INTERVAL}; warming up ${WARMUP_SECONDS}s\n`);
    await sleep(WARMUP_SECONDS * 1000);
    const runs0 = await counter(url, 'watchdog_probe_runs_total');
    const skipped0 = await counter(url, 'watchdog_probe_skipped_runs_total');
    const lag0 = await lagBuckets(url);
    const t0 = Date.now();
    const metrics = await compare('GET /metrics', `${url}/metrics`, 'text/plain; version=0.0.4; charset=utf-8');
    const status = await compare('GET /status', `${url}/status`, 'application/json; charset=utf-8');
    const seconds = (Date.now() - t0) / 1000;
    const runsPerSec = ((await counter(url, 'watchdog_probe_runs_total')) - runs0) / seconds;
    const skippedPerSec = ((await counter(url, 'watchdog_probe_skipped_runs_total')) - skipped0) / seconds;
    const lag1 = await lagBuckets(url);
    const lateness = { p50UpToMs: lagQuantile(lag0, lag1, 0.5), p99UpToMs: lagQuantile(lag0, lag1, 0.99) };
    const mem = memory(daemon.pid!);
    load.push(loadavg()[0]);
    const results = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, load1m: load, node: process.version },
      probes: PROBES,
      interval: INTERVAL,
      nodeOptions: env.NODE_OPTIONS,
      mallocArenaMax: env.MALLOC_ARENA_MAX,
      probeThread: process.env.WATCHDOG_PROBE_THREAD || 'main',
      routes: [metrics, status],
      runsPerSec,
      skippedPerSec,
      lateness,
      rssKiB: mem.rssKiB,
      peakKiB: mem.peakKiB,
    };
    writeFileSync(join(here, '../../results/scale-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    const f = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(0));
    const lines = [
      `stack-watchdog scale bench, ${results.date}: ${results.machine.cpus} CPUs, load ${load.map((l) => l?.toFixed(1)).join(' -> ')}, node ${process.version}, ${PROBES} probes every ${INTERVAL}, WATCHDOG_PROBE_THREAD=${results.probeThread}, NODE_OPTIONS "${env.NODE_OPTIONS}", MALLOC_ARENA_MAX ${env.MALLOC_ARENA_MAX ?? 'unset'}`,
      'route          side      bytes     req/s   p50 ms   p99 ms  errors',
      ...[metrics, status].flatMap((r) =>
        (['daemon', 'anchor'] as const).map((side) => {
          const s = r[side];
          return `${r.label.padEnd(14)} ${side.padEnd(7)} ${String(s.bytes).padStart(8)} ${s.requestsPerSec.toFixed(0).padStart(8)} ${f(s.p50Ms).padStart(8)} ${f(s.p99Ms).padStart(8)} ${String(s.errors).padStart(7)}`;
        }),
      ),
      `p99 daemon/anchor: /metrics ${(metrics.daemon.p99Ms / metrics.anchor.p99Ms).toFixed(1)}x, /status ${(status.daemon.p99Ms / status.anchor.p99Ms).toFixed(1)}x`,
      `schedule lateness (histogram bucket bounds): p50 <= ${lateness.p50UpToMs} ms, p99 <= ${lateness.p99UpToMs} ms`,
      `probe runs ${runsPerSec.toFixed(0)}/s of ${(PROBES / INTERVAL_S).toFixed(0)}/s expected, skipped ${skippedPerSec.toFixed(1)}/s; daemon RSS ${(mem.rssKiB / 1024).toFixed(1)} MiB (peak ${(mem.peakKiB / 1024).toFixed(1)} MiB)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await daemon.stop();
    await target.stop();
  }
}

await main();
