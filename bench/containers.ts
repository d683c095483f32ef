// `npm run bench:containers [-- --containers N --rounds R --concurrency C]`: what a container probe
// costs the Docker Engine and the watchdog, per container, beside what an operator's own commands
// for the same containers cost in the same run (`docker inspect <name>`, `docker stats --no-stream
// <name>`). Both sides talk to dockerd through a counting proxy (a node:http server on a unix socket
// in a temp dir), which counts every Engine call by method and path. The budget (issue 12): a
// container probe run makes one inspect and at most one one-shot stats call; the bench exits 1 when
// a run makes more or other calls. Unix sockets only; every container it starts is removed at exit.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCountingProxy, type CallType, type Counts } from '../test/support/docker-proxy.js';
import { dockerAvailable, runContainer, TEST_IMAGE, uniqueName } from '../test/support/docker.js';
import { makeTempDir } from '../test/support/process.js';
import type { ContainerKind, ContainerReply, ContainerRequest, KindRound } from './containers-child.js';
import { cpuMs, ipcChild, median } from './proc.js';

const { values: args } = parseArgs({
  options: { containers: { type: 'string', default: '20' }, rounds: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '1' } },
});
const positive = (flag: string, text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a whole number of at least 1, got "${text}"`);
  return n;
};
const CONTAINERS = positive('containers', args.containers);
const ROUNDS = positive('rounds', args.rounds);
/**
 * Probes in flight at once. 1 by default: the anchor is an operator (or a script) running one command
 * after another, so both sides are then a sequential walk over the containers, and wall/container is
 * one call's latency on both.
 */
const CONCURRENCY = positive('concurrency', args.concurrency);
/** Every container gets this limit; container_memory's expectLimit checks it. */
const MEMORY = '16m';

const here = fileURLToPath(new URL('.', import.meta.url));
const compiled = (file: string) => join(here, file);

/** Calls made between two readings: by type, then by container name (ids mapped to names). */
function diff(before: Counts, after: Counts, names: Map<string, string>): Map<CallType, Map<string, number>> {
  const out = new Map<CallType, Map<string, number>>();
  for (const [type, byTarget] of after) {
    for (const [target, n] of byTarget) {
      const d = n - (before.get(type)?.get(target) ?? 0);
      if (d === 0) continue;
      const name = names.get(target) ?? [...names].find(([id]) => id.length >= 12 && id.startsWith(target))?.[1] ?? target;
      const m = out.get(type) ?? new Map<string, number>();
      m.set(name, (m.get(name) ?? 0) + d);
      out.set(type, m);
    }
  }
  return out;
}

const total = (m: Map<string, number> | undefined) => [...(m?.values() ?? [])].reduce((a, b) => a + b, 0);

// ---------------------------------------------------------------------------------------------------
// The two sides
// ---------------------------------------------------------------------------------------------------

interface Side {
  label: string;
  /** Wall time of the whole walk over the containers, ms, per round. */
  wallMs: number[];
  /** CPU of the prober's process(es) over the walk, ms, per round. */
  cpuMs: number[];
  /** dockerd's CPU over the walk, ms, per round (null when its pid cannot be read). */
  dockerdCpuMs: (number | null)[];
  /** Engine calls over all measured rounds, by type. */
  calls: Partial<Record<CallType, number>>;
  /** One call's own time, ms: the engine's durationMs for a probe run, the command's wall time for the CLI. */
  perCallMs: number[];
}

const newSide = (label: string): Side => ({ label, wallMs: [], cpuMs: [], dockerdCpuMs: [], calls: {}, perCallMs: [] });

function dockerdPid(): number | undefined {
  try {
    const pid = Number(execFileSync('pidof', ['-s', 'dockerd'], { encoding: 'utf8' }).trim());
    readFileSync(`/proc/${pid}/stat`);
    return pid;
  } catch {
    return undefined;
  }
}

/** CPU of this process's waited-for children (cutime + cstime, /proc/self/stat fields 16 and 17), ms. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / clockTicks();
}

let clkTck: number | undefined;
function clockTicks(): number {
  clkTck ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return clkTck;
}

function dockerCli(argv: string[], dockerHost: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile('docker', argv, { env: { ...process.env, DOCKER_HOST: dockerHost }, timeout: 30_000, maxBuffer: 4 * 1024 * 1024 }, (err, _out, stderr) => {
      if (err) reject(new Error(`docker ${argv.join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(performance.now() - started);
    });
  });
}

