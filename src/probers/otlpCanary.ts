// kind: otlp_canary — what tempo-vulture does for Tempo's own developers: write one synthetic span
// over OTLP (HTTP/JSON, or gRPC/protobuf as the app's SDK sends) with a fresh trace id, then look
// it up by id until Tempo returns it. It proves the whole path (receiver, distributor, ingester or
// live-store, querier) rather than any one module's health, and its value is the end-to-end ingestion latency.
// It writes into Tempo, so it runs rarely by default.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from '@sinclair/typebox';
import { decodeAddress, Duration, HostPort, HttpUrl } from '../core/fields.js';
import { deadline } from '../util/deadline.js';
import { formatDuration } from '../util/format.js';
import { snippet } from '../util/text.js';
import { joinUrl } from '../util/url.js';
import { defineProber } from './define.js';
import type { ProbeContext, ProbeOutcome } from './types.js';
import { attempt, failed, passed } from './common.js';
import { canaryService, notTempoHint, recentStore, tempoMajor, tempoReasons, tempoRequest, tenantHeaders, type RecentStore, type TempoReason } from './tempoApi.js';
import { encodeCanaryRequest, noHealthyStoreHint, otlpGrpcExport } from './otlpApi.js';

const exportHint =
  'The canary could not hand a span to Tempo\'s OTLP/HTTP receiver: Tempo must enable distributor.receivers.otlp.protocols.http with endpoint "0.0.0.0:4318" ' +
  '(recent releases listen on localhost only by default), compose must publish port 4318, and otlpHttp must be that base URL (http://tempo:4318, without /v1/traces).';

const grpcExportHint =
  'The canary could not hand a span to Tempo\'s OTLP/gRPC receiver: Tempo must enable distributor.receivers.otlp.protocols.grpc with endpoint "0.0.0.0:4317", ' +
  'compose must publish port 4317, and otlpGrpc must be that host:port (tempo:4317).';

/** The span was taken but never came back: where to look, in the words of the Tempo that answers. */
function notFoundHint(store: RecentStore): string {
  return (
    `Tempo accepted the span but did not return it by id in time: ingestion is dropping or slow. Read ${store.whose} side (docker logs mystocks-tempo | grep -i "${store.grep}\\|discard\\|error"), ` +
    `check ${store.settings}, that the querier reaches the ${store.module} (GET ${store.ring} on Tempo's HTTP port), ` +
    "and tempo_discarded_spans_total on Tempo's /metrics. If spans only need longer, raise this probe's timeout."
  );
}

