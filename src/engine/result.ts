// What the engine keeps per probe. Results are data: the API, the metrics, the CLI and the
// alerting all read these; none of them re-runs or re-judges a probe.
import type { ProbeStatus } from '../core/status.js';
import type { ProbeOutcome, ProbeSpec } from '../probers/types.js';

export interface ProbeResult {
  status: ProbeStatus;
  reason: string;
  message: string;
  hint?: string;
  value: number | null;
  durationMs: number;
  /** When the run finished, ms since the epoch. */
  at: number;
  details?: Record<string, unknown>;
  samples?: ProbeOutcome['samples'];
}

/**
 * Where a probe's private memory lives between runs (held by the engine per probe): a run reads
 * `value` as `ctx.memory` and replaces it with its outcome's `memory`, if it kept any. A timeout or a
 * bug keeps nothing new, so the earlier memory stays. Never part of the result people see.
 */
export interface MemoryCell {
  value?: unknown;
}

export interface ProbeState {
  spec: ProbeSpec;
  /** The status people and alerts see: the raw results damped by failure/successThreshold. */
  current: ProbeResult;
  /** The newest raw result (may differ from `current` while a threshold is being counted). */
  last?: ProbeResult;
  /** When `current.status` last changed. */
  since: number;
  /** Newest first. */
  history: ProbeResult[];
  /** Failures kept apart and longer, so a recent failure stays readable after many successes. */
  failures: ProbeResult[];
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** Runs by result (`ok`, `failing`, `blocked`) and failures by reason: the counters in /metrics. */
  runs: Map<string, number>;
  failuresByReason: Map<string, number>;
  /** Ticks that found the previous run still going. */
  skipped: number;
  /** How late the newest scheduled run started, in ms after it was due (waiting for a slot included). */
  lagMs?: number;
  running: boolean;
  /**
   * What the kind's last run kept for the next (`ProbeOutcome.memory`, handed back as `ctx.memory`).
   * Private to the kind: no view reads it. Replaced by an empty cell when the probe's definition
   * changes, so a run of the old definition still in flight writes into a cell nobody reads.
   */
  memory: MemoryCell;
  /**
   * Bumped by every change a view of the probe can show (see `touched`): the views keep each probe's
   * rendering (src/report/rendered.ts: its /status JSON, text cells, page card and /metrics lines)
   * and redo it only when this moved, so a field added to a view must be changed through `touched`
   * too, or the views keep showing its old value.
   */
  version: number;
}

/** Marks a probe's state as changed since the views last rendered it; returns the state. */
export function touched(state: ProbeState): ProbeState {
  state.version++;
  return state;
}

export function pendingResult(now: number): ProbeResult {
  return { status: 'pending', reason: 'pending', message: 'no result yet', value: null, durationMs: 0, at: now };
}

export function newState(spec: ProbeSpec, now: number): ProbeState {
  return {
    spec,
    current: pendingResult(now),
    since: now,
    history: [],
    failures: [],
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    runs: new Map(),
    failuresByReason: new Map(),
    skipped: 0,
    running: false,
    memory: {},
    version: 0,
  };
}

/**
 * Applies one raw result to a probe's state: history, counters and the thresholds that damp
 * flapping. Returns true when the visible status changed. `blocked` is never damped: it is a
 * statement about a dependency, which already has its own damping. `undamped` applies no
 * threshold to this one run (a one-shot check reports what it saw); the counters still count it.
 */
export function record(state: ProbeState, raw: ProbeResult, limits: { history: number; failures: number }, opts: { undamped?: boolean } = {}): boolean {
  touched(state);
  state.last = raw;
  state.history.unshift(raw);
  if (state.history.length > limits.history) state.history.length = limits.history;
  const runKey = raw.status === 'pending' ? 'blocked' : raw.status;
  state.runs.set(runKey, (state.runs.get(runKey) ?? 0) + 1);
  if (raw.status === 'failing') {
    state.failures.unshift(raw);
    if (state.failures.length > limits.failures) state.failures.length = limits.failures;
    state.failuresByReason.set(raw.reason, (state.failuresByReason.get(raw.reason) ?? 0) + 1);
  }

  const before = state.current.status;
  let next: ProbeResult;
  if (raw.status === 'ok') {
    state.consecutiveSuccesses++;
    state.consecutiveFailures = 0;
    next = !opts.undamped && before === 'failing' && state.consecutiveSuccesses < state.spec.successThreshold ? stillFailing(state, raw) : raw;
  } else if (raw.status === 'failing') {
    state.consecutiveFailures++;
    state.consecutiveSuccesses = 0;
    next = !opts.undamped && before !== 'failing' && state.consecutiveFailures < state.spec.failureThreshold ? notYetFailing(state, raw) : raw;
  } else {
    state.consecutiveFailures = 0;
    state.consecutiveSuccesses = 0;
    next = raw;
  }
  state.current = next;
  if (next.status !== before) {
    state.since = raw.at;
    return true;
  }
  return false;
}

function stillFailing(state: ProbeState, raw: ProbeResult): ProbeResult {
  return {
    ...state.current,
    at: raw.at,
    details: { ...state.current.details, recovering: `${state.consecutiveSuccesses} of ${state.spec.successThreshold} successes needed` },
  };
}

function notYetFailing(state: ProbeState, raw: ProbeResult): ProbeResult {
  return {
    ...state.current,
    at: raw.at,
    details: { ...state.current.details, flapping: `${state.consecutiveFailures} of ${state.spec.failureThreshold} failures before failing: ${raw.reason}: ${raw.message}` },
  };
}
