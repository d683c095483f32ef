// Shared by the Tempo kinds (tempo_search, tempo_ready, otlp_canary): field shapes, one way to call
// Tempo's HTTP API, and hints that name Tempo's container and ports instead of "the target".
// https://grafana.com/docs/tempo/latest/api_docs/
import { Type } from '@sinclair/typebox';
import type { HttpRequest, HttpResponse } from '../net/http.js';
import type { ProbeContext, ProbeOutcome, SpecError } from './types.js';
import { fetchJson, isOutcome, orTransportFailure, type JsonAnswer } from './common.js';
import { parseDuration } from '../config/duration.js';

export const TempoUrl = Type.String({ pattern: '^https?://', errorMessage: 'expected an http:// or https:// URL' });
export const TempoDuration = Type.String({ errorMessage: 'expected a duration such as "500ms", "30s", "5m" or "1h"' });

/** Milliseconds of a duration field, or the config error that names it. */
export function durationField(field: string, text: string): number | SpecError {
  const ms = parseDuration(text);
  return ms === undefined ? { field, message: `expected a duration such as "500ms", "30s", "5m" or "1h", got "${text}"` } : ms;
}

export const notTempoHint = 'Something other than Tempo\'s API answered (a proxy, Grafana, another service on that port?): point the URL at Tempo\'s HTTP port (3200) with no extra path.';

const tempoHints: Record<string, string> = {
  connect: 'Nothing accepts connections on Tempo\'s HTTP port: check the container (docker ps -a | grep mystocks-tempo, docker logs mystocks-tempo) and that the URL uses server.http_listen_port (3200 by default).',
  timeout: 'Tempo accepted the request but did not answer in time: it may be overloaded or near its memory limit (docker stats mystocks-tempo), or a query is scanning too much of the backend; docker logs mystocks-tempo says which.',
  reset: 'Tempo closed the connection mid-request: it may be restarting or OOM-killed at its memory limit (docker inspect mystocks-tempo --format "{{.State.OOMKilled}}", docker logs mystocks-tempo).',
  http_status: 'Tempo answered with an error: the body above says why, and docker logs mystocks-tempo has the rest.',
  invalid_response: notTempoHint,
};

/** Replaces a generic hint by Tempo's own where there is one. */
export function withTempoHint(o: ProbeOutcome): ProbeOutcome {
  const hint = tempoHints[o.reason];
  return hint ? { ...o, hint } : o;
}

/** One request to Tempo; transport failures come back as outcomes with Tempo's hints. */
export async function tempoRequest(ctx: ProbeContext, url: string, opts: Omit<HttpRequest, 'signal'> = {}, signal = ctx.signal): Promise<HttpResponse | ProbeOutcome> {
  const res = await orTransportFailure(() => ctx.http.request(url, { maxBytes: 4 * 1024 * 1024, ...opts, signal }));
  return isOutcome(res) ? withTempoHint(res) : res;
}

/** A JSON answer from Tempo; non-2xx, non-JSON and transport failures come back as outcomes. */
export async function tempoJson(ctx: ProbeContext, url: string): Promise<JsonAnswer | ProbeOutcome> {
  const ans = await fetchJson(ctx, url, { headers: { accept: 'application/json' }, maxBytes: 4 * 1024 * 1024 });
  return isOutcome(ans) ? withTempoHint(ans) : ans;
}
