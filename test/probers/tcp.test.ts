// kind: tcp, run by the kind itself (runProber). A SYN that is never answered is in
// test/engine/timeouts.test.ts, with the other runs that must end at the timeout.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { ProbeResult } from '../../src/engine/result.js';
import { runProber } from '../support/prober.js';
import { closedPort } from '../support/misbehaving.js';

async function tcpProbe(t: TestContext, address: string): Promise<ProbeResult> {
  const r = await runProber('tcp', { name: 'otlp-grpc-port', address, timeout: '1s' });
  t.diagnostic(`${r.reason}: ${r.message} (${r.durationMs} ms)`);
  return r;
}

/** A listener that counts the connections it accepts; undefined when the host has no such address. */
async function listener(t: TestContext, host: string): Promise<{ port: number; accepted: () => number } | undefined> {
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    socket.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, resolve);
    });
  } catch {
    return undefined;
  }
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as { port: number }).port, accepted: () => accepted };
}

test('an open port passes with the connect time in seconds as value', async (t) => {
  const target = (await listener(t, '127.0.0.1'))!;
  const result = await tcpProbe(t, `127.0.0.1:${target.port}`);
  assert.equal(result.status, 'ok');
  assert.equal(result.reason, 'ok');
  assert.match(result.message, new RegExp(`^127\\.0\\.0\\.1:${target.port} accepted a connection in \\d+\\.\\d{3}s$`));
  assert.equal(typeof result.value, 'number');
  assert.ok(result.value! >= 0 && result.value! < 1, `value ${result.value}`);
  // Seconds, not milliseconds: the message and the value agree.
  assert.equal(result.message.match(/in (\S+)s$/)![1], result.value!.toFixed(3));
  assert.equal(target.accepted(), 1);
});

test('a closed port fails with reason connect and names the port', async (t) => {
  const target = await closedPort();
  const result = await tcpProbe(t, target.hostPort);
  assert.equal(result.status, 'failing');
  assert.equal(result.reason, 'connect');
  assert.equal(result.message, `${target.hostPort} refused the connection (ECONNREFUSED)`);
  assert.match(result.hint ?? '', new RegExp(`Nothing listens on port ${target.port}: .*0\\.0\\.0\\.0`));
  assert.equal(result.value, null);
});

test('an IPv6 address in brackets is dialled over IPv6', async (t) => {
  const target = await listener(t, '::1');
  if (!target) return t.skip('no [::1] on this machine');
  const open = await tcpProbe(t, `[::1]:${target.port}`);
  assert.equal(open.status, 'ok', open.message);
  assert.equal(target.accepted(), 1);

  const gone = await closedPort();
  const refused = await tcpProbe(t, `[::1]:${gone.port}`);
  assert.equal(refused.reason, 'connect');
  assert.equal(refused.message, `[::1]:${gone.port} refused the connection (ECONNREFUSED)`);
});

test('a host that cannot resolve fails with reason dns', async (t) => {
  // A 64-character label is longer than DNS allows, so the C resolver refuses it before sending
  // anything: no query leaves the machine (checked with strace).
  const host = `${'a'.repeat(64)}.invalid`;
  const result = await tcpProbe(t, `${host}:4317`);
  assert.equal(result.reason, 'dns');
  assert.equal(result.message, `cannot resolve ${host} (ENOTFOUND)`);
  assert.match(result.hint ?? '', /the host is the service name/);
});

test('an address without a usable port is refused when the config loads', () => {
  const load = (address: string) => () => parseConfig([{ file: 'probes/ports.yaml', text: JSON.stringify({ probes: [{ name: 'otlp', kind: 'tcp', address }] }) }], {});
  // Out of range ports passed the pattern before and made every run an internal error.
  assert.throws(load('tempo:99999'), (e: ConfigError) => e.message === 'probes/ports.yaml: probe "otlp": address: port 99999 is out of range (1-65535)');
  assert.throws(load('tempo:0'), (e: ConfigError) => e.message === 'probes/ports.yaml: probe "otlp": address: port 0 is out of range (1-65535)');
  assert.throws(load('tempo'), (e: ConfigError) => /^probes\/ports\.yaml: probe "otlp": address: /.test(e.message));
  assert.doesNotThrow(load('tempo:4317'));
  assert.doesNotThrow(load('[fd00::1]:65535'));
});
