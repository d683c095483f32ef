// kind: container_memory — the container runs, has the memory limit the guide sets, and is not about
// to hit it. Usage is counted as `docker stats` counts it, so the numbers match what an operator sees.
import { Type } from '@sinclair/typebox';
import { parsed, unparsed, type Parsed } from '../core/result.js';
import type { ContainerInspect, ContainerStats } from '../net/docker.js';
import { formatBytes, formatDuration, percent } from '../util/format.js';
import { count } from '../util/text.js';
import { defineProber } from './define.js';
import type { ProbeContext, ProbeOutcome, Sample } from './types.js';
import { failed, passed } from './common.js';
import {
  askDocker,
  ContainerName,
  ContainerTrack,
  ContainerWindow,
  decodeDockerEndpoint,
  decodeWindow,
  DockerEndpoint,
  dockerReasons,
  downState,
  inspectOnEngine,
  inspectStateCommand,
  judgeContainer,
  missingLimit,
  withLastWords,
  type StateJudgement,
} from './docker.js';

const USAGE_GAUGE = 'watchdog_container_memory_usage_bytes';
const LIMIT_GAUGE = 'watchdog_container_memory_limit_bytes';
type Gauge = typeof USAGE_GAUGE | typeof LIMIT_GAUGE;

/** The decoded fields measure() reads. */
interface MemorySpec {
  container: string;
  expectLimit?: { text: string; bytes: number };
  maxUsageRatio: number;
}

const raiseLimit = 'raise deploy.resources.limits.memory (or mem_limit) for its service in compose and recreate it (docker compose up -d <service>)';

export const containerMemoryProber = defineProber({
  unit: 'ratio',
  gauges: {
    [USAGE_GAUGE]: { help: 'Container memory in use, computed as docker stats does (usage minus inactive file cache).', labelNames: ['container'] },
    [LIMIT_GAUGE]: { help: 'Container memory limit from HostConfig.Memory (0 when none is set).', labelNames: ['container'] },
  },
  fields: Type.Object({
    container: ContainerName,
    /** This probe's Docker Engine, when it is not DOCKER_HOST's. */
    docker: Type.Optional(DockerEndpoint),
    /** The limit the container must have, in docker's units: "2G", "512M", "1024m" (binary: 1G = 1024M). */
    expectLimit: Type.Optional(Type.String()),
    /** Usage above this share of the limit fails. Default 0.9. */
    maxUsageRatio: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    /** A restart count that grew within this long is a restart loop, as container_state judges it. Default 5m. */
    window: ContainerWindow,
  }),
  reasons: {
    ...dockerReasons,
    not_running: "Read why it stops: docker logs --tail 50 <container> and docker inspect -f '{{json .State}}' <container>; fix the cause, then docker compose up -d <service>.",
    no_limit: 'Set deploy.resources.limits.memory (or mem_limit) for its service in compose and recreate it (docker compose up -d <service>): a restart keeps the old limit.',
    limit_mismatch:
      'Compose sets another limit, or the container predates the change: set deploy.resources.limits.memory (or mem_limit) for its service and recreate it (docker compose up -d <service>); if the limit is intended, change expectLimit.',
    near_limit: `At its limit the kernel OOM-kills it: ${raiseLimit}, or cut what it holds; docker stats <container> shows the trend.`,
  },
  // The restart counts earlier runs saw: the same judgement as container_state's (docker.ts).
  memory: ContainerTrack,
  decode: (f, d) => ({
    container: f.container,
    /** The limit as written, for messages, and in bytes. */
    expectLimit: f.expectLimit === undefined ? undefined : { text: f.expectLimit, bytes: d.take('expectLimit', parseMemorySize(f.expectLimit), Number.NaN) },
    maxUsageRatio: f.maxUsageRatio ?? 0.9,
    windowMs: decodeWindow(d, f.window),
    docker: decodeDockerEndpoint(d, 'docker', f.docker),
  }),
  async run(spec, runCtx) {
    const name = spec.container;
    const inspected = await inspectOnEngine(runCtx, spec.docker, name);
    if (!inspected.ok) return inspected.outcome;
    const { ctx, info } = inspected.value;
    const { judged, track } = judgeContainer(info, ctx.now(), runCtx.memory, spec.windowMs);
    // Every verdict keeps what this run saw, so the next one judges a loop as container_state does.
    return { ...(await measure(ctx, spec, info, judged)), memory: track };
  },
});

