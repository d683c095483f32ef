// Shared by the prometheus_* kinds: one call into Prometheus's HTTP API, its envelope unwrapped.
// https://prometheus.io/docs/prometheus/latest/querying/api/#format-overview
import type { ProbeContext, ProbeOutcome } from './types.js';
import { failed, fetchJson, isOutcome, joinUrl } from './common.js';

interface Envelope {
  status?: string;
  data?: unknown;
  errorType?: string;
  error?: string;
}

export const prometheusDownHint =
  'Prometheus does not answer: check its container (docker ps -a, docker logs mystocks-prometheus); an OOM kill at its memory limit or a bad config after a reload are the usual causes.';

/** `data` of a successful answer, or an outcome (transport, HTTP status, `query_error`). */
export async function prometheusApi(ctx: ProbeContext, base: string, path: string, params: Record<string, string> = {}): Promise<unknown | ProbeOutcome> {
  const qs = new URLSearchParams(params).toString();
  const url = joinUrl(base, path) + (qs ? `?${qs}` : '');
  // 400/422/503 carry a JSON error that says more than the status code, so parse them too.
  const ans = await fetchJson(ctx, url, { hint: prometheusDownHint, acceptStatus: (s) => s < 300 || s === 400 || s === 422 || s === 503 });
  if (isOutcome(ans)) return ans;
  const env = ans.json as Envelope;
  if (env?.status === 'success') return env.data;
  if (env?.status === 'error') {
    return failed('query_error', `Prometheus rejected ${path}: ${env.errorType ?? 'error'}: ${env.error ?? ''}`.trim(), 'Fix the expression (promtool or the Prometheus UI show where it breaks) and reload the watchdog.');
  }
  return failed('invalid_response', `${url} answered without a Prometheus API envelope`, 'Check that the URL points at Prometheus itself (not Grafana or a proxy) and has no extra path.');
}
