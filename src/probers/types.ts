// The one contract every probe kind implements. Adding a kind means a new file in this folder that
// exports a `Prober`, plus one line in ./index.ts; nothing in the engine, the API or the metrics changes.
import type { Static, TObject } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { HttpClient } from '../net/http.js';
import type { DockerClient } from '../net/docker.js';

/** What a probe run concluded. `blocked` means "could not be judged": not a failure of its own. */
export type OutcomeStatus = 'ok' | 'failing' | 'blocked';

/** An extra gauge a probe publishes besides the framework's own metrics (e.g. container memory). */
export interface Sample {
  /** Full metric name, e.g. watchdog_container_memory_usage_bytes. Must be declared in metrics/extra.ts. */
  metric: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * The result of one run, as data. A probe returns this for every target behaviour, good or bad;
 * it throws only on a bug. `reason` is a short fixed word (it becomes a metric label), while
 * `message` and `hint` are free text for people and never reach a label.
 */
export interface ProbeOutcome {
  status: OutcomeStatus;
  reason: string;
  message: string;
  hint?: string;
  /** The measured number (trace count, query value, usage ratio, latency seconds, ...). */
  value?: number | null;
  /** Structured facts shown in /status (never secrets). */
  details?: Record<string, unknown>;
  samples?: Sample[];
}

/** Fields every probe has, whatever its kind; the engine owns them. */
export interface CommonSpec {
  name: string;
  kind: string;
  description?: string;
  severity: 'critical' | 'warning';
  intervalMs: number;
  schedule?: string;
  timeoutMs: number;
  dependsOn: string[];
  failureThreshold: number;
  successThreshold: number;
  /** Extra next steps per reason, appended to the kind's hint. */
  hints?: Record<string, string>;
  /** Where the probe was defined, for messages. */
  file: string;
}

/** Everything a run may use. Injected, so tests hand in real clients pointed at local servers. */
export interface ProbeContext {
  /** Aborts when the probe's timeout passes or the daemon stops. Pass it to every I/O call. */
  signal: AbortSignal;
  /** Wall-clock deadline (ms since epoch) matching `signal`, for probes that poll. */
  deadline: number;
  http: HttpClient;
  docker: DockerClient;
  logger: Logger;
  now: () => number;
}

export interface SpecError {
  /** Dotted field path inside the probe, e.g. `expect` or `assertions[0].path`. */
  field: string;
  message: string;
}

export interface Prober<F extends TObject = TObject> {
  /** TypeBox schema of the fields this kind adds to a probe definition (strict: no unknown keys). */
  fields: F;
  /** Kind-specific defaults for the common fields (an OTLP canary writes data, so it runs rarely). */
  defaults?: { interval?: string; timeout?: string };
  /** Cross-field checks after the schema passed; return the first problem. */
  check?(spec: Static<F> & CommonSpec): SpecError | undefined;
  run(spec: Static<F> & CommonSpec, ctx: ProbeContext): Promise<ProbeOutcome>;
}

/** Helper so each kind's file keeps its field types without repeating them. */
export function defineProber<F extends TObject>(p: Prober<F>): Prober<F> {
  return p;
}

export type AnySpec = CommonSpec & Record<string, unknown>;
