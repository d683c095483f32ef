// src/util/promql.ts, the one reader of PromQL expressions (on Prometheus's lezer grammar): which
// metrics an expression selects, with their label matchers and whether absent() wraps them, and
// how it aggregates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readPromql, selectedMetricNames } from '../../src/util/promql.js';

test('names: label names, by() lists, strings, durations, offset, @ and keywords are not metrics', () => {
  assert.deepEqual(selectedMetricNames('sum by (job, le) (rate(a_total{job="x", le=~"b_.*"}[5m] offset 1h)) / on(job) group_left(instance) b'), ['a_total', 'b']);
  assert.deepEqual(selectedMetricNames('count without (instance) (x) > bool 1 unless y @ 1700000000 offset -5m'), ['x', 'y']);
  assert.deepEqual(selectedMetricNames('label_replace(vector(1), "dst", "sum", "src", "(.*)") + time()'), []);
  assert.deepEqual(selectedMetricNames('inf + nan + 5m'), [], 'inf, nan and durations are numbers');
  assert.deepEqual(selectedMetricNames('a + a * on() a'), ['a'], 'each once');
});

test('names: subqueries, nested aggregations and functions', () => {
  assert.deepEqual(selectedMetricNames('max_over_time(sum by (svc) (rate(calls_total[1m]))[30m:1m])'), ['calls_total']);
  assert.deepEqual(selectedMetricNames('topk(5, sum by (a) (avg without (b) (m1)) / ignoring(c) count(m2))'), ['m1', 'm2']);
  assert.deepEqual(selectedMetricNames('histogram_quantile(0.99, sum by (le) (rate(lat_bucket{job="api"}[5m])))'), ['lat_bucket']);
});

test('names: {__name__="x"} names x; a regex or negative __name__ matcher names nothing; quoted UTF-8 names', () => {
  assert.deepEqual(selectedMetricNames('{__name__="e", x="y"} or {__name__=~"f.*"} or {__name__!="g"}'), ['e']);
  assert.deepEqual(selectedMetricNames('{"my.metric", job="a"} + {"other.metric"="v"}'), ['my.metric']);
  assert.deepEqual(selectedMetricNames(String.raw`{__name__='single\'quoted'} + {__name__=` + '`raw\\n`}'), ["single'quoted", 'raw\\n']);
});

test('absent(): selectors inside absent() and absent_over_time(), however deep, are marked', () => {
  const q = 'absent(up{job="tempo"}) or absent_over_time(sum(rate(c[5m]))[10m:]) or d offset 5m or absent(e) * f';
  assert.deepEqual(selectedMetricNames(q), ['up', 'c', 'd', 'e', 'f']);
  assert.deepEqual(selectedMetricNames(q, { exceptAbsent: true }), ['d', 'f']);
  assert.deepEqual(
    readPromql(q).selectors.map((s) => [s.metric, s.inAbsent]),
    [
      ['up', true],
      ['c', true],
      ['d', false],
      ['e', true],
      ['f', false],
    ],
  );
  assert.deepEqual(selectedMetricNames('x unless absent(x)', { exceptAbsent: true }), ['x'], 'a name selected outside absent() too stays');
});

test('label matchers: every operator, quoted values with escapes, __name__ matchers included', () => {
  const [s] = readPromql(String.raw`http_requests_total{code=~"5..", method!="GET", path!~"/api/\\d+", "k.8s"="v", msg="a \"b\"\n", __name__="http_requests_total"}`).selectors;
  assert.equal(s!.metric, 'http_requests_total');
  assert.deepEqual(s!.matchers, [
    { name: 'code', op: '=~', value: '5..' },
    { name: 'method', op: '!=', value: 'GET' },
    { name: 'path', op: '!~', value: '/api/\\d+' },
    { name: 'k.8s', op: '=', value: 'v' },
    { name: 'msg', op: '=', value: 'a "b"\n' },
    { name: '__name__', op: '=', value: 'http_requests_total' },
  ]);
  const [any] = readPromql('{job="api"}').selectors;
  assert.deepEqual(any, { metric: undefined, matchers: [{ name: 'job', op: '=', value: 'api' }], inAbsent: false, from: 0, to: 11 });
});

test('aggregations: op, by/without and their labels, nested ones outermost first', () => {
  const { aggregations, errors } = readPromql('sum by (service, "span.kind") (rate(calls_total[5m])) / ignoring(le) max without (instance) (count(up))');
  assert.deepEqual(errors, []);
  assert.deepEqual(
    aggregations.map(({ op, modifier, labels }) => ({ op, modifier, labels })),
    [
      { op: 'sum', modifier: 'by', labels: ['service', 'span.kind'] },
      { op: 'max', modifier: 'without', labels: ['instance'] },
      { op: 'count', modifier: undefined, labels: [] },
    ],
  );
  const [inner] = readPromql('sum(x) by (a, b)').aggregations;
  assert.deepEqual([inner!.modifier, inner!.labels], ['by', ['a', 'b']], 'the modifier after the body too');
});

test('syntax errors are reported with where they are; what could be read is still there', () => {
  const r = readPromql('sum(rate(x{job="a"}[5m])');
  assert.ok(r.errors.length > 0);
  assert.equal(typeof r.errors[0]!.at, 'number');
  assert.deepEqual(
    r.selectors.map((s) => s.metric),
    ['x'],
  );
  assert.ok(readPromql('foo{').errors.length > 0);
  assert.deepEqual(readPromql('up').errors, []);
});
