// dead_rules against a real Prometheus 2.42: rules whose metrics exist (scraped from a local exporter)
// and the MyStocks guide's tracing rules, which select metrics no Tempo writes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { quantileOverNonBuckets, selectedMetrics } from '../../src/probers/deadRules.js';
import { engineFor } from '../support/engine.js';
import { runProber } from '../support/prober.js';
import { exporterScrapeConfig, startExporter, startPrometheus, waitForQuery, type Exporter, type PrometheusHandle } from '../support/prometheus.js';

const liveRules = `groups:
- name: mystocks_business_alerts
  rules:
  - alert: HighErrorRate
    expr: sum(rate(mystocks_http_requests_total{status=~"5.."}[5m])) > 1
  - alert: SpanMetricsMissing
    # absent() expects its metric to be missing: not dead.
    expr: absent(traces_spanmetrics_calls_total) or absent_over_time(tempo_distributor_spans_received_total[5m])
  - alert: ByName
    expr: '{__name__="mystocks_http_requests_total", status="500"} > 0'
`;
// As the guide's tracing-business-alerts.yml means them (its parse error fixed): metrics no Tempo writes.
const guideRules = `groups:
- name: mystocks_tracing_alerts
  rules:
  - alert: SpanRateDrop
    expr: sum(rate(traces_span_processed_total[5m])) < 1
  - alert: SlowSpans
    expr: histogram_quantile(0.95, sum by (le) (rate(traces_span_duration_seconds_bucket[5m]))) > 2
  - alert: TempoUp
    expr: up{job="tempo-metrics"} == 0
`;

// MyStocks' SignalLatencyHigh, from its facts: histogram_quantile() over a _sum, which has no le buckets.
const signalRules = `groups:
- name: mystocks_signal_monitoring_alerts
  rules:
  - alert: SignalLatencyHigh
    expr: histogram_quantile(0.95, sum by (le) (rate(mystocks_signal_latency_seconds_sum[5m]))) > 1
  - alert: SpanLatencyHigh
    expr: histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket[5m]))) > 2
  - alert: SignalLatencyAverage
    expr: rate(mystocks_signal_latency_seconds_sum[5m]) / rate(mystocks_signal_latency_seconds_count[5m]) > 1
`;

let prom: PrometheusHandle;
let exporter: Exporter;

before(async () => {
  exporter = await startExporter(
    [
      'mystocks_http_requests_total{status="200"} 10',
      'mystocks_http_requests_total{status="500"} 1',
      'traces_spanmetrics_calls_total{service="mystocks-backend"} 5',
      'traces_spanmetrics_latency_bucket{le="+Inf"} 5',
      'traces_service_graph_request_total 3',
      'mystocks_signal_latency_seconds_sum 3',
      'mystocks_signal_latency_seconds_count 2',
    ].join('\n'),
  );
  prom = await startPrometheus({ scrapeConfigs: [exporterScrapeConfig('tempo-metrics', exporter.hostPort)], ruleFiles: { 'live.yml': liveRules, 'guide.yml': guideRules, 'signal.yml': signalRules } });
  await waitForQuery(prom.url, 'mystocks_http_requests_total', (r) => r.length === 2);
});
after(async () => {
  await prom?.stop();
  await exporter?.close();
});

test('rules whose metrics exist, and absent() on a missing one: ok', async () => {
  const r = await runProber('dead_rules', { prometheus: prom.url, groups: ['mystocks_business_alerts'] });
  assert.equal(r.status, 'ok', r.message);
  assert.equal(r.message, '3 rules in 1 group select only metrics that exist');
  assert.equal(r.value, 0);
});

test("a rule on a missing metric (the guide's tracing rules): rule_dead names rule, metric and look-alikes", async () => {
  // What the probes before this kind said about the same group: loaded and healthy.
  const before = await runProber('prometheus_rules', { prometheus: prom.url, groups: ['mystocks_tracing_alerts'] });
  assert.equal(before.status, 'ok');

  const r = await runProber('dead_rules', { prometheus: prom.url, groups: ['mystocks_tracing_alerts', 'mystocks_business_alerts'] });
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'rule_dead');
  assert.equal(r.value, 2);
  assert.match(
    r.message,
    /^2 rules can never fire: rule "SpanRateDrop" in group "mystocks_tracing_alerts" selects "traces_span_processed_total", which Prometheus does not have \(look-alikes: [^)]*traces_spanmetrics_calls_total[^)]*\); rule "SlowSpans" in group "mystocks_tracing_alerts" selects "traces_span_duration_seconds_bucket", which Prometheus does not have \(look-alikes: [^)]*traces_spanmetrics_latency_bucket/,
  );
  const dead = r.details?.deadRules as { rule: string; missing: string[]; similar: string[] }[];
  assert.deepEqual(
    dead.map((d) => [d.rule, d.missing]),
    [
      ['SpanRateDrop', ['traces_span_processed_total']],
      ['SlowSpans', ['traces_span_duration_seconds_bucket']],
    ],
  );
  assert.ok(dead.every((d) => d.similar.length <= 5));
  assert.match(r.hint!, /promtool check rules/);
});

