// Shared by the Tempo kinds (tempo_search, tempo_ready, otlp_canary): one way to call Tempo's HTTP
// API, and hints that name Tempo's container and ports instead of "the target".
// https://grafana.com/docs/tempo/latest/api_docs/
import type { HttpRequest, HttpResponse } from '../net/http.js';
import type { Attempt, ProbeContext, ProbeOutcome } from './types.js';
import { attempt, failure, fetchJson, type JsonAnswer } from './common.js';

export const notTempoHint = 'Something other than Tempo\'s API answered (a proxy, Grafana, another service on that port?): point the URL at Tempo\'s HTTP port (3200) with no extra path.';

const tempoHints: Record<string, string> = {
  connect: 'Nothing accepts connections on Tempo\'s HTTP port: check the container (docker ps -a | grep mystocks-tempo, docker logs mystocks-tempo) and that the URL uses server.http_listen_port (3200 by default).',
  timeout: 'Tempo accepted the request but did not answer in time: it may be overloaded or near its memory limit (docker stats mystocks-tempo), or a query is scanning too much of the backend; docker logs mystocks-tempo says which.',
  reset: 'Tempo closed the connection mid-request: it may be restarting or OOM-killed at its memory limit (docker inspect mystocks-tempo --format "{{.State.OOMKilled}}", docker logs mystocks-tempo).',
  http_status: 'Tempo answered with an error: the body above says why, and docker logs mystocks-tempo has the rest.',
  invalid_response: notTempoHint,
};

/** Replaces a generic hint by Tempo's own where there is one. */
function withTempoHint<T>(a: Attempt<T>): Attempt<T> {
  if (a.ok) return a;
  const hint: string | undefined = tempoHints[a.outcome.reason];
  const outcome: ProbeOutcome = hint ? { ...a.outcome, hint } : a.outcome;
  return failure(outcome);
}

/** One request to Tempo; transport failures come back as outcomes with Tempo's hints. */
export async function tempoRequest(ctx: ProbeContext, url: string, opts: Omit<HttpRequest, 'signal'> = {}, signal = ctx.signal): Promise<Attempt<HttpResponse>> {
  return withTempoHint(await attempt(() => ctx.http.request(url, { maxBytes: 4 * 1024 * 1024, ...opts, signal })));
}

/** A JSON answer from Tempo; non-2xx, non-JSON and transport failures come back as outcomes. */
export async function tempoJson(ctx: ProbeContext, url: string): Promise<Attempt<JsonAnswer>> {
  return withTempoHint(await fetchJson(ctx, url, { headers: { accept: 'application/json' }, maxBytes: 4 * 1024 * 1024 }));
}