/** engine child, driven one kind at a time over IPC. */
async function startChild(names: string[], dockerHost: string) {
  const { next, kill } = ipcChild<ContainerRequest, ContainerReply>(
    compiled('containers-child.js'),
    { ...process.env, DOCKER_HOST: dockerHost, BENCH_CONTAINERS: names.join(','), BENCH_MEMORY: MEMORY, BENCH_CONCURRENCY: String(CONCURRENCY) },
    120_000,
  );
  const loaded = await next();
  if (!('loaded' in loaded)) throw new Error(`the engine child said ${JSON.stringify(loaded)} first`);
  return {
    idleRssKiB: loaded.loaded.idleRssKiB,
    async run(kind: ContainerKind): Promise<KindRound> {
      const msg = await next({ run: kind });
      if (!('round' in msg)) throw new Error(`expected a round from the engine child, got ${JSON.stringify(msg)}`);
      return msg.round;
    },
    async done(): Promise<number> {
      const msg = await next('done');
      if (!('done' in msg)) throw new Error(`expected the engine child's last report, got ${JSON.stringify(msg)}`);
      kill();
      return msg.done.peakKiB;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------

function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(1)} ms` : `${(ms * 1000).toFixed(0)} us`;
}

function callsText(calls: Partial<Record<CallType, number>>, runs: number): string {
  const order: CallType[] = ['ping', 'inspect', 'stats one-shot', 'stats', 'list', 'events', 'other'];
  return order
    .filter((t) => calls[t])
    .map((t) => `${t} ${+(calls[t]! / runs).toFixed(2)}`)
    .join(', ');
}

async function main(): Promise<void> {
  if (!(await dockerAvailable())) {
    throw new Error(`dockerd does not answer or the image ${TEST_IMAGE} is missing: run bash scripts/ensure-services.sh first`);
  }
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) throw new Error(`DOCKER_HOST "${host}": the bench's counting proxy forwards to a unix socket only (unix:///path)`);
  const upstream = host ? host.slice('unix://'.length) : '/var/run/docker.sock';
  const load = [loadavg()[0]!];
  const started = new Date();

  const proxySocket = join(makeTempDir('cbench'), 'docker.sock');
  const proxy = await startCountingProxy(proxySocket, upstream);
  const proxyHost = `unix://${proxySocket}`;

  // The containers: busybox sleep with a memory limit, 4 started at a time; runContainer removes
  // each at exit, on an error and on Ctrl-C too (test/support/process.ts's exit hooks).
  const names = Array.from({ length: CONTAINERS }, (_, i) => uniqueName(`bench-c${i}`));
  const idToName = new Map<string, string>();
  for (let i = 0; i < names.length; i += 4) {
    const batch = await Promise.all(names.slice(i, i + 4).map((name) => runContainer({ name, memory: MEMORY, cmd: ['sleep', '3600'] })));
    for (const c of batch) idToName.set(c.id, c.name);
  }
  const dockerd = dockerdPid();
  const child = await startChild(names, proxyHost);

  const sides = {
    state: newSide('watchdog container_state'),
    memory: newSide('watchdog container_memory'),
    inspect: newSide('docker inspect <name>'),
    stats: newSide('docker stats --no-stream <name>'),
  };
  const violations: string[] = [];
  const notOk: string[] = [];

  /** Runs `walk`, returning its wall time, the Engine calls it made and dockerd's CPU meanwhile. */
  const measure = async <T>(walk: () => Promise<T>) => {
    const counts = proxy.counts();
    const dockerdBefore = dockerd === undefined ? undefined : cpuMs(dockerd);
    const t0 = performance.now();
    const value = await walk();
    const wallMs = performance.now() - t0;
    return { value, wallMs, calls: diff(counts, proxy.counts(), idToName), dockerdCpuMs: dockerdBefore === undefined ? null : cpuMs(dockerd!) - dockerdBefore };
  };

  const record = (side: Side, m: { wallMs: number; calls: Map<CallType, Map<string, number>>; dockerdCpuMs: number | null }, cpu: number, perCall: number[]) => {
    side.wallMs.push(m.wallMs);
    side.cpuMs.push(cpu);
    side.dockerdCpuMs.push(m.dockerdCpuMs);
    side.perCallMs.push(...perCall);
    for (const [type, byName] of m.calls) side.calls[type] = (side.calls[type] ?? 0) + total(byName);
  };

  const watchdogRound = async (kind: ContainerKind, side: Side | undefined, round: number) => {
    const m = await measure(() => child.run(kind));
    notOk.push(...m.value.notOk.map((s) => `round ${round}: ${s}`));
    // The budget, container by container: exactly one inspect, at most one one-shot stats, nothing else.
    for (const name of names) {
      const inspect = m.calls.get('inspect')?.get(name) ?? 0;
      const oneShot = m.calls.get('stats one-shot')?.get(name) ?? 0;
      if (inspect !== 1) violations.push(`round ${round}, ${kind} on ${name}: ${inspect} inspect calls (budget: exactly 1)`);
      if (oneShot > 1) violations.push(`round ${round}, ${kind} on ${name}: ${oneShot} one-shot stats calls (budget: at most 1)`);
    }
    for (const type of ['ping', 'stats', 'list', 'events', 'other'] as const) {
      const seen = m.calls.get(type);
      if (seen) violations.push(`round ${round}, ${kind}: ${total(seen)} ${type} call(s) (${[...seen.keys()].join(', ')}); the budget allows inspect and one-shot stats only`);
    }
    if (side) record(side, m, m.value.cpuMs, m.value.runMs);
  };

  const cliRound = async (argv: (name: string) => string[], side: Side | undefined, only?: number) => {
    const cpuBefore = childrenCpuMs();
    const m = await measure(async () => {
      const times: number[] = [];
      for (const name of names.slice(0, only)) times.push(await dockerCli(argv(name), proxyHost));
      return times;
    });
    if (side) record(side, m, childrenCpuMs() - cpuBefore, m.value);
  };

  const inspectArgs = (name: string) => ['inspect', name];
  const statsArgs = (name: string) => ['stats', '--no-stream', name];

  // Warm-up (not counted): the engine's first runs load code and open the socket; the CLI's first
  // start reads its binary from disk. `docker stats --no-stream` takes ~1.5 s a container, so it
  // warms up on one.
  await watchdogRound('container_state', undefined, 0);
  await watchdogRound('container_memory', undefined, 0);
  await cliRound(inspectArgs, undefined);
  await cliRound(statsArgs, undefined, 1);
  // Alternating, so a burst of load from elsewhere hits both sides alike.
  for (let round = 1; round <= ROUNDS; round++) {
    process.stderr.write(`[bench] round ${round} of ${ROUNDS}\n`);
    await watchdogRound('container_state', sides.state, round);
    await watchdogRound('container_memory', sides.memory, round);
    await cliRound(inspectArgs, sides.inspect);
    await cliRound(statsArgs, sides.stats);
  }
  const peakKiB = await child.done();
  await proxy.close();
  load.push(loadavg()[0]!);

  const rows = Object.values(sides).map((s) => {
    const runs = CONTAINERS * ROUNDS;
    const dockerdKnown = s.dockerdCpuMs.every((v) => v !== null);
    return {
      what: s.label,
      callsPerRun: Object.fromEntries(Object.entries(s.calls).map(([t, n]) => [t, n / runs])),
      wallPerContainerMs: median(s.wallMs) / CONTAINERS,
      perCallMedianMs: median(s.perCallMs),
      cpuPerContainerMs: s.cpuMs.reduce((a, b) => a + b, 0) / runs,
      dockerdCpuPerContainerMs: dockerdKnown ? (s.dockerdCpuMs as number[]).reduce((a, b) => a + b, 0) / runs : null,
      rounds: { wallMs: s.wallMs, cpuMs: s.cpuMs, dockerdCpuMs: s.dockerdCpuMs },
      calls: s.calls,
    };
  });

  const head = `stack-watchdog container bench, ${started.toISOString()}: ${cpus().length} CPUs, load ${load.map((l) => l.toFixed(1)).join(' -> ')}, node ${process.version}`;
  const lines = [
    head,
    `${CONTAINERS} containers (${TEST_IMAGE}, sleep, --memory ${MEMORY}), ${ROUNDS} rounds after a warm-up, ${CONCURRENCY} at a time; every Engine call through a counting proxy`,
    `wall/container: median over rounds of (round wall / ${CONTAINERS}); per call: median of single runs; CPU: mean over all runs, of the prober's process(es)`,
    '',
    `${'per container'.padEnd(34)}${'Engine calls per run'.padEnd(44)}${'wall/container'.padStart(15)}${'per call'.padStart(10)}${'CPU'.padStart(10)}${'dockerd CPU'.padStart(13)}`,
    ...rows.map(
      (r, i) =>
        `${r.what.padEnd(34)}${callsText(Object.values(sides)[i]!.calls, CONTAINERS * ROUNDS).padEnd(44)}${fmtMs(r.wallPerContainerMs).padStart(15)}${fmtMs(r.perCallMedianMs).padStart(10)}${fmtMs(r.cpuPerContainerMs).padStart(10)}${(r.dockerdCpuPerContainerMs === null ? '-' : fmtMs(r.dockerdCpuPerContainerMs)).padStart(13)}`,
    ),
    '',
    `watchdog process: RSS idle ${(child.idleRssKiB / 1024).toFixed(1)} MiB, peak ${(peakKiB / 1024).toFixed(1)} MiB; probe runs not ok: ${notOk.length}`,
  ];
  console.log(lines.join('\n'));

  const results = {
    date: started.toISOString(),
    machine: { cpus: cpus().length, load1m: load, node: process.version },
    command: `npm run bench:containers -- --containers ${CONTAINERS} --rounds ${ROUNDS} --concurrency ${CONCURRENCY}`,
    containers: CONTAINERS,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    memoryLimit: MEMORY,
    rows,
    watchdog: { idleRssKiB: child.idleRssKiB, peakKiB },
    notOk,
    violations,
  };
  writeFileSync(join(here, '../../results/containers-latest.json'), `${JSON.stringify(results, null, 2)}\n`);

  if (notOk.length > 0) {
    console.error(`\n${notOk.length} probe run(s) did not pass; the figures measured failures:\n${notOk.slice(0, 10).join('\n')}`);
    process.exitCode = 1;
  }
  if (violations.length > 0) {
    console.error(`\nBUDGET EXCEEDED: a container probe run must make one inspect and at most one one-shot stats call:\n${violations.slice(0, 20).join('\n')}`);
    process.exitCode = 1;
  }
}

// process.exit, not a natural end: after an error the engine child and the proxy would keep the
// process alive; the exit hooks then kill the child and remove the containers.
main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  })
  .finally(() => process.exit());
