// container_memory and container_env against the real dockerd, through the real engine path
// (parseConfig → Engine.runOnce → createDockerClient), so field validation and the runner are covered.
// Docker being unreachable is produced without touching the machine's dockerd (other tests share it):
// missing, refusing, stale and forbidden sockets, and a relay in front of the real socket that is cut mid-run.
import { problemsOf } from '../support/engine.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import type { ProbeResult } from '../../src/engine/result.js';
import { probeDetail, statusReport, statusTable } from '../../src/report/view.js';
import { createDockerClient } from '../../src/net/docker.js';
import { memoryInUse, parseMemorySize } from '../../src/probers/containerMemory.js';
import { formatBytes } from '../../src/util/format.js';
import { createHttpClient } from '../../src/net/http.js';
import { afterTrigger, docker, dockerAvailable, inspectContainer, oomKilledContainer, removeContainer, runContainer, stopContainer, uniqueName, waitForState } from '../support/docker.js';
import { hangAfterAccept, jsonServer, statusServer } from '../support/misbehaving.js';
import { traversableByOthers } from '../support/process.js';

// The same Engine the test's docker CLI talks to.
const DOCKER_HOST = process.env.DOCKER_HOST || undefined;
const REAL_SOCKET = DOCKER_HOST?.startsWith('unix://') ? DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock';

const SAMPLER = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' };
const MiB = 1024 * 1024;

interface Run {
  results: Record<string, ProbeResult>;
  /** Everything the engine and probers logged, at trace level, as pino wrote it. */
  logs: string;
}

type ProbeDef = Record<string, unknown> & { name: string; kind: string };

function makeEngine(opts: { dockerHost?: string; now?: () => number } = {}) {
  const lines: string[] = [];
  const logger = pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) });
  const engine = new Engine({
    http: createHttpClient({ userAgent: 'container-test' }),
    docker: createDockerClient({ dockerHost: opts.dockerHost ?? DOCKER_HOST }),
    logger,
    now: opts.now ?? Date.now,
  });
  return { engine, logs: () => lines.join('') };
}

function config(probes: ProbeDef[]) {
  return parseConfig([{ file: 'containers.yaml', text: stringify({ probes }) }], {});
}

/** One pass of the given probes, the way `watchdog check` runs them. */
async function check(probes: ProbeDef[], opts: { dockerHost?: string; now?: () => number } = {}): Promise<Run> {
  const { engine, logs } = makeEngine(opts);
  engine.load(config(probes));
  const states = await engine.runOnce();
  return { results: Object.fromEntries(states.map((s) => [s.spec.name, s.current])), logs: logs() };
}

const configProblems = (probes: ProbeDef[]) => problemsOf(() => config(probes));

