// Probe files → a validated, decoded config. Order, as in blackbox_exporter: defaults, strict
// decoding (unknown keys refused), then cross-field and cross-probe checks. Every problem is one line
// that names the file, the probe and the field; all problems are reported at once. Each kind decodes
// its own fields here, once: what the engine receives is ready to run.
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { validate as validateCron } from 'node-cron';
import { parseDocument, visit } from 'yaml';
import { parseDuration } from '../core/fields.js';
import { proberFor, probers } from '../probers/index.js';
import { unknownHintKeys } from '../probers/reasons.js';
import type { CommonSpec, Prober, ProbeSpec } from '../probers/types.js';
import type { DockerClient } from '../net/docker.js';
import { checkAlerting, decodeAlerting, type AlertingConfig } from './alerting.js';
import { decodeMaintenance, type MaintenanceConfig } from './maintenance.js';
import { expandTree, type Env } from './interpolate.js';
import { commonFields, describeError, FileShape, fieldPath } from './schema.js';
import { defaultConfigLimits, maxAliasCount, type ConfigLimits } from './limits.js';
import { formatBytes } from '../util/format.js';

export type { AlertingConfig } from './alerting.js';
export type { MaintenanceConfig } from './maintenance.js';

export interface WatchdogConfig {
  /** The files read, as given (relative to the working directory where possible). */
  files: string[];
  probes: ProbeSpec[];
  /** Probes written with `enabled: false`: checked like the others, not run. */
  disabled: string[];
  alerting?: AlertingConfig;
  discover?: DiscoverConfig;
  /** The `maintenance:` block, decoded (src/maintenance/ runs it); absent when no file has one. */
  maintenance?: MaintenanceConfig;
  /** sha256 of the files' names and contents as loaded (loadConfig only): what /metrics reports and the poll compares. */
  hash?: string;
}

/** The `discover:` block, decoded: what src/engine/discovery.ts needs to bind one probe per container. */
export interface DiscoverConfig {
  file: string;
  intervalMs: number;
  /** "key=value" filters, all required. */
  labels: string[];
  ignoreLabel: { key: string; value: string };
  /** Services or container names left out. */
  ignore: string[];
  /** The discovered probes' common fields (each gets its own name), checked at load like a written probe's. */
  common: Omit<CommonSpec, 'name'>;
  /** container_state's own fields for every discovered probe, without `container`; checked at load. */
  fields: Record<string, unknown>;
  /** The block's own Engine (to list containers on), when it is not DOCKER_HOST's; its probes inspect there too. */
  docker?: DockerClient;
  /** The short name of that Engine's host, put into the probe names. */
  host?: string;
}

/** The kind discovery keeps one probe of per container. */
export const DISCOVERED_KIND = 'container_state';

export class ConfigError extends Error {
  /** The content hash of the files refused, when they were read: a reload then need not read them again to remember them. */
  hash?: string;
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

const builtinDefaults = { interval: '30s', timeout: '5s', severity: 'critical', failureThreshold: 1, successThreshold: 1 } as const;

const fileCheck = TypeCompiler.Compile(FileShape);
const commonCheck = TypeCompiler.Compile(Type.Object(commonFields));
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

/** The YAML files behind a path: the file itself, or a folder's *.yaml / *.yml in name order. */
export async function configFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new ConfigError([`${path}: no such file or folder`]);
  }
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.')).sort();
  if (!names.length) throw new ConfigError([`${path}: the folder holds no *.yaml file`]);
  return names.map((n) => join(path, n));
}

