import { test } from 'node:test';
import { tcpConnect } from './ports.js';
import { lenField, varint } from './protobuf.js';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { startTempoStandin, type TempoStandin, type TempoStandinOptions } from './tempo-standin.js';
import { startPrometheus, waitForQuery } from './prometheus.js';

const T = 2000; // per-request timeout: every request in here is bounded

async function standin(t: { after(fn: () => Promise<void>): void }, opts?: TempoStandinOptions): Promise<TempoStandin> {
  const s = await startTempoStandin(opts);
  t.after(() => s.stop());
  return s;
}

function get(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(T) });
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function otlpBody(opts: { traceId: string; spanId?: string; parentSpanId?: string; service: string; name?: string; startNs?: bigint; durationMs?: number; attrs?: Record<string, string> }) {
  const start = opts.startNs ?? BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: opts.service } }] },
        scopeSpans: [
          {
            scope: { name: 'watchdog', version: '1.0.0', attributes: [{ key: 'dropped.by.tempo', value: { stringValue: 'yes' } }] },
            spans: [
              {
                traceId: opts.traceId,
                spanId: opts.spanId ?? hex(8),
                name: opts.name ?? 'canary',
                kind: 2,
                startTimeUnixNano: String(start),
                endTimeUnixNano: String(start + BigInt((opts.durationMs ?? 12) * 1e6)),
                attributes: Object.entries(opts.attrs ?? {}).map(([key, v]) => ({ key, value: { stringValue: v } })),
                ...(opts.parentSpanId === undefined ? {} : { parentSpanId: opts.parentSpanId }),
              },
            ],
          },
        ],
      },
    ],
  };
}

