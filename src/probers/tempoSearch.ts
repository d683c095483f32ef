// kind: tempo_search — are traces of a service arriving in Tempo, and recently?
// The guide's `curl .../api/search?tags=service.name=X | jq '.traces | length'` has no start/end, and
// without them Tempo searches whatever its ingesters still hold, so it "passes" on traces hours
// old. This kind always sends an explicit window and judges the newest trace's age on its own.
import { Type } from '@sinclair/typebox';
import { defineProber, type ProbeContext, type ProbeOutcome } from './types.js';
import { failed, isOutcome, joinUrl, passed, snippet } from './common.js';
import { durationField, notTempoHint, TempoDuration, tempoJson, TempoUrl } from './tempoApi.js';
import { formatDuration } from '../config/duration.js';

/** Tempo's own default page size for /api/search. */
const DEFAULT_LIMIT = 20;

interface SearchHit {
  traceID: string;
  startMs: number;
  rootServiceName?: string;
  rootTraceName?: string;
}

export const tempoSearchProber = defineProber({
  fields: Type.Object({
    /** Tempo's HTTP API, e.g. http://tempo:3200. */
    tempo: TempoUrl,
    /** The resource attribute service.name to search for (the app's OTEL_SERVICE_NAME). */
    service: Type.String({ minLength: 1 }),
    /**
     * More attributes every counted trace must carry, as a mapping (`{ http.route: /api/orders }`);
     * they join service.name in Tempo's logfmt `tags` parameter.
     */
    tags: Type.Optional(Type.Record(Type.String(), Type.String())),
    /** How far back to search (default 15m). */
    window: Type.Optional(TempoDuration),
    /** Fewer traces than this in the window fails (default 1). */
    minTraces: Type.Optional(Type.Integer({ minimum: 1 })),
    /** The newest trace must have started within this (default 5m). */
    maxAge: Type.Optional(TempoDuration),
    /** Traces asked for per search (default 20, Tempo's own default, and never below minTraces). */
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  }),
  check(spec) {
    const window = durationField('window', spec.window ?? '15m');
    if (typeof window !== 'number') return window;
    const maxAge = durationField('maxAge', spec.maxAge ?? '5m');
    if (typeof maxAge !== 'number') return maxAge;
    if (maxAge > window) {
      return { field: 'maxAge', message: `${formatDuration(maxAge)} is longer than the window (${formatDuration(window)}): a trace that old is never searched for; widen window or shorten maxAge` };
    }
    if (spec.limit !== undefined && spec.limit < (spec.minTraces ?? 1)) {
      return { field: 'limit', message: `${spec.limit} is below minTraces (${spec.minTraces}): the search could never return enough traces` };
    }
    for (const key of Object.keys(spec.tags ?? {})) {
      if (key === 'service.name') return { field: 'tags', message: 'service.name is set by the service field; remove it from tags' };
      if (!/^[^\s="]+$/.test(key)) return { field: 'tags', message: `"${key}" is not a tag name (no spaces, "=" or quotes)` };
    }
    return undefined;
  },
  async run(spec, ctx) {
    const windowMs = durationField('window', spec.window ?? '15m') as number;
    const maxAgeMs = durationField('maxAge', spec.maxAge ?? '5m') as number;
    const minTraces = spec.minTraces ?? 1;
    const limit = spec.limit ?? Math.max(DEFAULT_LIMIT, minTraces);
    const tags = logfmt({ 'service.name': spec.service, ...spec.tags });
    const now = ctx.now();

    const found = await search(ctx, spec.tempo, tags, now - windowMs, now, limit);
    if (isOutcome(found)) return found;
    const what = describeSearch(spec.service, spec.tags);
    const windowText = formatDuration(windowMs);
    if (found.length === 0) {
      return failed('absent', `no trace of ${what} in the last ${windowText}`, absentHint(spec.service), { value: 0, details: { traces: 0, window: windowText, tags } });
    }

    let newest = found.reduce((a, b) => (b.startMs > a.startMs ? b : a));
    let ageS = Math.max(0, (now - newest.startMs) / 1000);
    // Tempo does not promise the newest traces when it cuts a search at `limit` (blocks are read in
    // no particular order), so before calling a full page stale, search the maxAge span alone.
    if (ageS * 1000 > maxAgeMs && found.length >= limit) {
      const recent = await search(ctx, spec.tempo, tags, now - maxAgeMs, now, 1);
      if (isOutcome(recent)) return recent;
      if (recent[0]) {
        newest = recent[0];
        ageS = Math.max(0, (now - newest.startMs) / 1000);
      }
    }

    const count = found.length;
    const details = {
      traces: count,
      window: windowText,
      tags,
      truncatedAtLimit: count >= limit,
      newestTraceId: newest.traceID,
      newestStartedAt: new Date(newest.startMs).toISOString(),
      newestAgeSeconds: round(ageS),
      newestRootService: newest.rootServiceName,
      newestRootName: newest.rootTraceName,
    };
    const extra: Partial<ProbeOutcome> = {
      value: count,
      details,
      samples: [{ metric: 'watchdog_tempo_newest_trace_age_seconds', labels: { probe: spec.name, service: spec.service }, value: round(ageS) }],
    };
    const counted = `${count}${count >= limit ? '+' : ''} trace(s) of ${what} in the last ${windowText}`;
    if (ageS * 1000 > maxAgeMs) {
      return failed(
        'stale',
        `the newest trace of ${what} started ${ago(ageS)} ago, longer than maxAge ${formatDuration(maxAgeMs)} (${counted})`,
        `${spec.service} exported traces before and then stopped: check that the app is running and taking requests (docker compose ps, its logs for OpenTelemetry "Failed to export" errors), and whether Tempo's distributor still receives spans: docker logs mystocks-tempo | grep -i "received\\|processed".`,
        extra,
      );
    }
    if (count < minTraces) {
      return failed(
        'too_few',
        `${counted}, fewer than minTraces ${minTraces}`,
        'Traces arrive, but fewer than expected: the sampler keeps only a share of requests (OTEL_TRACES_SAMPLER_ARG=0.1 keeps 1 in 10, so little traffic gives few traces). Raise the ratio, widen window, or lower minTraces.',
        extra,
      );
    }
    return passed(`${counted}, the newest started ${ago(ageS)} ago`, extra);
  },
});

/** GET /api/search over [fromMs, toMs], newest first. */
async function search(ctx: ProbeContext, base: string, tags: string, fromMs: number, toMs: number, limit: number): Promise<SearchHit[] | ProbeOutcome> {
  // Tempo takes whole unix seconds and needs end > start; round outward so the edges are covered.
  const params = new URLSearchParams({ tags, start: String(Math.floor(fromMs / 1000)), end: String(Math.ceil(toMs / 1000) + 1), limit: String(limit) });
  const url = `${joinUrl(base, '/api/search')}?${params}`;
  const ans = await tempoJson(ctx, url);
  if (isOutcome(ans)) return ans;
  const doc = ans.json as { traces?: unknown } | null;
  // Tempo's JSON leaves out an empty list: no "traces" key means nothing matched.
  const traces = doc && typeof doc === 'object' ? (doc.traces ?? []) : undefined;
  if (!Array.isArray(traces)) {
    return failed('invalid_response', `${url} answered without a "traces" list: ${snippet(JSON.stringify(ans.json))}`, notTempoHint);
  }
  const hits: SearchHit[] = [];
  for (const t of traces as Record<string, unknown>[]) {
    const startNs = typeof t?.startTimeUnixNano === 'string' || typeof t?.startTimeUnixNano === 'number' ? String(t.startTimeUnixNano) : '';
    if (typeof t?.traceID !== 'string' || !/^\d+$/.test(startNs)) {
      return failed('invalid_response', `a search result has no traceID or startTimeUnixNano: ${snippet(JSON.stringify(t))}`, notTempoHint);
    }
    hits.push({
      traceID: t.traceID,
      startMs: Number(BigInt(startNs) / 1_000_000n),
      rootServiceName: typeof t.rootServiceName === 'string' ? t.rootServiceName : undefined,
      rootTraceName: typeof t.rootTraceName === 'string' ? t.rootTraceName : undefined,
    });
  }
  return hits.sort((a, b) => b.startMs - a.startMs);
}

function absentHint(service: string): string {
  return (
    `No trace of ${service} reached Tempo in the window. Check, in order: the app's OTEL_EXPORTER_OTLP_ENDPOINT points at Tempo (tempo:4317 for gRPC, http://tempo:4318 for HTTP) and OTEL_SERVICE_NAME is "${service}"; ` +
    'the sampler ratio (OTEL_TRACES_SAMPLER_ARG=0.1 keeps 1 request in 10, so little traffic gives few traces); ' +
    'and whether Tempo\'s distributor receives anything: docker logs mystocks-tempo | grep -i "received\\|processed".'
  );
}

/** go-logfmt as Tempo parses `tags`: quote values that hold spaces, "=", quotes or nothing. */
export function logfmt(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([k, v]) => `${k}=${v === '' || /[\s="\\]/.test(v) ? JSON.stringify(v) : v}`)
    .join(' ');
}

function describeSearch(service: string, tags: Record<string, string> | undefined): string {
  const extra = Object.entries(tags ?? {}).map(([k, v]) => `${k}=${v}`);
  return `"${service}"${extra.length ? ` with ${extra.join(', ')}` : ''}`;
}

/** 42s, 8m20s, 3h5m: ages for people. */
function ago(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
