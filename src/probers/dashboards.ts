// kind: dashboards — every Prometheus query of the provisioned Grafana dashboards answers.
// A panel whose query names a metric nothing writes, or groups by a label the metric never had,
// shows "No data" (or one unlabelled line) for months without anyone noticing: the published
// MyStocks api-performance-dashboard.json groups http_requests_total by `status` and `path` while its
// labels are `status_code` and `endpoint`. This kind reads the dashboard files as Grafana's file
// provisioning does (every *.json in the folder and its subfolders), replaces the template variables
// with their current or first value and Grafana's own $__interval, $__rate_interval and $__range, and
// runs each query as an instant query against Prometheus. The expression is read with the one PromQL
// reader (src/util/promql.ts) for its selectors, matchers and by() lists; metric and label names are
// compared with what Prometheus holds (/api/v1/label/__name__/values, /api/v1/labels?match[]=).
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Type } from '@sinclair/typebox';
import PQueue from 'p-queue';
import { HttpUrl } from '../core/fields.js';
import { readSmallFile } from '../util/files.js';
import { readPromql } from '../util/promql.js';
import { capped, count, quoted, snippet } from '../util/text.js';
import { defineProber } from './define.js';
import type { Attempt, ProbeContext, ProbeOutcome } from './types.js';
import { asRecord, failed, failure, success } from './common.js';
import { metricNames, notPrometheusHint, prometheusApi, prometheusReasons, suggest, type PrometheusReason } from './prometheusApi.js';
import { decodeStackDir, listStackFiles, MAX_STACK_FILE_BYTES, openStackDir, stackDirReasons, StackDirField, StackFilesField, stackName, type StackDir } from './stackDirApi.js';

/** Files read per run (each at most MAX_STACK_FILE_BYTES), and how deep into subfolders: a folder pointed at the wrong place stays cheap. */
const MAX_FILES = 200;
const MAX_DEPTH = 4;
/** Queries at once: a handful, so a stack's Prometheus is never flooded by its own dashboards. */
const CONCURRENCY = 4;

const hints = {
  query_error:
    'Prometheus refuses the query, so the panel shows an error: open the panel in Grafana (Edit, Query inspector) or paste the query into the Prometheus UI to see where it breaks, fix the dashboard JSON, and let the provisioning reload it.',
  metric_missing:
    'The panel selects a metric Prometheus does not have: either the name is wrong (compare with the look-alikes) or nothing writes it yet (check the exporter or remote-write sender and its scrape job). Fix the expression in the dashboard JSON.',
  label_missing:
    'The panel matches or groups on a label the metric never carries, so it shows "No data" or one unlabelled series: use the label the metric has (listed in the message), e.g. status_code instead of status. Fix the expression in the dashboard JSON.',
  empty: 'The query is valid and its metrics exist, but nothing matches now (no traffic, or a variable whose first value selects nothing). Shown for information; it fails nothing on its own.',
} as const;

type Problem = 'query_error' | 'metric_missing' | 'label_missing' | 'empty';
/** Which reason a run reports when panels fail in several ways: the one that breaks a panel hardest first. */
const severityOrder: Problem[] = ['query_error', 'metric_missing', 'label_missing'];

