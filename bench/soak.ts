// `npm run bench:soak [-- --minutes N]`: the daemon with 200 probes every second, half of them
// failing in different ways across kinds, for 30 minutes by default. Every minute it records the
// daemon's RSS, its live heap after a full GC and its open file descriptors; at the end it prints
// the least-squares slope of each per minute and whether that is growth beyond the noise, and writes
// bench/results/soak-latest.json. Not in CI: it takes half an hour. Loopback only; every process it
// starts is stopped at exit.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { closedPort, hangAfterAccept, invalidJson, resetServer, statusServer, type MisbehavingTarget } from '../test/support/misbehaving.js';
import { freePort } from '../test/support/ports.js';
import { makeTempDir, startProcess } from '../test/support/process.js';
import { counter, memory, startTarget } from './proc.js';

const here = fileURLToPath(new URL('.', import.meta.url));

function minutesArg(): number {
  const i = process.argv.indexOf('--minutes');
  const value = i >= 0 ? Number(process.argv[i + 1]) : 30;
  if (!Number.isFinite(value) || value < 2) throw new Error('--minutes: give a number of at least 2 (a slope needs three samples)');
  return value;
}

/** 100 healthy http probes and 100 failing ones, 20 per way of failing, every 1 s. */
function probes(healthy: string, bad: Record<'hang' | 'error' | 'closed' | 'malformed' | 'reset', MisbehavingTarget>): string {
  const lines: string[] = [];
  for (let i = 0; i < 100; i++) lines.push(`  - { name: ok-${i}, kind: http, url: "${healthy}/t/${i}" }`);
  for (let i = 0; i < 20; i++) {
    lines.push(`  - { name: hang-${i}, kind: http, url: "${bad.hang.url}/t/${i}" }`);
    lines.push(`  - { name: error-${i}, kind: http, url: "${bad.error.url}/t/${i}" }`);
    lines.push(`  - { name: closed-${i}, kind: tcp, address: "${bad.closed.hostPort}" }`);
    lines.push(`  - { name: malformed-${i}, kind: prometheus_query, prometheus: "${bad.malformed.url}", query: "up{i=\\"${i}\\"}" }`);
    lines.push(`  - { name: reset-${i}, kind: tempo_ready, tempo: "${bad.reset.url}" }`);
  }
  return `defaults: { interval: 1s, timeout: 900ms }\nprobes:\n${lines.join('\n')}\n`;
}

interface Sample {
  minute: number;
  rssMiB: number;
  heapAfterGcMiB: number;
  fds: number;
  runs: number;
  skipped: number;
}

/** Least-squares slope and the standard deviation of the residuals. */
function fit(xs: number[], ys: number[]): { slope: number; residualSd: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  const slope = sxx ? sxy / sxx : 0;
  const residuals = ys.map((y, i) => y - (my + slope * (xs[i]! - mx)));
  const residualSd = Math.sqrt(residuals.reduce((a, r) => a + r * r, 0) / Math.max(1, n - 2));
  return { slope, residualSd };
}

