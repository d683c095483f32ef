// `npm run bench`: the watchdog side by side with blackbox_exporter (the anchor), in one run, on
// 127.0.0.1 only. Three parts: probe throughput and cost, /metrics scrape cost, memory over time.
// Every loop is bounded in count or time; every process started here is stopped at exit.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { freePort } from '../test/support/ports.js';
import { makeTempDir, startProcess, type ManagedProcess } from '../test/support/process.js';
import type { EngineReply, EngineRequest } from './engine-child.js';
import { cpuMs, ipcChild, median, memory, parseWrk, probeFile, scrape, startTarget, type Round } from './proc.js';

const PROBES = 200;
/** The daemon's default WATCHDOG_CONCURRENCY; the blackbox driver keeps as many requests in flight. */
const CONCURRENCY = 8;
const WARMUP_ROUNDS = 1;
const ROUNDS = 9;
const WRK_SECONDS = 5;
const SOAK_SECONDS = 30;
/**
 * The engine keeps each probe's last 20 results: until every probe has run 20 times (20 s at a 1 s
 * interval) memory grows by design. The leak-check window starts after that.
 */
const SOAK_WARMUP_SECONDS = 20;

const here = fileURLToPath(new URL('.', import.meta.url));
const compiled = (path: string) => join(here, path);
// bench/.build/bench/ → bench/results/
const resultsDir = join(here, '..', '..', 'results');
const run = promisify(execFile);

interface Side {
  wallMsPerRound: number;
  wallMsPerProbe: number;
  cpuMsPerRound: number;
  cpuMsPerProbe: number;
  idleRssKiB: number;
  rssKiB: number;
  peakKiB: number;
  notOk: number;
}

