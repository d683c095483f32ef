// kind: otlp_grpc, run by the kind itself (runProber) against real servers: a gRPC OTLP receiver
// (@grpc/grpc-js), a gRPC server without the trace service, and listeners that are not gRPC at all.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ProbeResult } from '../../src/engine/result.js';
import { runProber } from '../support/prober.js';
import { closedPort, hangAfterAccept, statusServer } from '../support/misbehaving.js';
import { startGrpcServer } from '../support/grpc.js';

async function probe(t: TestContext, address: string, extra: Record<string, unknown> = {}): Promise<ProbeResult> {
  const r = await runProber('otlp_grpc', { name: 'otlp-grpc-port', address, timeout: '1s', ...extra });
  t.diagnostic(`${r.reason}: ${r.message} (${r.durationMs} ms)`);
  return r;
}

async function netListener(t: TestContext, onSocket: (s: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

test('otlp_grpc: a gRPC OTLP receiver answers the empty Export with OK', async (t) => {
  const server = await startGrpcServer();
  t.after(() => server.close());
  const r = await probe(t, server.address, { tenant: 'team-a' });
  assert.equal(r.status, 'ok', r.message);
  assert.match(r.message, new RegExp(`^${server.address} answered an empty OTLP/gRPC Export with OK in \\d+\\.\\d{3}s$`));
  assert.equal(server.calls.length, 1);
  // The empty ExportTraceServiceRequest is zero bytes: nothing is written into Tempo.
  assert.equal(server.calls[0]!.message.length, 0);
  assert.equal(server.calls[0]!.metadata['x-scope-orgid'], 'team-a');
});

test('otlp_grpc: a bare TCP listener that accepts and closes is protocol, not ok', async (t) => {
  const address = await netListener(t, (s) => s.destroy());
  const r = await probe(t, address);
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'protocol');
  assert.match(r.message, /does not speak HTTP\/2 gRPC/);
});

test('otlp_grpc: a listener that answers garbage is protocol', async (t) => {
  const address = await netListener(t, (s) => s.end('SSH-2.0-OpenSSH_9.6\r\n'));
  const r = await probe(t, address);
  assert.equal(r.reason, 'protocol');
});

test('otlp_grpc: an HTTP/1 server on the port is protocol', async (t) => {
  const http1 = await statusServer(200, 'OK\n');
  t.after(() => http1.close());
  const r = await probe(t, http1.hostPort);
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'protocol');
  assert.match(r.hint ?? '', /not an OTLP\/gRPC receiver/);
});

test('otlp_grpc: an HTTP/1 server that leaves the connection open is protocol too', async (t) => {
  // Node's HTTP/1 server answers the HTTP/2 preface with 400 and keeps nothing open; this one is
  // left with its defaults, as a plain app on the wrong port would be.
  const server = createHttpServer((_req, res) => res.end('hello'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const r = await probe(t, `127.0.0.1:${(server.address() as { port: number }).port}`);
  assert.equal(r.reason, 'protocol');
});

test('otlp_grpc: a gRPC server without the trace service fails with grpc_status UNIMPLEMENTED', async (t) => {
  const server = await startGrpcServer({ otlp: false });
  t.after(() => server.close());
  const r = await probe(t, server.address);
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'grpc_status');
  assert.match(r.message, /gRPC status UNIMPLEMENTED/);
  assert.match(r.hint ?? '', /no OTLP trace service/);
  assert.equal(r.details?.grpcStatus, 'UNIMPLEMENTED');
});

test('otlp_grpc: a receiver answering UNAVAILABLE names the code and its message', async (t) => {
  const server = await startGrpcServer({ status: grpc.status.UNAVAILABLE, message: 'at least 1 live replicas required, could only find 0' });
  t.after(() => server.close());
  const r = await probe(t, server.address);
  assert.equal(r.reason, 'grpc_status');
  assert.match(r.message, /gRPC status UNAVAILABLE: at least 1 live replicas required, could only find 0$/);
});

test('otlp_grpc: a closed port fails with reason connect', async (t) => {
  const gone = await closedPort();
  const r = await probe(t, gone.hostPort);
  assert.equal(r.reason, 'connect');
  assert.equal(r.message, `${gone.hostPort} refused the connection (ECONNREFUSED)`);
});

test('otlp_grpc: a listener that accepts and hangs fails with timeout within the timeout', async (t) => {
  const hang = await hangAfterAccept();
  t.after(() => hang.close());
  const started = Date.now();
  const r = await probe(t, hang.hostPort, { timeout: '800ms' });
  const elapsed = Date.now() - started;
  assert.equal(r.reason, 'timeout');
  assert.match(r.message, /accepted the connection but sent no HTTP\/2 settings in time/);
  assert.ok(elapsed < 800 + 700, `took ${elapsed} ms`);
  assert.equal(hang.connections, 1);
});
