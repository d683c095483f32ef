// kind: prometheus_query — an instant query whose value must meet `expect`.
// An empty vector is `absent`, not 0: a metric that was never written (or is misspelt) must not read
// as "rate is zero", and its hint names the metrics that do exist and look alike.
import { Type } from '@sinclair/typebox';
import { HttpUrl } from '../core/fields.js';
import { selectedMetricNames } from '../util/promql.js';
import { defineProber } from './define.js';
import type { ProbeContext, ProbeOutcome } from './types.js';
import { asRecord, failed, passed } from './common.js';
import { ExpectField, holds } from './expect.js';
import { metricNames, notPrometheusHint, prometheusApi, prometheusReasons, suggest } from './prometheusApi.js';

export const prometheusQueryProber = defineProber({
  fields: Type.Object({
    prometheus: HttpUrl,
    query: Type.String({ minLength: 1 }),
    /** `"> 0"`, or a range as a list that must all hold: `[">= 0.05", "<= 0.2"]`. Default: any non-empty result passes. */
    expect: Type.Optional(ExpectField),
    /**
     * Metric names worth naming when the result is empty: the hint then says which of them exist.
     * For a query written against one of several possible producers (e.g. Tempo's span metrics).
     */
    relatedMetrics: Type.Optional(Type.Array(Type.String({ pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$' }), { minItems: 1 })),
  }),
  reasons: {
    ...prometheusReasons,
    absent:
      'The query returns nothing: either a metric it selects does not exist in Prometheus (misspelt, or nothing writes it yet: check that the exporter or remote-write sender producing it is configured and scraped), or its label matchers select nothing now.',
    threshold: 'The metric exists but its value is out of range: look at its recent graph in Prometheus to see when it changed.',
  },
  decode(f, d) {
    return { prometheus: f.prometheus, query: f.query, expect: f.expect === undefined ? undefined : d.expectation('expect', f.expect), relatedMetrics: f.relatedMetrics ?? [] };
  },
  async run(spec, ctx) {
    const data = await prometheusApi(ctx, spec.prometheus, '/api/v1/query', { query: spec.query });
    if (!data.ok) return data.outcome;
    const { resultType, result } = asRecord(data.value) ?? {};
    const samples = readSamples(resultType, result);
    if (!samples) {
      if (resultType === 'matrix' || resultType === 'string') {
        return failed('invalid_response', `the query returns a ${resultType}, not a number or an instant vector`, 'Use an instant-vector expression (e.g. sum(rate(x[5m]))), not a range selector.');
      }
      return failed('invalid_response', 'the answer of /api/v1/query has no data.resultType and data.result of an instant query', notPrometheusHint);
    }
    const [first] = samples;
    if (!first) return absent(ctx, spec.prometheus, spec.query, spec.relatedMetrics);

    const expectation = spec.expect;
    const details = { series: samples.length };
    if (expectation) {
      const bad = samples.find((s) => Number.isNaN(s.value) || !holds(expectation, s.value));
      if (bad) {
        return failed('threshold', `${bad.labels || 'value'} = ${bad.value}, expected ${expectation.text}`, undefined, { value: Number.isNaN(bad.value) ? null : bad.value, details });
      }
      return passed(`${first.value} (${expectation.text})${samples.length > 1 ? ` for all ${samples.length} series` : ''}`, { value: first.value, details });
    }
    return passed(`${samples.length} series, first ${first.value}`, { value: first.value, details });
  },
});

interface Series {
  labels: string;
  value: number;
}

/** The samples of a scalar or instant-vector answer; undefined for any other shape. */
function readSamples(resultType: unknown, result: unknown): Series[] | undefined {
  const valueOf = (pair: unknown) => (Array.isArray(pair) && pair.length === 2 ? Number(pair[1]) : undefined);
  if (resultType === 'scalar') {
    const value = valueOf(result);
    return value === undefined ? undefined : [{ labels: '', value }];
  }
  if (resultType !== 'vector' || !Array.isArray(result)) return undefined;
  const out: Series[] = [];
  for (const item of result) {
    const s = asRecord(item);
    const value = valueOf(s?.value);
    const metric = asRecord(s?.metric);
    if (value === undefined || !metric) return undefined;
    out.push({ labels: formatLabels(metric), value });
  }
  return out;
}

function formatLabels(m: Record<string, unknown>): string {
  const { __name__: name = '', ...rest } = m;
  const inner = Object.entries(rest)
    .map(([k, v]) => `${k}="${String(v)}"`)
    .join(',');
  return inner ? `${String(name)}{${inner}}` : String(name);
}

async function absent(ctx: ProbeContext, base: string, query: string, related: string[]): Promise<ProbeOutcome<never, 'absent', never>> {
  const wanted = selectedMetricNames(query);
  const known = await metricNames(ctx, base);
  const all = known.ok ? known.value : [];
  const missing = wanted.filter((w) => !all.includes(w));
  const present = wanted.filter((w) => all.includes(w));
  const similar = missing.length ? suggest(missing, all, 5) : [];
  let message: string;
  let hint: string;
  if (missing.length) {
    message = `no data: ${missing.map((m) => `"${m}"`).join(', ')} ${missing.length > 1 ? 'do' : 'does'} not exist in Prometheus`;
    hint =
      (similar.length ? `Metrics that do exist and look alike: ${similar.join(', ')}. ` : 'No metric with a similar name exists. ') +
      'Either the name is misspelt, or nothing writes it yet: check that the exporter or remote-write sender producing it is configured and scraped.';
  } else {
    message = `no data: ${present.map((m) => `"${m}"`).join(', ') || 'the query'} exists but no series matches the query now`;
    hint = 'The metric exists but the label matchers select nothing, or no sample is recent enough for the range: check the labels in the Prometheus UI and widen the range.';
  }
  const relatedPresent = related.filter((r) => all.includes(r));
  if (related.length) {
    hint += relatedPresent.length
      ? ` Of the related metrics, these exist: ${relatedPresent.join(', ')}; missing: ${related.filter((r) => !all.includes(r)).join(', ') || 'none'}.`
      : ` None of the related metrics exists: ${related.join(', ')}.`;
  }
  const details: Record<string, unknown> = { missingMetrics: missing, similarMetrics: similar };
  if (related.length) details.relatedMetricsPresent = relatedPresent;
  return failed('absent', message, hint, { value: null, details });
}