/** The verdict on a container judged by judgeContainer: not_running, or its limit and usage. */
async function measure(ctx: ProbeContext, spec: MemorySpec, info: ContainerInspect, judged: StateJudgement) {
  const name = spec.container;
  const down = notRunning(name, info, judged);
  // An OOM kill explains itself; any other stop is explained by the container's own last log lines.
  if (down) return info.State.OOMKilled ? down : withLastWords(ctx, name, info, down);

  const read = await askDocker(ctx, name, () => ctx.docker.stats(name, ctx.signal));
  if (!read.ok) return read.outcome;
  const stats = read.value;
  const usage = memoryInUse(stats.memory_stats);
  if (usage === undefined) {
    // The Engine reports no memory for a stopped container: it stopped between the two calls.
    return failed('not_running', `"${name}" stopped while its memory was being read`, `Read why it stops: docker logs --tail 50 ${name}; docker inspect -f '{{json .State}}' ${name}.`, {
      value: null,
      details: { container: name },
    });
  }
  const limit = info.HostConfig.Memory ?? 0;
  const samples: Sample<Gauge>[] = [
    { metric: USAGE_GAUGE, labels: { container: name }, value: usage.bytes },
    { metric: LIMIT_GAUGE, labels: { container: name }, value: limit },
  ];
  const details: Record<string, unknown> = { container: name, usageBytes: usage.bytes, limitBytes: limit, cacheExcludedBytes: usage.excluded };

  if (judged.noLimit) {
    const hostMemory = stats.memory_stats.limit ? ` and docker stats shows the host's ${formatBytes(stats.memory_stats.limit)} as its "limit"` : '';
    const missing = missingLimit(info, spec.expectLimit?.text);
    return failed(
      'no_limit',
      `"${name}" has no memory limit (HostConfig.Memory is 0): it may take all of the host's memory${hostMemory}; it uses ${formatBytes(usage.bytes)}${missing.because}`,
      missing.hint,
      { value: null, details: missing.root ? { ...details, root: missing.root } : details, samples },
    );
  }

  const ratio = usage.bytes / limit;
  details.ratio = round(ratio);
  const used = `${formatBytes(usage.bytes)} of its ${formatBytes(limit)} limit (${percent(ratio)})`;
  const expected = spec.expectLimit;
  if (expected !== undefined && expected.bytes !== limit) {
    details.expectLimitBytes = expected.bytes;
    return failed(
      'limit_mismatch',
      `"${name}" is limited to ${formatBytes(limit)}, expected ${formatBytes(expected.bytes)} (expectLimit "${expected.text}"); it uses ${used}`,
      `Compose sets another limit, or the container predates the change: set deploy.resources.limits.memory (or mem_limit) for its service to ${expected.text} and recreate it (docker compose up -d <service>). If ${formatBytes(limit)} is intended, change expectLimit.`,
      { value: ratio, details, samples },
    );
  }

  const max = spec.maxUsageRatio;
  details.maxUsageRatio = max;
  if (ratio > max) {
    return failed(
      'near_limit',
      `"${name}" uses ${used}, above ${percent(max)}`,
      `At its limit the kernel OOM-kills it. Either ${raiseLimit}, or cut what it holds (Prometheus: fewer series or a shorter --storage.tsdb.retention.time; Tempo: lower what its ingester (Tempo 2) or live-store (Tempo 3, live_store.max_live_traces_bytes) keeps in memory). docker stats ${name} shows the trend.`,
      { value: ratio, details, samples },
    );
  }
  return passed(`"${name}" uses ${used}`, { value: ratio, details, samples });
}