export const dashboardsProber = defineProber({
  fields: Type.Object({
    prometheus: HttpUrl,
    /** The stack's folder (`${STACK_DIR:-/stack}`); the dashboards lie at files.dashboards in it and its subfolders. */
    stackDir: StackDirField,
    files: StackFilesField,
    /** How many queries a run sends at most; the rest are counted as skipped. */
    maxQueries: Type.Optional(Type.Integer({ minimum: 1, maximum: 2000 })),
    /** The data source's scrape interval (Grafana's "Scrape interval"): the floor of $__interval, and 4× it the floor of $__rate_interval. */
    scrapeInterval: Type.Optional(Type.String()),
  }),
  defaults: { interval: '5m', timeout: '30s' },
  reasons: { ...prometheusReasons, ...stackDirReasons, ...hints },
  decode: (f, d) => ({
    prometheus: f.prometheus,
    stack: decodeStackDir(d, f.stackDir, f.files, ['dashboards']),
    maxQueries: f.maxQueries ?? 300,
    scrapeMs: d.duration('scrapeInterval', f.scrapeInterval ?? '15s'),
  }),
  async run(spec, ctx) {
    const opened = await openStackDir(spec.stack, spec.name);
    if (!opened.ok) return opened.outcome;
    const read = await readDashboards(spec.stack, spec.name);
    if (!read.ok) return read.outcome;
    const { dashboards, unreadable } = read.value;

    const all: PanelQuery[] = [];
    for (const d of dashboards) {
      const vars = variables(d.json);
      const looked = await lookUpVariables(ctx, spec.prometheus, vars, grafanaIntervals(timeRange(d.json.time, DEFAULT_RANGE_MS), spec.scrapeMs));
      if (!looked.ok) return looked.outcome;
      all.push(...panelQueries(d, vars, spec.scrapeMs));
    }
    const queries = all.slice(0, spec.maxQueries);
    const names = new PrometheusNames(ctx, spec.prometheus);
    const queue = new PQueue({ concurrency: CONCURRENCY });
    let stopped: ProbeOutcome<never, PrometheusReason, never> | undefined;
    const checked = await Promise.all(
      queries.map((q) =>
        queue.add(async () => {
          if (stopped || ctx.signal.aborted) return undefined;
          const r = await checkQuery(ctx, spec.prometheus, names, q);
          if (!r.ok) stopped ??= r.outcome;
          return r.ok ? r.value : undefined;
        }),
      ),
    );
    // Prometheus itself failing (down, timing out, not Prometheus) is the probe's answer, not a panel's.
    if (stopped) return stopped;

    const findings = checked.filter((f): f is Finding => f !== undefined && f.problem !== undefined);
    const broken = groupByPanel(findings.filter((f) => f.problem !== 'empty'));
    const empty = groupByPanel(findings.filter((f) => f.problem === 'empty'));
    const details = {
      files: spec.stack.paths.dashboards,
      dashboards: dashboards.map((d) => ({ file: d.file, title: d.title })),
      queries: queries.length,
      ...(all.length > queries.length ? { skippedQueries: all.length - queries.length } : {}),
      brokenPanels: broken,
      emptyPanels: empty,
      ...(unreadable.length ? { unreadable } : {}),
    };
    const skipped = all.length > queries.length ? ` (${all.length - queries.length} more not run: maxQueries is ${spec.maxQueries})` : '';
    const ran = `${queries.length} ${queries.length === 1 ? 'query' : 'queries'} of ${count(countPanels(queries), 'panel')} in ${count(dashboards.length, 'dashboard')}${skipped}`;

    if (broken.length || unreadable.length) {
      const reason = severityOrder.find((r) => findings.some((f) => f.problem === r)) ?? 'stack_file_unreadable';
      const each = [...broken.map(describePanel), ...unreadable.map((u) => `${u.file}: ${u.problem}`)];
      const what = broken.length ? `${count(broken.length, 'panel')} broken` : `${count(unreadable.length, 'dashboard file')} unreadable`;
      // Panels broken in several ways need each way's next step, the run's own reason's first.
      const present = severityOrder.filter((r) => findings.some((f) => f.problem === r));
      const next: string[] = present.map((r) => hints[r]);
      if (unreadable.length) next.push(unreadableHint);
      return failed(reason, `${what} (${ran}): ${capped(each, '; ')}`, next.join(' '), { value: broken.length, details });
    }
    if (empty.length) {
      // Valid and answering nothing now is information (a quiet night, a variable's first value), not a failure.
      const outcome: ProbeOutcome<never, 'empty', never> = {
        status: 'ok',
        reason: 'empty',
        message: `${ran} answer; ${count(empty.length, 'panel')} valid but empty now: ${capped(empty.map(describePanel), '; ')}`,
        hint: hints.empty,
        value: 0,
        details,
      };
      return outcome;
    }
    return { status: 'ok', reason: 'ok', message: `every panel answers: ${ran}`, value: 0, details };
  },
});

// --- reading the files ------------------------------------------------------------------------

interface Dashboard {
  /** As found in the stack's folder (provisioning/dashboards/x.json), for messages. */
  file: string;
  title: string;
  json: Record<string, unknown>;
}

interface Unreadable {
  file: string;
  problem: string;
}

const unreadableHint =
  "Each file in the dashboards folder must be a dashboard's JSON as Grafana exports it (Grafana's provisioning skips the others too): fix or move the file, or point files.dashboards elsewhere.";

