// One probe's fields → a bound ProbeSpec: the common fields with their defaults, then the kind's own
// through its bind(). A written probe comes through decodeProbe; discovery's block (discover.ts) uses
// the same two steps with its own field names, so both refuse a value with the same words.
import { Type, type Static, type TObject } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { validate as validateCron } from 'node-cron';
import { parseDuration } from '../core/fields.js';
import { proberFor, probers } from '../probers/index.js';
import { unknownHintKeys } from '../probers/reasons.js';
import type { CommonSpec, Prober, ProbeSpec } from '../probers/types.js';
import { commonFields, describeError, fieldPath, type FileShape } from './schema.js';

export type Defaults = NonNullable<Static<typeof FileShape>['defaults']>;

/** Reports a problem of one field (a dotted path inside the probe); the caller says where the probe is. */
export type Report = (field: string, message: string) => void;

const builtinDefaults = { interval: '30s', timeout: '5s', severity: 'critical', failureThreshold: 1, successThreshold: 1 } as const;

/** The common fields other than name and kind: what a written probe and discovery's block both carry. */
export const bodyFields = (({ name: _name, kind: _kind, ...rest }) => rest)(commonFields);
const Body = Type.Object(bodyFields);
const bodyCheck = TypeCompiler.Compile(Body);
/** The fields as the checks below have typed them. */
export type Body = Static<typeof Body> & Record<string, unknown>;

// Compiled once per kind and kept: the schemas are static, and compiling is the slow part of a reload.
const kindChecks = new Map<Prober, TypeCheck<TObject>>();
function checkFor(prober: Prober): TypeCheck<TObject> {
  let c = kindChecks.get(prober);
  if (!c) {
    c = TypeCompiler.Compile(Type.Object({ ...commonFields, ...prober.fields.properties }, { additionalProperties: false }));
    kindChecks.set(prober, c);
  }
  return c;
}

/** TypeBox reports both "missing" and "wrong type" for one missing field; keep one line per field. */
export function dedupe<E extends { path: string }>(errors: Iterable<E>): E[] {
  const seen = new Set<string>();
  const out: E[] = [];
  for (const e of errors) {
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    out.push(e);
  }
  return out;
}

/** Every schema problem of `obj`, one per field, or none: what narrows it to Body. */
export function checkShape(check: TypeCheck<TObject>, obj: Record<string, unknown>, report: Report, skip: (field: string) => boolean = () => false): obj is Body {
  if (check.Check(obj)) return bodyCheck.Check(obj);
  for (const e of dedupe(check.Errors(obj))) if (!skip(fieldPath(e.path))) report(fieldPath(e.path), describeError(e));
  return false;
}

/** A written probe of a file, or undefined after its problems were added to `problems`. */
export function decodeProbe(file: string, index: number, p: unknown, fileDefaults: Defaults, problems: string[], unresolved: (field: string) => boolean): ProbeSpec | undefined {
  if (!p || typeof p !== 'object' || Array.isArray(p)) {
    problems.push(`${file}: probes[${index}]: expected a mapping with name and kind`);
    return undefined;
  }
  const obj: Record<string, unknown> = { ...p };
  const label = typeof obj.name === 'string' && obj.name ? `probe "${obj.name}"` : `probes[${index}]`;
  const at: Report = (field, msg) => problems.push(`${file}: ${label}: ${field}: ${msg}`);
  if (typeof obj.name !== 'string' || !obj.name) return void at('name', 'required field is missing');
  if (typeof obj.kind !== 'string') return void at('kind', `required field is missing (one of ${Object.keys(probers).join(', ')})`);
  const prober = proberFor(obj.kind);
  if (!prober) return void at('kind', `unknown kind "${obj.kind}" (one of ${Object.keys(probers).join(', ')})`);
  if (!checkShape(checkFor(prober), obj, at, unresolved)) return undefined;
  const common = decodeCommon(prober, obj, { name: obj.name, kind: obj.kind, file }, fileDefaults, at);
  return common && bindOwn(prober, obj, common, at);
}

/** The common fields, defaults applied and cross-checked; undefined after reporting a problem. */
export function decodeCommon(prober: Prober, obj: Body, id: Pick<CommonSpec, 'name' | 'kind' | 'file'>, fileDefaults: Defaults, at: Report): CommonSpec | undefined {
  let refused = false;
  const report: Report = (field, msg) => {
    refused = true;
    at(field, msg);
  };
  const kindDefaults = prober.defaults;
  const interval = obj.interval ?? kindDefaults.interval ?? fileDefaults.interval ?? builtinDefaults.interval;
  const timeout = obj.timeout ?? kindDefaults.timeout ?? fileDefaults.timeout ?? builtinDefaults.timeout;
  const intervalMs = parseDuration(interval);
  const timeoutMs = parseDuration(timeout);
  if (!intervalMs.ok) report('interval', intervalMs.problem);
  if (!timeoutMs.ok) report('timeout', timeoutMs.problem);
  if (!intervalMs.ok || !timeoutMs.ok) return undefined;
  // The 1 s floor came from the scheduler's old 1 s tick; the tick is 25 ms now, and the floor stays the
  // documented smallest interval (a probe is no load generator for the stack it watches).
  if (intervalMs.value < 1000) report('interval', `${interval} is shorter than the 1s minimum`);
  if (obj.schedule !== undefined) {
    if (obj.interval !== undefined) report('schedule', 'give either interval or schedule, not both');
    else if (!validateCron(obj.schedule)) report('schedule', `"${obj.schedule}" is not a valid cron expression`);
  } else if (timeoutMs.value >= intervalMs.value) {
    report('timeout', `${timeout} is not shorter than the interval (${interval})`);
  }
  // A hint under a key no run of this kind can produce would load and silently never be shown.
  for (const u of unknownHintKeys(prober, obj.hints)) {
    report(`hints.${u.key}`, `"${u.key}" is not a reason of kind ${id.kind}${u.nearest ? `; did you mean "${u.nearest}"?` : ''} (its reasons: ${u.known.join(', ')})`);
  }
  if (refused) return undefined;
  return {
    name: id.name,
    kind: id.kind,
    description: obj.description,
    severity: obj.severity ?? fileDefaults.severity ?? builtinDefaults.severity,
    intervalMs: intervalMs.value,
    schedule: obj.schedule,
    timeoutMs: timeoutMs.value,
    dependsOn: obj.dependsOn ?? [],
    failureThreshold: obj.failureThreshold ?? fileDefaults.failureThreshold ?? builtinDefaults.failureThreshold,
    successThreshold: obj.successThreshold ?? fileDefaults.successThreshold ?? builtinDefaults.successThreshold,
    hints: obj.hints,
    ...(obj.labels ? { labels: obj.labels } : {}),
    file: id.file,
  };
}

/** The kind's own fields of `obj` (the common ones are decoded already), bound; undefined after reporting. */
export function bindOwn(prober: Prober, obj: Record<string, unknown>, common: CommonSpec, at: Report): ProbeSpec | undefined {
  const own = Object.fromEntries(Object.entries(obj).filter(([key]) => Object.hasOwn(prober.fields.properties, key)));
  const bound = prober.bind(own, common);
  if (!bound.ok) {
    for (const problem of bound.problems) at(problem.field, problem.message);
    return undefined;
  }
  return bound.spec;
}
