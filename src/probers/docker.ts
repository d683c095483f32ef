// What the container kinds share: the container field, and turning the Docker client's errors into
// outcomes. Docker being unreachable is `blocked`, not `failing`: it says nothing about the container,
// and every container probe would otherwise raise its own alarm for one outage.
import { Type, type Static } from '@sinclair/typebox';
import { Duration, type DockerEndpoint } from '../core/fields.js';
import { clientForEndpoint, ContainerNotFoundError, DockerUnavailableError, type ContainerInspect, type DockerClient } from '../net/docker.js';
import { formatBytes } from '../util/format.js';
import { failed, failure, success } from './common.js';
import { lastWords } from './dockerLogsApi.js';
import type { Attempt, Decoder, ProbeContext, ProbeOutcome, ReasonHints } from './types.js';

export { DockerEndpoint } from '../core/fields.js';

/**
 * Docker's own rule for names (plus hex ids). It also keeps the name from steering the request:
 * dockerode pastes it into the URL path unescaped.
 */
export const ContainerName = Type.String({
  pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$',
  errorMessage: 'expected a container name or id such as "mystocks-prometheus" (letters, digits, "_", "." and "-")',
});

/** A client for a probe's own Engine, made once at load; a TLS file that cannot be read is the field's problem. */
export function decodeDockerEndpoint(d: Decoder, field: string, value: Static<typeof DockerEndpoint> | undefined): DockerClient | undefined {
  if (value === undefined) return undefined;
  const endpoint = clientForEndpoint(value);
  for (const p of endpoint.problems) d.problem(`${field}.${p.key}`, p.message);
  return endpoint.client;
}

/** The run's context with the probe's own Engine, if it names one. */
export function onEngine(ctx: ProbeContext, docker: DockerClient | undefined): ProbeContext {
  return docker ? { ...ctx, docker } : ctx;
}

const mountSocket = 'mount the Engine\'s socket into the watchdog read-only (volumes: ["/var/run/docker.sock:/var/run/docker.sock:ro"]) or set DOCKER_HOST to where it listens';
const joinGroup = 'add the socket\'s group id to the watchdog\'s service (group_add: ["<stat -c %g /var/run/docker.sock on the host>"])';
const startDockerd = 'check that dockerd is running on the host (systemctl status docker; docker info)';

const unavailableHints: Record<string, string> = {
  ENOENT: `Nothing is at that path: ${mountSocket}.`,
  ENOTDIR: `Nothing is at that path: ${mountSocket}.`,
  EACCES: `The socket is there but the watchdog's user may not open it: ${joinGroup}.`,
  EPERM: `The socket is there but the watchdog's user may not open it: ${joinGroup}.`,
  ECONNREFUSED: `The path or port exists but nobody answers: ${startDockerd}; if DOCKER_HOST points elsewhere, check that address.`,
  not_docker: 'Something other than the Docker Engine answered: check that DOCKER_HOST names the Engine (or a socket proxy in front of it), not another service.',
  unsupported_host: 'Set DOCKER_HOST to unix:///var/run/docker.sock (with the socket mounted read-only) or to tcp://host:2375 of a socket proxy; or leave it unset for the default socket.',
};
const defaultUnavailableHint = `The Docker Engine cannot be asked: ${startDockerd}; ${mountSocket}; ${joinGroup}.`;
const refusedHint =
  'The call was refused: if DOCKER_HOST points at a socket proxy, allow the read-only container endpoints (docker-socket-proxy: CONTAINERS=1); if dockerd itself answered an error, read its log (journalctl -u docker).';

const notFoundHint =
  "List the names with docker ps -a --format '{{.Names}}': compose names containers <project>-<service>-1 unless the service sets container_name. Set the probe's container to the real name (it may not have been created yet: docker compose up -d).";
const dockerTimeoutHint = "dockerd is overloaded or stuck: check that docker ps answers on the host and read the daemon's log (journalctl -u docker); raise the probe's timeout if it is only slow.";

/** What asking the Engine about a container may end in: every container kind declares these. */
export const dockerReasons = {
  docker_unavailable: defaultUnavailableHint,
  not_found: notFoundHint,
  timeout: dockerTimeoutHint,
} as const satisfies ReasonHints;
export type DockerReason = keyof typeof dockerReasons;