/**
 * The container must be up and staying up; otherwise `not_running` with what docker knows of why.
 * Judged as container_state judges it (docker.ts judgeContainer): this kind needs a process to measure,
 * and says why there is none in container_state's terms (not_running).
 */
function notRunning(name: string, info: ContainerInspect, judged: StateJudgement): ProbeOutcome<never, 'not_running', never> | undefined {
  const s = info.State;
  const { up, loop, restarts, uptimeMs, grew } = judged;
  const looping = up && loop !== undefined;
  if (up && !looping) return undefined;

  const more: string[] = [];
  if (s.OOMKilled) more.push("killed by the kernel's OOM killer");
  if (restarts > 0) more.push(`restarted ${count(restarts, 'time')} by its restart policy "${info.HostConfig.RestartPolicy?.Name ?? 'no'}"`);
  const down = downState(name, info, more);
  // Up but looping: docker says running, the restart count and the short uptime say otherwise.
  const what = !looping
    ? down.what
    : grew
      ? `keeps restarting: restarted ${count(grew.count, 'time')} in the last ${formatDuration(grew.sinceMs)}`
      : `keeps restarting: running again for only ${(uptimeMs / 1000).toFixed(1)}s`;
  const facts = down.facts;
  let hint = down.hint;
  if (s.OOMKilled) {
    const limit = info.HostConfig.Memory ? ` (${formatBytes(info.HostConfig.Memory)})` : '';
    hint = `It ran out of memory at its limit${limit}: ${raiseLimit}, or find what grows (docker stats ${name}). ${inspectStateCommand(name)} shows the last exit.`;
  }
  return failed('not_running', `"${name}" ${what}${facts.length ? ` (${facts.join(', ')})` : ''}`, hint, {
    value: null,
    details: {
      container: name,
      status: s.Status,
      restarting: s.Restarting,
      exitCode: s.ExitCode,
      oomKilled: s.OOMKilled,
      restartCount: restarts,
      ...(s.Error ? { error: s.Error } : {}),
      ...(s.StartedAt ? { startedAt: s.StartedAt } : {}),
      ...(s.FinishedAt ? { finishedAt: s.FinishedAt } : {}),
    },
  });
}

/**
 * Memory in use as the docker CLI computes it (calculateMemUsageUnixNoCache in cli/command/container/
 * stats_helpers.go): usage minus the inactive file cache, which the kernel reclaims before it OOM-kills.
 * cgroup v1 reports that cache as total_inactive_file, v2 as inactive_file. Undefined when the Engine
 * reports no usage (the container is not running).
 */
export function memoryInUse(mem: ContainerStats['memory_stats']): { bytes: number; excluded: number } | undefined {
  if (typeof mem.usage !== 'number') return undefined;
  const stats = mem.stats ?? {};
  const v1 = stats.total_inactive_file;
  if (v1 !== undefined && v1 < mem.usage) return { bytes: mem.usage - v1, excluded: v1 };
  const v2 = stats.inactive_file ?? 0;
  if (v2 < mem.usage) return { bytes: mem.usage - v2, excluded: v2 };
  return { bytes: mem.usage, excluded: 0 };
}

const units = ['', 'k', 'm', 'g', 't', 'p'];

/** Docker's memory sizes (go-units RAMInBytes): "2G", "2g", "512M", "1.5g", "2GB", "2GiB", "1024" bytes; binary multiples. */
export function parseMemorySize(text: string): Parsed<number> {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text.trim());
  const bytes = m ? Math.floor(Number(m[1]) * 1024 ** units.indexOf((m[2] ?? '').toLowerCase())) : 0;
  return bytes > 0 ? parsed(bytes) : unparsed(`"${text}" is not a memory size such as "2G", "512M" or "1024m" (docker's binary units: 1G = 1024M)`);
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