/** Polls `docker logs` until `text` appears (bounded). */
async function waitForLog(name: string, text: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await docker(['logs', name])).stdout.includes(text)) {
    if (Date.now() > deadline) assert.fail(`${name}: "${text}" not logged within ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function container(t: { after: (fn: () => Promise<void>) => void }, prefix: string, opts: Omit<Parameters<typeof runContainer>[0], 'name'> = {}): Promise<string> {
  const name = uniqueName(prefix);
  t.after(() => removeContainer(name));
  await runContainer({ name, ...opts });
  return name;
}

before(async () => {
  assert.equal(await dockerAvailable(), true, 'dockerd + test image must be there (scripts/ensure-services.sh)');
});

// ---------------------------------------------------------------- config

test('bad container_memory and container_env fields are refused with exact messages', () => {
  const cases: [ProbeDef, string][] = [
    [
      { name: 'm', kind: 'container_memory', container: 'x', expectLimit: '2 GB!' },
      'containers.yaml: probe "m": expectLimit: "2 GB!" is not a memory size such as "2G", "512M" or "1024m" (docker\'s binary units: 1G = 1024M)',
    ],
    [
      { name: 'm', kind: 'container_memory', container: 'x', expectLimit: '0m' },
      'containers.yaml: probe "m": expectLimit: "0m" is not a memory size such as "2G", "512M" or "1024m" (docker\'s binary units: 1G = 1024M)',
    ],
    [{ name: 'm', kind: 'container_memory', container: 'x', maxUsageRatio: 0 }, 'containers.yaml: probe "m": maxUsageRatio: expected number to be greater than 0, got 0'],
    [{ name: 'm', kind: 'container_memory', container: 'x', maxUsageRatio: 1.5 }, 'containers.yaml: probe "m": maxUsageRatio: expected number to be less or equal to 1, got 1.5'],
    [
      { name: 'm', kind: 'container_memory', container: '../images/json' },
      'containers.yaml: probe "m": container: expected a container name or id such as "mystocks-prometheus" (letters, digits, "_", "." and "-"), got "../images/json"',
    ],
    [{ name: 'm', kind: 'container_memory' }, 'containers.yaml: probe "m": container: required field is missing'],
    [{ name: 'e', kind: 'container_env', container: 'x', expect: {} }, 'containers.yaml: probe "e": expect: expected a mapping of VARIABLE: "value" with at least one entry, got a mapping'],
    [
      { name: 'e', kind: 'container_env', container: 'x', expect: { OTEL_TRACES_SAMPLER_ARG: 0.1 } },
      'containers.yaml: probe "e": expect.OTEL_TRACES_SAMPLER_ARG: expected a string: quote the value (e.g. "0.1") so YAML keeps it as written, got 0.1',
    ],
    [{ name: 'e', kind: 'container_env', container: 'x', expect: { 'A=B': '1' } }, 'containers.yaml: probe "e": expect: "A=B" is not a variable name (no "=" or spaces)'],
    [{ name: 'e', kind: 'container_env', container: 'x' }, 'containers.yaml: probe "e": expect: required field is missing'],
  ];
  for (const [probe, message] of cases) assert.deepEqual(configProblems([probe]), [message], JSON.stringify(probe));

  // Docker's units, binary multiples: what compose's mem_limit and deploy.resources.limits.memory take.
  const good = config([
    { name: 'a', kind: 'container_memory', container: 'x', expectLimit: '1.5g', maxUsageRatio: 1 },
    { name: 'b', kind: 'container_env', container: 'x', expect: SAMPLER },
  ]);
  assert.deepEqual(
    good.probes.map((p) => p.name),
    ['a', 'b'],
  );
});

// ---------------------------------------------------------------- container_memory

test("memory sizes read and print in docker's binary units", () => {
  const sizes: [string, number | undefined][] = [
    ['2G', 2 * 1024 * MiB],
    ['1g', 1024 * MiB],
    ['512M', 512 * MiB],
    ['1024m', 1024 * MiB],
    ['1.5g', 1536 * MiB],
    ['2GB', 2 * 1024 * MiB],
    ['2GiB', 2 * 1024 * MiB],
    ['65536k', 64 * MiB],
    ['4096', 4096],
    ['2 G', 2 * 1024 * MiB],
    ['0m', undefined],
    ['', undefined],
    ['2X', undefined],
    ['-1g', undefined],
    ['1e3m', undefined],
  ];
  for (const [text, bytes] of sizes) {
    const size = parseMemorySize(text);
    assert.equal(size.ok ? size.value : undefined, bytes, text);
  }
  assert.deepEqual([512, 1536, 32 * MiB, 32178176, 2 * 1024 * MiB].map(formatBytes), ['512B', '1.5KiB', '32MiB', '30.69MiB', '2GiB']);
});

test('usage without cache follows the docker CLI on both cgroup versions', () => {
  // Only cgroup v1 runs on this machine; these are the memory_stats shapes the Engine sends on each
  // (v2 has no total_* keys), handed in directly because a v2 host cannot be had here.
  assert.deepEqual(memoryInUse({ usage: 100, stats: { total_inactive_file: 30, inactive_file: 10 } }), { bytes: 70, excluded: 30 });
  assert.deepEqual(memoryInUse({ usage: 100, stats: { inactive_file: 40, file: 60 } }), { bytes: 60, excluded: 40 });
  // A cache figure not below usage is not subtracted (the CLI's `v < mem.Usage` guard).
  assert.deepEqual(memoryInUse({ usage: 100, stats: { total_inactive_file: 100, inactive_file: 100 } }), { bytes: 100, excluded: 0 });
  assert.deepEqual(memoryInUse({ usage: 100, stats: { total_inactive_file: 100, inactive_file: 20 } }), { bytes: 80, excluded: 20 });
  assert.deepEqual(memoryInUse({ usage: 100 }), { bytes: 100, excluded: 0 });
  assert.equal(memoryInUse({}), undefined, 'a stopped container reports no usage');
});

test('container_memory: a limit that matches expectLimit, low usage → ok with the usage ratio as value', async (t) => {
  const name = await container(t, 'mem-ok', { memory: '64m' });
  const { results } = await check([
    { name: 'mem', kind: 'container_memory', container: name, expectLimit: '64M' },
    { name: 'mem-lower', kind: 'container_memory', container: name, expectLimit: '65536k' },
  ]);
  const r = results.mem!;
  assert.equal(r.status, 'ok', r.message);
  assert.equal(r.reason, 'ok');
  const d = r.details as { usageBytes: number; limitBytes: number; ratio: number; maxUsageRatio: number };
  assert.equal(d.limitBytes, 64 * MiB);
  assert.ok(d.usageBytes > 0 && d.usageBytes < 16 * MiB, `busybox sleep uses little memory, got ${d.usageBytes}`);
  assert.equal(r.value, d.usageBytes / d.limitBytes);
  assert.equal(d.maxUsageRatio, 0.9);
  assert.match(r.message, new RegExp(`^"${name}" uses [\\d.]+(KiB|MiB) of its 64MiB limit \\([\\d.]+%\\)$`));
  assert.deepEqual(r.samples, [
    { metric: 'watchdog_container_memory_usage_bytes', labels: { container: name }, value: d.usageBytes },
    { metric: 'watchdog_container_memory_limit_bytes', labels: { container: name }, value: 64 * MiB },
  ]);
  assert.equal(results['mem-lower']!.status, 'ok', results['mem-lower']!.message);
});

test('container_memory: no limit → no_limit, and the host memory docker stats calls its "limit" is named', async (t) => {
  const name = await container(t, 'mem-nolimit');
  const { results } = await check([{ name: 'mem', kind: 'container_memory', container: name, expectLimit: '2G' }]);
  const r = results.mem!;
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'no_limit');
  assert.equal(r.value, null);
  assert.match(
    r.message,
    new RegExp(`^"${name}" has no memory limit \\(HostConfig.Memory is 0\\): it may take all of the host's memory and docker stats shows the host's [\\d.]+GiB as its "limit"; it uses `),
  );
  assert.equal(r.hint, 'Set deploy.resources.limits.memory to 2G (or mem_limit) for its service in compose and recreate it (docker compose up -d <service>): a restart keeps the old limit.');
  assert.deepEqual(
    r.samples?.map((s) => [s.metric, s.value > 0]),
    [
      ['watchdog_container_memory_usage_bytes', true],
      ['watchdog_container_memory_limit_bytes', false],
    ],
  );
});

test('container_memory: a limit other than expectLimit → limit_mismatch with both sizes readable', async (t) => {
  const name = await container(t, 'mem-wrong', { memory: '48m' });
  const { results } = await check([{ name: 'mem', kind: 'container_memory', container: name, expectLimit: '1g' }]);
  const r = results.mem!;
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'limit_mismatch');
  assert.match(r.message, new RegExp(`^"${name}" is limited to 48MiB, expected 1GiB \\(expectLimit "1g"\\); it uses `));
  assert.match(
    r.hint!,
    /set deploy\.resources\.limits\.memory \(or mem_limit\) for its service to 1g and recreate it \(docker compose up -d <service>\)\. If 48MiB is intended, change expectLimit\.$/,
  );
  assert.equal((r.details as { expectLimitBytes: number }).expectLimitBytes, 1024 * MiB);
  assert.equal(typeof r.value, 'number');
});

test('container_memory: a stopped container → not_running with its exit code', async (t) => {
  const name = await container(t, 'mem-stopped', { memory: '32m' });
  await stopContainer(name);
  const exitCode = (await inspectContainer(name)).State.ExitCode;
  assert.equal(exitCode, 137, 'busybox sleep ignores SIGTERM, so docker stop ends with SIGKILL');
  const { results } = await check([{ name: 'mem', kind: 'container_memory', container: name }]);
  const r = results.mem!;
  assert.equal(r.reason, 'not_running');
  assert.equal(r.status, 'failing');
  // Docker cannot tell this stop from an OOM kill it failed to record: the hint names both, and the kernel's log.
  assert.equal(r.message, `"${name}" has exited (exit code 137, killed by SIGKILL)`);
  assert.equal(
    r.hint,
    `Exit code 137 is a SIGKILL: docker kill, a docker stop whose grace period ran out, or the kernel's OOM killer at its 32MiB limit, which Docker does not always record; on the host, dmesg | grep -i 'out of memory' shows an OOM kill. Read why it stops: docker logs --tail 50 ${name} and docker inspect -f '{{json .State}}' ${name}; fix the cause, then docker compose up -d <service>.`,
  );
  assert.deepEqual(
    { status: r.details?.status, exitCode: r.details?.exitCode, oomKilled: r.details?.oomKilled, restartCount: r.details?.restartCount },
    { status: 'exited', exitCode: 137, oomKilled: false, restartCount: 0 },
  );
});

