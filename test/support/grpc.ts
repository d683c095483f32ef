// Real gRPC servers for the OTLP/gRPC probes, on @grpc/grpc-js (a gRPC implementation the
// watchdog's own client does not share code with): an OTLP trace receiver answering Export, and a
// gRPC server that serves no OTLP service at all (every call is UNIMPLEMENTED). 127.0.0.1 only.
import * as grpc from '@grpc/grpc-js';

export const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export interface GrpcTestServer {
  address: string;
  port: number;
  /** Raw request messages received by Export, with their metadata. */
  readonly calls: { message: Buffer; metadata: Record<string, string> }[];
  close(): Promise<void>;
}

const identity = (b: Buffer) => b;

/**
 * A gRPC server; with `status` set, Export answers that status instead of OK; without `otlp`, no
 * service is registered and grpc-js answers UNIMPLEMENTED for every method.
 */
export async function startGrpcServer(opts: { otlp?: boolean; status?: grpc.status; message?: string } = {}): Promise<GrpcTestServer> {
  const server = new grpc.Server();
  const calls: GrpcTestServer['calls'] = [];
  if (opts.otlp ?? true) {
    server.addService(
      {
        Export: {
          path: EXPORT_PATH,
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      },
      {
        Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          const metadata: Record<string, string> = {};
          for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = String(v);
          calls.push({ message: call.request, metadata });
          if (opts.status !== undefined) callback({ code: opts.status, details: opts.message ?? 'refused by the test server' });
          else callback(null, Buffer.alloc(0)); // an empty ExportTraceServiceResponse
        },
      },
    );
  }
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return {
    address: `127.0.0.1:${port}`,
    port,
    calls,
    close: async () => {
      server.forceShutdown();
    },
  };
}