/**
 * Every dashboard under files.dashboards (default provisioning/dashboards/*.json) and, for a pattern, the
 * same names in its subfolders: Grafana's file provider reads those too (foldersFromFilesStructure names
 * its folders after them). A file that is not a dashboard is listed, not fatal; none at all is the outcome.
 */
async function readDashboards(stack: StackDir<'dashboards'>, probe: string): Promise<Attempt<{ dashboards: Dashboard[]; unreadable: Unreadable[] }, 'stack_file_unreadable'>> {
  const pattern = stack.paths.dashboards;
  const folders = [dirname(pattern)];
  if (basename(pattern).includes('*')) {
    for (let i = 0; i < folders.length && folders.length < MAX_FILES; i++) {
      const depth = folders[i]!.split('/').length - folders[0]!.split('/').length;
      if (depth >= MAX_DEPTH) continue;
      const entries = await readdir(folders[i]!, { withFileTypes: true }).catch(() => []);
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) if (e.isDirectory() && !e.name.startsWith('.')) folders.push(join(folders[i]!, e.name));
    }
  }
  const paths: string[] = [];
  for (const folder of folders) {
    const listed = await listStackFiles(join(folder, basename(pattern)), probe);
    if (!listed.ok) return listed;
    paths.push(...listed.value);
  }
  if (!paths.length) {
    return failure(
      failed(
        'stack_file_unreadable',
        `probe "${probe}" finds no dashboard at ${stackName(stack, pattern)} (nor in its subfolders)`,
        `${stackDirReasons.stack_file_unreadable} Or set files.dashboards to where the stack's Grafana provisions its dashboards from.`,
        {
          value: null,
          details: { files: pattern },
        },
      ),
    );
  }
  const dashboards: Dashboard[] = [];
  const unreadable: Unreadable[] = [];
  for (const path of paths.slice(0, MAX_FILES)) {
    const file = stackName(stack, path);
    const text = await readSmallFile(path, MAX_STACK_FILE_BYTES, 'a dashboard of a few hundred panels is a few hundred KiB');
    if (!text.ok) {
      unreadable.push({ file, problem: text.why });
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(text.text);
    } catch (err) {
      unreadable.push({ file, problem: `not JSON: ${(err as Error).message}` });
      continue;
    }
    // An export through Grafana's API wraps the dashboard in {"dashboard": ...}; provisioning takes both.
    const root = asRecord(json);
    const dash = asRecord(root?.dashboard) ?? root;
    if (!dash || (!Array.isArray(dash.panels) && !Array.isArray(dash.rows))) {
      unreadable.push({ file, problem: 'not a Grafana dashboard (no panels or rows)' });
      continue;
    }
    dashboards.push({ file, title: typeof dash.title === 'string' ? dash.title : file, json: dash });
  }
  return success({ dashboards, unreadable });
}

// --- the panels' queries ----------------------------------------------------------------------

interface PanelQuery {
  dashboard: string;
  file: string;
  panel: string;
  refId?: string;
  /** Tells panels of one title apart. */
  key: string;
  /** As written in the dashboard. */
  expr: string;
  /** With the variables replaced: what is sent to Prometheus. */
  query: string;
}

/** Grafana's default time range, for a dashboard that saves none or an absolute one. */
const DEFAULT_RANGE_MS = 6 * 3600_000;

/** Every visible Prometheus target of the dashboard, its variables replaced. */
function panelQueries(d: Dashboard, vars: Map<string, Variable>, scrapeMs: number): PanelQuery[] {
  const rangeMs = timeRange(d.json.time, DEFAULT_RANGE_MS);
  const out: PanelQuery[] = [];
  let n = 0;
  const visit = (panels: unknown): void => {
    if (!Array.isArray(panels)) return;
    for (const p of panels) {
      const panel = asRecord(p);
      if (!panel) continue;
      // A row (collapsed or not) holds panels of its own.
      visit(panel.panels);
      if (!Array.isArray(panel.targets)) continue;
      const key = `${d.file}#${n++}`;
      const title = typeof panel.title === 'string' && panel.title.trim() ? panel.title : `panel ${typeof panel.id === 'number' ? panel.id : '?'}`;
      const panelRange = typeof panel.timeFrom === 'string' ? timeRange({ from: `now-${panel.timeFrom}` }, rangeMs) : rangeMs;
      const builtins = grafanaIntervals(panelRange, scrapeMs);
      for (const t of panel.targets) {
        const target = asRecord(t);
        if (!target || typeof target.expr !== 'string' || !target.expr.trim() || target.hide === true) continue;
        if (!isPrometheus(target.datasource ?? panel.datasource, vars, d.json)) continue;
        out.push({
          dashboard: d.title,
          file: d.file,
          panel: title,
          key,
          ...(typeof target.refId === 'string' ? { refId: target.refId } : {}),
          expr: target.expr,
          query: interpolate(target.expr, vars, builtins),
        });
      }
    }
  };
  visit(d.json.panels);
  // The schema before Grafana 5: rows, each with its panels.
  if (Array.isArray(d.json.rows)) for (const row of d.json.rows) visit(asRecord(row)?.panels);
  return out;
}

