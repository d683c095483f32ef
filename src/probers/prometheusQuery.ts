// kind: prometheus_query — an instant query whose value must meet `expect`.
// An empty vector is `absent`, not 0: a metric that was never written (or is misspelt) must not read
// as "rate is zero", and its hint names the metrics that do exist and look alike.
import { Type } from '@sinclair/typebox';
import { HttpUrl } from '../core/fields.js';
import { parseExposition } from '../util/promText.js';
import { readPromql, selectedMetricNames, type Selector } from '../util/promql.js';
import { count, quoted } from '../util/text.js';
import { defineProber } from './define.js';
import type { Attempt, ProbeContext, ProbeOutcome } from './types.js';
import { asRecord, attempt, failed, passed, success } from './common.js';
import { ExpectField, holds } from './expect.js';
import { jobMetadata, jobTargets, metricNames, notPrometheusHint, prometheusApi, prometheusReasons, suggest, type PrometheusReason, type ScrapeTarget } from './prometheusApi.js';

const targetDownHint =
  'Prometheus cannot scrape the job\'s target, and lastError says why: "connection refused" means nothing listens at that host:port (compare the port in scrape_configs with the port the app really listens on), "context deadline exceeded" an app slower than scrape_timeout, an HTTP 404 a wrong metrics_path. The query\'s rate() keeps returning the last samples for minutes: do not read its value as current.';
