// The Tempo kinds (tempo_search, tempo_ready, otlp_canary), each run by the kind itself under the
// runner's deadline (runProber); their config problems through the real loader (parseConfig). Tempo cannot run
// here, so they talk to the Tempo stand-in in test/support, a real HTTP server shaped on Tempo's API.
import { problemsOf } from '../support/engine.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import type { ProbeResult } from '../../src/engine/result.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import type { ProbeSpec } from '../../src/probers/types.js';
import { runProber } from '../support/prober.js';
import { startTempoStandin, TEMPO3_MODULES, type TempoStandin, type TempoStandinOptions } from '../support/tempo-standin.js';
import { closedPort, hangAfterAccept, invalidJson, jsonServer, type MisbehavingTarget } from '../support/misbehaving.js';

type After = { after(fn: () => Promise<void> | void): void };

const FILE = 'tempo.yaml';
// The engine allows a prober its timeout plus 50ms; the rest is scheduling slack on a busy machine.
const TIMEOUT_SLACK_MS = 700;

function deps(t: After) {
  const http = createHttpClient({ userAgent: 'stack-watchdog-test' });
  t.after(() => http.close());
  // These kinds never call Docker; the client connects lazily, so nothing is opened.
  return { http, docker: createDockerClient({}), logger: pino({ level: 'silent' }), now: Date.now };
}

function specs(...probes: Record<string, unknown>[]): ProbeSpec[] {
  return parseConfig([{ file: FILE, text: stringify({ probes }) }], {}).probes;
}

async function run(t: After, probe: Record<string, unknown>): Promise<ProbeResult> {
  return runProber(String(probe.kind), probe, deps(t));
}

const configProblems = (probe: Record<string, unknown>) => problemsOf(() => specs(probe));

async function standin(t: After, opts?: TempoStandinOptions): Promise<TempoStandin> {
  const s = await startTempoStandin(opts);
  t.after(() => s.stop());
  return s;
}

async function target(t: After, start: Promise<MisbehavingTarget>): Promise<MisbehavingTarget> {
  const m = await start;
  t.after(() => m.close());
  return m;
}

const MIN = 60_000;

// ----------------------------------------------------------------------------------- tempo_search

const search = (tempo: string, extra: Record<string, unknown> = {}) => ({ name: 'tempo-ingestion', kind: 'tempo_search', tempo, service: 'mystocks-backend', ...extra });

test('tempo_search: fresh traces pass, with the count as value and the newest age as a gauge', async (t) => {
  const s = await standin(t);
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 20_000 });
  const newestId = s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 10_000, rootName: 'GET /api/stocks' });
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 4 * MIN });
  const r = await run(t, search(s.url));
  assert.equal(r.status, 'ok', r.message);
  assert.equal(r.reason, 'ok');
  assert.equal(r.value, 3);
  assert.match(r.message, /^3 trace\(s\) of "mystocks-backend" in the last 15m, the newest started 1[01]s ago$/);
  assert.equal(r.details?.newestTraceId, newestId.replace(/^0+/, ''));
  assert.equal(r.details?.newestRootName, 'GET /api/stocks');
  const age = r.details?.newestAgeSeconds as number;
  assert.ok(age >= 10 && age < 13, `newest age ${age}`);
  assert.deepEqual(
    r.samples?.map((x) => ({ ...x, value: Math.floor(x.value) })),
    [{ metric: 'watchdog_tempo_newest_trace_age_seconds', labels: { probe: 'tempo-ingestion', service: 'mystocks-backend' }, value: Math.floor(age) }],
  );
});

test('tempo_search: the newest trace older than maxAge is stale', async (t) => {
  const s = await standin(t);
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 8 * MIN });
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 12 * MIN });
  const r = await run(t, search(s.url));
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'stale');
  assert.equal(r.value, 2);
  assert.match(r.message, /^the newest trace of "mystocks-backend" started 8m(0s|1s)? ago, longer than maxAge 5m \(2 trace\(s\) of "mystocks-backend" in the last 15m\)$/);
  assert.match(r.hint!, /docker logs mystocks-tempo \| grep -i "received\\\|processed"/);
  const age = r.details?.newestAgeSeconds as number;
  assert.ok(age >= 480 && age < 483, `newest age ${age}`);
  assert.equal(r.samples?.[0]?.metric, 'watchdog_tempo_newest_trace_age_seconds');
});

test('tempo_search: no traces at all is nothing_received (issue 17: was absent), with a hint about the tracer, not the service name', async (t) => {
  const s = await standin(t);
  const r = await run(t, search(s.url));
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'nothing_received');
  assert.equal(r.value, 0);
  assert.equal(
    r.message,
    'Tempo receives no trace from any app: no service has traces in the last 15m, so "mystocks-backend" is not the only one missing; its distributor has not received a single span since it started (tempo_distributor_spans_received_total)',
  );
  for (const part of [
    'set up when the app starts',
    'tempo:4317',
    'localhost:4317',
    'Failed to export',
    'setup_telemetry()',
    'get_tracer()',
    'trace_operation()',
    'TracingMiddleware',
    'mystocks-api',
  ]) {
    assert.ok(r.hint!.includes(part), `hint lacks ${part}: ${r.hint}`);
  }
  assert.doesNotMatch(r.hint!, /set TRACED_SERVICE|OTEL_SERVICE_NAME is/, 'no service-name hunt');
  assert.equal(r.details?.distributorSpansReceived, 0);
  assert.equal(r.samples, undefined);
  assert.equal(s.received.searchRequests, 1);
});