export async function loadConfig(path: string, env: Env, limits: ConfigLimits = defaultConfigLimits): Promise<WatchdogConfig> {
  const files = await configFiles(path);
  // Sizes first, from the file system: a file over the cap is refused before a byte is read or parsed.
  let total = 0;
  for (const f of files) {
    let size: number;
    try {
      size = (await stat(f)).size;
    } catch (err) {
      throw new ConfigError([`${displayName(f)}: cannot read: ${(err as Error).message}`]);
    }
    total += size;
    if (size > limits.maxBytes)
      throw new ConfigError([`${displayName(f)}: the file is ${formatBytes(size)}, over the ${formatBytes(limits.maxBytes)} limit (WATCHDOG_CONFIG_MAX_BYTES); refused before parsing`]);
    if (total > limits.maxBytes)
      throw new ConfigError([`${displayName(path)}: the files hold ${formatBytes(total)} or more, over the ${formatBytes(limits.maxBytes)} limit (WATCHDOG_CONFIG_MAX_BYTES); refused before parsing`]);
  }
  const sources = await Promise.all(
    files.map(async (f) => {
      let text: string;
      try {
        text = await readFile(f, 'utf8');
      } catch (err) {
        throw new ConfigError([`${displayName(f)}: cannot read: ${(err as Error).message}`]);
      }
      // The file may have grown between stat and read.
      if (Buffer.byteLength(text) > limits.maxBytes) throw new ConfigError([`${displayName(f)}: the file is over the ${formatBytes(limits.maxBytes)} limit (WATCHDOG_CONFIG_MAX_BYTES)`]);
      return { file: displayName(f), text };
    }),
  );
  const hash = hashSources(sources);
  try {
    return { ...parseConfig(sources, env, limits), hash };
  } catch (err) {
    if (err instanceof ConfigError) err.hash = hash;
    throw err;
  }
}

function hashSources(sources: { file: string; text: string }[]): string {
  const h = createHash('sha256');
  for (const { file, text } of sources) h.update(`${file}\0${text}\0`);
  return h.digest('hex');
}

/**
 * The hash loadConfig would give the config at `path` now, without parsing it; or a description of
 * why it cannot be read. For noticing changes no file event reports (a ConfigMap's symlink swap, a
 * folder deleted and recreated). Files over the size cap are hashed by name and size only.
 */
export async function currentConfigHash(path: string, limits: ConfigLimits = defaultConfigLimits): Promise<string> {
  try {
    const files = await configFiles(path);
    const sources = await Promise.all(
      files.map(async (f) => {
        const { size } = await stat(f);
        return { file: displayName(f), text: size > limits.maxBytes ? `(${size} bytes)` : await readFile(f, 'utf8') };
      }),
    );
    return hashSources(sources);
  } catch (err) {
    return `unreadable: ${err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message}`;
  }
}

function displayName(f: string): string {
  const rel = relative(process.cwd(), f);
  return rel && !rel.startsWith('..') ? rel : f;
}

/** A decoded probe and where it stood in its file, for messages about duplicates. */
interface Placed {
  spec: ProbeSpec;
  index: number;
}