export const otlpCanaryProber = defineProber({
  unit: 'seconds',
  fields: Type.Object({
    /** Tempo's HTTP API, where the span is looked up, e.g. http://tempo:3200. */
    tempo: HttpUrl,
    /** Tempo's OTLP/HTTP receiver base URL, e.g. http://tempo:4318 (the canary POSTs to /v1/traces). For transport http. */
    otlpHttp: Type.Optional(HttpUrl),
    /** host:port of Tempo's OTLP/gRPC receiver, e.g. tempo:4317. For transport grpc. */
    otlpGrpc: Type.Optional(HostPort),
    /** How the span is sent: http (OTLP/HTTP JSON, the default) or grpc (OTLP/gRPC protobuf, as the app's SDK sends). */
    transport: Type.Optional(Type.Union([Type.Literal('http'), Type.Literal('grpc')])),
    /** service.name of the canary spans, so they are easy to tell from the app's (default stack-watchdog-canary). */
    service: Type.Optional(Type.String({ minLength: 1 })),
    /** Pause between lookups (default 1s). */
    pollInterval: Type.Optional(Duration),
    /** X-Scope-OrgID on the export and the lookups, for a multi-tenant Tempo. */
    tenant: Type.Optional(Type.String({ minLength: 1 })),
  }),
  defaults: { interval: '5m', timeout: '30s' },
  reasons: {
    ...tempoReasons,
    export_failed: `${exportHint} Over gRPC: ${grpcExportHint}`,
    not_found: notFoundHint(recentStore(undefined)),
  },
  decode(f, d) {
    const transport = f.transport ?? 'http';
    let send: { transport: 'http'; otlpHttp: string } | { transport: 'grpc'; address: string; host: string; port: number; tenant?: string } = { transport: 'http', otlpHttp: f.otlpHttp ?? '' };
    if (transport === 'http') {
      if (f.otlpHttp === undefined) d.problem('otlpHttp', 'transport http needs otlpHttp, the OTLP/HTTP base URL (e.g. http://tempo:4318)');
    } else {
      if (f.otlpGrpc === undefined) d.problem('otlpGrpc', 'transport grpc needs otlpGrpc, the OTLP/gRPC host:port (e.g. tempo:4317)');
      else send = { transport: 'grpc', ...d.take('otlpGrpc', decodeAddress(f.otlpGrpc), { address: f.otlpGrpc, host: '', port: 0 }), tenant: f.tenant };
    }
    return { tempo: f.tempo, headers: tenantHeaders(f.tenant), send, service: f.service ?? canaryService, pollMs: d.duration('pollInterval', f.pollInterval ?? '1s') };
  },
  check(spec) {
    if (spec.pollMs < spec.timeoutMs) return [];
    return [{ field: 'pollInterval', message: `${formatDuration(spec.pollMs)} is not shorter than the timeout (${formatDuration(spec.timeoutMs)}): the span would be looked up once at most` }];
  },
  async run(spec, ctx) {
    const { service } = spec;
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    const sentAt = ctx.now();

    const details = { traceId, service, sentOver: spec.send.transport };
    if (spec.send.transport === 'grpc') {
      const target = spec.send;
      const span = encodeCanaryRequest({ traceId, spanId, service, probe: spec.name, startMs: sentAt });
      const exported = await otlpGrpcExport(ctx, target, span);
      if (!exported.ok) {
        const o = exported.outcome;
        if (o.reason === 'timeout') return { ...o, reason: o.reason };
        return failed('export_failed', `cannot send the canary span to ${target.address} over OTLP/gRPC: ${o.message}`, o.hint ?? grpcExportHint, {
          details: { ...details, transport: o.reason, ...o.details },
        });
      }
      if (exported.value.rejected) {
        return failed('export_failed', `${target.address} rejected the canary span: ${exported.value.rejected}`, `Tempo took the request but refused the span (partial success): ${grpcExportHint}`, {
          details,
        });
      }
      return lookUp(spec, ctx, { traceId, sentAt, details });
    }
    const exportUrl = joinUrl(spec.send.otlpHttp, '/v1/traces');
    const body = JSON.stringify(canaryRequest({ traceId, spanId, service, probe: spec.name, startMs: sentAt }));
    const sent = await attempt(() => ctx.http.request(exportUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...spec.headers }, body, maxBytes: 64 * 1024, signal: ctx.signal }));
    if (!sent.ok) {
      // A receiver that accepts the connection and then hangs is a timeout like any other.
      if (sent.outcome.reason === 'timeout') return sent.outcome;
      return failed('export_failed', `cannot send the canary span to ${exportUrl}: ${sent.outcome.message}`, exportHint, { details: { ...details, transport: sent.outcome.reason } });
    }
    const res = sent.value;
    if (res.status < 200 || res.status >= 300) {
      return failed('export_failed', `${exportUrl} refused the canary span: HTTP ${res.status}: ${snippet(rpcMessage(res.body))}`, `${statusHint(res.status)} ${exportHint}`, {
        details: { ...details, httpStatus: res.status },
      });
    }
    const rejected = partialRejection(res.body);
    if (rejected) {
      return failed('export_failed', `${exportUrl} rejected the canary span: ${rejected}`, `Tempo took the request but refused the span (partial success): ${exportHint}`, { details });
    }
    return lookUp(spec, ctx, { traceId, sentAt, details });
  },
});