/** Blocked, with one message for the whole outage and the step that fixes its particular cause. */
export function dockerUnavailable(err: DockerUnavailableError, container: string): ProbeOutcome<never, 'docker_unavailable', never> {
  const hint = err.statusCode ? refusedHint : (unavailableHints[err.code ?? ''] ?? defaultUnavailableHint);
  return {
    status: 'blocked',
    reason: 'docker_unavailable',
    message: `cannot check container "${container}": the Docker Engine is unreachable (${err.message})`,
    hint,
    value: null,
    details: { container, ...(err.code ? { cause: err.code } : {}), ...(err.statusCode ? { httpStatus: err.statusCode } : {}) },
  };
}

/**
 * Runs a Docker call, turning the client's known errors into outcomes: unreachable → blocked,
 * no such container → not_found, no answer before the deadline → timeout. Anything else is a bug.
 */
export async function askDocker<T>(ctx: ProbeContext, container: string, call: () => Promise<T>): Promise<Attempt<T, DockerReason>> {
  try {
    return success(await call());
  } catch (err) {
    if (err instanceof DockerUnavailableError) return failure(dockerUnavailable(err, container));
    if (err instanceof ContainerNotFoundError) {
      return failure(failed('not_found', `no container named "${container}" on ${ctx.docker.endpoint}`, notFoundHint, { value: null, details: { container } }));
    }
    if (ctx.signal.aborted) {
      return failure(
        failed('timeout', `the Docker Engine at ${ctx.docker.endpoint} did not answer about "${container}" within the probe's timeout`, dockerTimeoutHint, {
          value: null,
          details: { container },
        }),
      );
    }
    throw err;
  }
}

/**
 * `docker inspect` on the probe's own Engine (or the watchdog's), with the run's context for any
 * further call to the same Engine: how every container kind starts.
 */
export async function inspectOnEngine(runCtx: ProbeContext, docker: DockerClient | undefined, container: string): Promise<Attempt<{ ctx: ProbeContext; info: ContainerInspect }, DockerReason>> {
  const ctx = onEngine(runCtx, docker);
  const inspected = await inspectContainer(ctx, container);
  return inspected.ok ? success({ ctx, info: inspected.value }) : inspected;
}

/** `docker inspect`, as an outcome when it cannot be had. */
export function inspectContainer(ctx: ProbeContext, container: string): Promise<Attempt<ContainerInspect, DockerReason>> {
  return askDocker(ctx, container, () => ctx.docker.inspect(container, ctx.signal));
}

/**
 * Without an earlier run's restart count to compare with, a container that runs again for less than
 * this after its restart policy restarted it is taken as looping: a crash loop shows up as running for
 * most of each cycle once the app boots slowly, and docker itself only calls a start successful after
 * 10 s. 30 s leaves room for slow boots; a slower loop shows as a count that grew between two runs.
 */
export const RESTART_LOOP_MS = 30_000;

/**
 * What a container kind remembers between runs for the judgement (its private memory, declared as
 * `memory: ContainerTrack`): the restart counts seen within the window, and when an OOM kill was last
 * seen. Both container kinds keep it, so both judge a container by the same facts.
 */
export const ContainerTrack = Type.Object({
  /** [when (ms), RestartCount] seen within the window, oldest first. */
  restarts: Type.Array(Type.Tuple([Type.Number(), Type.Number()])),
  /** When an OOM kill was last seen (State.OOMKilled), ms. */
  oomSeenAt: Type.Optional(Type.Number()),
});
export type ContainerTrack = Static<typeof ContainerTrack>;

/** The `window` field of both container kinds: a restart (or an OOM kill) within this long is reported. Default 5m. */
export const ContainerWindow = Type.Optional(Duration);
const DEFAULT_WINDOW_MS = 5 * 60_000;

/** A container kind's decoded `window`, in ms. */
export function decodeWindow(d: Decoder, window: string | undefined): number {
  return window === undefined ? DEFAULT_WINDOW_MS : d.duration('window', window);
}

/** The facts judgeContainer finds: both container kinds decide by them, and word them each their own way. */
export interface StateJudgement {
  /** Running, not restarting, not paused: there is a process. */
  up: boolean;
  /** ms since its last start (NaN when it never started). */
  uptimeMs: number;
  restarts: number;
  /** Crash-looping, and what shows it: docker's own state, a count that grew since an earlier run, or a short uptime after a restart. */
  loop?: 'state' | 'count' | 'uptime';
  /** How much the restart count grew since the oldest earlier run that saw it lower, and how long ago that was. */
  grew?: { count: number; sinceMs: number };
  /** When an OOM kill was seen: now while it is down from one, or an earlier sighting still within the window. */
  oomSeenAt?: number;
  /** Its own HEALTHCHECK fails. */
  unhealthy: boolean;
  /** HostConfig.Memory is 0. */
  noLimit: boolean;
}