async function push(s: TempoStandin, body: unknown, contentType = 'application/json'): Promise<Response> {
  return get(`${s.otlpHttpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: (typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body)) as BodyInit,
  });
}

// ----------------------------------------------------------- the JSON the tests read back, typed

/** OTLP AnyValue as Tempo's jsonpb writes it (an int64 as a string). */
interface AnyValueJson {
  stringValue?: string;
  intValue?: string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface KeyValueJson {
  key: string;
  value: AnyValueJson;
}
/** A span of a trace by id: base64 ids, enum names, nanoseconds as strings, zero values left out. */
interface SpanJson {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name?: string;
  kind?: string;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: KeyValueJson[];
  status: { code?: string; message?: string };
}
interface ResourceSpansJson {
  resource: { attributes: KeyValueJson[] };
  scopeSpans: { scope: { name?: string; version?: string }; spans: SpanJson[] }[];
}
/** GET /api/traces/<id> (v1): "batches"; a "resourceSpans" key would be the v2 / OTLP shape. */
interface TraceByIdV1 {
  batches: ResourceSpansJson[];
  resourceSpans?: unknown;
}
/** GET /api/v2/traces/<id>: no "trace" when there is none. */
interface TraceByIdV2 {
  trace?: { resourceSpans: ResourceSpansJson[] };
  metrics: { inspectedBytes?: string };
}
interface SpanSetJson {
  spans: { spanID: string; name?: string; startTimeUnixNano: string; durationNanos: string; attributes: KeyValueJson[] }[];
  matched: number;
}
interface SearchTrace {
  traceID: string;
  rootServiceName: string;
  rootTraceName?: string;
  startTimeUnixNano: string;
  durationMs?: number;
  /** TraceQL (q=) searches only. */
  spanSet?: SpanSetJson;
  spanSets?: SpanSetJson[];
}
/** GET /api/search: jsonpb leaves "traces" out when nothing matched. */
interface SearchAnswer {
  traces?: SearchTrace[];
  metrics: { inspectedBytes?: string; totalJobs?: number; completedJobs?: number };
}

interface SearchResponse {
  status: number;
  text: string;
  /** The parsed body; reading it fails the test when the answer was not JSON. */
  readonly json: SearchAnswer;
}

async function search(s: TempoStandin, params: Record<string, string | number>): Promise<SearchResponse> {
  const q = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const res = await get(`${s.url}/api/search?${q}`);
  const text = await res.text();
  const contentType = res.headers.get('content-type');
  const json = contentType === 'application/json' ? (JSON.parse(text) as SearchAnswer) : undefined;
  return {
    status: res.status,
    text,
    get json(): SearchAnswer {
      assert.ok(json, `search answered ${res.status} (${contentType}), not JSON: ${text}`);
      return json;
    },
  };
}

/** items[i]; fails the test, showing what was there, when there is no such item. */
function nth<T>(items: readonly T[] | undefined, i: number, what: string): T {
  const item = items?.[i];
  assert.ok(item !== undefined, `no ${what}[${i}] in ${JSON.stringify(items)}`);
  return item;
}

/** The first span of the first scope of the first batch of a trace by id. */
function firstSpan(trace: TraceByIdV1): SpanJson {
  return nth(nth(nth(trace.batches, 0, 'batches').scopeSpans, 0, 'scopeSpans').spans, 0, 'spans');
}

const nowS = (): number => Math.floor(Date.now() / 1000);

// ------------------------------------------------------------------------------------- readiness

test('/ready, /api/echo and /status/services answer like Tempo', async (t) => {
  const s = await standin(t);

  const ready = await get(`${s.url}/ready`);
  assert.equal(ready.status, 200);
  assert.equal(await ready.text(), 'ready\n');
  assert.equal(ready.headers.get('content-type'), 'text/plain; charset=utf-8');

  const echo = await get(`${s.url}/api/echo`);
  assert.equal(echo.status, 200);
  assert.equal(await echo.text(), 'echo\n');

  const services = await (await get(`${s.url}/status/services`)).text();
  const lines = services.split('\n');
  assert.equal(lines[0], 'GET /status/services');
  assert.match(lines[1]!, /^\+-+\+-+\+-+\+$/);
  assert.match(lines[2]!, /^\| SERVICE NAME +\| STATUS +\| FAILURE CASE \|$/);
  assert.match(services, /^\| distributor +\| Running +\| +\|$/m);
  assert.match(services, /^\| ingester +\| Running +\| +\|$/m);
  assert.ok(
    lines.every((l) => l === '' || l === lines[0] || l.length === lines[1]!.length),
    'table rows are aligned',
  );
  assert.equal(s.received.readyRequests, 1);
});

test('setReady(false) gives 503 "Ingester not ready: ..." and setReady(true) restores it', async (t) => {
  const s = await standin(t);
  s.setReady(false);
  let res = await get(`${s.url}/ready`);
  assert.equal(res.status, 503);
  assert.equal(await res.text(), 'Ingester not ready: waiting for 15s after being ready\n');

  s.setReady(false, 'instance 7f3a in state JOINING');
  res = await get(`${s.url}/ready`);
  assert.equal(await res.text(), 'Ingester not ready: instance 7f3a in state JOINING\n');

  s.setReady(true);
  assert.equal((await get(`${s.url}/ready`)).status, 200);
});

test('setModuleState shows in /status/services and makes /ready 503', async (t) => {
  const s = await standin(t, { modules: ['distributor', 'ingester', 'querier'] });
  s.setModuleState('ingester', 'Failed', 'failed to replay WAL');
  const res = await get(`${s.url}/ready`);
  assert.equal(res.status, 503);
  assert.equal(await res.text(), 'Some services are not Running:\nFailed: 1\nRunning: 2\n\n');

  const services = await (await get(`${s.url}/status/services`)).text();
  assert.match(services, /^\| ingester +\| Failed +\| failed to replay WAL \|$/m);
  const all = await (await get(`${s.url}/status`)).text();
  assert.match(all, /^GET \/status\/version\ntempo, version 2\.6\.1/);
  assert.match(all, /GET \/status\/services\n/);

  s.setModuleState('ingester', 'Running');
  assert.equal((await get(`${s.url}/ready`)).status, 200);
});

// ---------------------------------------------------------------------------------------- ingest

test('a span pushed over OTLP/HTTP JSON is found by id and by tag search in a window', async (t) => {
  const s = await standin(t);
  const traceId = hex(16);
  const spanId = hex(8);
  const startNs = BigInt(Date.now() - 2000) * 1_000_000n;
  const res = await push(s, otlpBody({ traceId, spanId, service: 'watchdog-canary', startNs, durationMs: 1500, attrs: { 'probe.id': 'p-42' } }));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(await res.text(), '{}');
  assert.equal(s.received.ingestRequests, 1);
  assert.equal(s.received.ingestedSpans, 1);

  // v1 trace by id: "batches", base64 ids, enum names, string nanos, scope without attributes.
  const byId = await get(`${s.url}/api/traces/${traceId}`);
  assert.equal(byId.status, 200);
  assert.equal(byId.headers.get('content-type'), 'application/json');
  const trace = (await byId.json()) as TraceByIdV1;
  assert.equal(trace.resourceSpans, undefined);
  assert.equal(trace.batches.length, 1);
  const batch = nth(trace.batches, 0, 'batches');
  assert.deepEqual(batch.resource.attributes, [{ key: 'service.name', value: { stringValue: 'watchdog-canary' } }]);
  const scopeSpans = nth(batch.scopeSpans, 0, 'scopeSpans');
  assert.deepEqual(scopeSpans.scope, { name: 'watchdog', version: '1.0.0' });
  const span = nth(scopeSpans.spans, 0, 'spans');
  assert.equal(span.traceId, Buffer.from(traceId, 'hex').toString('base64'));
  assert.equal(span.spanId, Buffer.from(spanId, 'hex').toString('base64'));
  assert.equal(span.kind, 'SPAN_KIND_SERVER');
  assert.equal(span.startTimeUnixNano, String(startNs));
  assert.equal(span.endTimeUnixNano, String(startNs + 1_500_000_000n));
  assert.deepEqual(span.status, {});
  assert.deepEqual(span.attributes, [{ key: 'probe.id', value: { stringValue: 'p-42' } }]);

  // Tag search over a start/end window (seconds).
  const found = await search(s, { tags: 'service.name=watchdog-canary', start: nowS() - 60, end: nowS() + 1, limit: 5 });
  assert.equal(found.status, 200);
  assert.equal(found.json.traces?.length, 1);
  const hit = nth(found.json.traces, 0, 'traces');
  assert.equal(hit.traceID, traceId.replace(/^0+/, ''));
  assert.equal(hit.rootServiceName, 'watchdog-canary');
  assert.equal(hit.rootTraceName, 'canary');
  assert.equal(hit.startTimeUnixNano, String(startNs));
  assert.equal(hit.durationMs, 1500);
  assert.deepEqual(Object.keys(found.json.metrics).sort(), ['completedJobs', 'inspectedBytes', 'totalJobs']);
  assert.equal(typeof found.json.metrics.inspectedBytes, 'string');

  // Other attributes, several pairs, quoted logfmt values, case-insensitive substrings.
  assert.equal((await search(s, { tags: 'service.name=WATCHDOG probe.id="p-42"' })).json.traces?.length, 1);
  assert.equal((await search(s, { tags: 'name=canary' })).json.traces?.length, 1);
  assert.equal((await search(s, { tags: 'service.name=watchdog-canary probe.id=p-41' })).json.traces, undefined);

  // Without start/end the ingester window (recently received) applies: just pushed, so found.
  assert.equal((await search(s, { tags: 'service.name=watchdog-canary' })).json.traces?.length, 1);
  assert.equal(s.received.searchRequests, 5);
  assert.equal(s.received.traceByIdRequests, 1);
});

test('the Tempo docs example (uppercase hex ids, unquoted nanoseconds) is accepted exactly', async (t) => {
  const s = await standin(t);
  // From "Push spans with HTTP": numbers beyond 2^53 must not be rounded.
  const body = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
    "scopeSpans":[{"scope":{"name":"my.library","version":"1.0.0"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC700",
    "spanId":"EEE19B7EC3C1B100","name":"I am a span!","startTimeUnixNano":1689969302000000001,"endTimeUnixNano":1689970000000000000,
    "kind":2,"attributes":[{"key":"my.span.attr","value":{"stringValue":"some value"}}]}]}]}]}`;
  assert.equal((await push(s, body)).status, 200);
  const trace = (await (await get(`${s.url}/api/traces/5b8efff798038103d269b633813fc700`)).json()) as TraceByIdV1;
  const span = firstSpan(trace);
  assert.equal(span.traceId, 'W47/95gDgQPSabYzgT/HAA==');
  assert.equal(span.spanId, '7uGbfsPBsQA=');
  assert.equal(span.startTimeUnixNano, '1689969302000000001');
  // Pushed now, with 2023 timestamps: the ingester window (by receive time) still holds it, a
  // start/end window around now does not.
  assert.equal((await search(s, { tags: 'service.name=my.service' })).json.traces?.length, 1);
  assert.equal((await search(s, { tags: 'service.name=my.service', start: nowS() - 60, end: nowS() })).json.traces, undefined);
  assert.equal((await search(s, { tags: 'service.name=my.service', start: 1689969000, end: 1689971000 })).json.traces?.length, 1);
});

