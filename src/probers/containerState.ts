// kind: container_state — what `docker compose ps` and `docker inspect` would tell an operator about one
// container: it runs, stays up, was not killed for memory, passes its own HEALTHCHECK and (optionally)
// has a memory limit. One `docker inspect` per run. What must be remembered across runs (the restart
// counts seen within the window, when an OOM kill was last seen) is the kind's private memory
// (outcome.memory, back as ctx.memory): the engine keeps it with the probe, this module keeps nothing,
// and /status never shows it.
import { Type } from '@sinclair/typebox';
import { formatBytes, formatDuration, formatSeconds } from '../util/format.js';
import { count, snippet } from '../util/text.js';
import { defineProber } from './define.js';
import { maskEnv } from './dockerLogsApi.js';
import { failed, passed } from './common.js';
import {
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
  sigkillHint,
  withLastWords,
} from './docker.js';

/** The health-check output shown, after masking: enough for "connection refused" and a path. */
const HEALTH_OUTPUT_CHARS = 200;

const recreate = 'and recreate it (docker compose up -d <service>)';

export const containerStateProber = defineProber({
  fields: Type.Object({
    container: ContainerName,
    /** This probe's Docker Engine, when it is not DOCKER_HOST's. */
    docker: Type.Optional(DockerEndpoint),
    /** A container without a memory limit fails with no_limit. Default false. */
    requireLimit: Type.Optional(Type.Boolean()),
    /** A restart (or an OOM kill) within this long is reported. Default 5m. */
    window: ContainerWindow,
  }),
  reasons: {
    ...dockerReasons,
    oom_killed: `It ran out of memory at its limit: raise deploy.resources.limits.memory (or mem_limit) for its service ${recreate}, or find what grows (docker stats <container>).`,
    restarting: 'It crashes and its restart policy starts it again: read why with docker logs --tail 50 <container>; fix the cause, then docker compose up -d <service>.',
    not_running: 'Read why it stopped: docker logs --tail 50 <container>; fix the cause, then docker compose up -d <service>.',
    unhealthy: "Its own health check says it does not work: docker inspect -f '{{json .State.Health}}' <container> shows the recent checks; read docker logs --tail 50 <container>.",
    no_limit: `Set deploy.resources.limits.memory (or mem_limit) for its service in compose ${recreate}: a restart keeps the old limit.`,
  },
  memory: ContainerTrack,
  decode: (f, d) => ({
    container: f.container,
    requireLimit: f.requireLimit ?? false,
    windowMs: decodeWindow(d, f.window),
    docker: decodeDockerEndpoint(d, 'docker', f.docker),
  }),
  async run(spec, runCtx) {
    const name = spec.container;
    const inspected = await inspectOnEngine(runCtx, spec.docker, name);
    if (!inspected.ok) return inspected.outcome;
    const { ctx, info } = inspected.value;
    const now = ctx.now();
    const s = info.State;

    // What earlier runs saw, within the window, judged with this run's inspect (docker.ts, the
    // judgement container_memory makes too), and kept with this run's count for the next one.
    const { judged, track } = judgeContainer(info, now, runCtx.memory, spec.windowMs);
    const { up, restarts, uptimeMs: upMs } = judged;

    const details: Record<string, unknown> = {
      container: name,
      status: s.Status,
      exitCode: s.ExitCode,
      oomKilled: s.OOMKilled,
      restartCount: restarts,
      restartPolicy: info.HostConfig.RestartPolicy?.Name || 'no',
      ...(s.Error ? { error: s.Error } : {}),
      ...(s.StartedAt ? { startedAt: s.StartedAt } : {}),
      ...(s.Health ? { health: s.Health.Status } : {}),
      memoryLimitBytes: info.HostConfig.Memory ?? 0,
    };
    const extra = { value: restarts, details, memory: track };
    const inspectState = inspectStateCommand(name);

    if (track.oomSeenAt !== undefined) {
      const limit = info.HostConfig.Memory ? ` at its ${formatBytes(info.HostConfig.Memory)} limit` : '';
      const when = s.OOMKilled ? '' : ` ${formatDuration(Math.round((now - track.oomSeenAt) / 1000) * 1000)} ago`;
      const since = up ? `; it was restarted since and runs again (restarted ${count(restarts, 'time')})` : ` (exit code ${s.ExitCode}, now ${s.Status})`;
      return failed(
        'oom_killed',
        `"${name}" was killed by the kernel's OOM killer${limit}${when}${since}`,
        `It ran out of memory${limit}: raise deploy.resources.limits.memory (or mem_limit) for its service and recreate it (docker compose up -d <service>), or find what grows (docker stats ${name}). ${inspectState} shows the last exit.`,
        extra,
      );
    }

    if (judged.loop) {
      const grew = judged.grew ? `, ${judged.grew.count} time(s) in the last ${formatDuration(judged.grew.sinceMs)}` : '';
      return withLastWords(
        ctx,
        name,
        info,
        failed(
          'restarting',
          `"${name}" keeps restarting: ${s.Status}, restarted ${count(restarts, 'time')} by its restart policy "${String(details.restartPolicy)}"${grew} (last exit code ${s.ExitCode}${s.Error ? `, error: ${s.Error}` : ''})`,
          `${sigkillHint(info)}It crashes and its restart policy starts it again: read why with docker logs --tail 50 ${name} and ${inspectState}; fix the cause, then docker compose up -d <service>.`,
          extra,
        ),
      );
    }

    if (!up) {
      const { what, facts, hint } = downState(name, info);
      const down = failed('not_running', `"${name}" ${what}${facts.length ? ` (${facts.join(', ')})` : ''}`, hint, extra);
      // A paused or never-started container has no last words: it did not fail.
      return s.Status === 'paused' || s.Status === 'created' ? down : withLastWords(ctx, name, info, down);
    }

    if (judged.unhealthy && s.Health) {
      const last = s.Health.Log?.at(-1);
      const output = last?.Output ? snippet(maskEnv(last.Output, info.Config.Env ?? []), HEALTH_OUTPUT_CHARS) : '(no output)';
      details.healthFailingStreak = s.Health.FailingStreak ?? 0;
      details.healthOutput = output;
      return withLastWords(
        ctx,
        name,
        info,
        failed(
          'unhealthy',
          `"${name}" runs but its HEALTHCHECK fails (${s.Health.FailingStreak ?? '?'} time(s) in a row; last exit code ${last?.ExitCode ?? '?'}): ${output}`,
          `Its own health check says it does not work: docker inspect -f '{{json .State.Health}}' ${name} shows the recent checks; read docker logs --tail 50 ${name}.`,
          extra,
        ),
      );
    }

    if (spec.requireLimit && judged.noLimit) {
      const missing = missingLimit(info);
      return failed('no_limit', `"${name}" has no memory limit (HostConfig.Memory is 0): it may take all of the host's memory${missing.because}`, missing.hint, {
        ...extra,
        ...(missing.root ? { details: { ...extra.details, root: missing.root } } : {}),
      });
    }
    const health = s.Health ? `, health ${s.Health.Status}` : '';
    return passed(`"${name}" is running (up ${formatSeconds(Math.max(0, upMs))}${health}, restarted ${count(restarts, 'time')})`, extra);
  },
});

export { maskEnv } from './dockerLogsApi.js';