interface Scrape {
  bytes: number;
  series: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

interface Soak {
  /** Right after every probe had its first result. */
  rssReadyKiB: number;
  /** At the start of the window, after the warm-up. */
  rssStartKiB: number;
  rssEndKiB: number;
  /** Highest sample within the window. */
  rssMaxKiB: number;
  cpuSeconds: number;
  probeRuns: number;
  failedRuns: number;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const load = [loadavg()[0]!];
  const dir = makeTempDir('bench');
  const { url: targetUrl, process: target } = await startTarget(dir);
  const blackbox = await startBlackbox(dir);
  const driver = new Agent({ connections: CONCURRENCY });
  try {
    step(`1/3 probe throughput: ${PROBES} http probes x ${WARMUP_ROUNDS}+${ROUNDS} rounds, concurrency ${CONCURRENCY}`);
    const throughput = await throughputBoth(targetUrl, blackbox, driver);

    step(`2/3 /metrics scrape cost: wrk -t1 -c2 -d${WRK_SECONDS}s --latency, ${PROBES} probes loaded`);
    const daemon = await startDaemon(dir, 'daemon-scrape', targetUrl, '30s', '5s');
    const scrape = { watchdog: await scrapeCost(`${daemon.url}/metrics`), blackbox: await scrapeCost(`${blackbox.url}/metrics`) };
    await daemon.stop();

    step(`3/3 memory over ${SOAK_WARMUP_SECONDS}+${SOAK_SECONDS}s: ${PROBES} probes every 1s in the daemon, and as /probe calls to blackbox_exporter`);
    const soak = await soakBoth(dir, targetUrl, blackbox, driver);
    load.push(loadavg()[0]!);

    const results = {
      date: startedAt.toISOString(),
      machine: { cpus: cpus().length, loadAverage1m: { start: load[0], end: load[1] }, node: process.version, blackbox: blackbox.version, wrk: wrkVersion() },
      settings: { probes: PROBES, concurrency: CONCURRENCY, warmupRounds: WARMUP_ROUNDS, rounds: ROUNDS, wrkSeconds: WRK_SECONDS, soakWarmupSeconds: SOAK_WARMUP_SECONDS, soakSeconds: SOAK_SECONDS },
      throughput,
      scrape,
      soak,
    };
    mkdirSync(resultsDir, { recursive: true });
    // Three decimals are finer than anything this bench can resolve.
    const rounded = (_key: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v);
    writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(results, rounded, 2)}\n`);
    process.stdout.write(`\n${table(results)}\nwritten: bench/results/latest.json (${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s)\n`);
  } finally {
    await driver.close();
    await Promise.all([target.stop(), blackbox.proc.stop()]);
  }
}

function step(text: string): void {
  process.stdout.write(`[bench] ${text}\n`);
}

// --- the two contestants ---------------------------------------------------------------------

interface Blackbox {
  proc: ManagedProcess;
  pid: number;
  url: string;
  version: string;
}

async function startBlackbox(dir: string): Promise<Blackbox> {
  const config = join(dir, 'blackbox.yml');
  // The module's timeout matches the watchdog probes' 5s; ip4 because every target is 127.0.0.1.
  writeFileSync(config, 'modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n');
  const url = `http://127.0.0.1:${await freePort()}`;
  const proc = await startProcess({
    name: 'blackbox',
    command: 'prometheus-blackbox-exporter',
    args: [`--config.file=${config}`, `--web.listen-address=${url.slice('http://'.length)}`, '--log.level=warn'],
    logFile: join(dir, 'blackbox.log'),
    readyUrl: `${url}/-/healthy`,
  });
  const version = /version (\S+)/.exec(execFileSync('prometheus-blackbox-exporter', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))?.[1];
  return { proc, pid: proc.pid!, url, version: version ?? 'unknown' };
}

interface Daemon extends ManagedProcess {
  url: string;
  heapFile: string;
}

/** The real daemon (`watchdog run`, compiled as in the image) with PROBES http probes. */
async function startDaemon(dir: string, name: string, targetUrl: string, interval: string, timeout: string): Promise<Daemon> {
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, probeFile(targetUrl, PROBES, interval, timeout));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    WATCHDOG_CONFIG: config,
    WATCHDOG_HOST: '127.0.0.1',
    WATCHDOG_PORT: String(port),
    WATCHDOG_LOG_LEVEL: 'warn',
    WATCHDOG_CONCURRENCY: String(CONCURRENCY),
  };
  const heapFile = join(dir, `${name}.heap.jsonl`);
  const args = ['--expose-gc', '--import', pathToFileURL(compiled('heap-on-signal.js')).href, compiled('../src/cli.js'), 'run'];
  // /readyz answers 200 once every probe has a first result: from then on /metrics holds all of them.
  const proc = await startProcess({ name, command: process.execPath, args, env: { ...env, BENCH_HEAP_FILE: heapFile }, logFile: join(dir, `${name}.log`), readyUrl: `${url}/readyz` });
  return Object.assign(proc, { url, heapFile });
}

/** The daemon's live heap after a full collection (see heap-on-signal.ts), in bytes. */
async function heapAfterGc(daemon: Daemon): Promise<number> {
  const lines = () => (existsSync(daemon.heapFile) ? readFileSync(daemon.heapFile, 'utf8').trim().split('\n') : []);
  const before = lines().length;
  process.kill(daemon.pid!, 'SIGUSR2');
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
    const all = lines();
    if (all.length > before) return (JSON.parse(all.at(-1)!) as { heapUsedBytes: number }).heapUsedBytes;
  }
  throw new Error(`${daemon.name} did not report its heap within 10 s:\n${daemon.logTail()}`);
}

// --- 1. probe throughput ---------------------------------------------------------------------