/**
 * Whether a panel's data source is Prometheus. A data source left out is the default one, taken to be
 * Prometheus (the stacks this watches have one); a variable (${DS_PROMETHEUS}) is looked up among the
 * dashboard's datasource variables and its __inputs; a name written as a string cannot be resolved
 * without Grafana's list, so it counts as Prometheus when its target has a PromQL `expr`.
 */
function isPrometheus(ds: unknown, vars: Map<string, Variable>, dash: Record<string, unknown>): boolean {
  if (ds === undefined || ds === null) return true;
  const o = asRecord(ds);
  if (o) {
    if (typeof o.type === 'string') return o.type === 'prometheus';
    return typeof o.uid === 'string' ? isPrometheus(o.uid, vars, dash) : true;
  }
  if (typeof ds !== 'string') return false;
  const ref = /^\$\{?(\w+)\}?$|^\[\[(\w+)\]\]$/.exec(ds);
  const name = ref?.[1] ?? ref?.[2];
  if (name === undefined) return !/^-- (Grafana|Dashboard|Mixed) --$|^grafana$/.test(ds);
  const v = vars.get(name);
  if (v?.type === 'datasource') return v.pluginId === 'prometheus';
  const input = (Array.isArray(dash.__inputs) ? dash.__inputs : []).map(asRecord).find((i) => i?.name === name);
  return typeof input?.pluginId === 'string' ? input.pluginId === 'prometheus' : true;
}

// --- template variables -----------------------------------------------------------------------

interface Variable {
  type: string;
  /** A datasource variable's plugin ("prometheus"). */
  pluginId?: string;
  /** The values it stands for now; `all` when "All" is selected (its allValue, or every option). */
  values: string[];
  all?: string;
  /** Multi-value or include-All: Grafana's Prometheus data source writes such values as an escaped regex. */
  regex: boolean;
  /** A query variable with nothing saved: its label_values() query, asked of Prometheus at run time. */
  lookup?: string;
}

/**
 * Each variable's current value, or its first option when none is saved: what Grafana shows when the
 * dashboard opens. A query variable with nothing saved stands for All when it includes All; otherwise
 * its label_values() query is looked up in Prometheus when the run starts (lookUpVariables).
 */
function variables(dash: Record<string, unknown>): Map<string, Variable> {
  const out = new Map<string, Variable>();
  const list = asRecord(dash.templating)?.list;
  for (const item of Array.isArray(list) ? list : []) {
    const v = asRecord(item);
    if (!v || typeof v.name !== 'string') continue;
    const type = typeof v.type === 'string' ? v.type : 'query';
    const regex = v.multi === true || v.includeAll === true;
    const allValue = typeof v.allValue === 'string' && v.allValue !== '' ? v.allValue : undefined;
    const options = (Array.isArray(v.options) ? v.options : []).map(asRecord).flatMap((o) => (o && o.value !== undefined ? [o] : []));
    const optionValues = options.flatMap((o) => toStrings(o.value)).filter((x) => x !== '$__all');
    const current = asRecord(v.current);
    const saved = current ? toStrings(current.value) : [];
    const everything = () => allValue ?? (optionValues.length ? undefined : '.*');
    if (type === 'datasource') {
      out.set(v.name, { type, pluginId: typeof v.query === 'string' ? v.query : undefined, values: saved, regex: false });
      continue;
    }
    // What Grafana selects when the dashboard opens: the saved value, else the first option ("All" first when included).
    let first = saved;
    if (!first.length && options.length) first = toStrings(options[0]!.value);
    else if (!first.length && v.includeAll === true) first = ['$__all'];
    else if (!first.length && typeof v.query === 'string' && ['custom', 'constant', 'textbox', 'interval'].includes(type))
      first = v.query
        .split(',')
        .slice(0, 1)
        .map((s) => s.trim());
    const all = first.includes('$__all') ? everything() : undefined;
    const values = first.includes('$__all') ? optionValues : first;
    const query = typeof v.query === 'string' ? v.query : asRecord(v.query)?.query;
    const lookup = !first.length && type === 'query' && typeof query === 'string' ? { lookup: query } : {};
    out.set(v.name, { type, values, ...(all !== undefined ? { all } : {}), regex, ...lookup });
  }
  return out;
}