test('container_memory: a restart loop (--restart always, exit 3) → not_running with the restart count', async (t) => {
  const name = await container(t, 'mem-loop', { memory: '32m', restart: 'always', cmd: ['sh', '-c', 'exit 3'] });
  await waitForState(name, (i) => i.RestartCount >= 2, 'two restarts');
  const { results } = await check([{ name: 'mem', kind: 'container_memory', container: name }]);
  const r = results.mem!;
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'not_running', r.message);
  // Between two exits docker shows it as restarting, or briefly as running again: both are the loop.
  assert.match(r.message, new RegExp(`^"${name}" (is restarting \\(exit code 3, |keeps restarting: running again for only [\\d.]+s \\()restarted \\d+ times by its restart policy "always"\\)$`));
  assert.ok((r.details!.restartCount as number) >= 2);
  assert.match(r.hint!, /^Read why it stops: docker logs --tail 50 /);
});

test('container_memory: restarted once and up for a while is fine; up for seconds after a restart is a loop', async (t) => {
  // Exits 3 on its first start only (the marker survives the restart), then stays up.
  const name = await container(t, 'mem-once', { memory: '32m', restart: 'on-failure', cmd: ['sh', '-c', 'test -f /once || { touch /once; exit 3; }; exec sleep 600'] });
  const info = await waitForState(name, (i) => i.RestartCount === 1 && i.State.Status === 'running', 'running after one restart');
  const startedAt = Date.parse(info.State.StartedAt);

  const early = (await check([{ name: 'mem', kind: 'container_memory', container: name }], { now: () => startedAt + 5_000 })).results.mem!;
  assert.equal(early.reason, 'not_running');
  assert.equal(early.message, `"${name}" keeps restarting: running again for only 5.0s (restarted 1 time by its restart policy "on-failure")`);

  const later = (await check([{ name: 'mem', kind: 'container_memory', container: name }], { now: () => startedAt + 31_000 })).results.mem!;
  assert.equal(later.status, 'ok', later.message);
});

