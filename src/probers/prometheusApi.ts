// Shared by the prometheus_* kinds: one call into Prometheus's HTTP API, its envelope unwrapped.
// https://prometheus.io/docs/prometheus/latest/querying/api/#format-overview
import { joinUrl } from '../util/url.js';
import type { Attempt, ProbeContext } from './types.js';
import { asRecord, failed, failure, fetchJson, success } from './common.js';

export const prometheusDownHint =
  'Prometheus does not answer: check its container (docker ps -a, docker logs mystocks-prometheus); an OOM kill at its memory limit or a bad config after a reload are the usual causes.';

export const notPrometheusHint = 'Check that the URL points at Prometheus itself (not Grafana or a proxy) and has no extra path.';

/** `data` of a successful answer, or the outcome (transport, HTTP status, `query_error`). */
export async function prometheusApi(ctx: ProbeContext, base: string, path: string, params: Record<string, string> = {}): Promise<Attempt<unknown>> {
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
    return failure(failed('query_error', `Prometheus rejected ${path}: ${type}: ${error}`.trim(), 'Fix the expression (promtool or the Prometheus UI show where it breaks) and reload the watchdog.'));
  }
  return failure(failed('invalid_response', `${url} answered without a Prometheus API envelope`, notPrometheusHint));
}
