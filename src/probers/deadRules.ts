// kind: dead_rules — every rule in the watched groups selects metrics that exist, so it can fire.
// A rule on a metric nothing writes loads, evaluates and reads "healthy" forever, and never fires:
// the MyStocks guide's tracing rules query traces_span_processed_total, traces_calls_total and
// traces_span_duration_seconds_bucket, which no Tempo writes. (Cloudflare's pint calls this check
// promql/series.) The expressions are parsed with the Prometheus project's own grammar
// (@prometheus-io/lezer-promql); a selector inside absent() or absent_over_time() expects its
// metric to be missing, so it does not make the rule dead.
// A rule whose metrics all exist can still never fire: histogram_quantile() over a histogram's _sum or
// _count (MyStocks' SignalLatencyHigh) has no `le` buckets to read and returns nothing, ever
// (pint's promql/impossible). That is `rule_never_fires`.
// A metric another probe watches the producer of (`awaited`: Tempo's span metrics behind
// span-metrics-path, the app's counter behind app-requests) is not a dead rule of its own while it is
// missing: that probe names the cause, and one cause is one failure. Exact names, not patterns, so a
// misspelt look-alike is still a dead rule.
import { Type } from '@sinclair/typebox';
import { HttpUrl } from '../core/fields.js';
import { readPromql, selectedMetricNames } from '../util/promql.js';
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

const neverFiresHint =
  "histogram_quantile() reads a classic histogram's buckets: give it the _bucket series, grouped by le, e.g. histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m]))). " +
  'Over _sum or _count it has no le label to read and returns nothing, so the alert can never fire (an average is rate(x_sum[5m]) / rate(x_count[5m])). ' +
  'Fix the rule file, run `promtool check rules <file>`, then reload: curl -X POST http://prometheus:9090/-/reload.';

interface ImpossibleRule {
  group: string;
  rule: string;
  /** The _sum/_count series histogram_quantile() is given. */
  series: string[];
}

export const deadRulesProber = defineProber({
  fields: Type.Object({
    prometheus: HttpUrl,
    groups: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true }),
    /** Metrics whose producer another probe diagnoses: missing, they wait on it instead of failing here. */
    awaited: Type.Optional(
      Type.Array(
        Type.Object(
          {
            metrics: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true }),
            probe: Type.String({ minLength: 1, description: 'The probe that says why the producer does not deliver.' }),
          },
          { additionalProperties: false },
        ),
      ),
    ),
  }),
  reasons: { ...prometheusReasons, rule_dead: hint, rule_never_fires: neverFiresHint },
  decode: (f) => ({ prometheus: f.prometheus, groups: f.groups, awaited: new Map((f.awaited ?? []).flatMap((a) => a.metrics.map((m) => [m, a.probe] as const))) }),
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
    const waiting = new Map<string, { probe: string; rules: string[] }>();
    for (const r of rules) {
      const absent = selectedMetrics(r.query).filter((m) => !have.has(m));
      for (const m of absent.filter((x) => spec.awaited.has(x))) {
        const w = waiting.get(m) ?? { probe: spec.awaited.get(m)!, rules: [] };
        w.rules.push(r.rule);
        waiting.set(m, w);
      }
      const missing = absent.filter((m) => !spec.awaited.has(m));
      if (missing.length) dead.push({ group: r.group, rule: r.rule, missing, similar: suggest(missing, known.value, 5) });
    }
    const awaiting = [...waiting].map(([metric, w]) => ({ metric, probe: w.probe, rules: w.rules }));
    const impossible: ImpossibleRule[] = [];
    for (const r of rules) {
      const series = quantileOverNonBuckets(r.query);
      if (series.length) impossible.push({ group: r.group, rule: r.rule, series });
    }
    const loaded = new Set(rules.map((r) => r.group));
    const details = {
      rules: rules.length,
      groups: spec.groups.filter((g) => loaded.has(g)),
      deadRules: dead,
      ...(impossible.length ? { neverFiring: impossible } : {}),
      ...(awaiting.length ? { awaiting } : {}),
    };
    const never = dead.length + impossible.length;
    if (never) {
      const each = [
        ...dead.map(
          (d) =>
            `rule "${d.rule}" in group "${d.group}" selects ${quoted(d.missing)}, which Prometheus does not have${d.similar.length ? ` (look-alikes: ${d.similar.join(', ')})` : ' (no look-alike exists)'}`,
        ),
        ...impossible.map((i) => `rule "${i.rule}" in group "${i.group}" runs histogram_quantile() over ${quoted(i.series)}, which has no le buckets`),
      ];
      // A missing metric is the likelier first fix; both hints when both kinds are there.
      const reason = dead.length ? 'rule_dead' : 'rule_never_fires';
      const both = dead.length && impossible.length ? `${hint} ${neverFiresHint}` : undefined;
      return failed(reason, `${never > 1 ? `${never} rules can never fire` : 'a rule can never fire'}: ${capped(each, '; ')}`, both, { value: never, details });
    }
    const notLoaded = spec.groups.filter((g) => !loaded.has(g));
    const waits = awaiting.length
      ? `; ${count(awaiting.length, 'metric')} not there yet, each watched by the probe of its producer: ${capped(
          awaiting.map((a) => `${a.metric} (${a.probe})`),
          ', ',
        )}`
      : '';
    const note = `${waits}${notLoaded.length ? `; ${quoted(notLoaded)} not loaded (the prometheus_rules probe reports that)` : ''}`;
    const selects = awaiting.length ? 'select metrics that exist or that a producer another probe watches has not delivered' : 'select only metrics that exist';
    return passed(`${count(rules.length, 'rule')} in ${count(loaded.size, 'group')} ${selects}${note}`, { value: 0, details });
  },
});

/**
 * The metric names a PromQL expression selects, except inside absent() and absent_over_time().
 * Selectors without a fixed name ({__name__=~"..."}) are left out: they cannot be checked by name.
 */
export function selectedMetrics(query: string): string[] {
  return selectedMetricNames(query, { exceptAbsent: true });
}

/**
 * The _sum/_count series a histogram_quantile() in the expression is given: it needs the _bucket
 * series (or a native histogram, which has no suffix), so over these it never returns anything.
 */
export function quantileOverNonBuckets(query: string): string[] {
  const read = readPromql(query);
  const quantiles = read.calls.filter((c) => c.fn === 'histogram_quantile');
  const inside = read.selectors.filter((s) => !s.inAbsent && s.metric !== undefined && quantiles.some((c) => s.from >= c.from && s.to <= c.to));
  return [...new Set(inside.map((s) => s.metric!).filter((m) => m.endsWith('_sum') || m.endsWith('_count')))];
}