test("tempo_search: only the watchdog's canary sends (its spans counted by the distributor) is nothing_received; where others send it stays absent", async (t) => {
  const s = await standin(t);
  const start = BigInt(Date.now() - 5_000) * 1_000_000n;
  const canary = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'stack-watchdog-canary' } }] },
        scopeSpans: [
          { spans: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), name: 'watchdog canary', kind: 1, startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1_000_000n) }] },
        ],
      },
    ],
  };
  const sent = await fetch(`${s.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(canary), signal: AbortSignal.timeout(2000) });
  assert.equal(sent.status, 200);
  const r = await run(t, search(s.url));
  assert.equal(r.reason, 'nothing_received', r.message);
  assert.match(r.message, /only the watchdog's own canary \(stack-watchdog-canary\) has traces in the last 15m.*its distributor counted 1 span\(s\) since it started, the canary's included/);
  assert.deepEqual(r.details?.knownServices, ['stack-watchdog-canary']);
  // The canary service is the otlp_canary probe's: another name is set here too.
  const renamed = await run(t, search(s.url, { canaryService: 'my-canary' }));
  assert.equal(renamed.reason, 'absent', 'stack-watchdog-canary is then an app like any other');

  s.addTrace({ serviceName: 'mystocks-api', startedAgoMs: 5_000 });
  const others = await run(t, search(s.url));
  assert.equal(others.reason, 'absent');
  assert.match(others.hint!, /look-alikes first\): mystocks-api/);
});

test('tempo_search: nothing_received also where only the v2 tag-values form answers', async (t) => {
  const s = await standin(t, { tagValuesV1: false });
  s.addTrace({ serviceName: 'stack-watchdog-canary', startedAgoMs: 5_000 });
  const r = await run(t, search(s.url));
  assert.equal(r.reason, 'nothing_received', r.message);
  assert.equal(r.details?.knownServicesFrom, '/api/v2/search/tag/resource.service.name/values');
});

test('tempo_search: when Tempo does not list its services, no trace of the app stays absent (nothing_received is not guessed)', async (t) => {
  const fake = await target(
    t,
    jsonServer((req) => (req.path === '/api/search' ? { status: 200, body: { metrics: {} } } : { status: 500, body: { error: 'tag values unavailable' } })),
  );
  const r = await run(t, search(fake.url));
  assert.equal(r.reason, 'absent', r.message);
});

test("tempo_search: only other services' traces is absent", async (t) => {
  const s = await standin(t);
  s.addTrace({ serviceName: 'payments-api', startedAgoMs: 5_000 });
  s.addTrace({ serviceName: 'stack-watchdog-canary', startedAgoMs: 5_000 });
  const r = await run(t, search(s.url));
  assert.equal(r.reason, 'absent');
  assert.equal(r.value, 0);
});

test('tempo_search: traces hours old that a windowless search still returns are absent, not ok', async (t) => {
  // An ingester window of 6h stands for a Tempo whose recent data still holds them: the guide's
  // `curl /api/search?tags=... | jq '.traces | length'` would print 1 here.
  const s = await standin(t, { ingesterWindowMs: 6 * 60 * MIN });
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 3 * 60 * MIN });
  const windowless = (await (await fetch(`${s.url}/api/search?tags=service.name=mystocks-backend`, { signal: AbortSignal.timeout(2000) })).json()) as { traces?: unknown[] };
  assert.equal(windowless.traces?.length, 1);
  const r = await run(t, search(s.url));
  assert.equal(r.reason, 'absent');
});

test('tempo_search: fewer than minTraces is too_few', async (t) => {
  const s = await standin(t);
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 3_000 });
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 6_000 });
  const r = await run(t, search(s.url, { minTraces: 3 }));
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'too_few');
  assert.equal(r.value, 2);
  assert.equal(r.message, '2 trace(s) of "mystocks-backend" in the last 15m, fewer than minTraces 3');
});

test('tempo_search: extra tags narrow the search, as exact TraceQL matches', async (t) => {
  const s = await standin(t);
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 2_000, resourceAttributes: { 'deployment.environment': 'prod eu' } });
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 2_000, resourceAttributes: { 'deployment.environment': 'staging' } });
  const r = await run(t, search(s.url, { tags: { 'deployment.environment': 'prod eu' } }));
  assert.equal(r.status, 'ok', r.message);
  assert.equal(r.value, 1);
  assert.equal(r.details?.query, '{ resource.service.name = "mystocks-backend" && .deployment.environment = "prod eu" }');
});

test('tempo_search: a full page whose newest looks stale is checked against the maxAge span', async (t) => {
  const s = await standin(t);
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 7 * MIN });
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 9 * MIN });
  const r = await run(t, search(s.url, { limit: 2 }));
  assert.equal(r.reason, 'stale');
  assert.match(r.message, /\(2\+ trace\(s\) of "mystocks-backend" in the last 15m\)$/);
  assert.equal(s.received.searchRequests, 2);
});

test("tempo_search: a second service whose name contains the app's does not count (exact match)", async (t) => {
  const s = await standin(t);
  s.addTrace({ serviceName: 'mystocks-backend-worker', startedAgoMs: 5_000 });
  // The tags search Tempo offers matches substrings: it finds the worker's trace for "mystocks-backend".
  const bySubstring = (await (await fetch(`${s.url}/api/search?tags=service.name=mystocks-backend`, { signal: AbortSignal.timeout(2000) })).json()) as { traces?: unknown[] };
  assert.equal(bySubstring.traces?.length, 1);
  const r = await run(t, search(s.url));
  assert.equal(r.reason, 'absent', r.message);
});

test('tempo_search: an app that calls itself by another name: the hint lists the services Tempo has, look-alikes first', async (t) => {
  const s = await standin(t);
  s.addTrace({ serviceName: 'payments', startedAgoMs: 5_000 });
  s.addTrace({ serviceName: 'stack-watchdog-canary', startedAgoMs: 5_000 });
  s.addTrace({ serviceName: 'mystocks-api', startedAgoMs: 5_000 });
  const r = await run(t, search(s.url));
  assert.equal(r.reason, 'absent');
  const known = r.details?.knownServices as string[];
  assert.equal(known[0], 'mystocks-api');
  assert.deepEqual([...known].sort(), ['mystocks-api', 'payments', 'stack-watchdog-canary']);
  assert.match(r.hint!, new RegExp(`Tempo has traces of these services \\(look-alikes first\\): ${known.join(', ')}\\. If one of them is the app, set TRACED_SERVICE`));
});

test('tempo_search: where only the v2 tag-values API answers, the hint still lists the services, mystocks-api first', async (t) => {
  // v1 answers 404 (as behind a proxy that routes /api/v2 only); v2 answers {tagValues: [{type, value}]}.
  const s = await standin(t, { tagValuesV1: false });
  s.addTrace({ serviceName: 'payments', startedAgoMs: 5_000 });
  s.addTrace({ serviceName: 'stack-watchdog-canary', startedAgoMs: 5_000 });
  s.addTrace({ serviceName: 'mystocks-api', startedAgoMs: 5_000 });
  assert.equal((await fetch(`${s.url}/api/search/tag/service.name/values`, { signal: AbortSignal.timeout(2000) })).status, 404);
  const r = await run(t, search(s.url));
  assert.equal(r.reason, 'absent');
  const known = r.details?.knownServices as string[];
  assert.equal(known[0], 'mystocks-api');
  assert.deepEqual([...known].sort(), ['mystocks-api', 'payments', 'stack-watchdog-canary']);
  assert.equal(r.details?.knownServicesFrom, '/api/v2/search/tag/resource.service.name/values');
  assert.ok(r.hint!.includes(`Tempo has traces of these services (look-alikes first): ${known.join(', ')}. If one of them is the app, set TRACED_SERVICE`), r.hint);

  // With both forms served, v1 is asked and v2 is not needed.
  const both = await standin(t);
  both.addTrace({ serviceName: 'mystocks-api', startedAgoMs: 5_000 });
  const r1 = await run(t, search(both.url));
  assert.deepEqual(r1.details?.knownServices, ['mystocks-api']);
  assert.equal(r1.details?.knownServicesFrom, '/api/search/tag/service.name/values');
});

test('tempo_search: on Tempo 2.8+ the newest trace comes from most_recent=true, not from the first N found', async (t) => {
  const s = await standin(t, { version: '2.8.2' });
  // Stored first, found first: 20 traces 4 minutes old fill the default page of 20.
  for (let i = 0; i < 20; i++) s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 4 * MIN + i * 1000 });
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 10_000 });
  const r = await run(t, search(s.url));
  assert.equal(r.status, 'ok', r.message);
  assert.equal(r.details?.newestBy, 'most_recent');
  assert.match(String(r.details?.query), / with \(most_recent=true\)$/);
  const age = r.details?.newestAgeSeconds as number;
  assert.ok(age >= 10 && age < 13, `newest age ${age}`);

  // Before 2.8 the hint would be a parse error: the query goes without it.
  const old = await standin(t, { version: '2.6.1' });
  old.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 10_000 });
  const r26 = await run(t, search(old.url));
  assert.equal(r26.status, 'ok', r26.message);
  assert.equal(r26.details?.newestBy, 'first found');
  assert.equal(r26.details?.query, '{ resource.service.name = "mystocks-backend" }');
});

test('tempo_search: the tenant goes as X-Scope-OrgID on every request', async (t) => {
  const seen: string[] = [];
  const fake = await target(
    t,
    jsonServer((req) => {
      seen.push(`${req.path} ${String(req.headers['x-scope-orgid'])}`);
      return req.path === '/api/status/buildinfo' ? { status: 200, body: { version: '2.9.0' } } : { status: 200, body: { metrics: {} } };
    }),
  );
  const r = await run(t, search(fake.url, { tenant: 'team-a' }));
  // No service listed at all: nothing_received since issue 17 (was absent), which also reads /metrics.
  assert.equal(r.reason, 'nothing_received');
  assert.deepEqual(seen, ['/api/status/buildinfo team-a', '/api/search team-a', '/api/search/tag/service.name/values team-a', '/metrics team-a']);
});

test("tempo_search: a closed port is connect, with Tempo's own hint", async (t) => {
  const port = await target(t, closedPort());
  const r = await run(t, search(port.url));
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'connect');
  assert.match(r.hint!, /mystocks-tempo/);
  assert.match(r.hint!, /3200/);
});

test("tempo_search: something other than Tempo's API answering is invalid_response", async (t) => {
  const notTempo = await target(t, invalidJson());
  const r = await run(t, search(notTempo.url));
  assert.equal(r.reason, 'invalid_response');
  assert.match(r.hint!, /Tempo's HTTP port \(3200\)/);
});

test('tempo_search: a Tempo that accepts and never answers is a timeout within the probe timeout', async (t) => {
  const hang = await target(t, hangAfterAccept());
  const r = await run(t, search(hang.url, { timeout: '1s' }));
  assert.equal(r.reason, 'timeout');
  assert.ok(r.durationMs >= 1000 && r.durationMs < 1000 + TIMEOUT_SLACK_MS, `took ${r.durationMs}ms`);
  assert.equal(hang.connections, 1);
});

test('tempo_search: bad configs are refused with exact messages', () => {
  const base = search('http://tempo:3200');
  assert.deepEqual(configProblems({ ...base, maxAge: '20m' }), [
    'tempo.yaml: probe "tempo-ingestion": maxAge: 20m is longer than the window (15m): a trace that old is never searched for; widen window or shorten maxAge',
  ]);
  assert.deepEqual(configProblems({ ...base, window: 'a while' }), ['tempo.yaml: probe "tempo-ingestion": window: expected a duration such as "500ms", "30s", "5m" or "1h", got "a while"']);
  assert.deepEqual(configProblems({ ...base, minTraces: 30, limit: 10 }), ['tempo.yaml: probe "tempo-ingestion": limit: 10 is below minTraces (30): the search could never return enough traces']);
  assert.deepEqual(configProblems({ ...base, tags: { 'service.name': 'other' } }), ['tempo.yaml: probe "tempo-ingestion": tags: service.name is set by the service field; remove it from tags']);
  assert.deepEqual(configProblems({ ...base, service: undefined }), ['tempo.yaml: probe "tempo-ingestion": service: required field is missing']);
  assert.deepEqual(configProblems({ ...base, minTraces: 0 }), ['tempo.yaml: probe "tempo-ingestion": minTraces: expected integer to be greater or equal to 1, got 0']);
  // Tempo 3 keeps the newest 30 s from search; Tempo refuses searches over 168h.
  assert.deepEqual(configProblems({ ...base, maxAge: '30s' }), [
    'tempo.yaml: probe "tempo-ingestion": maxAge: 30s is under 1m: Tempo does not show search the newest 30s of traces, so a healthy app would read stale',
  ]);
  assert.deepEqual(configProblems({ ...base, window: '200h', maxAge: '10m' }), [
    'tempo.yaml: probe "tempo-ingestion": window: 200h is over 168h, the longest search Tempo allows by default (query_frontend.search.max_duration)',
  ]);
});

// ------------------------------------------------------------------------------------ tempo_ready

const ready = (tempo: string, extra: Record<string, unknown> = {}) => ({ name: 'tempo-ready', kind: 'tempo_ready', tempo, ...extra });

test('tempo_ready: a ready Tempo whose query-frontend echoes passes', async (t) => {
  const s = await standin(t);
  const r = await run(t, ready(s.url));
  assert.equal(r.status, 'ok', r.message);
  assert.equal(r.message, 'Tempo is ready and its query-frontend answers');
  assert.equal(s.received.readyRequests, 1);
});

test('tempo_ready: a module not Running is named, with its failure case', async (t) => {
  const s = await standin(t);
  s.setModuleState('ingester', 'Failed', 'mkdir /tmp/tempo/traces: permission denied');
  const r = await run(t, ready(s.url));
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'not_ready');
  assert.equal(r.message, 'Tempo is not ready (HTTP 503): Some services are not Running: Failed: 1 Running: 15; ingester is Failed (mkdir /tmp/tempo/traces: permission denied)');
  assert.deepEqual(r.details?.notRunning, [{ name: 'ingester', state: 'Failed', failure: 'mkdir /tmp/tempo/traces: permission denied' }]);
  assert.match(r.hint!, /docker logs mystocks-tempo \| grep -i "ingester"/);
});

test("tempo_ready: Tempo 3 with a failed live-store names it first, with Tempo 3's ring and config hint", async (t) => {
  const s = await standin(t, { modules: TEMPO3_MODULES, version: '3.0.0' });
  // One module fails; Tempo stops the others (alphabetically first among them: backend-scheduler).
  s.setModuleState('live-store', 'Failed', 'failed to replay WAL: permission denied');
  for (const m of ['backend-scheduler', 'backend-worker', 'distributor']) s.setModuleState(m, 'Stopping');
  const r = await run(t, ready(s.url));
  assert.equal(r.reason, 'not_ready');
  assert.match(r.message, /; live-store is Failed \(failed to replay WAL: permission denied\), backend-scheduler is Stopping/);
  assert.match(r.hint!, /^live-store failed \(failed to replay WAL: permission denied\) and Tempo stopped the others: docker logs mystocks-tempo \| grep -i "live-store"/);
  assert.match(r.hint!, /GET \/live-store\/ring/);
  assert.match(r.hint!, /failed to parse configFile/);
  assert.doesNotMatch(r.hint!, /ingester\/ring/);
  assert.equal(r.details?.tempoMajor, 3);
});

test('tempo_ready: without a module table the version comes from buildinfo, and the hint fits it', async (t) => {
  // A Tempo behind a proxy that passes /ready and the API but not /status/services.
  const behindProxy = (version: string) =>
    target(
      t,
      jsonServer((req) => {
        if (req.path === '/ready') return { status: 503, body: 'Some services are not Running:\nStarting: 1\nRunning: 6\n' };
        if (req.path === '/api/status/buildinfo') return { status: 200, body: { version, revision: 'x', branch: 'HEAD', buildDate: '', buildUser: '', goVersion: 'go1.24' } };
        return { status: 404, body: '404 page not found\n' };
      }),
    );
  const v3 = await run(t, ready((await behindProxy('3.0.1')).url));
  assert.equal(v3.reason, 'not_ready');
  assert.equal(v3.details?.tempoMajor, 3);
  assert.match(v3.hint!, /^Tempo 3 is starting \(the live-store joins its ring: GET \/live-store\/ring\)/);
  const v2 = await run(t, ready((await behindProxy('2.9.0')).url));
  assert.equal(v2.details?.tempoMajor, 2);
  assert.match(v2.hint!, /ingester\.lifecycler\.min_ready_duration/);
  assert.doesNotMatch(v2.hint!, /live-store/);
  const unknown = await run(t, ready((await behindProxy('main-8f2c1d3')).url));
  assert.equal(unknown.details?.tempoMajor, undefined);
  assert.match(unknown.hint!, /the ingester of Tempo 2 .* the live-store of Tempo 3 .* GET \/ingester\/ring \(Tempo 2\) or \/live-store\/ring \(Tempo 3\)/);
});

test('tempo_ready: "Application is stopping" reads as shutting down', async (t) => {
  const s = await standin(t);
  s.setStopping(true);
  const r = await run(t, ready(s.url, { tenant: 'team-a' }));
  assert.equal(r.reason, 'not_ready');
  assert.equal(r.message, 'Tempo is shutting down (HTTP 503): Application is stopping');
  assert.match(r.hint!, /shutting down/);
});

test("tempo_ready: an ingester still waiting reports Tempo's own message and the startup hint", async (t) => {
  const s = await standin(t);
  s.setReady(false);
  const r = await run(t, ready(s.url));
  assert.equal(r.reason, 'not_ready');
  assert.equal(r.message, 'Tempo is not ready (HTTP 503): Ingester not ready: waiting for 15s after being ready');
  assert.deepEqual(r.details?.notRunning, []);
  assert.match(r.hint!, /min_ready_duration/);
});

test('tempo_ready: /ready without a query-frontend behind /api/echo is http_status', async (t) => {
  // A distributor-only target in microservices mode: ready, but no query API.
  const distributor = await target(
    t,
    jsonServer((req) => (req.path === '/ready' ? { status: 200, body: 'ready\n' } : { status: 404, body: '404 page not found\n' })),
  );
  const r = await run(t, ready(distributor.url));
  assert.equal(r.reason, 'http_status');
  assert.match(r.message, /\/api\/echo answered HTTP 404: 404 page not found \(expected 200 "echo"\)$/);
  assert.match(r.hint!, /query-frontend/);
});

test('tempo_ready: a status page that hangs still lets not_ready through', async (t) => {
  const stuck = await target(
    t,
    jsonServer((req) => (req.path === '/ready' ? { status: 503, body: 'Some services are not Running:\nFailed: 1\n' } : new Promise(() => {}))),
  );
  const r = await run(t, ready(stuck.url, { timeout: '3s' }));
  assert.equal(r.reason, 'not_ready', r.message);
  assert.equal(r.message, 'Tempo is not ready (HTTP 503): Some services are not Running: Failed: 1');
  // The status page gets half the time left, so the answer comes at about 1.5s, well before 3s.
  assert.ok(r.durationMs >= 1400 && r.durationMs < 3000, `took ${r.durationMs}ms`);
});

test('tempo_ready: closed port is connect, a hanging Tempo is a timeout', async (t) => {
  const port = await target(t, closedPort());
  assert.equal((await run(t, ready(port.url))).reason, 'connect');
  const hang = await target(t, hangAfterAccept());
  const r = await run(t, ready(hang.url, { timeout: '1s' }));
  assert.equal(r.reason, 'timeout');
  assert.ok(r.durationMs >= 1000 && r.durationMs < 1000 + TIMEOUT_SLACK_MS, `took ${r.durationMs}ms`);
});

test('tempo_ready: a URL without a scheme and a field of another kind are refused', () => {
  assert.deepEqual(configProblems(ready('tempo:3200')), ['tempo.yaml: probe "tempo-ready": tempo: expected an http:// or https:// URL, got "tempo:3200"']);
  assert.deepEqual(configProblems(ready('http://tempo:3200', { service: 'x' })), [
    'tempo.yaml: probe "tempo-ready": service: unknown field (allowed: name, kind, description, severity, interval, schedule, timeout, dependsOn, failureThreshold, successThreshold, enabled, hints, labels, tempo, tenant)',
  ]);
});

// ------------------------------------------------------------------------------------ otlp_canary

const canary = (s: { url: string; otlpHttpUrl: string }, extra: Record<string, unknown> = {}) => ({
  name: 'otlp-canary',
  kind: 'otlp_canary',
  tempo: s.url,
  otlpHttp: s.otlpHttpUrl,
  ...extra,
});

test('otlp_canary: kind defaults are a 5m interval and a 30s timeout', () => {
  const [spec] = specs(canary({ url: 'http://tempo:3200', otlpHttpUrl: 'http://tempo:4318' }));
  assert.equal(spec!.intervalMs, 5 * MIN);
  assert.equal(spec!.timeoutMs, 30_000);
});

test('otlp_canary: a span that becomes queryable after an ingest delay passes with latency >= the delay', async (t) => {
  const s = await standin(t);
  s.setIngestDelay(1500);
  const r = await run(t, canary(s, { pollInterval: '200ms', timeout: '10s' }));
  assert.equal(r.status, 'ok', r.message);
  assert.ok(r.value! >= 1.5 && r.value! < 5, `latency ${r.value}`);
  assert.ok(s.received.traceByIdRequests >= 2, `${s.received.traceByIdRequests} lookups`);
  assert.equal(s.received.ingestedSpans, 1);
  const traceId = r.details?.traceId as string;
  assert.match(traceId, /^[0-9a-f]{32}$/);
  assert.deepEqual(s.traceIds(), [traceId]);
  // The span carries service.name=stack-watchdog-canary: tempo_search finds it under that name.
  const found = await run(t, { name: 'canary-search', kind: 'tempo_search', tempo: s.url, service: 'stack-watchdog-canary' });
  assert.equal(found.status, 'ok', found.message);
  assert.equal(found.details?.newestTraceId, traceId.replace(/^0+/, ''));
});

test('otlp_canary: each run sends a fresh trace id', async (t) => {
  const s = await standin(t);
  const a = await run(t, canary(s, { pollInterval: '100ms', timeout: '5s' }));
  const b = await run(t, canary(s, { pollInterval: '100ms', timeout: '5s' }));
  assert.equal(a.status, 'ok', a.message);
  assert.equal(b.status, 'ok', b.message);
  assert.notEqual(a.details?.traceId, b.details?.traceId);
});

test("otlp_canary: spans accepted and dropped are not_found before the engine's timeout", async (t) => {
  const s = await standin(t);
  s.setDropIngest(true);
  const r = await run(t, canary(s, { pollInterval: '250ms', timeout: '3s' }));
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'not_found');
  assert.match(r.message, /^Tempo accepted the canary span but did not return trace [0-9a-f]{32} within 2\.\ds \(\d+ lookup\(s\)\)$/);
  assert.match(r.hint!, /ingester\.max_block_duration/);
  assert.match(r.hint!, /GET \/ingester\/ring/);
  assert.doesNotMatch(r.hint!, /live-store|live_store/);
  assert.equal(r.details?.tempoMajor, 2);
  assert.ok(r.durationMs < 3000, `took ${r.durationMs}ms`);
  assert.equal(s.received.droppedSpans, 1);
  assert.ok(s.received.traceByIdRequests >= 8, `${s.received.traceByIdRequests} lookups`);
});

test('otlp_canary: not_found on Tempo 3 points at the live-store and its ring, which replaced the ingester', async (t) => {
  const s = await standin(t, { version: '3.0.0', modules: TEMPO3_MODULES });
  s.setDropIngest(true);
  const r = await run(t, canary(s, { pollInterval: '250ms', timeout: '3s' }));
  assert.equal(r.reason, 'not_found');
  assert.equal(
    r.hint,
    'Tempo accepted the span but did not return it by id in time: ingestion is dropping or slow. Read the live-store\'s side (docker logs mystocks-tempo | grep -i "live-store\\|discard\\|error"), ' +
      "check live_store.max_block_duration and live_store.max_trace_idle, that the querier reaches the live-store (GET /live-store/ring on Tempo's HTTP port), " +
      "and tempo_discarded_spans_total on Tempo's /metrics. If spans only need longer, raise this probe's timeout.",
  );
  assert.equal(r.details?.tempoMajor, 3);
  assert.ok(r.durationMs < 3000, `took ${r.durationMs}ms`);

  // A build that does not say its version (a dev build): both are named, each with its version.
  const dev = await standin(t, { version: 'main-8f2c1d3' });
  dev.setDropIngest(true);
  const d = await run(t, canary(dev, { pollInterval: '250ms', timeout: '3s' }));
  assert.equal(d.reason, 'not_found');
  assert.match(d.hint!, /GET \/ingester\/ring \(Tempo 2\) or \/live-store\/ring \(Tempo 3\)/);
  assert.match(d.hint!, /grep -i "ingester\\\|live-store\\\|discard/);
  assert.equal(d.details?.tempoMajor, undefined);
});

test("otlp_canary: a refused export is export_failed with the receiver's message and the 4318 hint", async (t) => {
  const s = await standin(t);
  s.setRejectIngest(503, 'at least 1 live replicas required, could only find 0');
  const r = await run(t, canary(s));
  assert.equal(r.reason, 'export_failed');
  assert.equal(r.message, `${s.otlpHttpUrl}/v1/traces refused the canary span: HTTP 503: at least 1 live replicas required, could only find 0`);
  assert.match(r.hint!, /distributor\.receivers\.otlp\.protocols\.http/);
  assert.match(r.hint!, /4318/);
  // The receiver does not say which Tempo it fronts: both versions' modules are named.
  assert.match(r.hint!, /no healthy ingester \(Tempo 2\) or live-store \(Tempo 3\) yet/);
  assert.equal(s.received.traceByIdRequests, 0);
});

test('otlp_canary: otlpHttp pointed at the query port is export_failed (404)', async (t) => {
  const s = await standin(t);
  const r = await run(t, canary({ url: s.url, otlpHttpUrl: s.url }));
  assert.equal(r.reason, 'export_failed');
  assert.equal(r.details?.httpStatus, 404);
  assert.match(r.hint!, /not an OTLP receiver/);
});

test('otlp_canary: tempo pointed at the OTLP port is http_status at the first lookup, not a slow not_found', async (t) => {
  const s = await standin(t);
  const r = await run(t, canary({ url: s.otlpHttpUrl, otlpHttpUrl: s.otlpHttpUrl }, { timeout: '5s' }));
  assert.equal(r.reason, 'http_status');
  assert.match(r.message, /answered HTTP 404: 404 page not found: no trace-by-id API there$/);
  assert.equal(r.details?.lookups, 1);
  assert.ok(r.durationMs < 1000, `took ${r.durationMs}ms`);
});

test('otlp_canary: a closed OTLP port is export_failed naming the transport failure', async (t) => {
  const s = await standin(t);
  const port = await target(t, closedPort());
  const r = await run(t, canary({ url: s.url, otlpHttpUrl: port.url }));
  assert.equal(r.reason, 'export_failed');
  assert.equal(r.details?.transport, 'connect');
  assert.match(r.message, /ECONNREFUSED/);
});

test('otlp_canary: a hanging receiver or query API is a timeout within the probe timeout', async (t) => {
  const s = await standin(t);
  const hang = await target(t, hangAfterAccept());
  const sending = await run(t, canary({ url: s.url, otlpHttpUrl: hang.url }, { timeout: '1s', pollInterval: '100ms' }));
  assert.equal(sending.reason, 'timeout');
  assert.ok(sending.durationMs >= 1000 && sending.durationMs < 1000 + TIMEOUT_SLACK_MS, `took ${sending.durationMs}ms`);

  const querying = await run(t, canary({ url: hang.url, otlpHttpUrl: s.otlpHttpUrl }, { timeout: '1s', pollInterval: '100ms' }));
  assert.equal(querying.reason, 'timeout');
  assert.ok(querying.durationMs < 1000 + TIMEOUT_SLACK_MS, `took ${querying.durationMs}ms`);
  assert.equal(s.received.ingestedSpans, 1);
});

test('otlp_canary: bad configs are refused with exact messages', () => {
  const base = canary({ url: 'http://tempo:3200', otlpHttpUrl: 'http://tempo:4318' });
  assert.deepEqual(configProblems({ ...base, pollInterval: '30s' }), [
    'tempo.yaml: probe "otlp-canary": pollInterval: 30s is not shorter than the timeout (30s): the span would be looked up once at most',
  ]);
  assert.deepEqual(configProblems({ ...base, otlpHttp: 'tempo:4318' }), ['tempo.yaml: probe "otlp-canary": otlpHttp: expected an http:// or https:// URL, got "tempo:4318"']);
  assert.deepEqual(configProblems({ ...base, pollInterval: 'often' }), ['tempo.yaml: probe "otlp-canary": pollInterval: expected a duration such as "500ms", "30s", "5m" or "1h", got "often"']);
});

const grpcCanary = (s: { url: string; otlpGrpcAddress: string }, extra: Record<string, unknown> = {}) => ({
  name: 'otlp-canary',
  kind: 'otlp_canary',
  tempo: s.url,
  transport: 'grpc',
  otlpGrpc: s.otlpGrpcAddress,
  ...extra,
});

test('otlp_canary over grpc: the span goes in by OTLP/gRPC Export (protobuf) and is read back by id', async (t) => {
  const s = await standin(t);
  s.setIngestDelay(300);
  const r = await run(t, grpcCanary(s, { pollInterval: '100ms', timeout: '5s' }));
  assert.equal(r.status, 'ok', r.message);
  assert.equal(r.details?.sentOver, 'grpc');
  assert.equal(s.received.grpcExports, 1);
  assert.equal(s.received.ingestedSpans, 1);
  assert.deepEqual(s.traceIds(), [r.details?.traceId]);
  const found = await run(t, { name: 'canary-search', kind: 'tempo_search', tempo: s.url, service: 'stack-watchdog-canary' });
  assert.equal(found.status, 'ok', found.message);
});

test('otlp_canary over grpc: a refusal names the gRPC code, a port that is not gRPC is protocol', async (t) => {
  const s = await standin(t);
  s.setRejectIngest(503, 'at least 1 live replicas required, could only find 0');
  const refused = await run(t, grpcCanary(s));
  assert.equal(refused.reason, 'export_failed');
  assert.match(refused.message, /gRPC status UNAVAILABLE: at least 1 live replicas required, could only find 0$/);
  assert.equal(refused.details?.grpcStatus, 'UNAVAILABLE');
  assert.equal(s.received.traceByIdRequests, 0);

  const wrongPort = await run(t, grpcCanary({ url: s.url, otlpGrpcAddress: new URL(s.otlpHttpUrl).host }));
  assert.equal(wrongPort.reason, 'export_failed');
  assert.equal(wrongPort.details?.transport, 'protocol');
});

test('otlp_canary: the tenant goes on the export and on every lookup; an empty 404 is "not yet"', async (t) => {
  const seen: string[] = [];
  let lookups = 0;
  const fake = await target(
    t,
    jsonServer((req) => {
      seen.push(`${req.path.replace(/[0-9a-f]{32}$/, 'ID')} ${String(req.headers['x-scope-orgid'])}`);
      if (req.path === '/v1/traces') return { status: 200, body: {} };
      // Tempo 2.4+: a miss is a 404 with an empty body; the second lookup finds it.
      return ++lookups < 2 ? { status: 404, body: '' } : { status: 200, body: { batches: [{ resource: {} }] } };
    }),
  );
  const r = await run(t, canary({ url: fake.url, otlpHttpUrl: fake.url }, { tenant: 'team-a', pollInterval: '100ms', timeout: '3s' }));
  assert.equal(r.status, 'ok', r.message);
  assert.deepEqual(seen, ['/v1/traces team-a', '/api/traces/ID team-a', '/api/traces/ID team-a']);
});

test('otlp_canary: transport grpc needs otlpGrpc, http needs otlpHttp', () => {
  assert.deepEqual(configProblems({ name: 'otlp-canary', kind: 'otlp_canary', tempo: 'http://tempo:3200', transport: 'grpc' }), [
    'tempo.yaml: probe "otlp-canary": otlpGrpc: transport grpc needs otlpGrpc, the OTLP/gRPC host:port (e.g. tempo:4317)',
  ]);
  assert.deepEqual(configProblems({ name: 'otlp-canary', kind: 'otlp_canary', tempo: 'http://tempo:3200' }), [
    'tempo.yaml: probe "otlp-canary": otlpHttp: transport http needs otlpHttp, the OTLP/HTTP base URL (e.g. http://tempo:4318)',
  ]);
});

// ------------------------------------------------------------------------------------ together

test('the three kinds in one engine pass: all green on a healthy Tempo, blocked behind a not-ready one', async (t) => {
  const s = await standin(t);
  s.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 1_000 });
  const config = parseConfig(
    [
      {
        file: FILE,
        text: stringify({
          probes: [ready(s.url), { ...search(s.url), dependsOn: ['tempo-ready'] }, { ...canary(s, { pollInterval: '100ms', timeout: '5s' }), dependsOn: ['tempo-ready'] }],
        }),
      },
    ],
    {},
  );
  const engine = new Engine({ ...deps(t), concurrency: 4 });
  engine.load(config);
  const green = await engine.runOnce();
  assert.deepEqual(
    green.map((p) => [p.spec.name, p.current.status, p.current.reason]),
    [
      ['tempo-ready', 'ok', 'ok'],
      ['tempo-ingestion', 'ok', 'ok'],
      ['otlp-canary', 'ok', 'ok'],
    ],
  );

  s.setModuleState('querier', 'Failed', 'context canceled');
  const red = await engine.runOnce();
  assert.deepEqual(
    red.map((p) => [p.spec.name, p.current.status, p.current.reason]),
    [
      ['tempo-ready', 'failing', 'not_ready'],
      ['tempo-ingestion', 'blocked', 'dependency_failed'],
      ['otlp-canary', 'blocked', 'dependency_failed'],
    ],
  );
});
