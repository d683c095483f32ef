// Defect 6 of issue 12 and the API's bad-input contract: slow clients are cut off, /healthz keeps
// answering, and bad input of every kind gets a 4xx JSON error, never a 500.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { captureLogger, eventually } from '../support/engine.js';

async function daemon(t: { after: (fn: () => unknown) => void }, env: Record<string, string> = {}): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-abuse-'));
  writeFileSync(join(dir, 'probes.yaml'), 'probes: [{ name: one, kind: tcp, address: "127.0.0.1:1", interval: 1h, timeout: 1s }]\n');
  const d = await startDaemon(readSettings({ WATCHDOG_CONFIG: join(dir, 'probes.yaml'), WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_ADMIN_TOKEN: 'adm', ...env }), {
    logger: captureLogger('warn').logger,
    processMetrics: false,
  });
  t.after(() => d.stop());
  await eventually(() => d.engine.ready, 'first result');
  return d;
}

test('slow-body clients are closed by the server within the request timeout, and /healthz answers meanwhile', async (t) => {
  const d = await daemon(t, { WATCHDOG_API_REQUEST_TIMEOUT: '1s' });
  const port = Number(new URL(d.url).port);
  const count = 100;
  const sockets: Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  let closed = 0;
  t.after(() => {
    timers.forEach(clearInterval);
    sockets.forEach((s) => s.destroy());
  });
  for (let i = 0; i < count; i++) {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    s.on('close', () => closed++);
    s.on('data', () => {});
    s.write(`POST /probes/one/run HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer adm\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`);
    // One byte every 200 ms: never idle long enough for an inactivity timeout, never done.
    timers.push(setInterval(() => s.writable && s.write(' '), 200));
    sockets.push(s);
  }
  const started = Date.now();
  const health = await fetch(`${d.url}/healthz`, { signal: AbortSignal.timeout(1000) });
  const elapsed = Date.now() - started;
  assert.equal(health.status, 200);
  assert.ok(elapsed < 1000, `/healthz answered after ${elapsed} ms beside ${count} slow clients`);
  await eventually(() => closed === count, `the server closes all ${count} slow clients (closed ${closed})`, 6000);
  console.log(`# ${count} slow-body clients closed by the server after ${Date.now() - started}ms`);
});

test('bad API input gets a 4xx JSON error on every route, never a 500', async (t) => {
  const d = await daemon(t);
  const auth = { authorization: 'Bearer adm' };
  const cases: [string, string, RequestInit, number][] = [
    ['unknown probe (status)', '/status/nope', {}, 404],
    ['unknown probe (run)', '/probes/nope/run', { method: 'POST', headers: auth }, 404],
    ['bad probe name', '/status/NOT_A_NAME', {}, 400],
    ['bad method on /status', '/status', { method: 'DELETE' }, 404],
    ['bad method on run', '/probes/one/run', { method: 'GET' }, 404],
    ['bad query', '/status?format=xml', {}, 400],
    ['malformed percent-encoding', '/status/%E0%A4%A', {}, 400],
    ['malformed JSON body', '/probes/one/run', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"a":' }, 400],
    ['unsupported body type', '/probes/one/run', { method: 'POST', headers: { ...auth, 'content-type': 'application/x-weird' }, body: 'x' }, 415],
    ['oversized body', '/probes/one/run', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ x: 'y'.repeat(200_000) }) }, 413],
    ['wrong token', '/probes/one/run', { method: 'POST', headers: { authorization: 'Bearer nope' } }, 401],
    ['no token', '/probes/one/run', { method: 'POST' }, 401],
    ['unknown route', '/nope', {}, 404],
  ];
  for (const [what, path, init, code] of cases) {
    const res = await fetch(`${d.url}${path}`, { ...init, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    assert.equal(res.status, code, `${what}: ${res.status} ${text}`);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/, what);
    const body = JSON.parse(text) as { statusCode: number; error: string; message: string };
    assert.equal(body.statusCode, code, what);
    assert.equal(typeof body.error, 'string', what);
    assert.equal(typeof body.message, 'string', what);
  }
});
