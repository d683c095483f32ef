// OTLP/gRPC as the probes use it: one TraceService/Export call, the protobuf encoding of a canary
// span, and the outcomes of a failed call with their next steps. Shared by otlp_grpc and otlp_canary.
import { GrpcTransportError, grpcCodeName, grpcUnary } from '../net/grpc.js';
import { snippet } from '../util/text.js';
import type { Attempt, ProbeContext, ReasonHints } from './types.js';
import { failed, failure, success } from './common.js';
import { ProtobufError, ProtoWriter, WireMessage } from '../util/protobuf.js';

export const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export interface GrpcTarget {
  host: string;
  port: number;
  /** host:port as written, for messages. */
  address: string;
  /** X-Scope-OrgID for a multi-tenant Tempo. */
  tenant?: string;
}

export interface ExportAnswer {
  /** Spans the receiver refused in an OK answer (OTLP partial success), with its message. */
  rejected?: string;
}

const receiverHint =
  'Tempo\'s OTLP/gRPC receiver must be enabled with distributor.receivers.otlp.protocols.grpc endpoint "0.0.0.0:4317" ' +
  '(recent releases listen on localhost only by default), and compose must publish port 4317.';

/** What one Export call may fail with: otlp_grpc and otlp_canary (over gRPC) declare these. */
export const otlpGrpcReasons = {
  connect: `Nothing listens on the OTLP/gRPC port: check that Tempo runs (docker compose ps) and that the host and port are right. ${receiverHint} A Tempo 3 started with a Tempo 2 config (an ingester: or compactor: block) stops at once: look for "failed to parse configFile" in docker logs mystocks-tempo.`,
  dns: 'The host name does not resolve: in compose the host is the service name, and the watchdog must be on the same network.',
  timeout:
    "The port accepted the connection but no gRPC answer came in time: a stuck or overloaded receiver, or a listener that is not HTTP/2. Check docker logs mystocks-tempo, or raise the probe's timeout.",
  protocol: `Something listens on the port but it is not an OTLP/gRPC receiver: another process holds the port, or the address points at an HTTP port (Tempo's 3200 or 4318 instead of 4317). ${receiverHint}`,
  grpc_status: 'The OTLP receiver answered with a gRPC error: docker logs mystocks-tempo | grep -i "distributor\\|receiver" says why.',
} as const satisfies ReasonHints<GrpcTransportError['reason'] | 'grpc_status'>;
export type OtlpGrpcReason = keyof typeof otlpGrpcReasons;

/**
 * A receiver that takes spans but cannot pass them on (gRPC UNAVAILABLE, OTLP/HTTP 5xx): shared by
 * both transports. An export is one call to the receiver, which does not say Tempo's version, so
 * both versions' modules are named.
 */
export const noHealthyStoreHint =
  'The receiver could not pass the spans on: the distributor has no healthy ingester (Tempo 2) or live-store (Tempo 3) yet (e.g. "at least 1 live replicas required" while it starts); docker logs mystocks-tempo | grep -i "distributor\\|ingester\\|live-store" says which.';

function statusHint(code: number): string {
  switch (grpcCodeName(code)) {
    case 'UNIMPLEMENTED':
      return `A gRPC server answers on the port but has no OTLP trace service: the port belongs to another gRPC server, or Tempo's OTLP receiver is not enabled there. ${receiverHint}`;
    case 'UNAVAILABLE':
      return noHealthyStoreHint;
    case 'RESOURCE_EXHAUSTED':
      return "Tempo's ingestion rate limit refused the spans (overrides: ingestion rate_limit_bytes and burst_size_bytes), or the message is larger than the receiver accepts.";
    case 'UNAUTHENTICATED':
    case 'PERMISSION_DENIED':
      return "The receiver refuses the caller: a multi-tenant Tempo needs X-Scope-OrgID (set this probe's tenant), or a proxy in front asks for credentials.";
    default:
      return otlpGrpcReasons.grpc_status;
  }
}

