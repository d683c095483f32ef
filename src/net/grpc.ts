// One unary gRPC call over HTTP/2 cleartext (h2c), on node:http2. Written on node:http2 rather than
// @grpc/grpc-js because a probe must tell the phases apart: grpc-js folds a refused port, a peer
// that is not HTTP/2 at all and a server's own UNAVAILABLE into the same UNAVAILABLE status, and
// its channel keeps reconnecting with backoff until the deadline. Here each phase keeps its cause.
// The gRPC wire format needed for a unary call is small: request headers, one length-prefixed
// message, and grpc-status / grpc-message in the trailers (or in the headers, "trailers-only").
import { connect as netConnect, type Socket } from 'node:net';
import { connect as h2Connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';

export type GrpcTransportReason = 'connect' | 'dns' | 'timeout' | 'protocol';

/** The call did not reach a gRPC answer: nothing listens, the peer is not HTTP/2 gRPC, or time ran out. */
export class GrpcTransportError extends Error {
  constructor(
    readonly reason: GrpcTransportReason,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'GrpcTransportError';
  }
}

/** gRPC status codes by number, for messages (grpc/grpc doc/statuscodes.md). */
export const grpcCodeNames: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

export function grpcCodeName(code: number): string {
  return grpcCodeNames[code] ?? `code ${code}`;
}

export interface GrpcUnaryRequest {
  host: string;
  port: number;
  /** /package.Service/Method */
  path: string;
  /** The serialized request message (protobuf), without the 5-byte gRPC frame header. */
  message: Buffer;
  /** Extra request metadata (lowercase keys), e.g. x-scope-orgid. */
  metadata?: Record<string, string>;
  /** Refuse answers larger than this (default 64 KiB). */
  maxBytes?: number;
  signal: AbortSignal;
}

export interface GrpcAnswer {
  /** The gRPC status code (0 is OK). */
  code: number;
  /** grpc-message, percent-decoded ('' when none). */
  message: string;
  /** The response message without its frame header, when the call returned one. */
  body: Buffer | undefined;
}

type Phase = 'connecting' | 'handshake' | 'waiting';

/** One unary call on its own connection, closed afterwards. Resolves with any gRPC status; rejects with GrpcTransportError. */
export function grpcUnary(req: GrpcUnaryRequest): Promise<GrpcAnswer> {
  const target = `${req.host.includes(':') ? `[${req.host}]` : req.host}:${req.port}`;
  const maxBytes = req.maxBytes ?? 64 * 1024;
  return new Promise<GrpcAnswer>((resolve, reject) => {
    let phase: Phase = 'connecting';
    let settled = false;
    // Filled in below; finish() may run before either exists (a deadline during the connect).
    const conn: { session?: ClientHttp2Session; socket?: Socket } = {};

    const finish = (result: { ok: true; answer: GrpcAnswer } | { ok: false; error: GrpcTransportError }): void => {
      if (settled) return;
      settled = true;
      req.signal.removeEventListener('abort', onAbort);
      conn.session?.destroy();
      conn.socket?.destroy();
      if (result.ok) resolve(result.answer);
      else reject(result.error);
    };
    const fail = (reason: GrpcTransportReason, message: string, code?: string) => finish({ ok: false, error: new GrpcTransportError(reason, message, code) });
    const notGrpc = (what: string, code?: string) =>
      fail('protocol', `${target} accepted the connection but ${what}: it does not speak HTTP/2 gRPC (an HTTP/1 server, or another service on this port?)`, code);

    const onAbort = () => {
      if (phase === 'connecting') fail('timeout', `${target} did not accept a connection in time`);
      else if (phase === 'handshake') fail('timeout', `${target} accepted the connection but sent no HTTP/2 settings in time: a stuck server, or one that is not HTTP/2 and waits for more`);
      else fail('timeout', `${target} took the gRPC request but did not answer in time`);
    };
    if (req.signal.aborted) {
      onAbort();
      return;
    }
    req.signal.addEventListener('abort', onAbort, { once: true });

    const socket = netConnect({ host: req.host, port: req.port });
    conn.socket = socket;
    socket.once('connect', () => {
      if (phase === 'connecting') phase = 'handshake';
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (phase !== 'connecting') return; // after the connect, the session reports what went wrong
      if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') fail('dns', `cannot resolve ${req.host} (${err.code})`, err.code);
      else fail('connect', `${target} refused the connection (${err.code ?? err.message})`, err.code);
    });

    const s = h2Connect(`http://${target}`, { createConnection: () => socket });
    conn.session = s;
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (phase === 'connecting') return; // the socket's error listener has it
      notGrpc(`the HTTP/2 session failed (${err.code ?? 'error'}: ${err.message})`, err.code);
    });
    s.once('remoteSettings', () => {
      if (phase === 'handshake') phase = 'waiting';
    });
    s.on('goaway', (errorCode: number) => {
      if (errorCode !== constants.NGHTTP2_NO_ERROR) notGrpc(`sent HTTP/2 GOAWAY (error code ${errorCode})`);
    });
    s.once('close', () => {
      if (phase === 'connecting') return;
      if (phase === 'handshake') notGrpc('closed it without an HTTP/2 handshake');
      else notGrpc('closed the HTTP/2 connection before the gRPC answer');
    });

    const frame = Buffer.alloc(5 + req.message.length);
    frame.writeUInt8(0, 0);
    frame.writeUInt32BE(req.message.length, 1);
    req.message.copy(frame, 5);
    const stream = s.request({
      ':method': 'POST',
      ':path': req.path,
      'content-type': 'application/grpc+proto',
      te: 'trailers',
      'grpc-accept-encoding': 'identity',
      'user-agent': 'stack-watchdog',
      ...req.metadata,
    });
    stream.on('error', (err: NodeJS.ErrnoException) => {
      notGrpc(`failed the HTTP/2 stream (${err.code ?? 'error'}: ${err.message})`, err.code);
    });
    stream.end(frame);

    let headers: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    stream.on('response', (h) => {
      phase = 'waiting';
      headers = h;
      // Trailers-only: the whole answer is in the headers (how servers return most errors).
      if (h['grpc-status'] !== undefined) {
        done(h);
        return;
      }
      const status = Number(h[':status']);
      const type = String(h['content-type'] ?? '');
      if (status !== 200) notGrpc(`answered HTTP/2 status ${status} without grpc-status (not a gRPC server, or a proxy in front of it)`);
      else if (!type.startsWith('application/grpc')) notGrpc(`answered content-type "${type}", not application/grpc`);
    });
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) notGrpc(`answered more than ${maxBytes} bytes for a unary call`);
      else chunks.push(chunk);
    });
    stream.on('trailers', (t: IncomingHttpHeaders) => done(t));
    stream.on('end', () => {
      // Without trailers the stream ended with no status: not a gRPC server.
      setImmediate(() => notGrpc(headers ? 'ended the HTTP/2 stream without grpc-status' : 'ended the HTTP/2 stream without answering'));
    });

    const done = (t: IncomingHttpHeaders): void => {
      const code = Number(t['grpc-status']);
      if (!Number.isInteger(code) || code < 0) {
        notGrpc(`answered grpc-status "${String(t['grpc-status'])}", not a status code`);
        return;
      }
      const raw = t['grpc-message'];
      let message = typeof raw === 'string' ? raw : '';
      try {
        message = decodeURIComponent(message);
      } catch {
        // not percent-encoded as the spec asks: shown as sent
      }
      const all = Buffer.concat(chunks);
      let body: Buffer | undefined;
      if (all.length >= 5) {
        const length = all.readUInt32BE(1);
        if (all.readUInt8(0) !== 0) {
          notGrpc('answered a compressed message although the request accepted identity only');
          return;
        }
        body = all.subarray(5, 5 + length);
      }
      finish({ ok: true, answer: { code, message, body } });
    };
  });
}