async function throughputBoth(targetUrl: string, blackbox: Blackbox, driver: Agent): Promise<Record<'watchdog' | 'blackbox', Side>> {
  const engine = await startEngineChild(targetUrl);
  try {
    const bbIdleKiB = memory(blackbox.pid).rssKiB;
    const rounds = { watchdog: [] as Round[], blackbox: [] as Round[] };
    // Alternating rounds: a burst of load from elsewhere on the machine hits both sides alike.
    for (let r = 0; r < WARMUP_ROUNDS + ROUNDS; r++) {
      rounds.watchdog.push(await engine.round());
      const cpuBefore = cpuMs(blackbox.pid);
      const started = performance.now();
      const notOk = await blackboxRound(blackbox, targetUrl, driver);
      rounds.blackbox.push({ wallMs: performance.now() - started, cpuMs: cpuMs(blackbox.pid) - cpuBefore, rssKiB: memory(blackbox.pid).rssKiB, notOk });
    }
    return {
      watchdog: summarise(rounds.watchdog.slice(WARMUP_ROUNDS), engine.idleRssKiB, await engine.done()),
      blackbox: summarise(rounds.blackbox.slice(WARMUP_ROUNDS), bbIdleKiB, memory(blackbox.pid).peakKiB),
    };
  } finally {
    engine.kill();
  }
}

/** engine-child.ts, driven a round at a time over the IPC channel. */
async function startEngineChild(targetUrl: string) {
  const { next, kill } = ipcChild<EngineRequest, EngineReply>(
    compiled('engine-child.js'),
    { ...process.env, BENCH_TARGET_URL: targetUrl, BENCH_PROBES: String(PROBES), BENCH_CONCURRENCY: String(CONCURRENCY) },
    60_000,
  );
  const loaded = await next();
  if (!('loaded' in loaded)) throw new Error(`the engine child said ${JSON.stringify(loaded)} first`);
  return {
    idleRssKiB: loaded.loaded.idleRssKiB,
    async round(): Promise<Round> {
      const msg = await next('round');
      if (!('round' in msg)) throw new Error(`expected a round from the engine child, got ${JSON.stringify(msg)}`);
      return msg.round;
    },
    async done(): Promise<number> {
      const msg = await next('done');
      if (!('done' in msg)) throw new Error(`expected the engine child's last report, got ${JSON.stringify(msg)}`);
      return msg.done.peakKiB;
    },
    kill,
  };
}