/**
 * The one judgement of a container, for both container kinds: this run's `docker inspect` with what
 * earlier runs within the window saw (`memory`, none on a first run), and the memory to keep for the
 * next run. Each kind words the verdict its own way; the facts and the rules are these.
 */
export function judgeContainer(info: ContainerInspect, now: number, memory: ContainerTrack | undefined, windowMs: number): { judged: StateJudgement; track: ContainerTrack } {
  const before = pruned(memory, now - windowMs);
  const judged = judgeState(info, now, before, windowMs);
  const track: ContainerTrack = { restarts: [...before.restarts, [now, judged.restarts]], ...(judged.oomSeenAt !== undefined ? { oomSeenAt: judged.oomSeenAt } : {}) };
  return { judged, track };
}

/** The earlier runs' track, pruned to what is newer than `since`; none on a first run. */
function pruned(track: ContainerTrack | undefined, since: number): ContainerTrack {
  const restarts = (track?.restarts ?? []).filter(([at]) => at >= since);
  // A run every few seconds over a long window: keep the oldest and the newest few, which is all the test needs.
  const kept = restarts.length > 32 ? [restarts[0]!, ...restarts.slice(-31)] : restarts;
  return { restarts: kept, ...(track?.oomSeenAt !== undefined ? { oomSeenAt: track.oomSeenAt } : {}) };
}

/**
 * Judges a container: `before` is what earlier runs within `windowMs` saw (none on a first run). An
 * OOM kill counts while the container is down from it, or when it came back from it within the window
 * (Docker 20.10 keeps State.OOMKilled across a restart, newer Engines clear it on start, so an earlier
 * sighting is carried forward).
 */
function judgeState(info: ContainerInspect, now: number, before: ContainerTrack, windowMs: number): StateJudgement {
  const s = info.State;
  const restarts = info.RestartCount ?? 0;
  const uptimeMs = now - (s.StartedAt ? Date.parse(s.StartedAt) : NaN);
  const up = s.Status === 'running' && !s.Restarting && !s.Paused;
  const earlier = before.restarts;
  const grewFrom = earlier.find(([, c]) => c < restarts);
  const loop: StateJudgement['loop'] =
    s.Restarting || s.Status === 'restarting' ? 'state' : grewFrom ? 'count' : earlier.length === 0 && up && restarts > 0 && uptimeMs >= 0 && uptimeMs < RESTART_LOOP_MS ? 'uptime' : undefined;
  const startedWithin = uptimeMs >= 0 && uptimeMs < windowMs;
  const oomSeenAt = s.OOMKilled && (!up || startedWithin) ? now : before.oomSeenAt !== undefined && now - before.oomSeenAt < windowMs ? before.oomSeenAt : undefined;
  return {
    up,
    uptimeMs,
    restarts,
    ...(loop ? { loop } : {}),
    ...(grewFrom ? { grew: { count: restarts - grewFrom[1], sinceMs: now - grewFrom[0] } } : {}),
    ...(oomSeenAt !== undefined ? { oomSeenAt } : {}),
    unhealthy: s.Health?.Status === 'unhealthy',
    noLimit: !info.HostConfig.Memory,
  };
}

/**
 * A container that is not up, in words both container kinds use: what its status means, the facts
 * docker keeps about why (exit code, `more` in between, the error), and what to do about it.
 */
export function downState(name: string, info: ContainerInspect, more: string[] = []): { what: string; facts: string[]; hint: string } {
  const s = info.State;
  const what = s.Restarting || s.Status === 'restarting' ? 'is restarting' : s.Status === 'exited' ? 'has exited' : s.Status === 'created' ? 'was created but never started' : `is ${s.Status}`;
  // Only a container that ran and stopped has an exit code worth naming (a looping one reads "running").
  const exited = !['created', 'paused', 'running'].includes(s.Status);
  const sigkill = exited ? sigkillHint(info) : '';
  const facts = [exited ? `exit code ${s.ExitCode}` : '', sigkill ? 'killed by SIGKILL' : '', ...more, s.Error ? `error: ${s.Error}` : ''].filter(Boolean);
  const hint =
    s.Status === 'paused' || s.Paused
      ? `Someone paused it: docker unpause ${name}.`
      : s.Status === 'created'
        ? `Start it (docker compose up -d <service>), then read docker logs ${name} if it does not stay up.`
        : `${sigkill}Read why it stops: docker logs --tail 50 ${name} and ${inspectStateCommand(name)}; fix the cause, then docker compose up -d <service>.`;
  return { what, facts, hint };
}

