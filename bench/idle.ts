// `npm run bench:idle`: the daemon's resident memory at idle with the shipped profile (probes/mystocks.yaml),
// the figure issue 21 §3 caps at 80 MiB. The daemon runs compiled, with the image's heap caps and malloc arenas
// (Dockerfile NODE_OPTIONS, MALLOC_ARENA_MAX), for BENCH_IDLE_SECONDS (default 60) with every target absent: the profile's URLs point at a
// loopback port nothing listens on (refused at once, no DNS query leaves the machine), its containers are
// looked for under a compose project that has none, on the local dockerd. RSS is read from /proc at the end,
// with its parts (anonymous, file-backed) and the private/shared split of smaps_rollup.
//
// `--baseline DIR` runs another checkout's daemon (e.g. a worktree of main, with node_modules) beside this
// one, interleaved: both start together, in alternating order, so both sides see the same minutes of load.
// That checkout is compiled to its own bench/.build first. `--runs N` (default 3).
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../test/support/ports.js';
import { makeTempDir, startProcess } from '../test/support/process.js';
import { imageMemoryEnv, median, memory } from './proc.js';

const here = fileURLToPath(new URL('.', import.meta.url));
/** This checkout: bench/.build/bench/idle.js is three levels below it. */
const root = resolve(here, '../../..');
const run = promisify(execFile);

const SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);

function args(): { runs: number; baseline?: string } {
  const argv = process.argv.slice(2);
  const out: { runs: number; baseline?: string } = { runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--runs' && v && /^\d+$/.test(v)) out.runs = Number(v);
    else if (argv[i] === '--baseline' && v) out.baseline = resolve(v);
    else throw new Error(`bench idle: unknown argument "${argv[i]}" (takes --runs N, --baseline DIR)`);
    i++;
  }
  return out;
}