const neverWrittenHint =
  'The target declares the metric (its # HELP/# TYPE lines are served) but has no sample of it: the code defines the counter and never increments it, or increments another one. Query the counter that moves, or make the app increment this one.';

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
    /**
     * The scrape job whose metrics the query reads; default: the `job="..."` matcher of its selectors, if
     * any. With a job, every run also reads the job's targets and whether what the query selects is
     * still being scraped, so a dead target or a counter that stopped is named within a scrape interval
     * while a 5-minute rate() still returns the old samples. Leave it out for a query whose metrics
     * arrive by remote write, or that selects one of several metrics with `or`.
     */
    job: Type.Optional(Type.String({ minLength: 1 })),
  }),
  reasons: {
    ...prometheusReasons,
    absent:
      'The query returns nothing: either a metric it selects does not exist in Prometheus (misspelt, or nothing writes it yet: check that the exporter or remote-write sender producing it is configured and scraped), or its label matchers select nothing now.',
    threshold: 'The metric exists but its value is out of range: look at its recent graph in Prometheus to see when it changed.',
    target_down: targetDownHint,
    never_written: neverWrittenHint,
  },
  decode(f, d) {
    return {
      prometheus: f.prometheus,
      query: f.query,
      expect: f.expect === undefined ? undefined : d.expectation('expect', f.expect),
      relatedMetrics: f.relatedMetrics ?? [],
      job:
        f.job ??
        readPromql(f.query)
          .selectors.flatMap((s) => s.matchers)
          .find((m) => m.name === 'job' && m.op === '=')?.value,
    };
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
    if (spec.job !== undefined) {
      // Whatever the query returned: rate() over 5 minutes keeps the old samples after the target died
      // or the counter stopped, and only the job's targets and the newest samples tell.
      const scraped = await scrapedJob(ctx, spec.prometheus, spec.query, spec.job, first?.value);
      if (scraped) return scraped;
    }
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

type JobReason = 'absent' | 'target_down' | 'never_written' | keyof typeof prometheusReasons;

/**
 * What the job's side says beyond the query's answer: a target that is down, or a selected metric of
 * the job with no fresh sample (the target dropped it: Prometheus marks it stale at the next scrape).
 * Undefined when the targets are up and every selected metric is fresh, or when the job has no
 * target: its metrics then arrive some other way (remote write), where staleness cannot be seen.
 */
async function scrapedJob(ctx: ProbeContext, base: string, query: string, job: string, value: number | undefined): Promise<ProbeOutcome<never, JobReason, never> | undefined> {
  const listed = await jobTargets(ctx, base, job);
  if (!listed.ok) return listed.outcome;
  const { targets } = listed.value;
  if (!targets.length) return undefined;
  const still = value === undefined ? '' : ` (the query still returns ${value}, computed from older samples)`;
  const details: Record<string, unknown> = {
    job,
    targets: targets.map((t) => ({ scrapeUrl: t.scrapeUrl, health: t.health, lastError: t.lastError || undefined, lastScrape: t.lastScrape })),
  };
  const down = targets.filter((t) => t.health === 'down');
  if (down.length) {
    const each = down.map((t) => `${t.scrapeUrl ?? t.labels?.instance ?? '(no scrape URL)'}: ${t.lastError || 'no lastError given'}`);
    return failed('target_down', `job "${job}": ${down.length} of ${count(targets.length, 'target')} down: ${each.join('; ')}${still}`, undefined, { value: null, details });
  }

  // An instant selector honours staleness markers: empty as soon as a scrape no longer has the series.
  const stale: string[] = [];
  for (const s of jobSelectors(query, job)) {
    if (stale.includes(s.metric)) continue;
    const fresh = await prometheusApi(ctx, base, '/api/v1/query', { query: `count(${s.text})` });
    if (!fresh.ok) return fresh.outcome;
    const result = asRecord(fresh.value)?.result;
    if (!Array.isArray(result) || result.length === 0) stale.push(s.metric);
  }
  if (!stale.length) return undefined;
  details.staleMetrics = stale;

  // A counter's family may be named with or without _total (classic text format vs OpenMetrics).
  const declaredIn = (has: (name: string) => boolean, w: string) => has(w) || (w.endsWith('_total') && has(w.slice(0, -'_total'.length)));
  // The target's own exposition is the first-hand answer, when the watchdog can reach the scrape URL:
  // Prometheus keeps a family's metadata for a while after the target stopped declaring it.
  const own = await exposition(ctx, targets);
  let declared: string[];
  let declaredBy: string;
  if (own) {
    declared = stale.filter((w) => declaredIn((n) => own.text.family(n)?.samples.length === 0, w));
    declaredBy = own.url;
  } else {
    const meta = await jobMetadata(ctx, base, job);
    if (!meta.ok) return meta.outcome;
    declared = stale.filter((w) => declaredIn((n) => meta.value.has(n), w));
    declaredBy = "Prometheus's metadata of the target";
  }
  const moving = await movingCounters(ctx, base, job);
  if (!moving.ok) return moving.outcome;
  const others = moving.value.filter((m) => !stale.includes(m));
  details.movingCounters = others;

  if (declared.length) {
    const alike = suggest(declared, others, 5);
    const shown = alike.length ? alike : others.slice(0, 5);
    const lead = shown.length ? `Counters of job "${job}" that do move: ${shown.join(', ')}. ` : `No counter of job "${job}" moves either. `;
    return failed(
      'never_written',
      `job "${job}" declares ${quoted(declared)} (# HELP/# TYPE in ${declaredBy}) but has no sample of ${declared.length > 1 ? 'them' : 'it'}${still}`,
      lead + neverWrittenHint,
      { value: null, details },
    );
  }
  const known = await metricNames(ctx, base);
  if (!known.ok) return known.outcome;
  // Never seen at all and nothing returned: the ordinary absent, with look-alikes from every name.
  if (value === undefined && !stale.some((w) => known.value.includes(w))) return undefined;
  const similar = suggest(
    stale,
    known.value.filter((n) => !stale.includes(n)),
    5,
  );
  return failed(
    'absent',
    `no fresh sample of ${quoted(stale)}: the targets of job "${job}" are up but no longer expose it${still}`,
    (similar.length ? `Metrics that do exist and look alike: ${similar.join(', ')}. ` : '') +
      'The target stopped writing it (renamed in a new release of the app, or its registry is no longer exported): query the name it writes now.',
    { value: null, details },
  );
}

/** Each selector of the job's metrics, as an instant selector limited to the job. */
function jobSelectors(query: string, job: string): { metric: string; text: string }[] {
  const ofJob = (s: Selector) => s.matchers.every((m) => m.name !== 'job' || (m.op === '=' && m.value === job));
  return readPromql(query).selectors.flatMap((s) => {
    if (s.inAbsent || s.metric === undefined || !ofJob(s)) return [];
    const rest = s.matchers.filter((m) => m.name !== '__name__' && m.name !== 'job').map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`);
    return [{ metric: s.metric, text: `{${[`__name__=${JSON.stringify(s.metric)}`, ...rest, `job=${JSON.stringify(job)}`].join(', ')}}` }];
  });
}

/**
 * The counters (`*_total`) of the job that rose in the last 5 minutes: their raw samples (a range
 * selector keeps the metric name, which rate() and every arithmetic would drop), compared first to last.
 */
async function movingCounters(ctx: ProbeContext, base: string, job: string): Promise<Attempt<string[], PrometheusReason>> {
  const data = await prometheusApi(ctx, base, '/api/v1/query', { query: `{job=${JSON.stringify(job)}, __name__=~".+_total"}[5m]` });
  if (!data.ok) return data;
  const result = asRecord(data.value)?.result;
  const moved = new Set<string>();
  for (const series of Array.isArray(result) ? result : []) {
    const s = asRecord(series);
    const name = asRecord(s?.metric)?.__name__;
    const values = Array.isArray(s?.values) ? s.values.map((v) => (Array.isArray(v) ? Number(v[1]) : Number.NaN)) : [];
    // A counter that rose, or was reset (a restart) and counted again, moved.
    if (typeof name === 'string' && values.some((v, i) => i > 0 && v !== values[i - 1])) moved.add(name);
  }
  return success([...moved].sort());
}

/** The first up target's own exposition, parsed; undefined when the watchdog cannot read it. */
async function exposition(ctx: ProbeContext, targets: ScrapeTarget[]) {
  const url = targets.find((t) => t.health === 'up' && t.scrapeUrl)?.scrapeUrl;
  if (!url) return undefined;
  const res = await attempt(() => ctx.http.request(url, { signal: ctx.signal, maxBytes: 8 * 1024 * 1024 }));
  if (!res.ok || res.value.status !== 200) return undefined;
  return { url, text: parseExposition(res.value.body) };
}
