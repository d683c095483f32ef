// kind: prometheus_query against a real Prometheus fed by remote write, and against stand-ins
// that answer the way a broken Prometheus (or something else on its port) does.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ProbeResult } from '../../src/engine/result.js';
import { prometheusDownHint } from '../../src/probers/prometheusApi.js';
import { parseConfig } from '../../src/config/load.js';
import { runProber } from '../support/prober.js';
import { problemsOf } from '../support/engine.js';
import { closedPort, hangAfterAccept, invalidJson, jsonServer, statusServer, type MisbehavingTarget } from '../support/misbehaving.js';
import { remoteWrite, startPrometheus, waitForQuery, type PrometheusHandle } from '../support/prometheus.js';

// What Tempo's metrics generator writes, and the name the deployment guide's query misspells.
const tempoMetrics = [
  'traces_spanmetrics_calls_total',
  'traces_spanmetrics_size_total',
  'traces_spanmetrics_latency_bucket',
  'traces_spanmetrics_latency_count',
  'traces_spanmetrics_latency_sum',
  'traces_service_graph_request_total',
  'traces_service_graph_request_failed_total',
  'traces_service_graph_request_server_seconds_bucket',
];

let prom: PrometheusHandle;

before(async () => {
  prom = await startPrometheus();
  const now = Date.now();
  // Two samples 30 s apart inside the 5m window: enough for rate() to have a slope.
  const counter = (name: string, labels: Record<string, string>, first: number, second: number) => ({
    labels: { __name__: name, ...labels },
    samples: [
      { value: first, timestampMs: now - 40_000 },
      { value: second, timestampMs: now - 10_000 },
    ],
  });
  await remoteWrite(prom.url, [
    counter('watchdog_test_spans_total', { service: 'app' }, 10, 40),
    counter('watchdog_test_idle_total', { service: 'app' }, 5, 5),
    counter('watchdog_test_mixed_total', { service: 'busy' }, 1, 31),
    counter('watchdog_test_mixed_total', { service: 'idle' }, 7, 7),
    ...tempoMetrics.map((name) => counter(name, { service: 'app' }, 1, 2)),
  ]);
  await waitForQuery(prom.url, 'count({__name__=~"watchdog_test_.*|traces_.*"})', (r) => Number(r[0]?.value?.[1]) === 4 + tempoMetrics.length);
});
after(() => prom?.stop());

async function query(t: TestContext, fields: { query: string; expect?: string | string[]; prometheus?: string }): Promise<ProbeResult> {
  const r = await runProber('prometheus_query', { name: 'span-rate', prometheus: prom.url, timeout: '2s', ...fields });
  t.diagnostic(`${r.reason}: ${r.message} (${r.durationMs} ms)`);
  return r;
}

test('a rising counter gives a positive rate: ok, with the rate as value', async (t) => {
  const r = await query(t, { query: 'sum(rate(watchdog_test_spans_total[5m]))', expect: '> 0' });
  assert.equal(r.status, 'ok');
  assert.equal(r.reason, 'ok');
  // 30 increments over the 30 s between samples, spread by rate() over the 5m window.
  assert.ok(r.value! > 0 && r.value! < 1, `value ${r.value}`);
  assert.equal(r.message, `${r.value} (> 0)`);
  assert.deepEqual(r.details, { series: 1 });
});

test('a flat counter gives a rate of 0: threshold, not absent, with value and expectation in the message', async (t) => {
  const r = await query(t, { query: 'sum(rate(watchdog_test_idle_total[5m]))', expect: '> 0' });
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'threshold');
  assert.equal(r.value, 0);
  assert.equal(r.message, 'value = 0, expected > 0');
  assert.match(r.hint ?? '', /exists but its value is out of range/);
});

test('with several series every one must meet the expectation; the message names the one that does not', async (t) => {
  const r = await query(t, { query: 'rate(watchdog_test_mixed_total[5m])', expect: '> 0' });
  assert.equal(r.reason, 'threshold');
  assert.equal(r.message, '{service="idle"} = 0, expected > 0');
  assert.deepEqual(r.details, { series: 2 });
});

test('a misspelt metric is absent, and the hint lists up to five existing names that look alike', async (t) => {
  const r = await query(t, { query: 'sum(rate(traces_span_processed_total[5m]))', expect: '> 0' });
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'absent');
  assert.equal(r.value, null);
  assert.equal(r.message, 'no data: "traces_span_processed_total" does not exist in Prometheus');
  const listed = /Metrics that do exist and look alike: ([^.]+)\./.exec(r.hint ?? '')?.[1]?.split(', ') ?? [];
  assert.ok(listed.includes('traces_spanmetrics_calls_total'), r.hint);
  assert.ok(listed.includes('traces_service_graph_request_total'), r.hint);
  // Eight similar names exist; the hint stays readable.
  assert.equal(listed.length, 5, r.hint);
  assert.ok(
    listed.every((n) => tempoMetrics.includes(n)),
    r.hint,
  );
  assert.deepEqual(r.details?.missingMetrics, ['traces_span_processed_total']);
  assert.deepEqual(r.details?.similarMetrics, listed);
});

test('a metric that exists but whose labels match nothing is absent with its own message', async (t) => {
  const r = await query(t, { query: 'sum(rate(traces_spanmetrics_calls_total{service="no-such-service"}[5m]))', expect: '> 0' });
  assert.equal(r.reason, 'absent');
  assert.equal(r.message, 'no data: "traces_spanmetrics_calls_total" exists but no series matches the query now');
  assert.match(r.hint ?? '', /label matchers select nothing/);
  assert.deepEqual(r.details?.missingMetrics, []);
});

