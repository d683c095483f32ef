// kind: tempo_search — are traces of a service arriving in Tempo, and recently?
// The guide's `curl .../api/search?tags=service.name=X | jq '.traces | length'` has no start/end, and
// without them Tempo searches whatever its ingesters still hold, so it "passes" on traces hours
// old. This kind always sends an explicit window and judges the newest trace's age on its own.
// It searches with TraceQL, `{ resource.service.name = "X" }`, an exact match (the `tags` search
// matches substrings, so mystocks-backend would also count mystocks-backend-worker). Tempo answers
// the first N traces it finds, not the newest N; from 2.8 `with (most_recent=true)` asks for the
// newest, so the version is read from /api/status/buildinfo and older releases get a second search
// of the maxAge span instead.
import { Type } from '@sinclair/typebox';
import { Duration, HttpUrl } from '../core/fields.js';
import { formatDuration, formatSeconds, iso } from '../util/format.js';
import { capped, levenshtein, snippet } from '../util/text.js';
import { joinUrl } from '../util/url.js';
import { defineProber } from './define.js';
import type { Attempt, ProbeContext, ProbeOutcome } from './types.js';
import { asRecord, failed, failure, passed, success } from './common.js';
import { parseExposition } from '../util/promText.js';
import { canaryService, notTempoHint, tempoJson, tempoReasons, tempoRequest, tempoText, tempoVersion, tenantHeaders, type TempoReason } from './tempoApi.js';

/** Tempo's own default page size for /api/search. */
const DEFAULT_LIMIT = 20;

interface SearchHit {
  traceID: string;
  startMs: number;
  rootServiceName?: string;
  rootTraceName?: string;
}

const AGE_GAUGE = 'watchdog_tempo_newest_trace_age_seconds';

const nothingReceivedHint =
  "No app sends traces to Tempo at all, so this is not about a service name. Check the app's tracer: is the OpenTelemetry SDK set up when the app starts (a TracerProvider with an OTLP exporter, " +
  'installed before the first request, and the web framework instrumented)? Is the exporter endpoint reachable from where the app runs (tempo:4317 resolves only inside the compose network; an app on the host needs localhost:4317)? ' +
  'Its logs say whether export fails ("Failed to export", "StatusCode.UNAVAILABLE"). ' +
  'MyStocks as published (chengjon/mystocks, 2026-08-09): web/backend/app/core/logging/tracing.py builds the provider in setup_telemetry(), which runs only on the first get_tracer(), get_tracing_client() or trace_operation() call, ' +
  'and nothing in the backend calls them or adds its TracingMiddleware, so no span is ever made; call setup_telemetry() at startup and add the middleware (or FastAPIInstrumentor). ' +
  'That exporter is also hard-coded to http://tempo:4317 (OTEL_EXPORTER_OTLP_ENDPOINT is not read), which a backend running on the host cannot resolve, and names the service mystocks-api.';

const tooFewHint =
  'Traces arrive, but fewer than expected: the sampler keeps only a share of requests (OTEL_TRACES_SAMPLER_ARG=0.1 keeps 1 in 10, so little traffic gives few traces). Raise the ratio, widen window, or lower minTraces.';