/** One Export call; any gRPC error, transport failure or partial rejection is a failed attempt. */
export async function otlpGrpcExport(ctx: ProbeContext, target: GrpcTarget, message: Buffer): Promise<Attempt<ExportAnswer, OtlpGrpcReason>> {
  let answer;
  try {
    answer = await grpcUnary({
      host: target.host,
      port: target.port,
      path: EXPORT_PATH,
      message,
      metadata: target.tenant ? { 'x-scope-orgid': target.tenant } : undefined,
      signal: ctx.signal,
    });
  } catch (err) {
    if (err instanceof GrpcTransportError) return failure(failed(err.reason, err.message, otlpGrpcReasons[err.reason], { details: { target: `${target.host}:${target.port}` } }));
    throw err;
  }
  if (answer.code !== 0) {
    const name = grpcCodeName(answer.code);
    return failure(
      failed('grpc_status', `${target.address} answered the OTLP Export call with gRPC status ${name}${answer.message ? `: ${snippet(answer.message)}` : ''}`, statusHint(answer.code), {
        details: { grpcStatus: name, grpcCode: answer.code },
      }),
    );
  }
  const partial = answer.body ? readPartialSuccess(answer.body) : undefined;
  return success(partial && partial.rejectedSpans > 0n ? { rejected: `${partial.rejectedSpans} span(s) rejected${partial.errorMessage ? `: ${partial.errorMessage}` : ''}` } : {});
}

// ------------------------------------------------------------------------------- protobuf

export interface CanarySpan {
  /** 32 hex */
  traceId: string;
  /** 16 hex */
  spanId: string;
  service: string;
  probe: string;
  startMs: number;
}

/**
 * An ExportTraceServiceRequest holding one span, in protobuf (opentelemetry-proto
 * collector/trace/v1 and trace/v1): resource_spans=1 { resource=1 { attributes=1 }, scope_spans=2
 * { scope=1 { name=1 }, spans=2 { trace_id=1, span_id=2, name=5, kind=6, start=7, end=8, attributes=9 } } }.
 */
export function encodeCanaryRequest(s: CanarySpan): Buffer {
  const startNs = BigInt(Math.floor(s.startMs)) * 1_000_000n;
  // KeyValue { key=1, value=2 AnyValue { string_value=1 } }
  const keyValue = (key: string, value: string) => (kv: ProtoWriter) => kv.string(1, key).message(2, (any) => any.string(1, value));
  return ProtoWriter.encode((request) =>
    request.message(1, (resourceSpans) =>
      resourceSpans
        .message(1, (resource) => resource.message(1, keyValue('service.name', s.service)))
        .message(2, (scopeSpans) =>
          scopeSpans
            .message(1, (scope) => scope.string(1, 'stack-watchdog'))
            .message(2, (span) =>
              span
                .bytes(1, Buffer.from(s.traceId, 'hex'))
                .bytes(2, Buffer.from(s.spanId, 'hex'))
                .string(5, 'watchdog canary')
                .int64(6, 1) // SPAN_KIND_INTERNAL
                .fixed64(7, startNs)
                .fixed64(8, startNs + 1_000_000n)
                .message(9, keyValue('watchdog.probe', s.probe)),
            ),
        ),
    ),
  );
}

/**
 * ExportTraceServiceResponse.partial_success (field 1): rejected_spans=1 (int64), error_message=2.
 * An answer that is not valid protobuf counts as no partial success: the call itself said OK.
 */
function readPartialSuccess(body: Buffer): { rejectedSpans: bigint; errorMessage: string } | undefined {
  let ps: WireMessage | undefined;
  try {
    ps = WireMessage.decode(body).message(1);
  } catch (err) {
    if (err instanceof ProtobufError) return undefined;
    throw err;
  }
  if (!ps) return undefined;
  return { rejectedSpans: ps.int64(1) ?? 0n, errorMessage: ps.string(2) ?? '' };
}