/** Pure core of loadConfig, for tests and for files that do not live on disk. */
export function parseConfig(sources: { file: string; text: string }[], env: Env, limits: ConfigLimits = defaultConfigLimits): WatchdogConfig {
  const problems: string[] = [];
  const placed: Placed[] = [];
  const disabled: Placed[] = [];
  let alerting: { file: string; value: Static<typeof FileShape>['alerting'] } | undefined;
  let discover: DiscoverConfig | undefined;
  let discoverFile: string | undefined;
  let maintenance: { file: string; value: Static<typeof FileShape>['maintenance'] } | undefined;

  for (const { file, text } of sources) {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length) {
      // The parser's own text ends in an excerpt with a caret; one line with the position reads better in logs.
      for (const e of doc.errors) {
        // The parser recurses per level: deep nesting (a few hundred to thousands of [ or {) overflows the
        // stack, which it reports as the bare RangeError text. Say what is wrong with the file instead.
        const text = /Maximum call stack size exceeded/.test(e.message)
          ? 'the YAML is nested too deeply to read (hundreds of levels or more); a probe file needs a few'
          : (e.message.split(' at line ')[0]?.split('\n')[0] ?? e.message);
        problems.push(`${file}: line ${e.linePos?.[0].line ?? '?'}: ${text}`);
      }
      continue;
    }
    let nodes = 0;
    visit(doc, {
      Node() {
        return ++nodes > limits.maxNodes ? visit.BREAK : undefined;
      },
    });
    if (nodes > limits.maxNodes) {
      problems.push(`${file}: more than ${limits.maxNodes} YAML nodes (WATCHDOG_CONFIG_MAX_NODES): split the file or raise the limit`);
      continue;
    }
    let parsed: unknown;
    try {
      parsed = doc.toJS({ maxAliasCount });
    } catch (err) {
      // yaml refuses an alias bomb (and other resource attacks) by throwing: one line, like any other problem.
      problems.push(`${file}: ${(err as Error).message.split('\n')[0]} (at most ${maxAliasCount} aliases are expanded)`);
      continue;
    }
    // A field whose ${VAR} is unset is reported once, for the variable, not again for the text left in its place.
    const unresolved = new Set<string>();
    const raw = expandTree(parsed, env, [], (path, err) => {
      unresolved.add(path.join('/'));
      problems.push(locate(file, parsed, path, err.message));
    });
    if (raw === null || raw === undefined) {
      problems.push(`${file}: the file is empty: expected a mapping with a "probes" list`);
      continue;
    }
    if (!fileCheck.Check(raw)) {
      for (const e of dedupe(fileCheck.Errors(raw))) problems.push(`${file}: ${fieldPath(e.path) || '(top level)'}: ${describeError(e)}`);
      continue;
    }
    if (raw.alerting) {
      if (alerting) problems.push(`${file}: alerting: already set in ${alerting.file}; give it in one file only`);
      else alerting = { file, value: raw.alerting };
    }
    if (raw.maintenance) {
      if (maintenance) problems.push(`${file}: maintenance: already set in ${maintenance.file}; give it in one file only`);
      else maintenance = { file, value: raw.maintenance };
    }
    const fileDefaults = raw.defaults ?? {};
    if (raw.discover) {
      if (discoverFile) problems.push(`${file}: discover: already set in ${discoverFile}; give it in one file only`);
      else {
        discoverFile = file;
        discover = decodeDiscover(file, raw.discover, fileDefaults, env, problems);
      }
    }
    const badDefaults = (['interval', 'timeout'] as const).flatMap((key) => {
      const text = fileDefaults[key];
      const ms = text === undefined ? undefined : parseDuration(text);
      return ms && !ms.ok ? [`${file}: defaults.${key}: ${ms.problem}`] : [];
    });
    problems.push(...badDefaults);
    // Every probe would repeat the defaults' problem; report it once and stop there.
    if (badDefaults.length) continue;
    raw.probes.forEach((p, index) => {
      const spec = decodeProbe(file, index, p, fileDefaults, problems, (field) => unresolved.has(`probes/${index}/${field.replace(/\./g, '/')}`));
      // A disabled probe is decoded all the same, so a mistake in it shows before someone enables it.
      const off = typeof p === 'object' && p !== null && (p as { enabled?: unknown }).enabled === false;
      if (spec) (off ? disabled : placed).push({ spec, index });
    });
  }

  crossChecks(placed, disabled, problems);
  const names = placed.map((p) => p.spec.name);
  if (alerting) for (const problem of checkAlerting(alerting.value, names)) problems.push(`${alerting.file}: ${problem}`);
  for (const d of discover?.common.dependsOn ?? []) if (!names.includes(d)) problems.push(`${discover!.file}: discover.probe.dependsOn: no probe is named "${d}"`);
  const decodedAlerting = alerting?.value && !problems.length ? decodeAlerting(alerting.value, names) : undefined;
  const decodedMaintenance =
    maintenance?.value &&
    decodeMaintenance(maintenance.file, maintenance.value, {
      probeNames: names,
      kinds: Object.keys(probers),
      discovers: discover !== undefined,
      alertmanagerUrl: decodedAlerting?.alertmanager?.url ?? alerting?.value?.alertmanager?.url,
      problems,
    });
  if (problems.length) throw new ConfigError(problems);
  return {
    files: sources.map((s) => s.file),
    probes: placed.map((p) => p.spec),
    disabled: disabled.map((p) => p.spec.name),
    alerting: decodedAlerting,
    ...(discover ? { discover } : {}),
    ...(decodedMaintenance ? { maintenance: decodedMaintenance } : {}),
  };
}

type Defaults = NonNullable<Static<typeof FileShape>['defaults']>;

const TEMPLATE_NAME = 'discovered-template';

/**
 * The discover block: its probe fields are checked exactly as a written container_state probe's (a
 * template probe with a placeholder container goes through decodeProbe), so a discovered probe can
 * never be refused later.
 */