/**
 * The first sentence of a hint for exit code 137 (128 + SIGKILL) with no OOM kill recorded, or '' for
 * any other exit. Docker can miss an OOM kill: containerd 1.6 (what Debian 12 ships with Docker 20.10)
 * watches a container's cgroup for OOM only once its process has started (containerd#8180), and an OOM
 * event that lands after the exit is dropped (moby#18510); the test suite saw 3 to 7 of 48 such kills
 * lost at load 7-11 (test/support/docker.ts). A container without a limit of its own (Compose v1 drops
 * `deploy:` limits) meets the OOM killer only when the whole host runs short, which its cgroup does not
 * report. So the SIGKILL is named with its possible senders, and the kernel's log decides.
 */
export function sigkillHint(info: ContainerInspect): string {
  const s = info.State;
  if (s.ExitCode !== 137 || s.OOMKilled) return '';
  const limit = info.HostConfig.Memory;
  const oom = limit ? `the kernel's OOM killer at its ${formatBytes(limit)} limit` : "the kernel's OOM killer when the host ran short of memory (it has no memory limit of its own)";
  return `Exit code 137 is a SIGKILL: docker kill, a docker stop whose grace period ran out, or ${oom}, which Docker does not always record; on the host, dmesg | grep -i 'out of memory' shows an OOM kill. `;
}

/** The command that shows a container's last exit. */
export function inspectStateCommand(name: string): string {
  return `docker inspect -f '{{json .State}}' ${name}`;
}

/**
 * A failure of a container that ran and stopped (restarting, exited, unhealthy), with the container's
 * last log lines quoted in its message; a log line with a known signature (dockerLogsApi.ts) puts its
 * precise hint in place of the generic "read docker logs" one. One extra Engine call, on failure only.
 */
export async function withLastWords<O extends ProbeOutcome<string, string, unknown>>(ctx: ProbeContext, name: string, info: ContainerInspect, outcome: O): Promise<O> {
  const words = await lastWords(ctx, name, info.Config.Env ?? []);
  if (!words) return outcome;
  return {
    ...outcome,
    message: `${outcome.message}; ${words.quoted}`,
    ...(words.signature ? { hint: words.signature.hint } : {}),
    details: { ...outcome.details, lastLogLines: words.lines, ...(words.signature ? { logSignature: words.signature.id } : {}) },
  };
}

/** The label Compose puts on every container it creates: its own version. */
const COMPOSE_VERSION_LABEL = 'com.docker.compose.version';

/**
 * Why a container has no memory limit and how to give it one. Compose v1 (docker-compose 1.x, what
 * Debian ships) ignores `deploy:` unless run with --compatibility, so a limit written under
 * deploy.resources never reaches the container: the usual advice ("set deploy.resources.limits.memory")
 * would send the operator to a file that already says the right thing.
 */
export function missingLimit(info: ContainerInspect, want?: string): { because: string; hint: string; root?: string } {
  const size = want ?? '<size>';
  const version = info.Config.Labels?.[COMPOSE_VERSION_LABEL];
  if (version?.startsWith('1.')) {
    return {
      // One `docker-compose up` dropped the limits of every service of the project: one cause (report/causes.ts), not one per container.
      root: `compose-v1:${info.Config.Labels?.['com.docker.compose.project'] ?? ''}`,
      because: `; it was created by Compose v1 (docker-compose ${version}), which ignores deploy.resources without --compatibility`,
      hint:
        `Compose v1 (docker-compose ${version}) drops deploy.resources.limits.memory unless it runs with --compatibility, so the limit in the compose file never reached the container. ` +
        `Recreate it with Compose v2 (docker compose up -d <service>), or with docker-compose --compatibility up -d <service>, or set mem_limit: ${size} on the service (read by Compose v1 and v2 alike).`,
    };
  }
  return {
    because: '',
    hint: `Set deploy.resources.limits.memory${want ? ` to ${want}` : ''} (or mem_limit) for its service in compose and recreate it (docker compose up -d <service>): a restart keeps the old limit.`,
  };
}