async function main(): Promise<void> {
  const minutes = minutesArg();
  const load = [loadavg()[0]];
  const dir = makeTempDir('bench-soak');
  const { url: targetUrl, process: target } = await startTarget(dir);
  const bad = { hang: await hangAfterAccept(), error: await statusServer(500), closed: await closedPort(), malformed: await invalidJson(), reset: await resetServer() };
  const config = join(dir, 'probes.yaml');
  writeFileSync(config, probes(targetUrl, bad));
  const heapFile = join(dir, 'heap.jsonl');
  writeFileSync(heapFile, '');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...process.env, NODE_ENV: 'production', WATCHDOG_CONFIG: config, WATCHDOG_HOST: '127.0.0.1', WATCHDOG_PORT: String(port), WATCHDOG_LOG_LEVEL: 'warn', BENCH_HEAP_FILE: heapFile };
  const daemon = await startProcess({
    name: 'daemon',
    command: process.execPath,
    args: ['--expose-gc', '--import', join(here, 'heap-on-signal.js'), join(here, '../src/cli.js'), 'run'],
    env,
    logFile: join(dir, 'daemon.log'),
    readyUrl: `${url}/readyz`,
  });
  const pid = daemon.pid!;
  /** The daemon collects and appends its live heap; wait for that line. */
  const heapAfterGc = async (): Promise<number> => {
    const before = readFileSync(heapFile, 'utf8').split('\n').filter(Boolean).length;
    process.kill(pid, 'SIGUSR2');
    for (let i = 0; i < 100; i++) {
      const lines = readFileSync(heapFile, 'utf8').split('\n').filter(Boolean);
      if (lines.length > before) return (JSON.parse(lines.at(-1)!) as { heapUsedBytes: number }).heapUsedBytes / 2 ** 20;
      await sleep(50);
    }
    throw new Error('the daemon did not report its heap (is bench/heap-on-signal.js preloaded?)');
  };
  const samples: Sample[] = [];
  try {
    process.stdout.write(`[soak] 200 probes every 1s (100 failing: hang, HTTP 500, closed port, malformed JSON, reset) for ${minutes} min; load ${load[0]?.toFixed(1)}\n`);
    // The engine keeps each probe's last results: until that history has filled, memory grows by design.
    await sleep(30_000);
    const t0 = Date.now();
    for (let minute = 0; minute <= minutes; minute++) {
      await sleep(Math.max(0, t0 + minute * 60_000 - Date.now()));
      if (!daemon.isRunning()) throw new Error(`the daemon exited:\n${daemon.logTail()}`);
      const s: Sample = {
        minute,
        heapAfterGcMiB: await heapAfterGc(),
        rssMiB: memory(pid).rssKiB / 1024,
        fds: readdirSync(`/proc/${pid}/fd`).length,
        runs: await counter(url, 'watchdog_probe_runs_total'),
        skipped: await counter(url, 'watchdog_probe_skipped_runs_total'),
      };
      samples.push(s);
      process.stdout.write(`[soak] ${minute} min: RSS ${s.rssMiB.toFixed(1)} MiB, heap after GC ${s.heapAfterGcMiB.toFixed(1)} MiB, ${s.fds} fds, ${s.runs} runs, ${s.skipped} skipped\n`);
    }
  } finally {
    await daemon.stop();
    await target.stop();
    await Promise.all(Object.values(bad).map((b) => b.close()));
  }
  load.push(loadavg()[0]);

  // Growth "beyond noise": the slope adds up over the run to more than twice the scatter around the
  // line, and to more than a floor below which it does not matter (V8 and the kernel move a few MiB).
  const xs = samples.map((s) => s.minute);
  const series = [
    { name: 'RSS', unit: 'MiB', values: samples.map((s) => s.rssMiB), floor: 8 },
    { name: 'heap after GC', unit: 'MiB', values: samples.map((s) => s.heapAfterGcMiB), floor: 2 },
    { name: 'open fds', unit: 'fds', values: samples.map((s) => s.fds), floor: 5 },
  ].map((x) => {
    const { slope, residualSd } = fit(xs, x.values);
    const over = slope * minutes;
    return { ...x, slopePerMinute: slope, residualSd, overRun: over, growing: over > 2 * residualSd && over > x.floor };
  });
  const runsPerSec = (samples.at(-1)!.runs - samples[0]!.runs) / (minutes * 60);
  const skippedPerSec = (samples.at(-1)!.skipped - samples[0]!.skipped) / (minutes * 60);
  const verdict = series.some((x) => x.growing)
    ? `GROWTH: ${series
        .filter((x) => x.growing)
        .map((x) => x.name)
        .join(', ')}`
    : 'no growth beyond noise';
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, load1m: load, node: process.version },
    probes: 200,
    failing: 100,
    minutes,
    samples,
    slopes: series.map(({ name, unit, slopePerMinute, residualSd, overRun, growing }) => ({ name, unit, slopePerMinute, residualSd, overRun, growing })),
    runsPerSec,
    skippedPerSec,
    verdict,
  };
  writeFileSync(join(here, '../../results/soak-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  const lines = [
    `stack-watchdog soak, ${results.date}: ${results.machine.cpus} CPUs, load ${load.map((l) => l?.toFixed(1)).join(' -> ')}, node ${process.version}, 200 probes every 1s (100 failing), ${minutes} min`,
    'series          first     last   slope/min  residual sd  over the run  growing',
    ...series.map(
      (x) =>
        `${x.name.padEnd(14)} ${x.values[0]!.toFixed(1).padStart(6)} ${x.values.at(-1)!.toFixed(1).padStart(8)} ${x.slopePerMinute.toFixed(3).padStart(11)} ${x.residualSd.toFixed(2).padStart(12)} ${x.overRun.toFixed(2).padStart(13)}  ${x.growing ? 'yes' : 'no'}`,
    ),
    `probe runs ${runsPerSec.toFixed(0)}/s of 200/s, skipped ${skippedPerSec.toFixed(1)}/s`,
    `verdict: ${verdict}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