function decodeDiscover(file: string, block: Static<typeof FileShape>['discover'] & object, fileDefaults: Defaults, env: Env, problems: string[]): DiscoverConfig | undefined {
  const found: string[] = [];
  const template = { ...(block.probe ?? {}), ...(block.docker ? { docker: block.docker } : {}), name: TEMPLATE_NAME, kind: DISCOVERED_KIND, container: 'placeholder' };
  for (const key of ['name', 'kind', 'container']) if (block.probe && key in block.probe) found.push(`${file}: discover.probe.${key}: set by discovery for each container; leave it out`);
  if (block.probe && 'docker' in block.probe) found.push(`${file}: discover.probe.docker: give the Engine as discover.docker, which the listing uses too`);
  const spec = decodeProbe(file, -1, template, fileDefaults, found, () => false);
  // The template carries discover.docker as its own docker field: its problems are discover.docker's.
  problems.push(...found.map((p) => p.replace(`probe "${TEMPLATE_NAME}": docker`, 'discover.docker').replace(`probe "${TEMPLATE_NAME}": `, 'discover.probe.')));
  const intervalMs = block.interval === undefined ? parsed30s : parseDuration(block.interval);
  if (!intervalMs.ok) problems.push(`${file}: discover.interval: ${intervalMs.problem}`);
  else if (intervalMs.value < 1000) problems.push(`${file}: discover.interval: ${block.interval} is shorter than the 1s minimum`);
  if (!spec || found.length || !intervalMs.ok) return undefined;
  const { name: _name, settings: _settings, run: _run, ...common } = spec;
  const prober = proberFor(DISCOVERED_KIND)!;
  const fields = Object.fromEntries(Object.entries(template).filter(([key]) => key !== 'container' && Object.hasOwn(prober.fields.properties, key)));
  // The client the template's decode made for discover.docker: the listing uses it too, so the
  // Engine's TLS files are read once.
  const docker = block.docker === undefined ? undefined : (spec.settings as { docker?: DockerClient }).docker;
  const labels = block.labels ?? { 'com.docker.compose.project': env.COMPOSE_PROJECT || 'mystocks' };
  const [key = '', value = ''] = (block.ignoreLabel ?? 'stack-watchdog.ignore=true').split(/=(.*)/s);
  return {
    file,
    intervalMs: intervalMs.value,
    labels: Object.entries(labels).map(([k, v]) => `${k}=${v}`),
    ignoreLabel: { key, value },
    ignore: block.ignore ?? [],
    common,
    fields,
    ...(docker ? { docker } : {}),
    ...(block.host ? { host: block.host } : {}),
  };
}

const parsed30s = parseDuration('30s');

function decodeProbe(file: string, index: number, p: unknown, fileDefaults: Defaults, problems: string[], unresolved: (field: string) => boolean): ProbeSpec | undefined {
  if (!p || typeof p !== 'object' || Array.isArray(p)) {
    problems.push(`${file}: probes[${index}]: expected a mapping with name and kind`);
    return undefined;
  }
  const obj: Record<string, unknown> = { ...p };
  const label = typeof obj.name === 'string' && obj.name ? `probe "${obj.name}"` : `probes[${index}]`;
  let refused = false;
  const at = (field: string, msg: string) => {
    refused = true;
    problems.push(`${file}: ${label}: ${field}: ${msg}`);
  };
  if (typeof obj.name !== 'string' || !obj.name) return void at('name', 'required field is missing');
  if (typeof obj.kind !== 'string') return void at('kind', `required field is missing (one of ${Object.keys(probers).join(', ')})`);
  const prober = proberFor(obj.kind);
  if (!prober) return void at('kind', `unknown kind "${obj.kind}" (one of ${Object.keys(probers).join(', ')})`);

  const check = checkFor(prober);
  if (!check.Check(obj)) {
    for (const e of dedupe(check.Errors(obj))) if (!unresolved(fieldPath(e.path))) at(fieldPath(e.path), describeError(e));
    return undefined;
  }
  // Always true once the full check passed; it is what types the common fields.
  if (!commonCheck.Check(obj)) return undefined;
  const kindDefaults = prober.defaults;
  const interval = obj.interval ?? kindDefaults.interval ?? fileDefaults.interval ?? builtinDefaults.interval;
  const timeout = obj.timeout ?? kindDefaults.timeout ?? fileDefaults.timeout ?? builtinDefaults.timeout;
  const intervalMs = parseDuration(interval);
  const timeoutMs = parseDuration(timeout);
  if (!intervalMs.ok) at('interval', intervalMs.problem);
  if (!timeoutMs.ok) at('timeout', timeoutMs.problem);
  if (!intervalMs.ok || !timeoutMs.ok) return undefined;
  // The 1 s floor came from the scheduler's old 1 s tick; the tick is 25 ms now, and the floor stays the
  // documented smallest interval (a probe is no load generator for the stack it watches).
  if (intervalMs.value < 1000) at('interval', `${interval} is shorter than the 1s minimum`);
  if (obj.schedule !== undefined) {
    if (obj.interval !== undefined) at('schedule', 'give either interval or schedule, not both');
    else if (!validateCron(obj.schedule)) at('schedule', `"${obj.schedule}" is not a valid cron expression`);
  } else if (timeoutMs.value >= intervalMs.value) {
    at('timeout', `${timeout} is not shorter than the interval (${interval})`);
  }
  // A hint under a key no run of this kind can produce would load and silently never be shown.
  for (const u of unknownHintKeys(prober, obj.hints)) {
    at(`hints.${u.key}`, `"${u.key}" is not a reason of kind ${obj.kind}${u.nearest ? `; did you mean "${u.nearest}"?` : ''} (its reasons: ${u.known.join(', ')})`);
  }
  if (refused) return undefined;
  const common: CommonSpec = {
    name: obj.name,
    kind: obj.kind,
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
    file,
  };
  // The kind sees its own fields only; the common ones are decoded above.
  const own = Object.fromEntries(Object.entries(obj).filter(([key]) => Object.hasOwn(prober.fields.properties, key)));
  const bound = prober.bind(own, common);
  if (!bound.ok) {
    for (const problem of bound.problems) at(problem.field, problem.message);
    return undefined;
  }
  return bound.spec;
}

