// src/util/promText.ts, the one reader of the Prometheus text format: the format's own example
// (prometheus.io, "Exposition formats", text format example), escapes, special values, families
// and their lookups, bad lines; and a real prom-client registry's output read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { parseExposition } from '../../src/util/promText.js';

// The example of the format's documentation, as published.
const documented = String.raw`# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
`;

test("the format's documented example: families, types, help, samples and timestamps", () => {
  const e = parseExposition(documented);
  assert.deepEqual(e.problems, []);
  assert.deepEqual(
    [...e.families.keys()],
    ['http_requests_total', 'msdos_file_access_time_seconds', 'metric_without_timestamp_and_labels', 'something_weird', 'http_request_duration_seconds', 'rpc_duration_seconds'],
  );
  const requests = e.family('http_requests_total')!;
  assert.equal(requests.type, 'counter');
  assert.equal(requests.help, 'The total number of HTTP requests.');
  assert.deepEqual(requests.samples[1], { name: 'http_requests_total', labels: { method: 'post', code: '400' }, value: 3, timestampMs: 1395066363000 });
  assert.equal(e.family('metric_without_timestamp_and_labels')!.type, 'untyped');
  assert.deepEqual(e.samples('msdos_file_access_time_seconds')[0]!.labels, { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
  assert.deepEqual(e.samples('something_weird')[0], { name: 'something_weird', labels: { problem: 'division by zero' }, value: Number.POSITIVE_INFINITY, timestampMs: -3982045 });
  // A histogram's and a summary's samples belong to their family, under their own names.
  const hist = e.family('http_request_duration_seconds')!;
  assert.equal(hist.type, 'histogram');
  assert.deepEqual(
    hist.samples.map((s) => s.name),
    [
      'http_request_duration_seconds_bucket',
      'http_request_duration_seconds_bucket',
      'http_request_duration_seconds_bucket',
      'http_request_duration_seconds_sum',
      'http_request_duration_seconds_count',
    ],
  );
  assert.equal(e.value('http_request_duration_seconds_bucket', { le: '+Inf' }), 144320);
  assert.equal(e.family('rpc_duration_seconds')!.samples.length, 4);
  assert.equal(e.value('rpc_duration_seconds_sum'), 1.7560473e7);
  assert.equal(e.family('http_request_duration_seconds_bucket'), undefined);
});

test('lookups: value() wants the exact label set, samples() and sum() a subset, a missing label reads as ""', () => {
  const e = parseExposition(
    [
      'tempo_distributor_spans_received_total{tenant="a"} 2',
      'tempo_distributor_spans_received_total{tenant="b"} 3',
      'prometheus_remote_storage_samples_failed_total{remote_name="tempo",url="http://x/api/v1/write"} 7',
      'prometheus_notifications_dropped_total 1',
    ].join('\n'),
  );
  assert.equal(e.value('tempo_distributor_spans_received_total', { tenant: 'b' }), 3);
  assert.equal(e.value('tempo_distributor_spans_received_total'), undefined, 'no sample has no labels');
  assert.equal(e.sum('tempo_distributor_spans_received_total'), 5);
  assert.equal(e.sum('no_such_metric'), 0);
  assert.equal(e.value('prometheus_remote_storage_samples_failed_total', { remote_name: 'tempo' }), undefined, 'a subset is not the exact set');
  assert.equal(e.samples('prometheus_remote_storage_samples_failed_total', { remote_name: 'tempo' })[0]?.value, 7);
  assert.equal(e.samples('prometheus_notifications_dropped_total', { alertmanager: '' }).length, 1, 'absent label matches ""');
  assert.equal(e.samples('prometheus_notifications_dropped_total', { alertmanager: 'x' }).length, 0);
  assert.equal(e.allSamples().length, 4);
});

test('values: NaN, ±Inf in any case, exponents; escapes in HELP; spaces, CRLF, trailing commas, exemplars', () => {
  const e = parseExposition(
    [
      '# HELP odd A help with a \\\\ backslash and a\\nnewline.',
      '# TYPE odd gauge',
      'odd{k="nan"} NaN',
      'odd{k="inf"} +Inf',
      'odd{k="neg"} -inf',
      'odd{k="exp"} -1.5E-3',
      'odd { k = "spaced" , } 4\r',
      'odd{} 5',
      '# TYPE seen counter',
      'seen_total{a="1"} 3 # {trace_id="abc"} 1 1700000000.000',
      '# EOF',
    ].join('\n'),
  );
  assert.deepEqual(e.problems, []);
  const odd = e.family('odd')!;
  assert.equal(odd.help, 'A help with a \\ backslash and a\nnewline.');
  const v = (k: string) => e.value('odd', { k });
  assert.ok(Number.isNaN(v('nan')));
  assert.equal(v('inf'), Number.POSITIVE_INFINITY);
  assert.equal(v('neg'), Number.NEGATIVE_INFINITY);
  assert.equal(v('exp'), -0.0015);
  assert.equal(v('spaced'), 4);
  assert.equal(e.value('odd'), 5);
  // An OpenMetrics counter family "seen" owns its seen_total samples; the exemplar is dropped.
  assert.deepEqual(e.family('seen')!.samples, [{ name: 'seen_total', labels: { a: '1' }, value: 3 }]);
});

test('bad lines are skipped and named in problems with their line number; the rest is read', () => {
  const e = parseExposition(
    [
      'good 1',
      'bad_value 12abc',
      'bad_escape{a="x\\t"} 1',
      'unclosed{a="x} 1',
      'no_value{a="x"}',
      'dup{a="1",a="2"} 1',
      'bad_ts 1 1.5',
      '# TYPE good nonsense',
      '# TYPE late counter',
      'late 1',
      '# TYPE late gauge',
      '{} 1',
      'also_good{x="y"} 2',
    ].join('\n'),
  );
  assert.deepEqual(
    e.problems.map((p) => p.line),
    [2, 3, 4, 5, 6, 7, 8, 11, 12],
    JSON.stringify(e.problems),
  );
  assert.match(e.problems[0]!.message, /bad_value: "12abc" is not a number/);
  assert.match(e.problems[1]!.message, /invalid escape \\t/);
  assert.match(e.problems[7]!.message, /# TYPE for late after its samples/);
  assert.equal(e.value('good'), 1);
  assert.equal(e.value('also_good', { x: 'y' }), 2);
  assert.equal(e.family('late')!.type, 'counter');
  assert.equal(e.allSamples().length, 3);
});

test("prom-client's own exposition reads back: label escapes, histogram buckets, counters", async () => {
  const registry = new Registry();
  const c = new Counter({ name: 'x_requests_total', help: 'Requests "served".', labelNames: ['path'], registers: [registry] });
  c.inc({ path: 'a "quoted" \\ path\nwith a newline' }, 2);
  const h = new Histogram({ name: 'x_latency_seconds', help: 'Latency.', buckets: [0.1, 1], registers: [registry] });
  h.observe(0.5);
  h.observe(5);
  const e = parseExposition(await registry.metrics());
  assert.deepEqual(e.problems, []);
  assert.equal(e.family('x_requests_total')!.help, 'Requests "served".');
  assert.equal(e.value('x_requests_total', { path: 'a "quoted" \\ path\nwith a newline' }), 2);
  assert.equal(e.family('x_latency_seconds')!.type, 'histogram');
  assert.equal(e.value('x_latency_seconds_bucket', { le: '1' }), 1);
  assert.equal(e.value('x_latency_seconds_bucket', { le: '+Inf' }), 2);
  assert.equal(e.value('x_latency_seconds_count'), 2);
});
