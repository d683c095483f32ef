import { test } from 'node:test';
import { tcpConnect } from './ports.js';
import assert from 'node:assert/strict';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { connect } from 'node:net';
import { closedPort, dripServer, gate, hangAfterAccept, hugeBody, invalidJson, jsonServer, resetServer, statusServer, switchable } from './misbehaving.js';
import { stays, waitFor } from './wait.js';

/** A node:http GET that reports how it ended: status, or the error code. */
function rawGet(url: string, timeoutMs = 2000): Promise<{ status?: number; code?: string; body?: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ status: res.statusCode, code: e.code }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ code: e.code ?? e.message }));
    req.end();
  });
}

test('hangAfterAccept accepts the connection but never answers', async (t) => {
  const target = await hangAfterAccept();
  t.after(() => target.close());

  assert.equal(await tcpConnect(target.port), 'connected');
  const started = Date.now();
  await assert.rejects(fetch(`${target.url}/`, { signal: AbortSignal.timeout(300) }), (err: Error) => err.name === 'TimeoutError');
  assert.ok(Date.now() - started >= 250, 'the request waited for its own timeout, not an error from the server');
  assert.ok(target.connections >= 2);
});

test('close() destroys sockets that are still open, so nothing hangs', async () => {
  const target = await hangAfterAccept();
  const ended = new Promise<string>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: target.port });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    socket.on('close', () => resolve('closed'));
  });
  // Wait until the server has the socket, otherwise close() may run before it is tracked.
  for (let i = 0; i < 100 && target.connections === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(target.connections, 1);
  const started = Date.now();
  await target.close();
  await target.close(); // idempotent
  assert.ok(['closed', 'ECONNRESET'].includes(await ended));
  assert.ok(Date.now() - started < 1000);
});

test('dripServer sends headers at once, then a byte per interval, and never ends', async (t) => {
  const target = await dripServer({ intervalMs: 40 });
  t.after(() => target.close());

  const ac = new AbortController();
  const headersAt = Date.now();
  const res = await fetch(target.url, { signal: AbortSignal.any([ac.signal, AbortSignal.timeout(2000)]) });
  assert.equal(res.status, 200);
  assert.ok(Date.now() - headersAt < 1000, 'headers are not held back by the drip');

  const reader = res.body!.getReader();
  let bytes = 0;
  const deadline = Date.now() + 400;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    assert.equal(done, false, 'the body must never finish on its own');
    bytes += value.length;
  }
  assert.ok(bytes >= 3 && bytes <= 20, `about one byte per 40ms, got ${bytes} in 400ms`);
  ac.abort();
  await reader.cancel().catch(() => {});
});

test('dripServer defaults to one byte per second', async (t) => {
  const target = await dripServer();
  t.after(() => target.close());

  const res = await fetch(target.url, { signal: AbortSignal.timeout(3000) });
  const reader = res.body!.getReader();
  const started = Date.now();
  const { value } = await reader.read();
  const waited = Date.now() - started;
  assert.equal(value!.length, 1);
  assert.ok(waited >= 800 && waited < 2500, `first byte after ~1s, got ${waited}ms`);
  await reader.cancel().catch(() => {});
});

test('hugeBody streams exactly the announced number of bytes', async (t) => {
  const target = await hugeBody(1024 * 1024 + 7);
  t.after(() => target.close());

  const res = await fetch(target.url, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.headers.get('content-length'), String(1024 * 1024 + 7));
  const body = await res.arrayBuffer();
  assert.equal(body.byteLength, 1024 * 1024 + 7);
});

test('hugeBody defaults to 50 MiB and close() stops it mid-stream', async (t) => {
  const target = await hugeBody();
  t.after(() => target.close());

  const res = await fetch(target.url, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.headers.get('content-length'), String(50 * 1024 * 1024));
  const reader = res.body!.getReader();
  const { value } = await reader.read();
  assert.ok(value!.length > 0);
  const started = Date.now();
  await target.close();
  assert.ok(Date.now() - started < 1000);
  await assert.rejects(
    (async () => {
      for (let i = 0; i < 10_000; i++) {
        const r = await reader.read();
        if (r.done) throw new Error('ended cleanly, but 50 MiB were not sent');
      }
    })(),
  );
});

