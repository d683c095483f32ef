// The shipped Grafana dashboard (deploy/grafana/dashboards/stack-watchdog.json) as the tests read it:
// its panels, its variables, and its queries with the variables replaced as Grafana would send them.
// Shared by test/deploy/dashboard.test.ts and test/deploy/stacks.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readPromql } from '../../src/util/promql.js';

const root = resolve(import.meta.dirname, '../..');
export const dashboardFile = join(root, 'deploy/grafana/dashboards/stack-watchdog.json');

export interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
}
export interface Variable {
  name: string;
  type: string;
  multi?: boolean;
  includeAll?: boolean;
  query: string | { query: string };
  datasource?: { type: string; uid: string };
}
export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

export const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard;
/** Every panel, rows' nested panels included (a collapsed row keeps its panels inside it). */
export const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
export const queryPanels = allPanels.filter((p) => p.type !== 'row');
export const DS = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };

/** The stack of the watchdog the queries run against below (WATCHDOG_STACK), chosen in $stack. */
export const STACK = 'mystocks';

/**
 * Grafana's variables as concrete values, the way Grafana would send them with "All" selected:
 * $instance and $probe become their allValue (.*), $stack (one stack at a time) the watchdog's stack;
 * $__rate_interval and $__interval what a 1s scrape and a short time range give. Any other $variable
 * is an error: the test would not know its value.
 */
export const variableValues: Record<string, string> = {
  stack: STACK,
  instance: '.*',
  probe: '.*',
  __rate_interval: '30s',
  __interval: '5s',
  __range: '5m',
};
export function substitute(expr: string, values: Record<string, string> = variableValues): string {
  const out = expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    if (!Object.hasOwn(values, name)) throw new Error(`unknown dashboard variable ${whole} in: ${expr}`);
    return values[name]!;
  });
  return out;
}

/** The metric names an expression selects, from Prometheus's own PromQL grammar; throws on a parse error. */
export function metricNames(expr: string): string[] {
  const { selectors, errors } = readPromql(expr);
  if (errors.length) throw new Error(`PromQL parse error ${errors.map((e) => `at ${e.at}: "${e.near}"`).join(', ')} in: ${expr}`);
  // {__name__="x"}: the name as a matcher. A regex or negative matcher names no single metric.
  if (selectors.some((s) => s.matchers.some((m) => m.name === '__name__' && m.op !== '='))) throw new Error(`a __name__ matcher other than "=" cannot be checked: ${expr}`);
  return selectors.flatMap((s) => (s.metric === undefined ? [] : [s.metric]));
}

/** `label_values(selector, label)`, Grafana's variable query: the selector and the label. */
export function labelValuesQuery(v: Variable): { selector: string; label: string } {
  const text = typeof v.query === 'string' ? v.query : v.query.query;
  const m = /^label_values\((.+),\s*(\w+)\)$/.exec(text.trim());
  assert.ok(m, `variable ${v.name}: expected label_values(selector, label), got ${text}`);
  return { selector: m[1]!, label: m[2]! };
}

export interface Query {
  where: string;
  expr: string;
}
/** Every query of the dashboard, variables substituted: panel targets and variable selectors. */
export function dashboardQueries(values: Record<string, string> = variableValues): Query[] {
  const out: Query[] = [];
  for (const p of queryPanels) for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: substitute(t.expr, values) });
  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) out.push({ where: `variable $${v.name}`, expr: substitute(labelValuesQuery(v).selector, values) });
  return out;
}