test('malformed ingest answers 400 with a google.rpc.Status; wrong type 415; wrong method 405', async (t) => {
  const s = await standin(t);
  const cases: [string, unknown][] = [
    ['not json', '{"resourceSpans": ['],
    ['base64 trace id', otlpBody({ traceId: Buffer.from(hex(16), 'hex').toString('base64'), service: 'x' })],
    ['short span id', otlpBody({ traceId: hex(16), spanId: 'abc', service: 'x' })],
    ['resourceSpans not an array', { resourceSpans: {} }],
    ['bad nanos', { resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: hex(16), spanId: hex(8), startTimeUnixNano: '1.5' }] }] }] }],
  ];
  for (const [why, body] of cases) {
    const res = await push(s, body);
    assert.equal(res.status, 400, why);
    const status = (await res.json()) as { code: number; message: string };
    assert.equal(status.code, 3, why);
    assert.ok(status.message.length > 0, why);
  }
  assert.equal((await push(s, '{}', 'text/plain')).status, 415);
  const getRes = await get(`${s.otlpHttpUrl}/v1/traces`);
  assert.equal(getRes.status, 405);
  assert.equal((await get(`${s.otlpHttpUrl}/v1/metrics`, { method: 'POST', body: '{}' })).status, 404);
  assert.equal(s.received.malformedRequests, cases.length + 2);
  assert.equal(s.received.ingestedSpans, 0);
  // An empty request is valid OTLP: 200, nothing stored.
  assert.equal((await push(s, {})).status, 200);
  assert.deepEqual(s.traceIds(), []);
});

