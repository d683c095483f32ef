// Shared by the Tempo kinds (tempo_search, tempo_ready, otlp_canary): one way to call Tempo's HTTP
// API, and hints that name Tempo's container and ports instead of "the target".
// https://grafana.com/docs/tempo/latest/api_docs/
import type { HttpRequest, HttpResponse } from '../net/http.js';
import type { Attempt, ProbeContext } from './types.js';
import { joinUrl } from '../util/url.js';
import { attempt, failed, failure, fetchJson, httpReasons, success, type HttpReason, type JsonAnswer } from './common.js';
import { snippet } from '../util/text.js';

/** service.name of the otlp_canary kind's spans by default: the watchdog's own traffic, not the app's. */
export const canaryService = 'stack-watchdog-canary';

export const notTempoHint = "Something other than Tempo's API answered (a proxy, Grafana, another service on that port?): point the URL at Tempo's HTTP port (3200) with no extra path.";

/** What a call into Tempo's API may fail with, with hints that name Tempo: every Tempo kind declares these. */
export const tempoReasons = {
  ...httpReasons,
  connect:
    "Nothing accepts connections on Tempo's HTTP port: check the container (docker ps -a | grep mystocks-tempo, docker logs mystocks-tempo) and that the URL uses server.http_listen_port (3200 by default).",
  timeout:
    'Tempo accepted the request but did not answer in time: it may be overloaded or near its memory limit (docker stats mystocks-tempo), or a query is scanning too much of the backend; docker logs mystocks-tempo says which.',
  reset: 'Tempo closed the connection mid-request: it may be restarting or OOM-killed at its memory limit (docker inspect mystocks-tempo --format "{{.State.OOMKilled}}", docker logs mystocks-tempo).',
  http_status: 'Tempo answered with an error: the body above says why, and docker logs mystocks-tempo has the rest.',
  invalid_response: notTempoHint,
} as const;
export type TempoReason = HttpReason;

/** Replaces a generic hint by Tempo's own. */
function withTempoHint<T, R extends TempoReason>(a: Attempt<T, R>): Attempt<T, R> {
  if (a.ok) return a;
  return failure({ ...a.outcome, hint: tempoReasons[a.outcome.reason as R] });
}

/** One request to Tempo; transport failures come back as outcomes with Tempo's hints. */
export async function tempoRequest(ctx: ProbeContext, url: string, opts: Omit<HttpRequest, 'signal'> = {}, signal = ctx.signal): Promise<Attempt<HttpResponse, TempoReason>> {
  return withTempoHint(await attempt(() => ctx.http.request(url, { maxBytes: 4 * 1024 * 1024, ...opts, signal })));
}

/** A JSON answer from Tempo; non-2xx, non-JSON and transport failures come back as outcomes. */
export async function tempoJson(ctx: ProbeContext, url: string, headers: Record<string, string> = {}): Promise<Attempt<JsonAnswer, TempoReason>> {
  return withTempoHint(await fetchJson(ctx, url, { headers: { accept: 'application/json', ...headers }, maxBytes: 4 * 1024 * 1024 }));
}

/** A plain-text page of Tempo's (/metrics, the /status tables); a non-200 answer is http_status. */
export async function tempoText(ctx: ProbeContext, url: string, headers: Record<string, string> = {}): Promise<Attempt<string, TempoReason>> {
  const res = await tempoRequest(ctx, url, { headers });
  if (!res.ok) return res;
  if (res.value.status !== 200) return failure(failed('http_status', `${url} answered HTTP ${res.value.status}: ${snippet(res.value.body)}`, tempoReasons.http_status));
  return success(res.value.body);
}

/** The X-Scope-OrgID header of a multi-tenant Tempo, or none. */
export function tenantHeaders(tenant: string | undefined): Record<string, string> {
  return tenant ? { 'x-scope-orgid': tenant } : {};
}

/**
 * Tempo's version from /api/status/buildinfo as [major, minor], or undefined when it does not say
 * (an old release, a proxy): callers then use what every 2.x supports. A Tempo that cannot be
 * reached at all is a failed attempt, with Tempo's hints.
 */
export async function tempoVersion(ctx: ProbeContext, base: string, headers: Record<string, string> = {}): Promise<Attempt<[number, number] | undefined, TempoReason>> {
  const ans = await tempoJson(ctx, joinUrl(base, '/api/status/buildinfo'), headers);
  if (!ans.ok) return ['http_status', 'invalid_response'].includes(ans.outcome.reason) ? success(undefined) : ans;
  const version = (ans.value.json as { version?: unknown } | null)?.version;
  const m = typeof version === 'string' ? /^v?(\d+)\.(\d+)/.exec(version) : null;
  return success(m ? [Number(m[1]), Number(m[2])] : undefined);
}

/**
 * Tempo's major version, or undefined when it cannot be told (no buildinfo, no answer in time). For
 * wording only: it never fails a probe, so a caller may ask on its failure path with what time is left.
 */
export async function tempoMajor(ctx: ProbeContext, base: string, headers: Record<string, string>, signal: AbortSignal): Promise<number | undefined> {
  const v = await tempoVersion({ ...ctx, signal }, base, headers);
  return v.ok ? v.value?.[0] : undefined;
}

/** What holds the newest traces, named as the Tempo that answers names it, for hints. */
export interface RecentStore {
  /** The module: ingester, live-store, or both when the version is not known. */
  module: string;
  /** "the ingester's" and so on, for "read ... side". */
  whose: string;
  /** Its ring page on Tempo's HTTP port. */
  ring: string;
  /** The settings that decide when its traces become queryable. */
  settings: string;
  /** For docker logs ... | grep -i "...". */
  grep: string;
}

/**
 * Tempo 2 keeps the newest traces in the ingester (/ingester/ring); Tempo 3 has no ingester and keeps
 * them in the live-store (/live-store/ring, settings under live_store:). Unknown: both, each named.
 */
export function recentStore(major: number | undefined): RecentStore {
  const v2: RecentStore = { module: 'ingester', whose: "the ingester's", ring: '/ingester/ring', settings: 'ingester.max_block_duration and ingester.trace_idle_period', grep: 'ingester' };
  const v3: RecentStore = { module: 'live-store', whose: "the live-store's", ring: '/live-store/ring', settings: 'live_store.max_block_duration and live_store.max_trace_idle', grep: 'live-store' };
  if (major === undefined) {
    return {
      module: `${v2.module} (Tempo 2) or ${v3.module} (Tempo 3)`,
      whose: `${v2.whose} (Tempo 2) or ${v3.whose} (Tempo 3)`,
      ring: `${v2.ring} (Tempo 2) or ${v3.ring} (Tempo 3)`,
      settings: `${v2.settings} (Tempo 2) or ${v3.settings} (Tempo 3)`,
      grep: `${v2.grep}\\|${v3.grep}`,
    };
  }
  return major >= 3 ? v3 : v2;
}