function crossChecks(placed: Placed[], disabled: Placed[], problems: string[]): void {
  const byName = new Map<string, Placed>();
  for (const p of [...placed, ...disabled]) {
    const first = byName.get(p.spec.name);
    if (first) {
      const where = first.spec.file === p.spec.file ? `probes[${first.index}] of this file` : first.spec.file;
      problems.push(`${p.spec.file}: probe "${p.spec.name}": name: duplicate name, first defined in ${where}`);
    } else byName.set(p.spec.name, p);
  }
  for (const { spec: p } of [...placed, ...disabled]) {
    for (const d of p.dependsOn) {
      if (d === p.name) problems.push(`${p.file}: probe "${p.name}": dependsOn: a probe cannot depend on itself`);
      else if (!byName.has(d)) problems.push(`${p.file}: probe "${p.name}": dependsOn: no probe is named "${d}"`);
    }
  }
  // A dependency that is switched off cannot block anyone: its dependents run as if it passed.
  const off = new Set(disabled.map((p) => p.spec.name));
  if (off.size) for (const { spec } of placed) spec.dependsOn = spec.dependsOn.filter((d) => !off.has(d));
  // Cycles: depth-first search, reported once per cycle at the probe where it closes.
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    const p = byName.get(name)?.spec;
    if (!p) return;
    if (state.get(name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      const key = [...new Set(cycle)].sort().join(',');
      if (!reported.has(key)) {
        reported.add(key);
        problems.push(`${p.file}: probe "${name}": dependsOn: dependency cycle ${cycle.join(' -> ')}`);
      }
      return;
    }
    state.set(name, 'visiting');
    for (const d of p.dependsOn) if (byName.has(d) && d !== name) visit(d, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of byName.keys()) visit(name, []);
}
/** TypeBox reports both "missing" and "wrong type" for one missing field; keep one line per field. */
function dedupe<E extends { path: string }>(errors: Iterable<E>): E[] {
  const seen = new Set<string>();
  const out: E[] = [];
  for (const e of errors) {
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    out.push(e);
  }
  return out;
}

function locate(file: string, doc: unknown, path: (string | number)[], message: string): string {
  if (path[0] === 'probes' && typeof path[1] === 'number') {
    const name = (doc as { probes: { name?: unknown }[] }).probes[path[1]]?.name;
    const label = typeof name === 'string' && name ? `probe "${name}"` : `probes[${path[1]}]`;
    return `${file}: ${label}: ${fieldPath(path.slice(2))}: ${message}`;
  }
  return `${file}: ${fieldPath(path)}: ${message}`;
}