/**
 * The first value of each query variable that has none saved, as Grafana would list it: label_values(label)
 * or label_values(selector, label), the selector with the variables before it replaced (Grafana refreshes
 * them in order). Another query form, or one Prometheus refuses, leaves the value empty: the panels then
 * read empty or label_missing, which is what Grafana would show.
 */
async function lookUpVariables(ctx: ProbeContext, base: string, vars: Map<string, Variable>, builtins: Record<string, string>): Promise<Attempt<void, PrometheusReason>> {
  for (const v of vars.values()) {
    if (v.lookup === undefined) continue;
    const m = /^\s*label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_]\w*)\s*\)\s*$/.exec(v.lookup);
    if (!m) continue;
    const [, selector, label] = m;
    const params: Record<string, string> = selector ? { 'match[]': interpolate(selector, vars, builtins) } : {};
    const answer = await prometheusApi(ctx, base, `/api/v1/label/${label!}/values`, params);
    if (!answer.ok) {
      if (answer.outcome.reason === 'query_error') continue;
      return answer;
    }
    const first = Array.isArray(answer.value) ? answer.value.find((x): x is string => typeof x === 'string') : undefined;
    if (first !== undefined) v.values = [first];
  }
  return success(undefined);
}

function toStrings(x: unknown): string[] {
  if (Array.isArray(x)) return x.filter((s): s is string => typeof s === 'string');
  return typeof x === 'string' ? [x] : typeof x === 'number' ? [String(x)] : [];
}

/** Grafana's Prometheus data source escapes a multi-value variable's values for a regex inside a PromQL string. */
const regexEscape = (s: string) => s.replace(/[\\^$*+?.()|[\]{}]/g, '\\\\$&');

function formatValue(v: Variable, format: string | undefined): string {
  if (v.all !== undefined && (format === undefined || format === 'regex' || format === 'raw')) return v.all;
  const values = v.values;
  switch (format) {
    case 'csv':
    case 'raw':
      return values.join(',');
    case 'pipe':
      return values.join('|');
    case 'regex':
      return values.length === 1 ? regexEscape(values[0]!) : `(${values.map(regexEscape).join('|')})`;
    default:
      if (!v.regex) return values.join(',');
      return values.length === 1 ? regexEscape(values[0]!) : `(${values.map(regexEscape).join('|')})`;
  }
}

/** $var, ${var}, ${var:format}, [[var]] and [[var:format]]; names not known are left as written (a `$1` in label_replace). */
const variableRef = /\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]|\$(\w+)/g;

export function interpolate(expr: string, vars: Map<string, Variable>, builtins: Record<string, string>): string {
  return expr.replace(variableRef, (whole, a?: string, fa?: string, b?: string, fb?: string, c?: string) => {
    const name = a ?? b ?? c ?? '';
    if (Object.hasOwn(builtins, name)) return builtins[name]!;
    const v = vars.get(name);
    return v ? formatValue(v, fa ?? fb) : whole;
  });
}

/**
 * Grafana's interval variables for a panel over `rangeMs`: $__interval is the range over the points a
 * panel draws (about 1000; Grafana uses the panel's width) but never under the scrape interval, and
 * $__rate_interval is max($__interval + scrape interval, 4 × scrape interval), so rate() always sees
 * at least four samples.
 */
export function grafanaIntervals(rangeMs: number, scrapeMs: number): Record<string, string> {
  const intervalMs = Math.max(Math.ceil(rangeMs / 1000 / 1000) * 1000, scrapeMs);
  const rateMs = Math.max(intervalMs + scrapeMs, 4 * scrapeMs);
  const s = (ms: number) => `${Math.round(ms / 1000)}s`;
  return {
    __interval: s(intervalMs),
    __interval_ms: String(intervalMs),
    __rate_interval: s(rateMs),
    __rate_interval_ms: String(rateMs),
    __range: s(rangeMs),
    __range_s: String(Math.round(rangeMs / 1000)),
    __range_ms: String(rangeMs),
  };
}

