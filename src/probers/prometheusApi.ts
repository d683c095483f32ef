// Shared by the kinds that read Prometheus: one call into its HTTP API, its envelope unwrapped; the
// metric names it has, and the ones among them that look like a name it lacks.
// https://prometheus.io/docs/prometheus/latest/querying/api/#format-overview
import { levenshtein } from '../util/text.js';
import { joinUrl } from '../util/url.js';
import type { Attempt, ProbeContext } from './types.js';
import { asRecord, failed, failure, fetchJson, success, systemReasons } from './common.js';

export const prometheusDownHint =
  'Prometheus does not answer: check its container (docker ps -a, docker logs mystocks-prometheus); an OOM kill at its memory limit or a bad config after a reload are the usual causes.';

export const notPrometheusHint = 'Check that the URL points at Prometheus itself (not Grafana or a proxy) and has no extra path.';

const queryErrorHint = 'Fix the expression (promtool or the Prometheus UI show where it breaks) and reload the watchdog.';

/** What a call into Prometheus's API may fail with: every kind that reads Prometheus declares these. */
export const prometheusReasons = {
  // A name that does not resolve keeps the generic hint (the compose service name), not "Prometheus does not answer".
  ...systemReasons({ down: prometheusDownHint, invalid: notPrometheusHint }),
  query_error: queryErrorHint,
} as const;
export type PrometheusReason = keyof typeof prometheusReasons;

/** `data` of a successful answer, or the outcome (transport, HTTP status, `query_error`). */
export async function prometheusApi(ctx: ProbeContext, base: string, path: string, params: Record<string, string> = {}): Promise<Attempt<unknown, PrometheusReason>> {
  const qs = new URLSearchParams(params).toString();
  const url = joinUrl(base, path) + (qs ? `?${qs}` : '');
  // 400/422/503 carry a JSON error that says more than the status code, so parse them too.
  const ans = await fetchJson(ctx, url, { hint: prometheusDownHint, acceptStatus: (s) => s < 300 || s === 400 || s === 422 || s === 503 });
  if (!ans.ok) return ans;
  const env = asRecord(ans.value.json);
  if (env?.status === 'success') return success(env.data);
  if (env?.status === 'error') {
    const type = typeof env.errorType === 'string' ? env.errorType : 'error';
    const error = typeof env.error === 'string' ? env.error : '';
    // The parser's own words in details too, for kinds that quote them (stack_config's rules_invalid).
    return failure(failed('query_error', `Prometheus rejected ${path}: ${type}: ${error}`.trim(), queryErrorHint, { details: { errorType: type, error } }));
  }
  return failure(failed('invalid_response', `${url} answered without a Prometheus API envelope`, notPrometheusHint));
}

/** Every metric name Prometheus holds (/api/v1/label/__name__/values). */
export async function metricNames(ctx: ProbeContext, base: string): Promise<Attempt<string[], PrometheusReason>> {
  const known = await prometheusApi(ctx, base, '/api/v1/label/__name__/values');
  if (!known.ok) return known;
  if (!Array.isArray(known.value)) return failure(failed('invalid_response', 'the answer of /api/v1/label/__name__/values is not a list of names', notPrometheusHint));
  return success(known.value.filter((n): n is string => typeof n === 'string'));
}

/** Up to `n` known names closest to the wanted ones (shared name parts first, then edit distance). */
export function suggest(wanted: string[], known: string[], n: number): string[] {
  const scored = known.map((k) => ({ k, score: Math.max(...wanted.map((w) => similarity(w, k))) }));
  return scored
    .filter((s) => s.score > 0.3)
    .sort((a, b) => b.score - a.score || a.k.localeCompare(b.k))
    .slice(0, n)
    .map((s) => s.k);
}

function similarity(a: string, b: string): number {
  const pa = new Set(a.split(/[_:]/).filter((p) => p.length > 2));
  const pb = new Set(b.split(/[_:]/).filter((p) => p.length > 2));
  const shared = [...pa].filter((p) => pb.has(p)).length;
  const parts = shared / Math.max(1, Math.min(pa.size, pb.size));
  const edit = 1 - levenshtein(a, b) / Math.max(a.length, b.length);
  return 0.6 * parts + 0.4 * edit;
}

/** One active target as /api/v1/targets lists it. */
export interface ScrapeTarget {
  scrapePool?: string;
  scrapeUrl?: string;
  labels?: Record<string, string>;
  health?: string;
  lastError?: string;
  lastScrape?: string;
  /** Prometheus 2.x lists it per target (e.g. "15s"). */
  scrapeInterval?: string;
}

/**
 * The active targets of one job. Relabelling may rewrite the job label away from the scrape pool's
 * name: either one identifies the job. Also every job with targets, for a message when none matches.
 */
export async function jobTargets(ctx: ProbeContext, base: string, job: string): Promise<Attempt<{ targets: ScrapeTarget[]; jobs: string[] }, PrometheusReason>> {
  const data = await prometheusApi(ctx, base, '/api/v1/targets', { state: 'active' });
  if (!data.ok) return data;
  const active = asRecord(data.value)?.activeTargets;
  if (!Array.isArray(active)) return failure(failed('invalid_response', 'the answer of /api/v1/targets has no data.activeTargets list', notPrometheusHint));
  const all = active.map((t) => (asRecord(t) ?? {}) as ScrapeTarget);
  const jobs = [...new Set(all.map((t) => t.labels?.job ?? t.scrapePool).filter((j): j is string => Boolean(j)))];
  return success({ targets: all.filter((t) => t.labels?.job === job || t.scrapePool === job), jobs });
}

/** What a job's targets declare (`# TYPE`/`# HELP`), by metric name: /api/v1/targets/metadata. */
export async function jobMetadata(ctx: ProbeContext, base: string, job: string): Promise<Attempt<Map<string, { type: string; help: string }>, PrometheusReason>> {
  const data = await prometheusApi(ctx, base, '/api/v1/targets/metadata', { match_target: `{job=${JSON.stringify(job)}}` });
  if (!data.ok) return data;
  if (!Array.isArray(data.value)) return failure(failed('invalid_response', 'the answer of /api/v1/targets/metadata is not a list', notPrometheusHint));
  const out = new Map<string, { type: string; help: string }>();
  for (const item of data.value) {
    const m = asRecord(item);
    if (typeof m?.metric === 'string') out.set(m.metric, { type: typeof m.type === 'string' ? m.type : 'unknown', help: typeof m.help === 'string' ? m.help : '' });
  }
  return success(out);
}
