// kind: http against targets that misbehave the ways real services do, run by the kind itself
// (runProber). Each failure must carry its own reason and cost no more than the timeout.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import type { ProbeResult } from '../../src/engine/result.js';
import { runProber } from '../support/prober.js';
import { closedPort, dripServer, hangAfterAccept, hugeBody, invalidJson, jsonServer, resetServer, statusServer, type JsonRequest, type MisbehavingTarget } from '../support/misbehaving.js';

const TIMEOUT_MS = 1000;
/** What a run may cost beyond its timeout: the runner's own deadline plus scheduling noise. */
const MARGIN_MS = 800;

/** One http probe run once by its kind under the runner's deadline, timed from outside. */
async function probe(t: TestContext, fields: Record<string, unknown>): Promise<{ result: ProbeResult; elapsedMs: number }> {
  const started = performance.now();
  const result = await runProber('http', { name: 'target', timeout: `${TIMEOUT_MS}ms`, ...fields });
  const elapsedMs = performance.now() - started;
  t.diagnostic(`elapsed ${elapsedMs.toFixed(0)} ms: ${result.reason}: ${result.message}`);
  return { result, elapsedMs };
}

async function serve(t: TestContext, target: Promise<MisbehavingTarget>): Promise<MisbehavingTarget> {
  const server = await target;
  t.after(() => server.close());
  return server;
}