test('OTLP/HTTP protobuf is accepted too', async (t) => {
  const s = await standin(t);
  const traceId = hex(16);
  const startNs = BigInt(Date.now()) * 1_000_000n;
  const body = pbMessage([
    pb(1, [
      pb(1, [pb(1, [pbStr(1, 'service.name'), pb(2, [pbStr(1, 'proto-svc')])])]),
      pb(2, [
        pb(2, [
          lenField(1, Buffer.from(traceId, 'hex')),
          lenField(2, Buffer.from(hex(8), 'hex')),
          pbStr(5, 'proto-span'),
          pbVarint(6, 3),
          pbFixed64(7, startNs),
          pbFixed64(8, startNs + 5_000_000n),
          pb(9, [pbStr(1, 'n'), pb(2, [pbVarint(3, 42)])]),
        ]),
      ]),
    ]),
  ]);
  const res = await push(s, body, 'application/x-protobuf');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
  const trace = (await (await get(`${s.url}/api/traces/${traceId}`)).json()) as TraceByIdV1;
  const span = firstSpan(trace);
  assert.equal(span.name, 'proto-span');
  assert.equal(span.kind, 'SPAN_KIND_CLIENT');
  assert.equal(span.endTimeUnixNano, String(startNs + 5_000_000n));
  assert.deepEqual(span.attributes, [{ key: 'n', value: { intValue: '42' } }]);
  assert.equal(nth((await search(s, { tags: 'service.name=proto-svc n=42' })).json.traces, 0, 'traces').durationMs, 5);

  const bad = await push(s, Buffer.from([0x0a, 0xff]), 'application/x-protobuf');
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get('content-type'), 'application/x-protobuf');
});

// ----------------------------------------------------------------------------------- fault knobs

test('setIngestDelay hides ingested spans until the delay has passed', async (t) => {
  let now = Date.now();
  const s = await standin(t, { now: () => now });
  s.setIngestDelay(5000);
  const traceId = hex(16);
  assert.equal((await push(s, otlpBody({ traceId, service: 'slow-pipe', startNs: BigInt(now) * 1_000_000n }))).status, 200);

  assert.equal((await get(`${s.url}/api/traces/${traceId}`)).status, 404);
  const empty = await search(s, { tags: 'service.name=slow-pipe' });
  assert.equal(empty.status, 200);
  assert.equal(empty.json.traces, undefined, 'no match: jsonpb leaves the traces key out');
  assert.deepEqual(empty.json.metrics, { completedJobs: 1, totalJobs: 1 });

  now += 4999;
  assert.equal((await get(`${s.url}/api/traces/${traceId}`)).status, 404);
  now += 1;
  assert.equal((await get(`${s.url}/api/traces/${traceId}`)).status, 200);
  assert.equal((await search(s, { tags: 'service.name=slow-pipe' })).json.traces?.length, 1);
});

test('setDropIngest answers 200 {} and keeps nothing', async (t) => {
  const s = await standin(t);
  s.setDropIngest(true);
  const traceId = hex(16);
  const res = await push(s, otlpBody({ traceId, service: 'black-hole' }));
  assert.equal(res.status, 200);
  assert.equal(await res.text(), '{}');
  assert.equal(s.received.droppedSpans, 1);
  assert.equal(s.received.ingestedSpans, 0);
  const missing = await get(`${s.url}/api/traces/${traceId}`);
  assert.equal(missing.status, 404);
  // Since Tempo 2.4 a miss is a 404 with an empty body (the default stand-in is 2.6.1).
  assert.equal(await missing.text(), '');
  assert.doesNotMatch(await (await get(`${s.url}/metrics`)).text(), /tempo_distributor_spans_received_total/);

  s.setDropIngest(false);
  assert.equal((await push(s, otlpBody({ traceId, service: 'black-hole' }))).status, 200);
  assert.equal((await get(`${s.url}/api/traces/${traceId}`)).status, 200);
});

test('setRejectIngest answers the given status until cleared', async (t) => {
  const s = await standin(t);
  s.setRejectIngest(503);
  let res = await push(s, otlpBody({ traceId: hex(16), service: 'x' }));
  assert.equal(res.status, 503);
  assert.equal(((await res.json()) as { code: number }).code, 14);
  s.setRejectIngest(429, 'RATE_LIMITED: ingestion rate limit exceeded');
  res = await push(s, otlpBody({ traceId: hex(16), service: 'x' }));
  assert.equal(res.status, 429);
  assert.deepEqual(await res.json(), { code: 8, message: 'RATE_LIMITED: ingestion rate limit exceeded' });
  assert.equal(s.received.rejectedRequests, 2);
  s.setRejectIngest(null);
  assert.equal((await push(s, otlpBody({ traceId: hex(16), service: 'x' }))).status, 200);
  assert.equal(s.received.ingestedSpans, 1);
});

test('stale seeded traces fall outside both the ingester window and a recent start/end window', async (t) => {
  const s = await standin(t);
  const fresh = s.addTrace({ serviceName: 'shop', startedAgoMs: 5_000, rootName: 'GET /cart' });
  const stale = s.addTrace({ serviceName: 'shop', startedAgoMs: 2 * 3600_000, rootName: 'GET /old' });

  const recent = await search(s, { tags: 'service.name=shop' });
  assert.deepEqual(
    recent.json.traces?.map((x) => x.rootTraceName),
    ['GET /cart'],
  );
  const lastFiveMin = await search(s, { tags: 'service.name=shop', start: nowS() - 300, end: nowS() + 1 });
  assert.deepEqual(
    lastFiveMin.json.traces?.map((x) => x.traceID),
    [fresh.replace(/^0+/, '')],
  );
  const threeHours = await search(s, { tags: 'service.name=shop', start: nowS() - 3 * 3600, end: nowS() + 1 });
  assert.equal(threeHours.json.traces?.length, 2);
  // Trace by id searches everything, whatever the age.
  assert.equal((await get(`${s.url}/api/traces/${stale}`)).status, 200);
  // ...unless narrowed by start/end.
  assert.equal((await get(`${s.url}/api/traces/${stale}?start=${nowS() - 60}&end=${nowS()}`)).status, 404);

  s.clearTraces();
  assert.equal((await get(`${s.url}/api/traces/${fresh}`)).status, 404);
});