test("a PromQL syntax error is query_error with Prometheus's own words", async (t) => {
  const r = await query(t, { query: 'sum(rate(watchdog_test_spans_total[5m])', expect: '> 0' });
  assert.equal(r.reason, 'query_error');
  assert.match(r.message, /^Prometheus rejected \/api\/v1\/query: bad_data: .*parse error: unclosed left parenthesis/);
  assert.match(r.hint ?? '', /Fix the expression/);
});

test('a scalar query is judged by its value', async (t) => {
  const pass = await query(t, { query: 'scalar(sum(watchdog_test_spans_total)) * 2', expect: '== 80' });
  assert.equal(pass.status, 'ok', pass.message);
  assert.equal(pass.value, 80);
  const fail = await query(t, { query: '2 - 3', expect: '>= 0' });
  assert.equal(fail.reason, 'threshold');
  assert.equal(fail.message, 'value = -1, expected >= 0');
  assert.equal(fail.value, -1);
});

test('expect as a list is a range: every comparison must hold', async (t) => {
  // 80 and -1 as in the scalar test above: inside, below and above a range.
  const inside = await query(t, { query: 'scalar(sum(watchdog_test_spans_total)) * 2', expect: ['>= 50', '<= 100'] });
  assert.equal(inside.status, 'ok', inside.message);
  assert.equal(inside.message, '80 (>= 50 and <= 100)');
  const above = await query(t, { query: 'scalar(sum(watchdog_test_spans_total)) * 2', expect: ['>= 0.05', '<= 0.2'] });
  assert.equal(above.reason, 'threshold');
  assert.equal(above.message, 'value = 80, expected >= 0.05 and <= 0.2');
  const below = await query(t, { query: '2 - 3', expect: ['>= 0.05', '<= 0.2'] });
  assert.equal(below.reason, 'threshold');
  assert.equal(below.value, -1);
});

test('a range is decoded at load: each bad item named, an empty range refused', () => {
  const load = (expect: unknown) => () =>
    parseConfig([{ file: 'probes/q.yaml', text: JSON.stringify({ probes: [{ name: 'ratio', kind: 'prometheus_query', prometheus: 'http://p:9090', query: 'up', expect }] }) }], {});
  assert.deepEqual(problemsOf(load(['>= 0.05', 'small'])), ['probes/q.yaml: probe "ratio": expect[1]: "small" is not a comparison: use one of ==, !=, >, >=, <, <= followed by a number, e.g. "> 0"']);
  assert.deepEqual(problemsOf(load(['>= 0.2', '<= 0.05'])), ['probes/q.yaml: probe "ratio": expect: >= 0.2 and <= 0.05: no value can meet all of these']);
  assert.deepEqual(problemsOf(load(['> 1', '< 1'])), ['probes/q.yaml: probe "ratio": expect: > 1 and < 1: no value can meet all of these']);
  assert.doesNotThrow(load(['>= 1', '<= 1']));
  assert.doesNotThrow(load('> 0'));
});

test('a range selector is refused as invalid_response, it is not a number', async (t) => {
  const r = await query(t, { query: 'watchdog_test_spans_total[5m]' });
  assert.equal(r.reason, 'invalid_response');
  assert.equal(r.message, 'the query returns a matrix, not a number or an instant vector');
});

test('without expect any non-empty result passes', async (t) => {
  const r = await query(t, { query: 'watchdog_test_mixed_total' });
  assert.equal(r.status, 'ok');
  assert.match(r.message, /^2 series, first (7|31)$/);
});

async function standIn(t: TestContext, start: Promise<MisbehavingTarget>): Promise<MisbehavingTarget> {
  const target = await start;
  t.after(() => target.close());
  return target;
}

test('Prometheus down (closed port) is connect, with the Prometheus hint', async (t) => {
  const down = await closedPort();
  const r = await query(t, { prometheus: down.url, query: 'up' });
  assert.equal(r.reason, 'connect');
  assert.match(r.message, /cannot connect to .*\/api\/v1\/query\?query=up: ECONNREFUSED/);
  assert.equal(r.hint, prometheusDownHint);
});

test('Prometheus answering 500 is http_status, with the Prometheus hint', async (t) => {
  const broken = await standIn(t, statusServer(500, 'internal error'));
  const r = await query(t, { prometheus: broken.url, query: 'up' });
  assert.equal(r.reason, 'http_status');
  assert.match(r.message, /answered HTTP 500: internal error$/);
  assert.equal(r.hint, prometheusDownHint);
});

test('something answering invalid JSON on the Prometheus port is invalid_response', async (t) => {
  const garbage = await standIn(t, invalidJson());
  const r = await query(t, { prometheus: garbage.url, query: 'up' });
  assert.equal(r.reason, 'invalid_response');
  assert.match(r.message, /answered HTTP 200 with a body that is not JSON/);
});

test('JSON without the Prometheus envelope is invalid_response', async (t) => {
  const other = await standIn(
    t,
    jsonServer(() => ({ status: 200, body: { version: '10.0.0', database: 'ok' } })),
  );
  const r = await query(t, { prometheus: other.url, query: 'up' });
  assert.equal(r.reason, 'invalid_response');
  assert.match(r.message, /answered without a Prometheus API envelope$/);
  assert.match(r.hint ?? '', /not Grafana or a proxy/);
});

test('a Prometheus that accepts and hangs costs the timeout: reason timeout', async (t) => {
  const stuck = await standIn(t, hangAfterAccept());
  const started = performance.now();
  const r = await query(t, { prometheus: stuck.url, query: 'up' });
  const elapsedMs = performance.now() - started;
  assert.equal(r.reason, 'timeout');
  assert.equal(r.hint, prometheusDownHint);
  assert.ok(elapsedMs >= 1900 && elapsedMs < 2800, `took ${elapsedMs.toFixed(0)} ms`);
});