export const tempoSearchProber = defineProber({
  gauges: {
    [AGE_GAUGE]: { help: 'Age of the newest trace found by a tempo_search probe.', labelNames: ['probe', 'service'] },
  },
  reasons: {
    ...tempoReasons,
    absent: absentHint('the service'),
    nothing_received: nothingReceivedHint,
    stale: staleHint('the service'),
    too_few: tooFewHint,
  },
  fields: Type.Object({
    /** Tempo's HTTP API, e.g. http://tempo:3200. */
    tempo: HttpUrl,
    /** The resource attribute service.name to search for (the app's OTEL_SERVICE_NAME). */
    service: Type.String({ minLength: 1 }),
    /**
     * More attributes every counted trace must carry, as a mapping (`{ http.route: /api/orders }`);
     * they join service.name in the TraceQL filter as exact matches on span or resource attributes.
     */
    tags: Type.Optional(Type.Record(Type.String(), Type.String())),
    /** How far back to search (default 15m). */
    window: Type.Optional(Duration),
    /** Fewer traces than this in the window fails (default 1). */
    minTraces: Type.Optional(Type.Integer({ minimum: 1 })),
    /** The newest trace must have started within this (default 5m). */
    maxAge: Type.Optional(Duration),
    /** Traces asked for per search (default 20, Tempo's own default, and never below minTraces). */
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    /** X-Scope-OrgID, for a multi-tenant Tempo. */
    tenant: Type.Optional(Type.String({ minLength: 1 })),
    /** The watchdog's own canary service (otlp_canary's service): its traces are not the app's traffic. Default stack-watchdog-canary. */
    canaryService: Type.Optional(Type.String({ minLength: 1 })),
  }),
  decode(f, d) {
    for (const key of Object.keys(f.tags ?? {})) {
      if (key === 'service.name') d.problem('tags', 'service.name is set by the service field; remove it from tags');
      else if (!/^[^\s="]+$/.test(key)) d.problem('tags', `"${key}" is not a tag name (no spaces, "=" or quotes)`);
    }
    const minTraces = f.minTraces ?? 1;
    return {
      tempo: f.tempo,
      service: f.service,
      tags: f.tags ?? {},
      windowMs: d.duration('window', f.window ?? '15m'),
      maxAgeMs: d.duration('maxAge', f.maxAge ?? '5m'),
      minTraces,
      limit: f.limit ?? Math.max(DEFAULT_LIMIT, minTraces),
      limitGiven: f.limit !== undefined,
      headers: tenantHeaders(f.tenant),
      canaryService: f.canaryService ?? canaryService,
      // Built once here, not on every run: they depend on the fields only.
      filter: traceql(f.service, f.tags ?? {}),
      what: describeSearch(f.service, f.tags ?? {}),
    };
  },
  check(spec) {
    const problems = [];
    if (spec.maxAgeMs > spec.windowMs) {
      problems.push({
        field: 'maxAge',
        message: `${formatDuration(spec.maxAgeMs)} is longer than the window (${formatDuration(spec.windowMs)}): a trace that old is never searched for; widen window or shorten maxAge`,
      });
    }
    // Tempo 3 never shows search the newest 30 s (query_end_cutoff), and refuses a search longer
    // than 168h (max_duration): refuse both here, not at every run.
    if (spec.maxAgeMs < 60_000) {
      problems.push({ field: 'maxAge', message: `${formatDuration(spec.maxAgeMs)} is under 1m: Tempo does not show search the newest 30s of traces, so a healthy app would read stale` });
    }
    if (spec.windowMs > 168 * 3_600_000) {
      problems.push({ field: 'window', message: `${formatDuration(spec.windowMs)} is over 168h, the longest search Tempo allows by default (query_frontend.search.max_duration)` });
    }
    if (spec.limitGiven && spec.limit < spec.minTraces) {
      problems.push({ field: 'limit', message: `${spec.limit} is below minTraces (${spec.minTraces}): the search could never return enough traces` });
    }
    return problems;
  },
  async run(spec, ctx) {
    const { windowMs, maxAgeMs, minTraces, limit } = spec;
    const asked = await tempoVersion(ctx, spec.tempo, spec.headers);
    if (!asked.ok) return asked.outcome;
    const version = asked.value;
    const mostRecent = version !== undefined && (version[0] > 2 || (version[0] === 2 && version[1] >= 8));
    const { filter, what } = spec;
    const query = mostRecent ? `${filter} with (most_recent=true)` : filter;
    const now = ctx.now();

    const searched = await search(ctx, spec.tempo, query, now - windowMs, now, limit, spec.headers);
    if (!searched.ok) return searched.outcome;
    const found = searched.value;
    const windowText = formatDuration(windowMs);
    // Newest first: the first hit is the newest found.
    let [newest] = found;
    if (!newest) {
      const { names: known, from, all } = await serviceNames(ctx, spec.tempo, spec.service, spec.headers, now - windowMs, now);
      // Tempo said which services it has, and none is an app: nothing is sent at all, so the
      // did-you-mean below would have nothing to offer and a service name is not the thing to fix.
      if (from && all.every((name) => name === spec.canaryService)) {
        const spans = await receivedSpans(ctx, spec.tempo, spec.headers);
        const counted =
          spans === undefined
            ? ''
            : spans === 0
              ? '; its distributor has not received a single span since it started (tempo_distributor_spans_received_total)'
              : `; its distributor counted ${spans} span(s) since it started, the canary's included (tempo_distributor_spans_received_total)`;
        const canarySeen = all.length ? `only the watchdog's own canary (${spec.canaryService}) has traces` : 'no service has traces';
        return failed('nothing_received', `Tempo receives no trace from any app: ${canarySeen} in the last ${windowText}, so ${what} is not the only one missing${counted}`, undefined, {
          value: 0,
          details: { traces: 0, window: windowText, query, knownServices: all, knownServicesFrom: from, ...(spans === undefined ? {} : { distributorSpansReceived: spans }) },
        });
      }
      const others = known.length
        ? ` Tempo has traces of these services (look-alikes first): ${capped(known, ', ', 10)}. If one of them is the app, set TRACED_SERVICE (or this probe's service) to that name, or OTEL_SERVICE_NAME in the app.`
        : '';
      return failed('absent', `no trace of ${what} in the last ${windowText}`, absentHint(spec.service) + others, {
        value: 0,
        details: { traces: 0, window: windowText, query, knownServices: known.slice(0, 10), ...(from ? { knownServicesFrom: from } : {}) },
      });
    }

    let ageS = Math.max(0, (now - newest.startMs) / 1000);
    // Before 2.8 Tempo does not promise the newest traces when it cuts a search at `limit` (it
    // answers the first found), so before calling a full page stale, search the maxAge span alone.
    if (!mostRecent && ageS * 1000 > maxAgeMs && found.length >= limit) {
      const recent = await search(ctx, spec.tempo, filter, now - maxAgeMs, now, 1, spec.headers);
      if (!recent.ok) return recent.outcome;
      const [latest] = recent.value;
      if (latest) {
        newest = latest;
        ageS = Math.max(0, (now - newest.startMs) / 1000);
      }
    }

    const count = found.length;
    const details = {
      traces: count,
      window: windowText,
      query,
      newestBy: mostRecent ? 'most_recent' : 'first found',
      truncatedAtLimit: count >= limit,
      newestTraceId: newest.traceID,
      newestStartedAt: iso(newest.startMs),
      newestAgeSeconds: round(ageS),
      newestRootService: newest.rootServiceName,
      newestRootName: newest.rootTraceName,
    };
    const extra: Partial<ProbeOutcome<typeof AGE_GAUGE>> = {
      value: count,
      details,
      samples: [{ metric: AGE_GAUGE, labels: { probe: spec.name, service: spec.service }, value: round(ageS) }],
    };
    const counted = `${count}${count >= limit ? '+' : ''} trace(s) of ${what} in the last ${windowText}`;
    if (ageS * 1000 > maxAgeMs) {
      return failed('stale', `the newest trace of ${what} started ${formatSeconds(ageS * 1000)} ago, longer than maxAge ${formatDuration(maxAgeMs)} (${counted})`, staleHint(spec.service), extra);
    }
    if (count < minTraces) {
      return failed('too_few', `${counted}, fewer than minTraces ${minTraces}`, undefined, extra);
    }
    return passed(`${counted}, the newest started ${formatSeconds(ageS * 1000)} ago`, extra);
  },
});

/** GET /api/search?q= over [fromMs, toMs], newest first. */
async function search(ctx: ProbeContext, base: string, q: string, fromMs: number, toMs: number, limit: number, headers: Record<string, string>): Promise<Attempt<SearchHit[], TempoReason>> {
  // Tempo takes whole unix seconds and needs end > start; round outward so the edges are covered.
  const params = new URLSearchParams({ q, start: String(Math.floor(fromMs / 1000)), end: String(Math.ceil(toMs / 1000) + 1), limit: String(limit) });
  const url = `${joinUrl(base, '/api/search')}?${params}`;
  const ans = await tempoJson(ctx, url, headers);
  if (!ans.ok) return ans;
  const doc = ans.value.json as { traces?: unknown } | null;
  // Tempo's JSON leaves out an empty list: no "traces" key means nothing matched.
  const traces = doc && typeof doc === 'object' ? (doc.traces ?? []) : undefined;
  if (!Array.isArray(traces)) {
    return failure(failed('invalid_response', `${url} answered without a "traces" list: ${snippet(JSON.stringify(ans.value.json))}`, notTempoHint));
  }
  const hits: SearchHit[] = [];
  for (const t of traces as Record<string, unknown>[]) {
    const startNs = typeof t?.startTimeUnixNano === 'string' || typeof t?.startTimeUnixNano === 'number' ? String(t.startTimeUnixNano) : '';
    if (typeof t?.traceID !== 'string' || !/^\d+$/.test(startNs)) {
      return failure(failed('invalid_response', `a search result has no traceID or startTimeUnixNano: ${snippet(JSON.stringify(t))}`, notTempoHint));
    }
    hits.push({
      traceID: t.traceID,
      startMs: Number(BigInt(startNs) / 1_000_000n),
      rootServiceName: typeof t.rootServiceName === 'string' ? t.rootServiceName : undefined,
      rootTraceName: typeof t.rootTraceName === 'string' ? t.rootTraceName : undefined,
    });
  }
  return success(hits.sort((a, b) => b.startMs - a.startMs));
}

const TAG_VALUES_V1 = '/api/search/tag/service.name/values';
const TAG_VALUES_V2 = '/api/v2/search/tag/resource.service.name/values';

/** Spans Tempo's distributor counted since it started (all tenants), or undefined when /metrics does not say. */
async function receivedSpans(ctx: ProbeContext, base: string, headers: Record<string, string>): Promise<number | undefined> {
  const text = await tempoText(ctx, joinUrl(base, '/metrics'), headers);
  if (!text.ok) return undefined;
  const exp = parseExposition(text.value);
  // client_golang prints no series before the first span: a Tempo exposition without it has received none.
  if (!exp.family('tempo_build_info') && !exp.family('tempo_distributor_spans_received_total')) return undefined;
  return exp.sum('tempo_distributor_spans_received_total');
}

/** One tag-values answer: its status, and its tagValues (Tempo leaves an empty list out), or none. */
async function tagValues(ctx: ProbeContext, url: string, headers: Record<string, string>): Promise<{ status: number; values?: unknown[] }> {
  const res = await tempoRequest(ctx, url, { headers: { accept: 'application/json', ...headers } });
  if (!res.ok) return { status: 0 };
  const { status, body } = res.value;
  if (status !== 200) return { status };
  try {
    const values = (JSON.parse(body) as { tagValues?: unknown } | null)?.tagValues ?? [];
    return Array.isArray(values) ? { status, values } : { status };
  } catch {
    return { status };
  }
}

/**
 * The service names Tempo has traces for, look-alikes of `service` first; empty when Tempo does not
 * say. From /api/search/tag/service.name/values (strings), or where that form is not routed (404,
 * e.g. a proxy that passes /api/v2 only) from /api/v2/search/tag/resource.service.name/values,
 * whose values are {type, value}.
 */
async function serviceNames(
  ctx: ProbeContext,
  base: string,
  service: string,
  headers: Record<string, string>,
  fromMs: number,
  toMs: number,
): Promise<{ names: string[]; from?: string; all: string[] }> {
  // The search's window (Tempo 2.4+ reads start/end here; older releases answer from recent data).
  const window = `?${new URLSearchParams({ start: String(Math.floor(fromMs / 1000)), end: String(Math.ceil(toMs / 1000) + 1) })}`;
  let from = TAG_VALUES_V1;
  let answer = await tagValues(ctx, joinUrl(base, from) + window, headers);
  if (answer.status === 404) {
    from = TAG_VALUES_V2;
    answer = await tagValues(ctx, joinUrl(base, from) + window, headers);
  }
  if (!answer.values) return { names: [], all: [] };
  const texts = answer.values.map((v) => (typeof v === 'string' ? v : typeof asRecord(v)?.value === 'string' ? String(asRecord(v)!.value) : undefined));
  const all = texts.filter((v): v is string => v !== undefined && v !== '');
  const names = all.filter((v) => v !== service);
  const want = service.toLowerCase();
  const stem = want.split(/[-_.]/)[0] ?? want;
  const score = (name: string): number => {
    const n = name.toLowerCase();
    if (n.includes(want) || want.includes(n)) return 0;
    if (stem.length > 2 && n.startsWith(stem)) return 1;
    return 2 + levenshtein(want, n) / Math.max(want.length, n.length);
  };
  const sorted = names
    .map((name) => ({ name, s: score(name) }))
    .sort((a, b) => a.s - b.s || a.name.localeCompare(b.name))
    .map((x) => x.name);
  return { names: sorted, from, all };
}

function staleHint(service: string): string {
  return `${service} exported traces before and then stopped: check that the app is running and taking requests (docker compose ps, its logs for OpenTelemetry "Failed to export" errors), and whether Tempo's distributor still receives spans: docker logs mystocks-tempo | grep -i "received\\|processed".`;
}

function absentHint(service: string): string {
  return (
    `No trace of ${service} reached Tempo in the window. Check, in order: the app's OTEL_EXPORTER_OTLP_ENDPOINT points at Tempo (tempo:4317 for gRPC, http://tempo:4318 for HTTP) and OTEL_SERVICE_NAME is "${service}"; ` +
    'the sampler ratio (OTEL_TRACES_SAMPLER_ARG=0.1 keeps 1 request in 10, so little traffic gives few traces); ' +
    'and whether Tempo\'s distributor receives anything: docker logs mystocks-tempo | grep -i "received\\|processed".'
  );
}

/** `{ resource.service.name = "X" && .k = "v" }`: exact matches, values as TraceQL strings. */
export function traceql(service: string, tags: Record<string, string>): string {
  const conds = [`resource.service.name = ${JSON.stringify(service)}`, ...Object.entries(tags).map(([k, v]) => `.${k} = ${JSON.stringify(v)}`)];
  return `{ ${conds.join(' && ')} }`;
}

function describeSearch(service: string, tags: Record<string, string>): string {
  const extra = Object.entries(tags).map(([k, v]) => `${k}=${v}`);
  return `"${service}"${extra.length ? ` with ${extra.join(', ')}` : ''}`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