test('the ingester window is configurable and counts from when Tempo received the data', async (t) => {
  let now = Date.now();
  const s = await standin(t, { ingesterWindowMs: 60_000, now: () => now });
  s.addTrace({ serviceName: 'w', startedAgoMs: 0 });
  assert.equal((await search(s, { tags: 'service.name=w' })).json.traces?.length, 1);
  now += 61_000;
  assert.equal((await search(s, { tags: 'service.name=w' })).json.traces, undefined);
  // An old trace that was only just received is in the ingesters.
  s.addTrace({ serviceName: 'late', startedAgoMs: 3600_000, ingestedAgoMs: 0 });
  assert.equal((await search(s, { tags: 'service.name=late' })).json.traces?.length, 1);
});

test('search orders newest first, honours limit (default 20) and duration filters', async (t) => {
  const s = await standin(t);
  for (let i = 0; i < 25; i++) s.addTrace({ serviceName: 'many', startedAgoMs: (i + 1) * 1000, rootName: `op-${i}`, durationMs: i * 10 });
  const all = await search(s, { tags: 'service.name=many' });
  assert.equal(all.json.traces?.length, 20);
  assert.deepEqual(
    all.json.traces?.slice(0, 3).map((x) => x.rootTraceName),
    ['op-0', 'op-1', 'op-2'],
  );
  assert.equal(nth(all.json.traces, 0, 'traces').durationMs, undefined, '0ms is left out, as jsonpb does');
  const two = await search(s, { tags: 'service.name=many', limit: 2 });
  assert.deepEqual(
    two.json.traces?.map((x) => x.rootTraceName),
    ['op-0', 'op-1'],
  );
  const slow = await search(s, { tags: 'service.name=many', minDuration: '200ms', maxDuration: '0.22s' });
  assert.deepEqual(
    slow.json.traces?.map((x) => x.rootTraceName),
    ['op-20', 'op-21', 'op-22'],
  );
});

test('search parameter errors are 400 with Tempo messages', async (t) => {
  const s = await standin(t);
  const cases: [Record<string, string | number>, string][] = [
    [{ start: 20, end: 10 }, 'http parameter start must be before end. received start=20 end=10\n'],
    [{ limit: 0 }, 'invalid limit: must be a positive number\n'],
    [{ tags: 'a=b', q: '{}' }, "invalid request: can't specify tags and q in the same query\n"],
    [{ tags: 'a=b a=c' }, 'invalid tags: tag a has been set twice\n'],
    [{ minDuration: 'soon' }, 'invalid minDuration: time: invalid duration "soon"\n'],
  ];
  for (const [params, message] of cases) {
    const res = await search(s, params);
    assert.equal(res.status, 400, JSON.stringify(params));
    assert.equal(res.text, message);
  }
  const badId = await get(`${s.url}/api/traces/xyz`);
  assert.equal(badId.status, 400);
  assert.equal(await badId.text(), "encoding/hex: invalid byte: U+0078 'x'\n");
  assert.equal((await get(`${s.url}/api/traces/${'a'.repeat(34)}`)).status, 400);
});

test('search results carry trace ids without leading zeros; lookups accept them', async (t) => {
  const s = await standin(t);
  const id = s.addTrace({ serviceName: 'zeros', traceId: '000000000000000000000000000abc12' });
  assert.equal(id, '000000000000000000000000000abc12');
  const res = await search(s, { tags: 'service.name=zeros' });
  assert.equal(nth(res.json.traces, 0, 'traces').traceID, 'abc12');
  assert.equal((await get(`${s.url}/api/traces/abc12`)).status, 200);
});

test('a trace whose root span has not arrived reports <root span not yet received>', async (t) => {
  const s = await standin(t);
  const traceId = hex(16);
  const body = otlpBody({ traceId, service: 'child-only', parentSpanId: hex(8) });
  assert.equal((await push(s, body)).status, 200);
  const hit = nth((await search(s, { tags: 'service.name=child-only' })).json.traces, 0, 'traces');
  assert.equal(hit.rootServiceName, '<root span not yet received>');
  assert.equal(hit.rootTraceName, undefined);
});