test('invalidJson answers 200 application/json with a truncated document', async (t) => {
  const target = await invalidJson();
  t.after(() => target.close());

  const res = await fetch(`${target.url}/api/v1/query`, { signal: AbortSignal.timeout(2000) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const text = await res.text();
  assert.equal(text, '{"status": "success", "data": [');
  assert.throws(() => JSON.parse(text), SyntaxError);
});

test('statusServer answers the given status and body', async (t) => {
  const five = await statusServer(500);
  t.after(() => five.close());
  const down = await statusServer(503, 'down for maintenance');
  t.after(() => down.close());

  const a = await fetch(five.url, { signal: AbortSignal.timeout(2000) });
  assert.equal(a.status, 500);
  assert.equal(await a.text(), '500 Internal Server Error\n');
  const b = await fetch(`${down.url}/-/ready`, { signal: AbortSignal.timeout(2000) });
  assert.equal(b.status, 503);
  assert.equal(await b.text(), 'down for maintenance');
});

test('resetServer resets the connection: ECONNRESET', async (t) => {
  const target = await resetServer();
  t.after(() => target.close());

  const raw = await rawGet(target.url);
  assert.equal(raw.status, undefined);
  assert.equal(raw.code, 'ECONNRESET');
  await assert.rejects(fetch(target.url, { signal: AbortSignal.timeout(2000) }), (err: Error) => {
    assert.equal(err.name, 'TypeError');
    return true;
  });
});

test('closedPort refuses connections', async (t) => {
  const target = await closedPort();
  t.after(() => target.close());

  assert.ok(target.port > 0);
  assert.equal(target.hostPort, `127.0.0.1:${target.port}`);
  assert.equal(await tcpConnect(target.port), 'ECONNREFUSED');
  assert.equal((await rawGet(target.url)).code, 'ECONNREFUSED');
});

test('jsonServer hands the parsed request to the handler and serialises its reply', async (t) => {
  const seen: unknown[] = [];
  const target = await jsonServer((req) => {
    seen.push({ method: req.method, path: req.path, q: req.query.get('q'), json: req.json });
    if (req.path === '/boom') throw new Error('kaboom');
    if (req.path === '/raw') return { status: 200, body: '{"already":"text"}' };
    return { status: 201, body: { ok: true, echo: req.json }, headers: { 'x-extra': 'yes' } };
  });
  t.after(() => target.close());

  const res = await fetch(`${target.url}/api/thing?q=up`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ a: 1 }),
    signal: AbortSignal.timeout(2000),
  });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(res.headers.get('x-extra'), 'yes');
  assert.deepEqual(await res.json(), { ok: true, echo: { a: 1 } });
  assert.deepEqual(seen[0], { method: 'POST', path: '/api/thing', q: 'up', json: { a: 1 } });

  const raw = await fetch(`${target.url}/raw`, { signal: AbortSignal.timeout(2000) });
  assert.equal(await raw.text(), '{"already":"text"}');

  const boom = await fetch(`${target.url}/boom`, { signal: AbortSignal.timeout(2000) });
  assert.equal(boom.status, 500);
  assert.match(((await boom.json()) as { error: string }).error, /kaboom/);
});

test('switchable relays to the chosen port, passes a reset on as a reset, and refuses while closed', async (t) => {
  const up = await statusServer(200, 'up');
  const reset = await resetServer();
  const at = await switchable(up.port);
  t.after(async () => {
    await at.close();
    await up.close();
    await reset.close();
  });
  assert.equal((await rawGet(at.url)).body, 'up');
  await at.use(reset.port);
  assert.equal((await rawGet(at.url)).code, 'ECONNRESET');
  await at.use('closed');
  assert.equal(await tcpConnect(at.port), 'ECONNREFUSED');
  await at.use(up.port);
  assert.equal((await rawGet(at.url)).status, 200, 'listens again on the same port');
});

test('gate lets the first requests through to the real service, then hangs, drips or stalls; open counts held sockets', async (t) => {
  const backend = await jsonServer((req) => ({ status: 200, body: { path: req.path, pad: 'x'.repeat(200) } }));
  const at = await gate(backend.port);
  t.after(async () => {
    await at.close();
    await backend.close();
  });
  const through = await rawGet(`${at.url}/one`);
  assert.equal(through.status, 200);
  assert.deepEqual(JSON.parse(through.body!), { path: '/one', pad: 'x'.repeat(200) });
  assert.equal(at.requests, 1);

  at.set(1, 'hang');
  assert.equal((await rawGet(`${at.url}/a`)).status, 200);
  assert.deepEqual(await rawGet(`${at.url}/b`, 300), { code: 'TIMEOUT' });

  at.set(0, 'drip');
  const dripping = await startGet(`${at.url}/c`);
  assert.equal(dripping.res.statusCode, 200, 'headers at once');
  const [chunk] = (await once(dripping.res, 'data')) as [Buffer];
  assert.match(chunk.toString(), /^ +$/, 'JSON whitespace, a byte at a time');
  dripping.req.destroy();

  at.set(0, 'stall');
  const stalled = await startGet(`${at.url}/d`);
  assert.equal(stalled.res.statusCode, 200, "the real answer's status");
  assert.equal(stalled.res.headers['content-type'], 'application/json', "and the real answer's headers");
  const announced = Number(stalled.res.headers['content-length']);
  let received = 0;
  stalled.res.on('data', (c: Buffer) => (received += c.length));
  await waitFor('the first half of the body', () => received > 0);
  // The second half never comes: what did arrive stays half, and the answer never completes.
  await stays('the rest of the body arrives', () => received >= announced || stalled.res.complete, Date.now() + 300, { describe: () => ({ received, announced }) });
  assert.equal(received, Math.floor(announced / 2));
  stalled.req.destroy();
  assert.equal(at.requests, 1);

  // Every client above gave up or closed: the gate (which never closes a keep-alive socket itself) holds none.
  await waitFor('the gate holds no socket', () => at.open === 0, { timeoutMs: 2000, describe: () => ({ open: at.open }) });
});

/** A node:http GET without an agent, handed back as soon as the headers are in: the body is the caller's to read. */
function startGet(url: string): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      res.on('error', () => {});
      resolve({ req, res });
    });
    req.on('error', reject);
    req.end();
  });
}
