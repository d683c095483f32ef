// kind: dead_rules — every rule in the watched groups selects metrics that exist, so it can fire.
// A rule on a metric nothing writes loads, evaluates and reads "healthy" forever, and never fires:
// the MyStocks guide's tracing rules query traces_span_processed_total, traces_calls_total and
// traces_span_duration_seconds_bucket, which no Tempo writes. (Cloudflare's pint calls this check
// promql/series.) The expressions are parsed with the Prometheus project's own grammar
// (@prometheus-io/lezer-promql); a selector inside absent() or absent_over_time() expects its
// metric to be missing, so it does not make the rule dead.
import { Type } from '@sinclair/typebox';
import { HttpUrl } from '../core/fields.js';
import { selectedMetricNames } from '../util/promql.js';
import { capped, count, quoted } from '../util/text.js';
import { defineProber } from './define.js';
import { asRecord, failed, passed } from './common.js';
import { metricNames, notPrometheusHint, prometheusApi, prometheusReasons, suggest } from './prometheusApi.js';

interface DeadRule {
  group: string;
  rule: string;
  missing: string[];
  similar: string[];
}

const hint =
  "The rule selects a metric Prometheus does not have, so it can never fire: either the name is wrong (compare with the look-alikes; Tempo's metrics-generator writes " +
  'traces_spanmetrics_calls_total, traces_spanmetrics_latency_bucket and traces_service_graph_request_total, not traces_span_processed_total or traces_calls_total), ' +
  'or nothing writes it yet (check the exporter or remote-write sender and its scrape job). Fix the rule file, run `promtool check rules <file>`, then reload: ' +
  'curl -X POST http://prometheus:9090/-/reload.';

export const deadRulesProber = defineProber({
  fields: Type.Object({
    prometheus: HttpUrl,
    groups: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true }),
  }),
  reasons: { ...prometheusReasons, rule_dead: hint },
  decode: (f) => ({ prometheus: f.prometheus, groups: f.groups }),
  async run(spec, ctx) {
    const data = await prometheusApi(ctx, spec.prometheus, '/api/v1/rules');
    if (!data.ok) return data.outcome;
    const groups = asRecord(data.value)?.groups;
    if (!Array.isArray(groups)) return failed('invalid_response', 'the answer of /api/v1/rules has no data.groups list', notPrometheusHint);
    const rules = groups.flatMap((g) => {
      const group = asRecord(g);
      const name = group?.name;
      if (typeof name !== 'string' || !spec.groups.includes(name) || !Array.isArray(group?.rules)) return [];
      return group.rules.flatMap((r) => {
        const rule = asRecord(r);
        return typeof rule?.name === 'string' && typeof rule.query === 'string' ? [{ group: name, rule: rule.name, query: rule.query }] : [];
      });
    });
    const known = await metricNames(ctx, spec.prometheus);
    if (!known.ok) return known.outcome;
    const have = new Set(known.value);

    const dead: DeadRule[] = [];
    for (const r of rules) {
      const missing = selectedMetrics(r.query).filter((m) => !have.has(m));
      if (missing.length) dead.push({ group: r.group, rule: r.rule, missing, similar: suggest(missing, known.value, 5) });
    }
    const loaded = new Set(rules.map((r) => r.group));
    const details = { rules: rules.length, groups: spec.groups.filter((g) => loaded.has(g)), deadRules: dead };
    if (dead.length) {
      const each = dead.map(
        (d) =>
          `rule "${d.rule}" in group "${d.group}" selects ${quoted(d.missing)}, which Prometheus does not have${d.similar.length ? ` (look-alikes: ${d.similar.join(', ')})` : ' (no look-alike exists)'}`,
      );
      return failed('rule_dead', `${dead.length > 1 ? `${dead.length} rules can never fire` : 'a rule can never fire'}: ${capped(each, '; ')}`, undefined, { value: dead.length, details });
    }
    const notLoaded = spec.groups.filter((g) => !loaded.has(g));
    const note = notLoaded.length ? `; ${quoted(notLoaded)} not loaded (the prometheus_rules probe reports that)` : '';
    return passed(`${count(rules.length, 'rule')} in ${count(loaded.size, 'group')} select only metrics that exist${note}`, { value: 0, details });
  },
});

/**
 * The metric names a PromQL expression selects, except inside absent() and absent_over_time().
 * Selectors without a fixed name ({__name__=~"..."}) are left out: they cannot be checked by name.
 */
export function selectedMetrics(query: string): string[] {
  return selectedMetricNames(query, { exceptAbsent: true });
}