test('container_memory: killed by the OOM killer → not_running that says so and points at the limit', async (t) => {
  // dd's 64 MiB buffer cannot fit in 16 MiB: the kernel kills PID 1.
  const { name } = await oomKilledContainer(() => container(t, 'mem-oom', { memory: '16m', cmd: afterTrigger('exec dd if=/dev/zero of=/dev/null bs=64M count=1') }));
  const { results } = await check([{ name: 'mem', kind: 'container_memory', container: name }]);
  const r = results.mem!;
  assert.equal(r.reason, 'not_running');
  assert.equal(r.message, `"${name}" has exited (exit code 137, killed by the kernel's OOM killer)`);
  assert.equal(r.details!.oomKilled, true);
  assert.match(r.hint!, /^It ran out of memory at its limit \(16MiB\): raise deploy\.resources\.limits\.memory \(or mem_limit\)/);
});

test('container_memory: real memory pressure (tmpfs write in a 32 MiB limit) → near_limit, matching docker stats', async (t) => {
  const name = await container(t, 'mem-pressure', {
    memory: '32m',
    shmSize: '64m',
    cmd: ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/x bs=1M count=30; echo written; sleep 600'],
  });
  // Measure only once dd is done, or the two readings chase a moving target.
  await waitForLog(name, 'written');
  // The kernel still moves pages after dd is done (a reading once moved 96.0% -> 94.9% between the probe
  // and docker stats): docker stats is read just before and just after, and the probe must fall between.
  const stats = async () => (await docker(['stats', '--no-stream', '--format', '{{.MemPerc}}|{{.MemUsage}}', name])).stdout.trim().split('|') as [string, string];
  const [before] = await stats();
  const { results } = await check([
    { name: 'mem', kind: 'container_memory', container: name, expectLimit: '32m' },
    { name: 'mem-lenient', kind: 'container_memory', container: name, maxUsageRatio: 1 },
  ]);
  const [perc, usage] = await stats();
  const [low, high] = [Number.parseFloat(before), Number.parseFloat(perc)].sort((a, b) => a - b) as [number, number];

  const r = results.mem!;
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'near_limit', r.message);
  const d = r.details as { usageBytes: number; limitBytes: number; ratio: number };
  assert.equal(d.limitBytes, 32 * MiB);
  assert.ok(d.usageBytes > 30 * MiB, `30 MiB of tmpfs is charged to the container, got ${d.usageBytes}`);
  // The probe counts as docker stats does (usage minus inactive file cache): the two agree.
  assert.ok(r.value! * 100 > low - 0.5 && r.value! * 100 < high + 0.5, `probe ${r.value}, docker stats ${before} before and ${perc} after`);
  assert.match(usage, / \/ 32MiB$/);
  assert.match(r.message, new RegExp(`^"${name}" uses [\\d.]+MiB of its 32MiB limit \\(9\\d(\\.\\d)?%\\), above 90%$`));
  assert.match(r.hint!, /^At its limit the kernel OOM-kills it\./);
  assert.equal(r.samples?.[0]?.value, d.usageBytes);
  assert.equal(results['mem-lenient']!.status, 'ok', 'maxUsageRatio 1 tolerates it');
});