/** PROBES /probe calls, CONCURRENCY at a time, as a Prometheus scraping PROBES targets would make; returns how many did not succeed. */
async function blackboxRound(blackbox: Blackbox, targetUrl: string, driver: Agent): Promise<number> {
  let next = 0;
  let notOk = 0;
  const worker = async () => {
    while (next < PROBES) {
      const target = `${targetUrl}/t/${next++}`;
      const res = await request(`${blackbox.url}/probe?module=http_2xx&target=${encodeURIComponent(target)}`, { dispatcher: driver });
      const body = await res.body.text();
      if (res.statusCode !== 200 || !/^probe_success 1$/m.test(body)) notOk++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return notOk;
}

function summarise(rounds: Round[], idleRssKiB: number, peakKiB: number): Side {
  const wall = median(rounds.map((r) => r.wallMs));
  // CPU is read in clock ticks (10 ms): the mean over all rounds is finer than any one round.
  const cpu = rounds.reduce((sum, r) => sum + r.cpuMs, 0) / rounds.length;
  return {
    wallMsPerRound: wall,
    wallMsPerProbe: wall / PROBES,
    cpuMsPerRound: cpu,
    cpuMsPerProbe: cpu / PROBES,
    idleRssKiB,
    rssKiB: median(rounds.map((r) => r.rssKiB)),
    peakKiB,
    notOk: rounds.reduce((sum, r) => sum + r.notOk, 0),
  };
}

// --- 2. /metrics scrape cost -----------------------------------------------------------------

async function scrapeCost(url: string): Promise<Scrape> {
  const res = await request(url);
  const body = await res.body.text();
  const { stdout } = await run('wrk', ['-t1', '-c2', `-d${WRK_SECONDS}s`, '--latency', url], { timeout: (WRK_SECONDS + 15) * 1000 });
  return { bytes: Buffer.byteLength(body), series: body.split('\n').filter((l) => l && !l.startsWith('#')).length, ...parseWrk(stdout) };
}

function wrkVersion(): string {
  // wrk prints its version with the usage text and exits 1.
  try {
    execFileSync('wrk', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    return /wrk (\S+)/.exec(String((err as { stdout?: string }).stdout))?.[1] ?? 'unknown';
  }
  return 'unknown';
}

// --- 3. memory over time ---------------------------------------------------------------------

async function soakBoth(dir: string, targetUrl: string, blackbox: Blackbox, driver: Agent) {
  const daemon = await startDaemon(dir, 'daemon-soak', targetUrl, '1s', '900ms');
  try {
    const pids = { watchdog: daemon.pid!, blackbox: blackbox.pid };
    const samples: { t: number; watchdogKiB: number; blackboxKiB: number }[] = [];
    const started = Date.now();
    const at = (second: number) => sleep(started + second * 1000 - Date.now());
    const sample = () => samples.push({ t: (Date.now() - started) / 1000, watchdogKiB: memory(pids.watchdog).rssKiB, blackboxKiB: memory(pids.blackbox).rssKiB });
    const anchor = { runs: 0, notOk: 0 };
    // The same load on the anchor: all PROBES targets once a second, as a 1s scrape interval would
    // make. Rounds on the same one-second grid as the daemon's; only those in the window count.
    const anchorLoad = async () => {
      for (let second = 0; second < SOAK_WARMUP_SECONDS + SOAK_SECONDS; second++) {
        await at(second);
        const notOk = await blackboxRound(blackbox, targetUrl, driver);
        if (second >= SOAK_WARMUP_SECONDS) Object.assign(anchor, { runs: anchor.runs + PROBES, notOk: anchor.notOk + notOk });
      }
    };
    const measure = async () => {
      for (let second = 0; second <= SOAK_WARMUP_SECONDS; second++) await at(second).then(sample);
      // RSS is sampled first, as an operator would see it; the forced collection comes after.
      const heapStart = await heapAfterGc(daemon);
      const countersStart = await daemonCounters(daemon.url);
      const cpuStart = { watchdog: cpuMs(pids.watchdog), blackbox: cpuMs(pids.blackbox) };
      for (let second = SOAK_WARMUP_SECONDS + 1; second <= SOAK_WARMUP_SECONDS + SOAK_SECONDS; second++) await at(second).then(sample);
      const cpuEnd = { watchdog: cpuMs(pids.watchdog), blackbox: cpuMs(pids.blackbox) };
      const countersEnd = await daemonCounters(daemon.url);
      const heapEnd = await heapAfterGc(daemon);
      return { heapStart, heapEnd, countersStart, countersEnd, cpu: { watchdog: cpuEnd.watchdog - cpuStart.watchdog, blackbox: cpuEnd.blackbox - cpuStart.blackbox } };
    };
    const [m] = await Promise.all([measure(), anchorLoad()]);
    const side = (key: 'watchdogKiB' | 'blackboxKiB', cpu: number, probeRuns: number, failedRuns: number): Soak => {
      const rss = samples.map((s) => s[key]);
      const window = rss.slice(SOAK_WARMUP_SECONDS);
      return { rssReadyKiB: rss[0]!, rssStartKiB: window[0]!, rssEndKiB: window.at(-1)!, rssMaxKiB: Math.max(...window), cpuSeconds: cpu / 1000, probeRuns, failedRuns };
    };
    return {
      warmupSeconds: SOAK_WARMUP_SECONDS,
      seconds: SOAK_SECONDS,
      watchdog: {
        ...side('watchdogKiB', m.cpu.watchdog, m.countersEnd.runs - m.countersStart.runs, m.countersEnd.failed - m.countersStart.failed),
        skippedRuns: m.countersEnd.skipped - m.countersStart.skipped,
        heapStartBytes: m.heapStart,
        heapEndBytes: m.heapEnd,
      },
      blackbox: side('blackboxKiB', m.cpu.blackbox, anchor.runs, anchor.notOk),
      samples,
    };
  } finally {
    await daemon.stop();
  }
}

/** Totals over all probes, read from the daemon's own /metrics. */
async function daemonCounters(url: string) {
  const metrics = await scrape(url);
  return {
    runs: metrics.sum('watchdog_probe_runs_total'),
    failed: metrics.sum('watchdog_probe_runs_total', { result: 'failing' }),
    skipped: metrics.sum('watchdog_probe_skipped_runs_total'),
  };
}

// --- the table -------------------------------------------------------------------------------

type Results = {
  date: string;
  machine: { cpus: number; loadAverage1m: { start?: number; end?: number }; node: string; blackbox: string; wrk: string };
  throughput: Record<'watchdog' | 'blackbox', Side>;
  scrape: Record<'watchdog' | 'blackbox', Scrape>;
  soak: Awaited<ReturnType<typeof soakBoth>>;
};

const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const ms = (v: number) => (v < 1 ? `${(v * 1000).toFixed(0)} us` : `${v.toFixed(v < 10 ? 2 : 0)} ms`);

function grid(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

function table(r: Results): string {
  const names = { watchdog: 'watchdog', blackbox: 'blackbox_exporter' } as const;
  const sides = ['watchdog', 'blackbox'] as const;
  const t = r.throughput;
  const part1 = grid(
    ['', 'wall/round', 'wall/probe', 'CPU/round', 'CPU/probe', 'RSS idle', 'RSS after', 'RSS peak', 'not ok'],
    sides.map((s) => [
      names[s],
      ms(t[s].wallMsPerRound),
      ms(t[s].wallMsPerProbe),
      ms(t[s].cpuMsPerRound),
      ms(t[s].cpuMsPerProbe),
      mib(t[s].idleRssKiB),
      mib(t[s].rssKiB),
      mib(t[s].peakKiB),
      String(t[s].notOk),
    ]),
  );
  const part2 = grid(
    ['', 'req/s', 'p50', 'p99', 'bytes', 'series', 'errors'],
    sides.map((s) => [
      `${names[s]} /metrics`,
      r.scrape[s].requestsPerSec.toFixed(0),
      ms(r.scrape[s].p50Ms),
      ms(r.scrape[s].p99Ms),
      String(r.scrape[s].bytes),
      String(r.scrape[s].series),
      String(r.scrape[s].errors),
    ]),
  );
  const so = r.soak;
  const part3 = grid(
    ['', 'RSS at ready', `RSS at ${so.warmupSeconds} s`, `at ${so.warmupSeconds + so.seconds} s`, 'change', 'max', 'CPU s', 'probe runs', 'failed'],
    sides.map((s) => [
      names[s],
      mib(so[s].rssReadyKiB),
      mib(so[s].rssStartKiB),
      mib(so[s].rssEndKiB),
      mib(so[s].rssEndKiB - so[s].rssStartKiB),
      mib(so[s].rssMaxKiB),
      so[s].cpuSeconds.toFixed(1),
      String(so[s].probeRuns),
      String(so[s].failedRuns),
    ]),
  );
  const w = so.watchdog;
  const heap = `watchdog live heap after a full GC: ${mib(w.heapStartBytes / 1024)} at ${so.warmupSeconds} s, ${mib(w.heapEndBytes / 1024)} at ${so.warmupSeconds + so.seconds} s; runs skipped (previous still going): ${w.skippedRuns}`;
  const m = r.machine;
  return [
    `stack-watchdog bench, ${r.date}: ${m.cpus} CPUs, load ${m.loadAverage1m.start?.toFixed(1)} -> ${m.loadAverage1m.end?.toFixed(1)}, node ${m.node}, blackbox_exporter ${m.blackbox}, wrk ${m.wrk}`,
    '',
    `1. ${PROBES} http probes per round, ${CONCURRENCY} at a time (wall: median of ${ROUNDS} rounds; CPU: mean)`,
    part1,
    '',
    `2. GET /metrics with ${PROBES} probes loaded (wrk, 1 thread, 2 connections, ${WRK_SECONDS} s)`,
    part2,
    '',
    `3. ${PROBES} probes every 1 s: ${so.warmupSeconds} s warm-up, then a ${so.seconds} s window (daemon on its schedule; /probe calls to the anchor)`,
    part3,
    heap,
  ].join('\n');
}

await main();
