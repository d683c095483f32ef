// The one contract every probe kind implements. Adding a kind means a new file in this folder that
// exports `defineProber({...})`, plus one line in ./index.ts; nothing in the config loader, the
// engine, the API or the metrics changes. A kind's file holds everything about it: its fields, how
// they are decoded, the gauges it publishes, and the run.
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { HttpClient } from '../net/http.js';
import type { DockerClient } from '../net/docker.js';
import type { OutcomeStatus, Severity } from '../core/status.js';
import type { Parsed } from '../core/result.js';
import type { Expectation } from './expect.js';

export type { OutcomeStatus } from '../core/status.js';

/** The unit of a probe's measured value: a 0..1 ratio, seconds or bytes. */
export type ValueUnit = 'ratio' | 'seconds' | 'bytes';

/** A gauge a kind publishes besides the framework's own metrics (as blackbox_exporter's probers register theirs). */
export interface GaugeDecl {
  help: string;
  labelNames: readonly string[];
}

/** One value of a declared gauge. `G` is the kind's declared names, so an undeclared one does not compile. */
export interface Sample<G extends string = string> {
  metric: G;
  labels: Record<string, string>;
  value: number;
}

/**
 * A kind's reasons: every word its failures may carry (a metric label that alert routes and dashboards
 * key on), each with the hint shown when a run gives none of its own. Declared in the kind's file, as its
 * gauges are, so a reason cannot be misspelt (the outcome's type comes from these keys) and cannot lack a hint.
 */
export type ReasonHints<R extends string = string> = Readonly<Record<R, string>>;

/**
 * The result of one run, as data. A probe returns this for every target behaviour, good or bad;
 * it throws only on a bug. `reason` is a short fixed word (it becomes a metric label), while
 * `message` and `hint` are free text for people and never reach a label. `R` is the reasons the kind
 * declares, `M` what it remembers between runs.
 */
export interface ProbeOutcome<G extends string = string, R extends string = string, M = unknown> {
  status: OutcomeStatus;
  reason: R | 'ok';
  message: string;
  /** The next step; when left out, the framework gives the declared hint of `reason`. */
  hint?: string;
  /** The measured number (trace count, query value, usage ratio, latency seconds, ...). */
  value?: number | null;
  /** Structured facts shown in /status (never secrets). */
  details?: Record<string, unknown>;
  samples?: Sample<G>[];
  /**
   * What the kind keeps for its next run (a restart track, counter readings): handed back as
   * `ctx.memory`, never shown in /status, /metrics or logs. Left out, the earlier memory is kept.
   */
  memory?: M;
}

/**
 * What a helper that may fail returns: the value, or the outcome the probe reports. Tagged, so the
 * compiler checks that every caller handles the failure; `R` is the reasons the helper may fail with,
 * which a kind using it must declare (the helper's module exports them to spread into `reasons`).
 */
export type Attempt<T, R extends string = string> = { ok: true; value: T } | { ok: false; outcome: ProbeOutcome<never, R, never> };

/** Fields every probe has, whatever its kind, after decoding; the engine owns them. */
export interface CommonSpec {
  name: string;
  kind: string;
  description?: string;
  severity: Severity;
  intervalMs: number;
  schedule?: string;
  timeoutMs: number;
  dependsOn: string[];
  failureThreshold: number;
  successThreshold: number;
  /** Extra next steps per reason, appended to the kind's hint. */
  hints?: Record<string, string>;
  /** Free key: value pairs from the probe file; maintenance windows select probes by them. */
  labels?: Record<string, string>;
  /** Where the probe was defined, for messages. */
  file: string;
  /** Made by discovery (src/discovery/) for a container found by label, not written in a file. */
  discovered?: boolean;
}

/** Everything a run may use. Injected, so tests hand in real clients pointed at local servers. */
export interface ProbeContext<M = unknown> {
  /** Aborts when the probe's timeout passes or the daemon stops. Pass it to every I/O call. */
  signal: AbortSignal;
  /** Wall-clock deadline (ms since epoch) matching `signal`, for probes that poll. */
  deadline: number;
  http: HttpClient;
  docker: DockerClient;
  logger: Logger;
  now: () => number;
  /**
   * What this probe's earlier run kept (`ProbeOutcome.memory`), held by the engine per probe and dropped
   * when the probe's definition changes; undefined on a first run or a one-off. State lives in the
   * engine, not in the kind's module, and never in the public `details`.
   */
  memory?: M;
}