test('container_memory: file cache is not counted, as docker stats does not count it', async (t) => {
  // A 40 MiB file written inside a 64 MiB limit: the raw cgroup usage is ~62%, but the kernel can drop
  // that cache at will, and docker stats shows ~2%. Counting it would cry wolf at maxUsageRatio 0.5.
  const name = await container(t, 'mem-cache', { memory: '64m', cmd: ['sh', '-c', 'dd if=/dev/zero of=/cache bs=1M count=40; echo written; sleep 600'] });
  await waitForLog(name, 'written');
  // The kernel moves file pages between its active and inactive lists from one moment to the next,
  // so docker stats is read just before and just after the probe, and the probe must fall between.
  const statsPerc = async () => Number.parseFloat((await docker(['stats', '--no-stream', '--format', '{{.MemPerc}}', name])).stdout);
  const before = await statsPerc();
  const { results } = await check([{ name: 'mem', kind: 'container_memory', container: name, maxUsageRatio: 0.5 }]);
  const after = await statsPerc();
  const r = results.mem!;
  assert.equal(r.status, 'ok', r.message);
  const d = r.details as { usageBytes: number; cacheExcludedBytes: number };
  assert.ok(d.cacheExcludedBytes >= 32 * MiB, `the file's pages are inactive file cache, got ${d.cacheExcludedBytes}`);
  assert.ok(d.usageBytes < 8 * MiB, `usage without cache, got ${d.usageBytes}`);
  const low = Math.min(before, after) - 1;
  const high = Math.max(before, after) + 1;
  assert.ok(r.value! * 100 >= low && r.value! * 100 <= high, `probe ${(r.value! * 100).toFixed(2)}%, docker stats ${before}% before and ${after}% after`);
});

// ---------------------------------------------------------------- container_env