test('histogram_quantile() over a _sum whose metric exists: rule_never_fires names the rule and the series', async () => {
  const r = await runProber('dead_rules', { prometheus: prom.url, groups: ['mystocks_signal_monitoring_alerts'] });
  assert.equal(`${r.status}:${r.reason}`, 'failing:rule_never_fires', r.message);
  assert.equal(r.value, 1);
  assert.equal(
    r.message,
    'a rule can never fire: rule "SignalLatencyHigh" in group "mystocks_signal_monitoring_alerts" runs histogram_quantile() over "mystocks_signal_latency_seconds_sum", which has no le buckets',
  );
  assert.match(r.hint!, /give it the _bucket series, grouped by le/);
  assert.deepEqual(r.details?.neverFiring, [{ group: 'mystocks_signal_monitoring_alerts', rule: 'SignalLatencyHigh', series: ['mystocks_signal_latency_seconds_sum'] }]);

  // With a dead rule beside it: the missing metric leads, both are listed, both hints given.
  const both = await runProber('dead_rules', { prometheus: prom.url, groups: ['mystocks_signal_monitoring_alerts', 'mystocks_tracing_alerts'] });
  assert.equal(both.reason, 'rule_dead');
  assert.equal(both.value, 3);
  assert.match(both.message, /^3 rules can never fire: .*SignalLatencyHigh/);
  assert.match(both.hint!, /does not have.*_bucket series/s);
});

test('a missing metric whose producer another probe watches waits on that probe; a misspelt look-alike is still dead', async () => {
  const awaited = [{ metrics: ['traces_span_processed_total'], probe: 'span-metrics-path' }];
  const r = await runProber('dead_rules', { prometheus: prom.url, groups: ['mystocks_tracing_alerts'], awaited });
  // SlowSpans' bucket is not awaited: still dead, and the only one.
  assert.equal(`${r.status}:${r.reason}`, 'failing:rule_dead', r.message);
  assert.equal(r.value, 1);
  assert.match(r.message, /^a rule can never fire: rule "SlowSpans" /);

  const both = [{ metrics: ['traces_span_processed_total', 'traces_span_duration_seconds_bucket'], probe: 'span-metrics-path' }];
  const ok = await runProber('dead_rules', { prometheus: prom.url, groups: ['mystocks_tracing_alerts'], awaited: both });
  assert.equal(ok.status, 'ok', ok.message);
  assert.equal(
    ok.message,
    '3 rules in 1 group select metrics that exist or that a producer another probe watches has not delivered; 2 metrics not there yet, each watched by the probe of its producer: traces_span_processed_total (span-metrics-path), traces_span_duration_seconds_bucket (span-metrics-path)',
  );
  assert.deepEqual(ok.details?.awaiting, [
    { metric: 'traces_span_processed_total', probe: 'span-metrics-path', rules: ['SpanRateDrop'] },
    { metric: 'traces_span_duration_seconds_bucket', probe: 'span-metrics-path', rules: ['SlowSpans'] },
  ]);
});

test('histogram_quantile() is judged by what it is given: _bucket and native histograms pass, _sum and _count do not', () => {
  assert.deepEqual(quantileOverNonBuckets('histogram_quantile(0.9, sum by (le) (rate(a_bucket[5m])))'), []);
  assert.deepEqual(quantileOverNonBuckets('histogram_quantile(0.9, sum(rate(native_seconds[5m])))'), []);
  assert.deepEqual(quantileOverNonBuckets('histogram_quantile(0.9, rate(a_sum[5m])) or histogram_quantile(0.5, b_count)'), ['a_sum', 'b_count']);
  // Outside histogram_quantile() a _sum is an ordinary series.
  assert.deepEqual(quantileOverNonBuckets('rate(a_sum[5m]) / rate(a_count[5m])'), []);
  assert.deepEqual(quantileOverNonBuckets('absent(histogram_quantile(0.9, a_sum))'), []);
});

test('selectors are read with the PromQL grammar: labels, by(), strings and absent() are not metrics', () => {
  assert.deepEqual(selectedMetrics('sum by (job, le) (rate(a_total{job="x", le=~"b_.*"}[5m])) / on(job) group_left b'), ['a_total', 'b']);
  assert.deepEqual(selectedMetrics('absent(up{job="tempo"}) or absent_over_time(c[5m]) or d offset 5m'), ['d']);
  assert.deepEqual(selectedMetrics('{__name__="e", x="y"} or {__name__=~"f.*"}'), ['e']);
  assert.deepEqual(selectedMetrics('label_replace(vector(1), "x", "sum", "", "")'), []);
});

test('bad configs are refused', () => {
  const probe = (fields: Record<string, unknown>) => JSON.stringify({ probes: [{ name: 'dead-rules', kind: 'dead_rules', ...fields }] });
  assert.throws(() => engineFor(probe({ prometheus: prom.url, groups: [] })), { problems: ['test.yaml: probe "dead-rules": groups: expected array length to be greater or equal to 1, got a list'] });
  assert.throws(() => engineFor(probe({ groups: ['x'] })), { problems: ['test.yaml: probe "dead-rules": prometheus: required field is missing'] });
});