const grafanaUnitMs: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, M: 2_592_000_000, y: 31_536_000_000 };

/** The length of a dashboard's time range ({from: "now-6h", to: "now"}); `fallback` for absolute times. */
function timeRange(time: unknown, fallback: number): number {
  const t = asRecord(time);
  const ago = (x: unknown) => {
    if (x === 'now' || x === undefined) return 0;
    const m = typeof x === 'string' ? /^now-(\d+)([smhdwMy])(\/[smhdwMy])?$/.exec(x) : null;
    return m ? Number(m[1]) * grafanaUnitMs[m[2]!]! : undefined;
  };
  const from = ago(t?.from);
  const to = ago(t?.to);
  return from !== undefined && to !== undefined && from > to ? from - to : fallback;
}

// --- asking Prometheus ------------------------------------------------------------------------

interface Finding extends PanelQuery {
  problem?: Problem;
  /** What is wrong, for people: the error, the missing names and their look-alikes. */
  says?: string;
  similar?: string[];
  /** For label_missing: the labels each metric does carry. */
  labels?: Record<string, string[]>;
}

/** The names Prometheus holds, asked once per run and only when a query needs them. */
class PrometheusNames {
  private metrics?: Promise<Attempt<Set<string> & { list: string[] }, PrometheusReason>>;
  private readonly labels = new Map<string, Promise<Attempt<string[], PrometheusReason>>>();

  constructor(
    private readonly ctx: ProbeContext,
    private readonly base: string,
  ) {}

  metricNames() {
    this.metrics ??= metricNames(this.ctx, this.base).then((r) => (r.ok ? success(Object.assign(new Set(r.value), { list: r.value })) : r));
    return this.metrics;
  }

  /** Every label name any series of the metric carries. */
  labelsOf(metric: string): Promise<Attempt<string[], PrometheusReason>> {
    let known = this.labels.get(metric);
    if (!known) {
      known = prometheusApi(this.ctx, this.base, '/api/v1/labels', { 'match[]': `{__name__=${JSON.stringify(metric)}}` }).then((r) =>
        r.ok ? success(Array.isArray(r.value) ? r.value.filter((n): n is string => typeof n === 'string' && n !== '__name__') : []) : r,
      );
      this.labels.set(metric, known);
    }
    return known;
  }
}

/**
 * One query: refused (query_error); selecting a metric Prometheus lacks (metric_missing); matching or
 * grouping by a label its metrics never carry (label_missing); or valid and empty now (empty). Names
 * are checked even when the answer has series: `sum by (status) (x)` answers with one series without
 * the label, which draws a line and still hides what the panel means to show.
 */
