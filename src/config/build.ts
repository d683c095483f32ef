// Probe files' text → a validated, decoded config. Order, as in blackbox_exporter: defaults, strict
// decoding (unknown keys refused), then cross-field and cross-probe checks. Every problem is one line
// that names the file, the probe and the field; all problems are reported at once. Each kind decodes
// its own fields here, once: what the engine receives is ready to run. Reading the files is read.ts's.
import type { Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { parseDocument, visit } from 'yaml';
import { parseDuration } from '../core/fields.js';
import { probers } from '../probers/index.js';
import type { ProbeSpec } from '../probers/types.js';
import { checkAlerting, decodeAlerting, type AlertingConfig } from './alerting.js';
import { decodeDiscover, type DiscoverConfig } from './discover.js';
import { ConfigError } from './error.js';
import { expandTree, type Env } from './interpolate.js';
import { defaultConfigLimits, maxAliasCount, type ConfigLimits } from './limits.js';
import { decodeMaintenance, type MaintenanceConfig } from './maintenance.js';
import { decodeProbe, dedupe } from './probe.js';
import type { Source } from './read.js';
import { describeError, FileShape, fieldPath } from './schema.js';

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

const fileCheck = TypeCompiler.Compile(FileShape);

/** A decoded probe and where it stood in its file, for messages about duplicates. */
interface Placed {
  spec: ProbeSpec;
  index: number;
}

/** Pure core of loadConfig, for tests and for files that do not live on disk. */
export function parseConfig(sources: Source[], env: Env, limits: ConfigLimits = defaultConfigLimits): WatchdogConfig {
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
function locate(file: string, doc: unknown, path: (string | number)[], message: string): string {
  if (path[0] === 'probes' && typeof path[1] === 'number') {
    const name = (doc as { probes: { name?: unknown }[] }).probes[path[1]]?.name;
    const label = typeof name === 'string' && name ? `probe "${name}"` : `probes[${path[1]}]`;
    return `${file}: ${label}: ${fieldPath(path.slice(2))}: ${message}`;
  }
  return `${file}: ${fieldPath(path)}: ${message}`;
}