test('TraceQL q: simple conjunctions, spanSets, and a clear 400 for the rest', async (t) => {
  const s = await standin(t);
  const traceId = hex(16);
  await push(s, otlpBody({ traceId, service: 'tql', name: 'GET /health', attrs: { 'http.status_code': '200' } }));
  const res = await search(s, { q: '{ resource.service.name = "tql" && name = "GET /health" }' });
  assert.equal(res.status, 200);
  const hit = nth(res.json.traces, 0, 'traces');
  assert.equal(hit.traceID, traceId.replace(/^0+/, ''));
  const spanSet = nth(hit.spanSets, 0, 'spanSets');
  assert.equal(spanSet.matched, 1);
  const matchedSpan = nth(spanSet.spans, 0, 'spanSets[0].spans');
  assert.deepEqual(matchedSpan.attributes, [{ key: 'service.name', value: { stringValue: 'tql' } }]);
  assert.equal(matchedSpan.spanID.length, 16);
  assert.deepEqual(hit.spanSet, spanSet);
  assert.equal((await search(s, { q: '{ .service.name = "tq" }' })).json.traces, undefined, 'TraceQL = is exact');
  assert.equal((await search(s, { q: '{}' })).json.traces?.length, 1);
  const unsupported = await search(s, { q: '{ .a = "b" } | count() > 1' });
  assert.equal(unsupported.status, 400);
  assert.match(unsupported.text, /^invalid TraceQL query: tempo stand-in supports only/);
});

test('/api/v2/traces wraps resourceSpans, and answers 200 without a trace when missing', async (t) => {
  const s = await standin(t);
  const id = s.addTrace({ serviceName: 'v2' });
  const found = (await (await get(`${s.url}/api/v2/traces/${id}`)).json()) as TraceByIdV2;
  assert.equal(found.trace?.resourceSpans[0]?.resource.attributes[0]?.value.stringValue, 'v2');
  const missing = await get(`${s.url}/api/v2/traces/${hex(16)}`);
  assert.equal(missing.status, 200);
  assert.deepEqual(await missing.json(), { metrics: {} });
});

test('/metrics: build info always, distributor counters only once spans arrived', async (t) => {
  const s = await standin(t, { version: '2.7.2' });
  const before = await get(`${s.url}/metrics`);
  assert.match(before.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  const text0 = await before.text();
  assert.match(text0, /^tempo_build_info\{.*version="2\.7\.2"\} 1$/m);
  assert.doesNotMatch(text0, /tempo_distributor_spans_received_total/);

  await push(s, otlpBody({ traceId: hex(16), service: 'm' }));
  await push(s, otlpBody({ traceId: hex(16), service: 'm' }));
  const text = await (await get(`${s.url}/metrics`)).text();
  assert.match(text, /^tempo_distributor_spans_received_total\{tenant="single-tenant"\} 2$/m);
  assert.match(text, /^tempo_ingester_traces_created_total\{tenant="single-tenant"\} 2$/m);
  assert.match(text, /^# TYPE tempo_distributor_spans_received_total counter$/m);
  const info = (await (await get(`${s.url}/api/status/buildinfo`)).json()) as Record<string, string>;
  assert.equal(info.version, '2.7.2');
  assert.deepEqual(Object.keys(info).sort(), ['branch', 'buildDate', 'buildUser', 'goVersion', 'revision', 'version']);
});

test("span metrics count every span received over OTLP, the canary's too, and are remote-written to a real Prometheus until the metrics-generator is off", async (t) => {
  // Behaviour changed with issue 17: Tempo's generator remote-writes, it serves no span metrics for a scrape.
  const prom = await startPrometheus();
  t.after(() => prom.stop());
  const s = await standin(t, { remoteWriteUrl: `${prom.url}/api/v1/write`, generatorIntervalMs: 3_600_000 });
  // Seeded traces stand for data held from before: not counted now.
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 5_000 });
  await s.flushSpanMetrics();
  assert.doesNotMatch(await (await get(`${s.url}/metrics`)).text(), /traces_spanmetrics_calls_total|prometheus_remote_storage/, 'nothing to send before the first span');
  const canary = (): unknown => {
    const body = otlpBody({ traceId: hex(16), service: 'stack-watchdog-canary', name: 'watchdog canary' });
    (body.resourceSpans[0]!.scopeSpans[0]!.spans[0] as { kind: number }).kind = 1;
    return body;
  };
  await push(s, canary());
  await push(s, canary());
  await push(s, otlpBody({ traceId: hex(16), service: 'mystocks-api', name: 'GET "/api/stocks"' }));
  await s.flushSpanMetrics();
  const text = await (await get(`${s.url}/metrics`)).text();
  assert.doesNotMatch(text, /traces_spanmetrics/, 'not served for a scrape');
  assert.match(text, /^prometheus_remote_storage_samples_total\{remote_name="[0-9a-f]+",tenant="single-tenant",url="http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write"\} 2$/m);
  assert.match(text, /^prometheus_remote_storage_samples_failed_total\{.*\} 0$/m);
  assert.match(text, /^prometheus_remote_storage_samples_pending\{.*\} 0$/m);
  const calls = await waitForQuery(prom.url, 'traces_spanmetrics_calls_total', (r) => r.length === 2);
  const by = Object.fromEntries(calls.map((c) => [c.metric.service!, c]));
  assert.deepEqual(by['stack-watchdog-canary']!.metric, {
    __name__: 'traces_spanmetrics_calls_total',
    service: 'stack-watchdog-canary',
    span_kind: 'SPAN_KIND_INTERNAL',
    span_name: 'watchdog canary',
    status_code: 'STATUS_CODE_UNSET',
  });
  assert.equal(by['stack-watchdog-canary']!.value![1], '2');
  assert.deepEqual(by['mystocks-api']!.metric, {
    __name__: 'traces_spanmetrics_calls_total',
    service: 'mystocks-api',
    span_kind: 'SPAN_KIND_SERVER',
    span_name: 'GET "/api/stocks"',
    status_code: 'STATUS_CODE_UNSET',
  });
  assert.equal(by['mystocks-backend'], undefined);
  // Dropped spans never reach the generator either.
  s.setDropIngest(true);
  await push(s, canary());
  s.setDropIngest(false);
  await s.flushSpanMetrics();
  await waitForQuery(prom.url, 'count_over_time(traces_spanmetrics_calls_total{service="stack-watchdog-canary"}[1m])', (r) => r[0]?.value?.[1] === '2');
  assert.equal((await waitForQuery(prom.url, 'traces_spanmetrics_calls_total{service="stack-watchdog-canary"}', (r) => r.length === 1))[0]!.value![1], '2');
  // Off: the module leaves /status/services, and nothing more is counted or sent.
  s.setMetricsGenerator(false);
  await push(s, canary());
  await s.flushSpanMetrics();
  assert.doesNotMatch(await (await get(`${s.url}/status/services`)).text(), /metrics-generator/);
  assert.match(await (await get(`${s.url}/metrics`)).text(), /^prometheus_remote_storage_samples_total\{.*\} 4$/m);
});