/** A checkout's compiled cli.js, compiled as bench/run.sh compiles this one (type errors outside bench/ are let through there too). */
async function compileBaseline(dir: string): Promise<string> {
  if (!existsSync(join(dir, 'node_modules'))) throw new Error(`--baseline ${dir}: no node_modules there (a worktree needs a symlink to one)`);
  await run('npx', ['tsc', '-p', 'bench/tsconfig.json'], { cwd: dir, timeout: 300_000 }).catch((err: { stdout?: string }) => {
    if (/^bench\//m.test(err.stdout ?? '')) throw new Error(`--baseline ${dir}: bench/ does not compile:\n${err.stdout}`);
  });
  copyFileSync(join(dir, 'package.json'), join(dir, 'bench/.build/package.json'));
  return join(dir, 'bench/.build/src/cli.js');
}

/** KiB fields of a /proc file: `Name:   123 kB`. */
function kib(text: string, name: string): number {
  return Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
}

interface Sample {
  side: string;
  rssKiB: number;
  anonKiB: number;
  fileKiB: number;
  privateKiB: number;
  pssKiB: number;
  load1m: number;
}

async function idleDaemon(side: string, checkout: string, cli: string, absentUrl: string, absentPort: number): Promise<Sample> {
  const dir = makeTempDir('bench-idle');
  const port = await freePort();
  const profile = join(root, 'probes/mystocks.yaml');
  const started = Date.now();
  const daemon = await startProcess({
    name: `daemon-${side}`,
    command: process.execPath,
    args: [cli, 'run'],
    env: {
      PATH: process.env.PATH,
      // Each side as its own image runs it (its own Dockerfile's NODE_OPTIONS and MALLOC_ARENA_MAX).
      ...imageMemoryEnv(checkout),
      NODE_ENV: 'production',
      WATCHDOG_CONFIG: profile,
      WATCHDOG_HOST: '127.0.0.1',
      WATCHDOG_PORT: String(port),
      WATCHDOG_LOG_LEVEL: 'warn',
      WATCHDOG_STATE_DIR: dir,
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      // Targets absent: nothing listens at absentUrl, no container belongs to this project.
      COMPOSE_PROJECT: 'bench-idle-absent',
      PROMETHEUS_URL: absentUrl,
      TEMPO_URL: absentUrl,
      ALERTMANAGER_URL: absentUrl,
      TEMPO_OTLP_HTTP: absentUrl,
      TEMPO_OTLP_GRPC: `127.0.0.1:${absentPort}`,
      STACK_DIR: join(dir, 'stack'),
    },
    logFile: join(dir, 'daemon.log'),
    readyUrl: `http://127.0.0.1:${port}/healthz`,
    readyTimeoutMs: 60_000,
  });
  try {
    await sleep(Math.max(0, SECONDS * 1000 - (Date.now() - started)));
    if (!daemon.isRunning()) throw new Error(`daemon ${side} exited:\n${daemon.logTail()}`);
    const pid = daemon.pid!;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return {
      side,
      rssKiB: memory(pid).rssKiB,
      anonKiB: kib(status, 'RssAnon'),
      fileKiB: kib(status, 'RssFile'),
      privateKiB: kib(rollup, 'Private_Clean') + kib(rollup, 'Private_Dirty'),
      pssKiB: kib(rollup, 'Pss'),
      load1m: loadavg()[0]!,
    };
  } finally {
    await daemon.stop();
  }
}

async function main(): Promise<void> {
  const { runs, baseline } = args();
  const sides: { side: string; checkout: string; cli: string }[] = [{ side: 'this', checkout: root, cli: join(here, '../src/cli.js') }];
  if (baseline) {
    process.stdout.write(`[idle] compiling the baseline ${baseline}\n`);
    sides.unshift({ side: 'baseline', checkout: baseline, cli: await compileBaseline(baseline) });
  }
  // A port that was free a moment ago and that nobody is given: connections to it are refused.
  const absentPort = await freePort();
  const absentUrl = `http://127.0.0.1:${absentPort}`;
  const samples: Sample[] = [];
  const load = [loadavg()[0]!];
  for (let i = 0; i < runs; i++) {
    const order = i % 2 ? [...sides].reverse() : sides;
    process.stdout.write(`[idle] run ${i + 1} of ${runs}: ${order.map((s) => s.side).join(' and ')}, ${SECONDS} s, load ${loadavg()[0]!.toFixed(1)}\n`);
    const got = await Promise.all(
      order.map(async (s, k) => {
        // Started 1 s apart in alternating order, so neither always has the other's start-up beside its own.
        await sleep(k * 1000);
        return idleDaemon(s.side, s.checkout, s.cli, absentUrl, absentPort);
      }),
    );
    samples.push(...got);
  }
  load.push(loadavg()[0]!);
  const mib = (k: number) => (k / 1024).toFixed(1);
  const lines = [
    `stack-watchdog idle RSS, ${new Date().toISOString()}: ${cpus().length} CPUs, load ${load.map((l) => l.toFixed(1)).join(' -> ')}, node ${process.version}, probes/mystocks.yaml, ${SECONDS} s, targets absent, image env ${sides.map((s) => `${s.side} ${JSON.stringify(imageMemoryEnv(s.checkout))}`).join(', ')}`,
    'side        RSS MiB  anon  file  private   Pss  load',
    ...samples.map(
      (s) =>
        `${s.side.padEnd(10)} ${mib(s.rssKiB).padStart(8)} ${mib(s.anonKiB).padStart(5)} ${mib(s.fileKiB).padStart(5)} ${mib(s.privateKiB).padStart(8)} ${mib(s.pssKiB).padStart(5)} ${s.load1m.toFixed(1).padStart(5)}`,
    ),
    ...sides.map((s) => {
      const rss = samples.filter((x) => x.side === s.side).map((x) => x.rssKiB);
      return `${s.side}: RSS median ${mib(median(rss))} MiB (${mib(Math.min(...rss))}-${mib(Math.max(...rss))})`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, load1m: load, node: process.version },
    seconds: SECONDS,
    imageEnv: Object.fromEntries(sides.map((s) => [s.side, imageMemoryEnv(s.checkout)])),
    baseline,
    samples,
  };
  writeFileSync(join(root, 'bench/results/idle-latest.json'), `${JSON.stringify(results, null, 2)}\n`);
}

await main();
