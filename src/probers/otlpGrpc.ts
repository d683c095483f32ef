// kind: otlp_grpc — does the OTLP/gRPC receiver (Tempo's 4317) answer a real
// opentelemetry.proto.collector.trace.v1.TraceService/Export call? The request is empty (zero
// bytes: an ExportTraceServiceRequest without spans), so nothing is written into Tempo. A TCP
// accept proves little (any process, or a half-started Tempo, accepts); this proves that HTTP/2
// gRPC is spoken there and that the trace service is served. Tempo's 4317 serves no
// grpc.health.v1, so the Export method itself is the check. The receiver answers an Export without
// spans itself (the collector's OTLP receiver returns before the distributor), so this proves the
// port and the receiver, not ingestion: that is otlp_canary's part.
import { Type } from '@sinclair/typebox';
import { decodeAddress, HostPort } from '../core/fields.js';
import { defineProber } from './define.js';
import { passed } from './common.js';
import { otlpGrpcExport, otlpGrpcReasons } from './otlpApi.js';

export const otlpGrpcProber = defineProber({
  fields: Type.Object({
    /** host:port of the OTLP/gRPC receiver, or [v6]:port, e.g. tempo:4317. */
    address: HostPort,
    /** X-Scope-OrgID sent as gRPC metadata, for a multi-tenant Tempo. */
    tenant: Type.Optional(Type.String({ minLength: 1 })),
  }),
  reasons: otlpGrpcReasons,
  decode(f, d) {
    return { ...d.take('address', decodeAddress(f.address), { address: f.address, host: '', port: 0 }), tenant: f.tenant };
  },
  async run(spec, ctx) {
    const started = ctx.now();
    const sent = await otlpGrpcExport(ctx, spec, Buffer.alloc(0));
    if (!sent.ok) return sent.outcome;
    const seconds = (ctx.now() - started) / 1000;
    return passed(`${spec.address} answered an empty OTLP/gRPC Export with OK in ${seconds.toFixed(3)}s`, { value: seconds });
  },
});