async function checkQuery(ctx: ProbeContext, base: string, names: PrometheusNames, q: PanelQuery): Promise<Attempt<Finding, PrometheusReason>> {
  const answer = await prometheusApi(ctx, base, '/api/v1/query', { query: q.query });
  if (!answer.ok) {
    if (answer.outcome.reason !== 'query_error') return answer;
    return success({ ...q, problem: 'query_error', says: answer.outcome.message.replace(/^Prometheus rejected \/api\/v1\/query: /, 'Prometheus refuses it: ') });
  }
  const result = asRecord(answer.value)?.result;
  if (!Array.isArray(result)) return failure(failed('invalid_response', 'the answer of /api/v1/query has no data.result list', notPrometheusHint));
  const empty = result.length === 0;

  const read = readPromql(q.query);
  const selectors = read.selectors.filter((s) => !s.inAbsent && s.metric !== undefined);
  if (selectors.length) {
    const known = await names.metricNames();
    if (!known.ok) return known;
    const missing = [...new Set(selectors.map((s) => s.metric!).filter((m) => !known.value.has(m)))];
    if (missing.length) {
      const similar = suggest(missing, known.value.list, 5);
      const alike = similar.length ? ` (look-alikes: ${similar.join(', ')})` : ' (no look-alike exists)';
      return success({ ...q, problem: 'metric_missing', says: `${quoted(missing)} ${missing.length > 1 ? 'do' : 'does'} not exist in Prometheus${alike}`, similar });
    }
  }

  const carried = new Map<string, string[]>();
  for (const s of selectors) {
    if (carried.has(s.metric!)) continue;
    const labels = await names.labelsOf(s.metric!);
    if (!labels.ok) return labels;
    carried.set(s.metric!, labels.value);
  }
  const lacking: { label: string; how: string; metrics: string[] }[] = [];
  for (const s of selectors) {
    const has = carried.get(s.metric!)!;
    for (const m of s.matchers) {
      // A matcher that also matches the empty value (=~".*" from an "All" variable) selects series without the label too.
      if (m.name === '__name__' || has.includes(m.name) || matchesEmpty(m.op, m.value)) continue;
      lacking.push({ label: m.name, how: 'matches', metrics: [s.metric!] });
    }
  }
  for (const a of read.aggregations) {
    if (a.modifier !== 'by') continue;
    const inside = selectors.filter((s) => s.from >= a.from && s.to <= a.to);
    // label_replace/label_join may add the label; the grammar reader does not follow them, so leave such groupings alone.
    if (!inside.length || /\blabel_(replace|join)\s*\(/.test(q.query.slice(a.from, a.to))) continue;
    for (const label of a.labels) {
      if (inside.some((s) => carried.get(s.metric!)!.includes(label))) continue;
      lacking.push({ label, how: 'groups by', metrics: [...new Set(inside.map((s) => s.metric!))] });
    }
  }
  if (lacking.length) {
    const labels = Object.fromEntries([...new Set(lacking.flatMap((l) => l.metrics))].map((m) => [m, carried.get(m)!]));
    const each = dedupe(lacking).map((l) => {
      const has = [...new Set(l.metrics.flatMap((m) => carried.get(m)!))].sort();
      const alike = suggest([l.label], has, 1);
      return `${l.how} "${l.label}", which ${l.metrics.join(', ')} never ${l.metrics.length > 1 ? 'carry' : 'carries'} (${alike.length ? `did you mean ${alike[0]}? ` : ''}its labels: ${has.join(', ') || 'none'})`;
    });
    return success({ ...q, problem: 'label_missing', says: each.join('; '), labels });
  }
  if (empty) return success({ ...q, problem: 'empty', says: 'valid, but nothing comes back now' });
  return success({ ...q });
}

function dedupe(lacking: { label: string; how: string; metrics: string[] }[]) {
  const seen = new Set<string>();
  return lacking.filter((l) => {
    const key = `${l.how}\0${l.label}\0${l.metrics.join(',')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether a matcher selects a series that lacks the label (Prometheus treats a missing label as ""). */
function matchesEmpty(op: string, value: string): boolean {
  if (op === '=') return value === '';
  if (op === '!=') return value !== '';
  let matches: boolean;
  try {
    // PromQL regexes are anchored RE2; for the empty string JavaScript's engine agrees.
    matches = new RegExp(`^(?:${value})$`).test('');
  } catch {
    return false;
  }
  return op === '=~' ? matches : !matches;
}

// --- the report -------------------------------------------------------------------------------

interface PanelReport {
  dashboard: string;
  file: string;
  panel: string;
  queries: { refId?: string; expr: string; query: string; reason: Problem; problem: string; similar?: string[]; labels?: Record<string, string[]> }[];
}

function groupByPanel(findings: Finding[]): PanelReport[] {
  const panels = new Map<string, PanelReport>();
  for (const f of findings) {
    const key = f.key;
    let p = panels.get(key);
    if (!p) panels.set(key, (p = { dashboard: f.dashboard, file: f.file, panel: f.panel, queries: [] }));
    p.queries.push({
      ...(f.refId !== undefined ? { refId: f.refId } : {}),
      expr: f.expr,
      query: f.query,
      reason: f.problem!,
      problem: f.says ?? '',
      ...(f.similar ? { similar: f.similar } : {}),
      ...(f.labels ? { labels: f.labels } : {}),
    });
  }
  return [...panels.values()];
}

function describePanel(p: PanelReport): string {
  return `dashboard "${p.dashboard}" panel "${p.panel}": ${p.queries.map((q) => `${snippet(q.expr, 160)}: ${q.problem}`).join('; ')}`;
}

function countPanels(queries: PanelQuery[]): number {
  return new Set(queries.map((q) => q.key)).size;
}