test('/status/overrides/<tenant>: JSON with the runtime overrides as YAML; processors left out when none', async (t) => {
  const s = await standin(t);
  const page = (await (await get(`${s.url}/status/overrides/single-tenant`, { headers: { accept: 'application/json' } })).json()) as Record<string, string>;
  assert.deepEqual(Object.keys(page).sort(), ['now', 'runtime_overrides', 'tenant', 'user_configurable_overrides', 'using_default_or_wildcard_runtime_overrides']);
  assert.equal(page.tenant, 'single-tenant');
  assert.match(page.runtime_overrides!, /^metrics_generator:\n {2}processors:\n {2}- service-graphs\n {2}- span-metrics\n/m);
  s.setProcessors([]);
  const none = (await (await get(`${s.url}/status/overrides/single-tenant`, { headers: { accept: 'application/json' } })).json()) as Record<string, string>;
  assert.doesNotMatch(none.runtime_overrides!, /metrics_generator/);
  const html = await get(`${s.url}/status/overrides/single-tenant`);
  assert.match(html.headers.get('content-type')!, /^text\/html/);
});

test('remote write refused (404 from a Prometheus without the receiver) counts failed; unreachable counts retried and pending', async (t) => {
  const prom = await startPrometheus({ remoteWriteReceiver: false });
  t.after(() => prom.stop());
  const s = await standin(t, { remoteWriteUrl: `${prom.url}/api/v1/write`, generatorIntervalMs: 3_600_000 });
  await push(s, otlpBody({ traceId: hex(16), service: 'm' }));
  await s.flushSpanMetrics();
  const refused = await (await get(`${s.url}/metrics`)).text();
  assert.match(refused, /^prometheus_remote_storage_samples_failed_total\{.*\} 1$/m);
  assert.match(refused, /^prometheus_remote_storage_samples_retried_total\{.*\} 0$/m);
  await prom.stop();
  await s.flushSpanMetrics();
  await s.flushSpanMetrics();
  const down = await (await get(`${s.url}/metrics`)).text();
  assert.match(down, /^prometheus_remote_storage_samples_total\{.*\} 4$/m, 'every attempt is counted, retries too');
  assert.match(down, /^prometheus_remote_storage_samples_retried_total\{.*\} 3$/m, 'the pending sample is sent again with the new one');
  assert.match(down, /^prometheus_remote_storage_samples_pending\{.*\} 2$/m);
});

test('tag values: v1 strings, v2 typed {type, value} by scope; empty lists left out; v1 can be unrouted', async (t) => {
  const s = await standin(t);
  s.addTrace({ serviceName: 'mystocks-api', startedAgoMs: 5_000, attributes: { 'http.status_code': '200', 'service.name': 'span-level-name' } });
  s.addTrace({ serviceName: 'payments', startedAgoMs: 5_000 });
  const json = async (path: string) => (await (await get(`${s.url}${path}`)).json()) as Record<string, unknown>;
  assert.deepEqual(await json('/api/search/tag/service.name/values'), { tagValues: ['mystocks-api', 'payments', 'span-level-name'], metrics: {} });
  assert.deepEqual(await json('/api/v2/search/tag/resource.service.name/values'), {
    tagValues: [
      { type: 'string', value: 'mystocks-api' },
      { type: 'string', value: 'payments' },
    ],
    metrics: {},
  });
  assert.deepEqual(await json('/api/v2/search/tag/span.service.name/values'), { tagValues: [{ type: 'string', value: 'span-level-name' }], metrics: {} });
  assert.deepEqual(((await json('/api/v2/search/tag/.service.name/values')).tagValues as unknown[]).length, 3);
  // Nothing known: jsonpb leaves the empty list out.
  assert.deepEqual(await json('/api/v2/search/tag/resource.no.such/values'), { metrics: {} });
  assert.deepEqual(await json('/api/search/tag/no.such/values'), { metrics: {} });

  const v2only = await standin(t, { tagValuesV1: false });
  v2only.addTrace({ serviceName: 'mystocks-api', startedAgoMs: 5_000 });
  const v1 = await get(`${v2only.url}/api/search/tag/service.name/values`);
  assert.equal(v1.status, 404);
  assert.equal(await v1.text(), '404 page not found\n');
  assert.deepEqual(await (await get(`${v2only.url}/api/v2/search/tag/resource.service.name/values`)).json(), { tagValues: [{ type: 'string', value: 'mystocks-api' }], metrics: {} });
});