/** Looks the span up by id until Tempo returns it or the time is up. */
async function lookUp(
  spec: { tempo: string; headers: Record<string, string>; pollMs: number; timeoutMs: number },
  ctx: ProbeContext,
  sent: { traceId: string; sentAt: number; details: Record<string, unknown> },
): Promise<ProbeOutcome<never, TempoReason | 'not_found', never>> {
  const { pollMs } = spec;
  const { traceId, sentAt, details } = sent;

  // Give up a little before the engine's timeout, so a missing span reads as not_found (this
  // probe's finding) rather than as the engine's generic timeout.
  const giveUpAt = ctx.deadline - Math.min(2000, Math.max(100, Math.floor(spec.timeoutMs / 10)));
  const traceUrl = joinUrl(spec.tempo, `/api/traces/${traceId}`);
  let lookups = 0;
  let lastError: ProbeOutcome<never, TempoReason, never> | undefined;
  while (!ctx.signal.aborted && ctx.now() < giveUpAt) {
    lookups++;
    const budget = Math.max(1, Math.floor(giveUpAt - ctx.now()));
    const bound = deadline(ctx.signal, budget);
    const lookup = await tempoRequest(ctx, traceUrl, { headers: { accept: 'application/json', ...spec.headers } }, bound.signal).finally(bound.done);
    if (!lookup.ok) {
      // A last lookup cut short by the give-up time says nothing about the query path.
      if (lookup.outcome.reason === 'timeout' && !ctx.signal.aborted && budget < Math.min(1000, pollMs) && lookups > 1) break;
      return { ...lookup.outcome, details: { ...details, lookups } };
    }
    const got = lookup.value;
    if (got.status === 200) {
      if (!holdsTrace(got.body)) {
        return failed('invalid_response', `${traceUrl} answered HTTP 200 without a trace: ${snippet(got.body)}`, notTempoHint, { details: { ...details, lookups } });
      }
      const latency = Math.round(ctx.now() - sentAt) / 1000;
      return passed(`the canary span was queryable ${latency.toFixed(3)}s after it was sent (${lookups} lookup(s))`, { value: latency, details: { ...details, lookups, latencySeconds: latency } });
    }
    // Go's mux answers "404 page not found" for a path it does not serve; Tempo's own miss is
    // "trace not found". Only the latter means "not ingested yet".
    if (got.status === 404 && /page not found/i.test(got.body)) {
      return failed('http_status', `${traceUrl} answered HTTP 404: ${snippet(got.body)}: no trace-by-id API there`, notTempoHint, { details: { ...details, lookups, httpStatus: 404 } });
    }
    if (got.status === 404) {
      lastError = undefined;
    } else {
      lastError = failed(
        'http_status',
        `${traceUrl} answered HTTP ${got.status}: ${snippet(got.body)}`,
        'Tempo accepted the span but its query path fails: docker logs mystocks-tempo | grep -i "querier\\|frontend" says why.',
        {
          details: { ...details, lookups, httpStatus: got.status },
        },
      );
      // Only a server-side error may pass; anything else means the lookup itself is wrong.
      if (got.status < 500) return lastError;
    }
    const wait = Math.min(pollMs, giveUpAt - ctx.now());
    if (wait <= 0) break;
    await sleep(wait, undefined, { signal: ctx.signal }).catch(() => undefined);
  }
  if (lastError) return lastError;
  const waited = (ctx.now() - sentAt) / 1000;
  // Tempo 2 and 3 keep new traces in different modules: ask which answers, in what time is left.
  const left = deadline(ctx.signal, Math.max(1, ctx.deadline - ctx.now() - 50));
  const major = await tempoMajor(ctx, spec.tempo, spec.headers, left.signal).finally(left.done);
  return failed('not_found', `Tempo accepted the canary span but did not return trace ${traceId} within ${waited.toFixed(1)}s (${lookups} lookup(s))`, notFoundHint(recentStore(major)), {
    details: { ...details, lookups, waitedSeconds: Math.round(waited * 1000) / 1000, tempoMajor: major },
  });
}

/** One span in OTLP/JSON: hex ids, enums as integers, 64-bit nanoseconds as strings. */
function canaryRequest(o: { traceId: string; spanId: string; service: string; probe: string; startMs: number }): unknown {
  const startNs = BigInt(Math.floor(o.startMs)) * 1_000_000n;
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: o.service } }] },
        scopeSpans: [
          {
            scope: { name: 'stack-watchdog' },
            spans: [
              {
                traceId: o.traceId,
                spanId: o.spanId,
                name: 'watchdog canary',
                kind: 1,
                startTimeUnixNano: String(startNs),
                endTimeUnixNano: String(startNs + 1_000_000n),
                attributes: [{ key: 'watchdog.probe', value: { stringValue: o.probe } }],
              },
            ],
          },
        ],
      },
    ],
  };
}

function statusHint(status: number): string {
  if (status === 404 || status === 405) return `HTTP ${status} means an HTTP server answered but not an OTLP receiver (Tempo's query port 3200 answers 404 for /v1/traces).`;
  if (status === 413) return 'The distributor refused the body size: check distributor.receivers.otlp.protocols.http max_request_body_size.';
  if (status === 429) return "Tempo's ingestion rate limit refused the span (overrides: ingestion rate_limit_bytes and burst_size_bytes): the app may be sending more than the limit.";
  if (status >= 500) return noHealthyStoreHint;
  return 'The receiver did not accept the request as OTLP/JSON.';
}

/** The message of the google.rpc.Status an OTLP receiver answers with, or the body itself. */
function rpcMessage(body: string): string {
  try {
    const doc = JSON.parse(body) as { message?: unknown };
    if (typeof doc?.message === 'string') return doc.message;
  } catch {
    // not JSON: a plain-text error from something else, shown as is
  }
  return body;
}

/** OTLP partial success: a 200 whose body says some spans were refused. */
function partialRejection(body: string): string | undefined {
  try {
    const ps = (JSON.parse(body) as { partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string } })?.partialSuccess;
    if (ps && Number(ps.rejectedSpans ?? 0) > 0) return `${ps.rejectedSpans} span(s) rejected${ps.errorMessage ? `: ${ps.errorMessage}` : ''}`;
  } catch {
    // an empty or non-JSON 2xx body is a plain success
  }
  return undefined;
}

/** Tempo's trace-by-id JSON: `batches` (v1) or `resourceSpans`, non-empty. */
function holdsTrace(body: string): boolean {
  try {
    const doc = JSON.parse(body) as { batches?: unknown; resourceSpans?: unknown };
    const list = doc?.batches ?? doc?.resourceSpans;
    return Array.isArray(list) && list.length > 0;
  } catch {
    return false;
  }
}
