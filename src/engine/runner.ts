// Runs one probe once, under a hard deadline. Whatever the prober does (hangs, ignores the
// signal, throws), the caller gets a ProbeResult no later than the timeout plus a tick.
import type { Logger } from 'pino';
import type { HttpClient } from '../net/http.js';
import type { DockerClient } from '../net/docker.js';
import { deadline } from '../util/deadline.js';
import { formatDuration } from '../util/format.js';
import { redactText } from '../util/url.js';
import { frameworkReasons } from '../probers/reasons.js';
import type { ProbeOutcome, ProbeSpec } from '../probers/types.js';
import type { MemoryCell, ProbeResult } from './result.js';

/** How long a prober has, once its signal aborts, to return what it saw before the runner answers for it. */
export const HARD_STOP_GRACE_MS = 50;

export interface RunDeps {
  http: HttpClient;
  docker: DockerClient;
  logger: Logger;
  now: () => number;
  /** Aborted when the daemon stops: runs in flight give up. */
  stopSignal?: AbortSignal;
}

/** `memory` is handed to the prober as `ctx.memory` and takes what the run keeps, for kinds that compare runs. */
export async function runProbe(spec: ProbeSpec, deps: RunDeps, memory: MemoryCell = {}): Promise<ProbeResult> {
  const started = deps.now();
  const bound = deadline(deps.stopSignal, spec.timeoutMs);
  const signal = bound.signal;
  const logger = probeLogger(deps.logger, spec);

  let outcome: ProbeOutcome;
  let timer: NodeJS.Timeout | undefined;
  let arm: (() => void) | undefined;
  try {
    // The race is the hard bound: a prober that ignores its signal still cannot hold the slot. It is
    // armed by the abort, not by a timer of its own: two timers due 50 ms apart fire in either order on
    // a lagging event loop (seen at load 15: the stop at 1078 ms with the 1 s deadline not yet fired),
    // and a stop that won before the abort left the run's requests in flight with no signal ever coming
    // (done() cleared the deadline), holding their sockets until undici's own 120 s timeouts.
    const hardStop = new Promise<'deadline'>((resolve) => {
      arm = () => {
        timer = setTimeout(() => resolve('deadline'), HARD_STOP_GRACE_MS);
      };
      if (signal.aborted) arm();
      else signal.addEventListener('abort', arm, { once: true });
    });
    const res = await Promise.race([spec.run({ signal, deadline: started + spec.timeoutMs, http: deps.http, docker: deps.docker, logger, now: deps.now, memory: memory.value }), hardStop]);
    // A failure after the signal fired is the signal's doing, whatever the prober called it. A stop
    // also overrides the prober's own "timeout", whose message and hint would blame the target.
    const cut = res !== 'deadline' && signal.aborted && res.status === 'failing' && (res.reason !== 'timeout' || deps.stopSignal?.aborted === true);
    outcome = res === 'deadline' || cut ? timedOut(spec, deps.stopSignal) : res;
  } catch (err) {
    if (signal.aborted) {
      outcome = timedOut(spec, deps.stopSignal);
    } else {
      // A prober throws only on a bug; say so plainly rather than inventing a target failure.
      logger.error({ err }, 'probe raised an error');
      outcome = { status: 'failing', reason: 'error', message: `internal error: ${(err as Error).message}`, hint: frameworkReasons.error };
    }
  } finally {
    if (arm) signal.removeEventListener('abort', arm);
    clearTimeout(timer);
    // The run is over, whichever way it ended: what the prober still has in flight (it lost the race to
    // the hard stop, or left a request behind) is cut now, so no socket or timer of it outlives the run.
    bound.end();
  }
  const extra = outcome.status === 'failing' ? spec.hints?.[outcome.reason] : undefined;
  const hint = extra ? [outcome.hint, extra].filter(Boolean).join(' ') : outcome.hint;
  // Every result passes here on its way to /status, logs, alerts and `check`: a URL a kind quoted
  // with its credentials is masked once, whatever kind built the message.
  if (outcome.memory !== undefined) memory.value = outcome.memory;
  return {
    status: outcome.status,
    reason: outcome.reason,
    message: redactText(outcome.message),
    hint: hint === undefined ? undefined : redactText(hint),
    value: outcome.value ?? null,
    durationMs: deps.now() - started,
    at: deps.now(),
    details: outcome.details && redactDetails(outcome.details),
    samples: outcome.samples,
  };
}

/**
 * Each probe's child logger, made once per spec and parent: pino serialises a child's bindings when it
 * is made, which per run (1,000 a second in bench:scale) was garbage for nothing.
 */
const loggers = new WeakMap<ProbeSpec, { parent: Logger; child: Logger }>();
function probeLogger(parent: Logger, spec: ProbeSpec): Logger {
  const kept = loggers.get(spec);
  if (kept?.parent === parent) return kept.child;
  const child = parent.child({ probe: spec.name, kind: spec.kind });
  loggers.set(spec, { parent, child });
  return child;
}

/** String values in details (nested too) with URLs masked; the object is copied only if one changed. */
function redactDetails(details: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(details)) {
    let next = value;
    if (typeof value === 'string') next = redactText(value);
    else if (value && typeof value === 'object' && !Array.isArray(value) && depth < 4) next = redactDetails(value as Record<string, unknown>, depth + 1);
    if (next !== value) (out ??= { ...details })[key] = next;
  }
  return out ?? details;
}

function timedOut(spec: ProbeSpec, stopSignal: AbortSignal | undefined): ProbeOutcome {
  if (stopSignal?.aborted) return { status: 'failing', reason: 'timeout', message: 'run cancelled: the watchdog is stopping' };
  return {
    status: 'failing',
    reason: 'timeout',
    message: `no result within the ${formatDuration(spec.timeoutMs)} timeout`,
    hint: frameworkReasons.timeout,
  };
}