const misbehaving: { name: string; start: () => Promise<MisbehavingTarget>; reason: string; message: RegExp; hint: RegExp; fields?: Record<string, unknown> }[] = [
  { name: 'accepts and then hangs', start: hangAfterAccept, reason: 'timeout', message: /did not answer in time/, hint: /did not answer within the timeout/ },
  { name: 'drips one byte a second', start: () => dripServer({ intervalMs: 1000 }), reason: 'timeout', message: /did not answer in time/, hint: /raise the probe's timeout/ },
  { name: 'announces a 50 MB body', start: () => hugeBody(50 * 1024 * 1024), reason: 'body_too_large', message: /announced a 50MiB body, over the 1MiB cap/, hint: /raise maxBodyBytes/ },
  {
    name: 'answers invalid JSON to a probe with assertions',
    start: invalidJson,
    reason: 'invalid_response',
    message: /answered HTTP 200 with a body that is not JSON: \{"status": "success", "data": \[/,
    hint: /The assertions need a JSON body/,
    fields: { assertions: [{ path: '$.status', equals: 'success' }] },
  },
  { name: 'answers 500', start: () => statusServer(500), reason: 'http_status', message: /answered HTTP 500 \(expected 2xx\): 500 Internal Server Error/, hint: /up but failing: read its logs/ },
  { name: 'resets the connection', start: resetServer, reason: 'reset', message: /closed the connection before answering \(ECONNRESET\)/, hint: /restarting or crashing/ },
  { name: 'is a closed port', start: closedPort, reason: 'connect', message: /cannot connect to .*: ECONNREFUSED/, hint: /Nothing accepts connections there/ },
];

for (const c of misbehaving) {
  test(`a target that ${c.name} fails with reason ${c.reason} within the timeout`, async (t) => {
    const target = await serve(t, c.start());
    const { result, elapsedMs } = await probe(t, { url: `${target.url}/health`, ...c.fields });
    assert.equal(result.status, 'failing');
    assert.equal(result.reason, c.reason);
    assert.match(result.message, c.message);
    assert.match(result.hint ?? '', c.hint);
    assert.ok(elapsedMs < TIMEOUT_MS + MARGIN_MS, `took ${elapsedMs.toFixed(0)} ms`);
    if (c.start !== closedPort) assert.ok(target.connections >= 1, 'the probe reached the target');
  });
}

test('a 50 MB body without a content-length is cut at the cap, not buffered whole', async (t) => {
  const total = 50 * 1024 * 1024;
  let sent = 0;
  let closedAt: number | undefined;
  const chunk = Buffer.alloc(64 * 1024, 'a');
  // Chunked, so the client only learns the size by reading: the cap must hold while streaming.
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.on('close', () => (closedAt = performance.now()));
    const pump = (): void => {
      while (sent < total && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));
  const { port } = server.address() as { port: number };

  const rssBefore = process.memoryUsage().rss;
  const { result, elapsedMs } = await probe(t, { url: `http://127.0.0.1:${port}/big`, maxBodyBytes: 1024 * 1024 });
  const grewBy = process.memoryUsage().rss - rssBefore;
  t.diagnostic(`server wrote ${(sent / 1024 / 1024).toFixed(1)} MiB before the drop; rss grew by ${(grewBy / 1024 / 1024).toFixed(1)} MiB`);

  assert.equal(result.reason, 'body_too_large');
  assert.match(result.message, /sent more than the 1MiB cap/);
  assert.ok(elapsedMs < TIMEOUT_MS, `took ${elapsedMs.toFixed(0)} ms`);
  // The client dropped the connection: the server stopped well short of 50 MB.
  for (let i = 0; i < 40 && closedAt === undefined; i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(closedAt !== undefined, 'the client closed the connection');
  assert.ok(sent < 20 * 1024 * 1024, `server wrote ${sent} bytes`);
  assert.ok(grewBy < 30 * 1024 * 1024, `rss grew by ${grewBy} bytes`);
});

test('maxBodyBytes from the config is the cap', async (t) => {
  const target = await serve(
    t,
    jsonServer(() => ({ status: 200, body: { padding: 'x'.repeat(200) } })),
  );
  const { result } = await probe(t, { url: target.url, maxBodyBytes: 100 });
  assert.equal(result.reason, 'body_too_large');
  assert.match(result.message, /announced a 214B body, over the 100B cap/);
});

test('a host that cannot resolve fails with reason dns', async (t) => {
  // A 64-character label is longer than DNS allows, so the C resolver refuses it before sending
  // anything: no query leaves the machine (checked with strace). A plain "x.invalid" would be
  // sent to the configured nameserver.
  const { result, elapsedMs } = await probe(t, { url: `http://${'a'.repeat(64)}.invalid/health` });
  assert.equal(result.reason, 'dns');
  assert.match(result.message, /cannot resolve the host of .* \(ENOTFOUND\)/);
  assert.match(result.hint ?? '', /the host is the service name/);
  assert.ok(elapsedMs < TIMEOUT_MS + MARGIN_MS);
});

/** An API answer with a status field and a list, as Prometheus-style health endpoints give. */
async function apiServer(t: TestContext, seen: JsonRequest[] = []): Promise<MisbehavingTarget> {
  return serve(
    t,
    jsonServer((req) => {
      seen.push(req);
      return { status: 200, body: { status: 'success', data: { status: 'success', items: [{ n: 3 }, { n: 0 }], ratio: '0.25' } } };
    }),
  );
}

test('JSON-path assertions that hold pass, with the status code as value', async (t) => {
  const target = await apiServer(t);
  const { result } = await probe(t, {
    url: target.url,
    assertions: [
      { path: '$.data.status', equals: 'success' },
      { path: 'data.items[0].n', expect: '> 0' },
      { path: '$.data.ratio', expect: '< 0.5' },
      { path: '$.data.ratio', expect: ['>= 0.05', '<= 0.3'] },
    ],
  });
  assert.equal(result.status, 'ok');
  assert.equal(result.reason, 'ok');
  assert.equal(result.message, 'HTTP 200, 4 assertion(s) hold');
  assert.equal(result.value, 200);
});

test('a failing assertion names the path, the value found and the expectation', async (t) => {
  const target = await apiServer(t);
  const cases: { assertion: Record<string, unknown>; message: string; value: number | null }[] = [
    { assertion: { path: 'data.items[1].n', expect: '> 0' }, message: 'data.items[1].n is 0, expected > 0', value: 0 },
    { assertion: { path: '$.data.ratio', expect: ['>= 0.05', '<= 0.2'] }, message: '$.data.ratio is "0.25", expected >= 0.05 and <= 0.2', value: 0.25 },
    { assertion: { path: '$.data.status', equals: 'error' }, message: '$.data.status is "success", expected "error"', value: null },
    { assertion: { path: '$.data.items', expect: '> 0' }, message: '$.data.items is [{"n":3},{"n":0}], expected > 0', value: null },
    { assertion: { path: '$.data.missing[0]', equals: 'x' }, message: `$.data.missing[0] is not in the answer of ${target.url}/`, value: null },
    { assertion: { path: '$.data.items[5].n', expect: '> 0' }, message: `$.data.items[5].n is not in the answer of ${target.url}/`, value: null },
  ];
  for (const c of cases) {
    const { result } = await probe(t, { url: `${target.url}/`, assertions: [c.assertion] });
    assert.equal(result.status, 'failing', c.message);
    assert.equal(result.reason, 'assertion');
    assert.equal(result.message, c.message);
    assert.equal(result.value, c.value);
    assert.equal(result.details?.path, c.assertion.path);
  }
});

test('expectStatus lists the accepted codes instead of any 2xx', async (t) => {
  const notFound = await serve(t, statusServer(404));
  const unavailable = await serve(t, statusServer(503, 'maintenance'));
  const noContent = await serve(t, statusServer(204, ''));

  const accepted = await probe(t, { url: notFound.url, expectStatus: [200, 404] });
  assert.equal(accepted.result.status, 'ok');
  assert.equal(accepted.result.value, 404);

  const refused = await probe(t, { url: unavailable.url, expectStatus: [200, 204] });
  assert.equal(refused.result.reason, 'http_status');
  assert.equal(refused.result.message, `${unavailable.url} answered HTTP 503 (expected 200, 204): maintenance`);
  assert.equal(refused.result.value, 503);
  assert.match(refused.result.hint ?? '', /read its logs/);

  const plain404 = await probe(t, { url: notFound.url });
  assert.equal(plain404.result.reason, 'http_status');
  assert.match(plain404.result.message, /\(expected 2xx\)/);
  assert.match(plain404.result.hint ?? '', /The URL or method may be wrong/);

  // 204 is a 2xx, yet not in the list.
  const strict = await probe(t, { url: noContent.url, expectStatus: [200] });
  assert.equal(strict.result.reason, 'http_status');
  assert.equal(strict.result.message, `${noContent.url} answered HTTP 204 (expected 200): (empty body)`);
});

test('method, headers and body are sent as configured', async (t) => {
  const seen: JsonRequest[] = [];
  const target = await apiServer(t, seen);
  const head = await probe(t, { url: `${target.url}/-/ready`, method: 'HEAD', headers: { 'X-Scope-OrgID': 'tenant-1' } });
  assert.equal(head.result.status, 'ok');
  const post = await probe(t, { url: `${target.url}/api/echo`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ping":1}' });
  assert.equal(post.result.status, 'ok');

  assert.equal(seen.length, 2);
  assert.equal(seen[0]!.method, 'HEAD');
  assert.equal(seen[0]!.path, '/-/ready');
  assert.equal(seen[0]!.headers['x-scope-orgid'], 'tenant-1');
  assert.equal(seen[0]!.headers['user-agent'], 'stack-watchdog-test');
  assert.equal(seen[1]!.method, 'POST');
  assert.deepEqual(seen[1]!.json, { ping: 1 });
});

test('HEAD is not refused for the size of a body it never receives', async (t) => {
  // The content-length of a HEAD answer describes the GET body; nothing follows it.
  const target = await serve(t, hugeBody(50 * 1024 * 1024));
  const { result } = await probe(t, { url: target.url, method: 'HEAD' });
  assert.equal(result.status, 'ok', result.message);
  assert.equal(result.value, 200);
});

test('a probe file with a bad assertion is refused with one exact line', () => {
  const bad = (assertion: Record<string, unknown>) => () =>
    parseConfig([{ file: 'probes/http.yaml', text: JSON.stringify({ probes: [{ name: 'api', kind: 'http', url: 'http://127.0.0.1:1/', assertions: [assertion] }] }) }], {});
  assert.throws(bad({ path: '$.a', expect: '> 0', equals: 1 }), (e: ConfigError) => e.message === 'probes/http.yaml: probe "api": assertions[0]: give exactly one of expect or equals');
  assert.throws(bad({ path: '$.a', expect: 'positive' }), (e: ConfigError) => e.message.startsWith('probes/http.yaml: probe "api": assertions[0].expect: "positive" is not a comparison'));
  assert.throws(bad({ path: '$..a', equals: 1 }), (e: ConfigError) => e.message === 'probes/http.yaml: probe "api": assertions[0].path: "$..a" is not a path like $.data.items[0].name');
});