test('container_env: sampler variables present, missing, and wrong; a secret never leaves the process', async (t) => {
  const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;
  const wrongGuess = `guess-${randomBytes(8).toString('hex')}`;
  const [good, none, wrong] = await Promise.all([
    container(t, 'env-good', { env: { ...SAMPLER, DB_PASSWORD: secret } }),
    container(t, 'env-none', { env: { DB_PASSWORD: secret } }),
    container(t, 'env-wrong', { env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5', DB_PASSWORD: secret } }),
  ]);
  const run = await check([
    { name: 'env-good', kind: 'container_env', container: good, expect: SAMPLER },
    { name: 'env-none', kind: 'container_env', container: none, expect: SAMPLER },
    { name: 'env-wrong', kind: 'container_env', container: wrong, expect: SAMPLER },
    // Naming a secret key must not reveal its value either, nor the expected one.
    { name: 'env-secret', kind: 'container_env', container: wrong, expect: { DB_PASSWORD: wrongGuess } },
    { name: 'mem-secret', kind: 'container_memory', container: wrong },
  ]);
  const r = run.results;

  assert.equal(r['env-good']!.status, 'ok', r['env-good']!.message);
  assert.equal(r['env-good']!.message, `"${good}" has the 2 expected variable(s)`);
  assert.equal(r['env-good']!.value, 0);

  assert.equal(r['env-none']!.reason, 'env_mismatch');
  assert.equal(r['env-none']!.message, `2 of 2 variable(s) differ in "${none}": OTEL_TRACES_SAMPLER is unset, expected "parentbased_traceidratio"; OTEL_TRACES_SAMPLER_ARG is unset, expected "0.1"`);
  assert.deepEqual(r['env-none']!.details!.actual, { OTEL_TRACES_SAMPLER: null, OTEL_TRACES_SAMPLER_ARG: null });
  assert.equal(r['env-none']!.value, 2);

  const w = r['env-wrong']!;
  assert.equal(w.status, 'failing');
  assert.equal(w.reason, 'env_mismatch');
  assert.equal(w.message, `1 of 2 variable(s) differ in "${wrong}": OTEL_TRACES_SAMPLER_ARG is "0.5", expected "0.1"`);
  assert.deepEqual(w.details, {
    container: wrong,
    expected: SAMPLER,
    actual: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' },
    mismatched: ['OTEL_TRACES_SAMPLER_ARG'],
  });
  assert.equal(
    w.hint,
    `The OTEL_* sampler variables are read by the application's OpenTelemetry SDK, not by Tempo: they belong to the app service. Set them in the environment: (or env_file:) of the compose service that runs "${wrong}", then recreate the container with docker compose up -d <service>: a restart does not re-read the environment, which is fixed when the container is created.`,
  );

  const s = r['env-secret']!;
  assert.equal(s.reason, 'env_mismatch');
  assert.equal(s.message, `1 of 1 variable(s) differ in "${wrong}": DB_PASSWORD is set to another value, expected the configured value`);
  assert.deepEqual(s.details!.actual, { DB_PASSWORD: '(hidden)' });
  assert.equal(r['mem-secret']!.reason, 'no_limit', r['mem-secret']!.message);

  // What /status, /status/<name> and `watchdog check` show, every result kept, and every log line at
  // trace level. The container's secret must be in none of them, nor anywhere in the engine's state;
  // the value the operator configured for DB_PASSWORD stays in the config only.
  const { engine, logs } = makeEngine();
  engine.load(config([{ name: 'env-secret', kind: 'container_env', container: wrong, expect: { DB_PASSWORD: wrongGuess } }]));
  await engine.runOnce();
  const states = await engine.runOnce();
  assert.equal(states[0]!.history.length, 2);
  const shown = [
    JSON.stringify(r),
    run.logs,
    logs(),
    JSON.stringify(statusReport(states, Date.now())),
    JSON.stringify(states.map(probeDetail)),
    JSON.stringify(states.map((s) => [s.current, s.last, s.history, s.failures])),
    statusTable(states, Date.now()),
  ];
  for (const text of [...shown, JSON.stringify(states)]) assert.ok(!text.includes(secret) && !text.includes('s3cr3t'), 'the secret value leaked');
  for (const text of shown) assert.ok(!text.includes(wrongGuess), 'the configured secret value leaked');
  assert.match(run.logs, /"msg":"probe failing"/, 'the failing probes were logged (so the absence above means something)');
});

// ---------------------------------------------------------------- not found, Docker unreachable

test('a container that does not exist → not_found for both kinds', async () => {
  const name = uniqueName('does-not-exist');
  const { results } = await check([
    { name: 'mem', kind: 'container_memory', container: name },
    { name: 'env', kind: 'container_env', container: name, expect: SAMPLER },
  ]);
  const endpoint = DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  for (const r of [results.mem!, results.env!]) {
    assert.equal(r.status, 'failing');
    assert.equal(r.reason, 'not_found');
    assert.equal(r.message, `no container named "${name}" on ${endpoint}`);
    assert.match(r.hint!, /^List the names with docker ps -a --format '\{\{\.Names\}\}': compose names containers <project>-<service>-1/);
  }
});

/** Both kinds against `dockerHost`; both must be blocked with the same single explanation. */
async function expectBlocked(dockerHost: string, because: RegExp, cause?: string | RegExp): Promise<ProbeResult> {
  const { results } = await check(
    [
      { name: 'mem', kind: 'container_memory', container: 'anything' },
      { name: 'env', kind: 'container_env', container: 'anything', expect: SAMPLER },
    ],
    { dockerHost },
  );
  const [mem, env] = [results.mem!, results.env!];
  for (const r of [mem, env]) {
    assert.equal(r.status, 'blocked', r.message);
    assert.equal(r.reason, 'docker_unavailable');
    assert.match(r.message, /^cannot check container "anything": the Docker Engine is unreachable \(/);
    assert.match(r.message, because);
    if (cause) assert.match(String(r.details!.cause), cause instanceof RegExp ? cause : new RegExp(`^${cause}$`));
  }
  assert.equal(mem.message, env.message);
  assert.equal(mem.hint, env.hint);
  return mem;
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-docker-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
}

test('Docker unreachable: no socket at DOCKER_HOST → blocked, docker_unavailable, hint mounts the socket', async (t) => {
  const path = join(tempDir(t), 'docker.sock');
  const r = await expectBlocked(`unix://${path}`, new RegExp(`\\(no Docker socket at unix://${path}\\)$`), 'ENOENT');
  assert.equal(
    r.hint,
    'Nothing is at that path: mount the Engine\'s socket into the watchdog read-only (volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]) or set DOCKER_HOST to where it listens.',
  );
});

test('Docker unreachable: a socket that closes every connection → blocked', async (t) => {
  const path = join(tempDir(t), 'docker.sock');
  const server = createServer((s) => s.destroy());
  await listen(server, path);
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const r = await expectBlocked(`unix://${path}`, /the connection to unix:\/\/.* was closed without an answer\)$/, /^(EPIPE|ECONNRESET)$/);
  assert.match(r.hint!, /^The Docker Engine cannot be asked: check that dockerd is running on the host/);
});

test('Docker unreachable: a stale socket left by a killed daemon → blocked, "is dockerd running?"', async (t) => {
  const path = join(tempDir(t), 'docker.sock');
  // SIGKILL leaves the socket file behind, as a crashed dockerd does; nobody listens on it any more.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`listener exited early (${code})`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const r = await expectBlocked(`unix://${path}`, /nothing accepts connections at unix:\/\/.* \(is dockerd running\?\)\)$/, 'ECONNREFUSED');
  assert.match(r.hint!, /^The path or port exists but nobody answers: check that dockerd is running on the host/);
});

const REPO = fileURLToPath(new URL('../..', import.meta.url));

const asNobody = process.getuid?.() !== 0 ? 'needs root to run a child as nobody' : !traversableByOthers(join(REPO, 'node_modules')) ? 'the checkout is not readable by nobody' : false;

test('Docker unreachable: permission denied on the real socket (as an unprivileged user) → blocked, hint group_add', { skip: asNobody }, async () => {
  // Root may open any socket, so the denial is real only for another user: run the same engine path as nobody.
  const script = `
    import { parseConfig } from './src/config/load.ts';
    import { Engine } from './src/engine/engine.ts';
    import { createDockerClient } from './src/net/docker.ts';
    import { createHttpClient } from './src/net/http.ts';
    import { pino } from 'pino';
    const config = parseConfig([{ file: 'p.yaml', text: 'probes:\\n  - {name: mem, kind: container_memory, container: anything}' }], {});
    const engine = new Engine({ http: createHttpClient({ userAgent: 't' }), docker: createDockerClient({ dockerHost: ${JSON.stringify(`unix://${REAL_SOCKET}`)} }), logger: pino({ level: 'silent' }), now: Date.now });
    engine.load(config);
    const [state] = await engine.runOnce();
    process.stdout.write(JSON.stringify(state.current));
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO,
    uid: 65534,
    gid: 65534,
    env: { ...process.env, HOME: tmpdir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0, err);
  const r = JSON.parse(out) as ProbeResult;
  assert.equal(r.status, 'blocked');
  assert.equal(r.reason, 'docker_unavailable');
  assert.equal(r.message, `cannot check container "anything": the Docker Engine is unreachable (permission denied on the Docker socket unix://${REAL_SOCKET})`);
  assert.equal(
    r.hint,
    "The socket is there but the watchdog's user may not open it: add the socket's group id to the watchdog's service (group_add: [\"<stat -c %g /var/run/docker.sock on the host>\"]).",
  );
  assert.equal(r.details!.cause, 'EACCES');
});

test('Docker unreachable: a socket proxy that forbids the call (HTTP 403) → blocked, hint allows CONTAINERS', async (t) => {
  const proxy = await statusServer(403, '<html><body><h1>403 Forbidden</h1>Request forbidden by administrative rules.</body></html>');
  t.after(() => proxy.close());
  const r = await expectBlocked(
    `tcp://${proxy.hostPort}`,
    new RegExp(`\\(tcp://${proxy.hostPort} answered HTTP 403: <html><body><h1>403 Forbidden</h1>Request forbidden by administrative rules\\.</body></html>\\)$`),
  );
  assert.equal(r.details!.httpStatus, 403);
  assert.match(r.hint!, /^The call was refused: if DOCKER_HOST points at a socket proxy, allow the read-only container endpoints \(docker-socket-proxy: CONTAINERS=1\)/);
});

test('Docker unreachable: another service answers at DOCKER_HOST → blocked, not a crash on its JSON', async (t) => {
  const other = await jsonServer(() => ({ status: 200, body: { status: 'success', data: [] } }));
  t.after(() => other.close());
  const r = await expectBlocked(`tcp://${other.hostPort}`, new RegExp(`\\(something answered at tcp://${other.hostPort}, but not as the Docker Engine API does\\)$`), 'not_docker');
  assert.match(r.hint!, /^Something other than the Docker Engine answered: check that DOCKER_HOST names the Engine/);
});

test('Docker unreachable: a DOCKER_HOST scheme the watchdog cannot use → blocked with what to use instead', async () => {
  const r = await expectBlocked(
    'ssh://user@127.0.0.1',
    // The user part of the URL is masked like any URL credential (issue 12).
    /\(DOCKER_HOST "ssh:\/\/\*\*\*@127\.0\.0\.1" is not supported: use unix:\/\/\/path\/to\/docker\.sock or tcp:\/\/host:port\)$/,
    'unsupported_host',
  );
  assert.match(r.hint!, /^Set DOCKER_HOST to unix:\/\/\/var\/run\/docker\.sock/);
});

test('a Docker Engine that accepts but never answers → timeout within the probe timeout', async (t) => {
  const stuck = await hangAfterAccept();
  t.after(() => stuck.close());
  const started = Date.now();
  const { results } = await check([{ name: 'mem', kind: 'container_memory', container: 'anything', timeout: '1s' }], { dockerHost: `tcp://${stuck.hostPort}` });
  const r = results.mem!;
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'timeout');
  assert.equal(r.message, `the Docker Engine at tcp://${stuck.hostPort} did not answer about "anything" within the probe's timeout`);
  assert.ok(Date.now() - started < 3_000);
  assert.ok(stuck.connections >= 1);
});

test('Docker going away mid-run and coming back: ok → blocked → ok on the same engine', async (t) => {
  const name = await container(t, 'mem-relay', { memory: '64m' });
  const path = join(tempDir(t), 'docker.sock');
  // A relay in front of the real socket stands in for dockerd: cutting it is the daemon stopping.
  const open = new Set<Socket>();
  const relay = () =>
    createServer((client) => {
      const upstream = connect(REAL_SOCKET);
      for (const s of [client, upstream]) {
        open.add(s);
        s.on('close', () => open.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
  const stop = async (server: Server) => {
    for (const s of open) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };

  const { engine } = makeEngine({ dockerHost: `unix://${path}` });
  engine.load(config([{ name: 'mem', kind: 'container_memory', container: name }]));

  let server = relay();
  await listen(server, path);
  assert.equal((await engine.runOnce())[0]!.current.status, 'ok');

  await stop(server);
  const down = (await engine.runOnce())[0]!.current;
  assert.equal(down.status, 'blocked');
  assert.equal(down.reason, 'docker_unavailable');
  assert.equal(down.message, `cannot check container "${name}": the Docker Engine is unreachable (no Docker socket at unix://${path})`);

  server = relay();
  await listen(server, path);
  t.after(() => stop(server));
  const back = (await engine.runOnce())[0]!.current;
  assert.equal(back.status, 'ok', back.message);
});