// -------------------------------------------------------------------------------------- gRPC port

test('the gRPC port accepts TCP, refuses once closed, and reopens on the same port', async (t) => {
  const s = await standin(t);
  const port = s.grpcPort;
  assert.equal(s.otlpGrpcAddress, `127.0.0.1:${port}`);
  assert.equal(await tcpConnect(port), 'connected');

  // A connection held open across closeGrpcPort() is cut, not left dangling.
  const held = connect({ host: '127.0.0.1', port });
  const heldEnded = new Promise<void>((resolve) => held.on('close', () => resolve()));
  held.on('error', () => {});
  await new Promise<void>((resolve) => held.once('connect', () => resolve()));

  await s.closeGrpcPort();
  await heldEnded;
  assert.equal(await tcpConnect(port), 'ECONNREFUSED');
  await s.closeGrpcPort(); // idempotent

  await s.openGrpcPort();
  assert.equal(s.grpcPort, port);
  assert.equal(await tcpConnect(port), 'connected');
  assert.ok(s.received.grpcConnections >= 3);
});

test('the gRPC port is an OTLP/gRPC receiver: Export (protobuf) is ingested; silent and unimplemented modes', async (t) => {
  const s = await standin(t);
  const traceId = 'ab'.repeat(16);
  const message = Buffer.from(
    pbMessage([
      pb(1, [
        pb(1, [pb(1, [pbStr(1, 'service.name'), pb(2, [pbStr(1, 'grpc-app')])])]),
        pb(2, [
          pb(2, [
            lenField(1, Buffer.from(traceId, 'hex')),
            lenField(2, Buffer.from('cd'.repeat(8), 'hex')),
            pbStr(5, 'GET /x'),
            pbVarint(6, 2),
            pbFixed64(7, BigInt(Date.now()) * 1_000_000n),
            pbFixed64(8, BigInt(Date.now() + 5) * 1_000_000n),
          ]),
        ]),
      ]),
    ]),
  );
  const call = (payload: Buffer, deadlineMs?: number) => exportCall(s.grpcPort, payload, deadlineMs);
  assert.deepEqual(await call(message), { code: grpc.status.OK, details: 'OK' });
  assert.equal(s.received.grpcExports, 1);
  assert.deepEqual(s.traceIds(), [traceId]);
  const byId = await get(`${s.url}/api/traces/${traceId}`);
  assert.equal(byId.status, 200);

  s.setRejectIngest(429, 'RATE_LIMITED: ingestion rate limit exceeded');
  assert.deepEqual(await call(message), { code: grpc.status.RESOURCE_EXHAUSTED, details: 'RATE_LIMITED: ingestion rate limit exceeded' });
  // A request without spans never reaches the distributor: OK whatever it would say.
  assert.deepEqual(await call(Buffer.alloc(0)), { code: grpc.status.OK, details: 'OK' });
  s.setRejectIngest(null);

  s.setGrpcMode('unimplemented');
  assert.equal((await call(Buffer.alloc(0))).code, grpc.status.UNIMPLEMENTED);
  s.setGrpcMode('silent');
  assert.equal((await call(Buffer.alloc(0), 500)).code, grpc.status.DEADLINE_EXCEEDED);
});

/** One Export call through @grpc/grpc-js, as an app's SDK would make it. */
async function exportCall(port: number, payload: Buffer, deadlineMs = 3000): Promise<{ code: number; details: string }> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve) => {
      client.makeUnaryRequest(
        '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        (b: Buffer) => b,
        (b: Buffer) => b,
        payload,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err) => resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: 'OK' }),
      );
    });
  } finally {
    client.close();
  }
}

test('stop() closes every port', async () => {
  const s = await startTempoStandin();
  const ports = [new URL(s.url).port, new URL(s.otlpHttpUrl).port, String(s.grpcPort)].map(Number);
  // Keep-alive connections from fetch must not keep stop() waiting.
  await (await get(`${s.url}/ready`)).text();
  await s.stop();
  for (const p of ports) assert.equal(await tcpConnect(p), 'ECONNREFUSED');
});

// ------------------------------------------------------------------ protobuf encoding for the test

function pb(field: number, parts: Buffer[]): Buffer {
  return lenField(field, Buffer.concat(parts));
}
function pbStr(field: number, s: string): Buffer {
  return lenField(field, Buffer.from(s, 'utf8'));
}
function pbVarint(field: number, n: number): Buffer {
  return Buffer.concat([varint(field << 3), varint(n)]);
}
function pbFixed64(field: number, n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return Buffer.concat([varint((field << 3) | 1), b]);
}
function pbMessage(parts: Buffer[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