export interface SpecError {
  /** Dotted field path inside the probe, e.g. `expect` or `assertions[0].path`. */
  field: string;
  message: string;
}

/** How a kind's decode() reads fields that need parsing; every problem is kept, so one load reports all. */
export interface Decoder {
  problem(field: string, message: string): void;
  /** The value of a parse, or `placeholder` after recording its problem (a spec with problems never runs). */
  take<T>(field: string, result: Parsed<T>, placeholder: T): T;
  /** A duration field in milliseconds. */
  duration(field: string, text: string): number;
  /** One comparison (`"> 0"`), or a list that must all hold (`[">= 0.05", "<= 0.2"]`). */
  expectation(field: string, written: string | string[]): Expectation;
}

/**
 * What a kind's file writes. `F` is the schema of its fields as written, `S` what they decode to,
 * `G` the names of the gauges it publishes, `R` its reasons, `M` the schema of what it remembers.
 */
export interface KindDefinition<F extends TObject, S extends object, G extends string, R extends string, M extends TSchema> {
  /** TypeBox schema of the fields this kind adds to a probe definition (unknown keys are refused). */
  fields: F;
  /**
   * Every reason a run may fail with, and its default hint: the kind's own, and those of the helpers it
   * calls (spread from their modules, e.g. `...prometheusReasons`). A probe's `hints:` keys are checked
   * against these at load.
   */
  reasons: ReasonHints<R>;
  /**
   * The schema of what a run keeps for the next one (`ProbeOutcome.memory`, `ctx.memory`). Private:
   * the engine holds it per probe and drops it when the probe's definition changes.
   */
  memory?: M;
  /** Kind-specific defaults for the common fields (an OTLP canary writes data, so it runs rarely). */
  defaults?: { interval?: string; timeout?: string };
  /** The gauges this kind publishes through `ProbeOutcome.samples`, by full metric name. */
  gauges?: Readonly<Record<G, GaugeDecl>>;
  /** What `ProbeOutcome.value` measures, so views print it with its unit; none for counts and codes. */
  unit?: ValueUnit;
  /**
   * Turns the schema-checked fields into the values `run()` uses (durations in ms, parsed
   * expectations and paths, defaults applied). Every problem goes to `d`; run() never re-parses.
   */
  decode(fields: Static<F>, d: Decoder, common: CommonSpec): S;
  /** Cross-field checks on the decoded spec: every problem, or none. */
  check?(spec: CommonSpec & S): SpecError[];
  // NoInfer: the reasons come from the declaration only, so a misspelt reason in run() does not compile.
  run(spec: CommonSpec & S, ctx: ProbeContext<Static<M>>): Promise<ProbeOutcome<G, NoInfer<R>, Static<M>>>;
}

/**
 * A probe as the engine holds it: the common fields, and the kind bound to its decoded fields.
 * The engine runs it without knowing its kind; only the kind's own file knows the field types.
 */
export interface ProbeSpec extends CommonSpec {
  /** The kind's unit for `value`, when it has one. */
  readonly unit?: ValueUnit;
  /** The kind's fields as decoded at load, for views and tests; run() has them typed. */
  readonly settings: Readonly<object>;
  /**
   * The kind's fields as written (after ${VAR}), serialised: the engine drops a probe's memory when
   * this changes, since what was remembered may not hold for the new definition.
   */
  readonly definition: string;
  readonly run: (ctx: ProbeContext) => Promise<ProbeOutcome>;
}

/** A registered kind, as the loader and the metrics see it. */
export interface Prober {
  readonly fields: TObject;
  readonly defaults: { interval?: string; timeout?: string };
  readonly gauges: Readonly<Record<string, GaugeDecl>>;
  /** The kind's reasons and their default hints. */
  readonly reasons: ReasonHints;
  /**
   * Decodes one probe's fields (already checked against the schema of `fields` plus the common
   * fields) and binds them to this kind's run; or every problem found.
   */
  bind(fields: Readonly<Record<string, unknown>>, common: CommonSpec): { ok: true; spec: ProbeSpec } | { ok: false; problems: SpecError[] };
}
