// span_metrics_path against a real Prometheus (with and without its remote-write receiver) and the
// Tempo stand-in, whose metrics-generator remote-writes its span metrics as Tempo's does: each break
// in the path from generator to Prometheus is named at its cause, and span-rate reads ok when the path works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { MemoryCell, ProbeResult } from '../../src/engine/result.js';
import { runProber } from '../support/prober.js';
import { closedPort, jsonServer } from '../support/misbehaving.js';
import { startPrometheus, waitForQuery, type PrometheusHandle } from '../support/prometheus.js';
import { startTempoStandin, type TempoStandin, type TempoStandinOptions } from '../support/tempo-standin.js';
import { parseExposition } from '../../src/util/promText.js';

type After = { after(fn: () => Promise<void> | void): void };

async function prometheus(t: After, receiver = true): Promise<PrometheusHandle> {
  const p = await startPrometheus({ remoteWriteReceiver: receiver });
  t.after(() => p.stop());
  return p;
}

async function tempo(t: After, remoteWriteUrl?: string, opts: TempoStandinOptions = {}): Promise<TempoStandin> {
  const s = await startTempoStandin({ remoteWriteUrl, ...opts });
  t.after(() => s.stop());
  return s;
}

/** One server span of `service` over OTLP/HTTP, as the app's SDK sends it. */
async function span(s: TempoStandin, service = 'mystocks-backend'): Promise<void> {
  const start = BigInt(Date.now()) * 1_000_000n;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: randomBytes(16).toString('hex'),
                spanId: randomBytes(8).toString('hex'),
                name: 'GET /api/stocks',
                kind: 2,
                startTimeUnixNano: String(start),
                endTimeUnixNano: String(start + 5_000_000n),
              },
            ],
          },
        ],
      },
    ],
  };
  const res = await fetch(`${s.otlpHttpUrl}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(2000) });
  assert.equal(res.status, 200, await res.text());
}

/** Spans and sends until the generator's queue for `url` shows `until` on Tempo's /metrics (bounded). */
async function sendUntil(s: TempoStandin, until: (metrics: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  let text = '';
  while (Date.now() < deadline) {
    await span(s);
    await s.flushSpanMetrics();
    text = await (await fetch(`${s.url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    if (until(text)) return text;
  }
  assert.fail(`${what} never showed on the stand-in's /metrics; last:\n${text}`);
}

/** A counter summed over its series, read with the project's one text-format reader. */
const counter = (text: string, name: string): number => parseExposition(text).sum(name);

function path(s: TempoStandin, prom: PrometheusHandle | undefined, memory?: MemoryCell): Promise<ProbeResult> {
  return runProber('span_metrics_path', { name: 'span-metrics-path', tempo: s.url, ...(prom ? { prometheus: prom.url } : {}), timeout: '5s', pause: '1s' }, memory ? { memory } : {});
}

test('healthy: the generator remote-writes span metrics into Prometheus, span-metrics-path and span-rate read ok', async (t) => {
  const prom = await prometheus(t);
  const s = await tempo(t, `${prom.url}/api/v1/write`);
  // Two sends of a growing count: a rate over them is above zero.
  await sendUntil(s, (m) => counter(m, 'prometheus_remote_storage_samples_total') >= 2, 'two sends');
  const series = await waitForQuery(prom.url, 'traces_spanmetrics_calls_total{service="mystocks-backend",span_kind="SPAN_KIND_SERVER"}', (r) => r.length === 1);
  assert.ok(Number(series[0]!.value![1]) >= 2, JSON.stringify(series));
  await waitForQuery(prom.url, 'sum(rate(traces_spanmetrics_calls_total{service="mystocks-backend"}[5m])) > 0', (r) => r.length === 1);

  const r = await path(s, prom);
  assert.equal(r.status, 'ok', `${r.reason}: ${r.message}`);
  // Whether the generator's interval sent within the run's pause is up to the scheduler: both read ok.
  assert.match(r.message, /remote write (delivered \d+ sample\(s\)|sent nothing) in the last \S+/);
  assert.deepEqual((r.details as { processors: string[] }).processors, ['service-graphs', 'span-metrics']);
  assert.equal((r.details as { remoteWriteReceiver: boolean }).remoteWriteReceiver, true);

  // The shipped span-rate query, on what the generator wrote.
  const rate = await runProber('prometheus_query', {
    name: 'span-rate',
    prometheus: prom.url,
    query: 'sum(rate(traces_spanmetrics_calls_total{service="mystocks-backend"}[5m])) or sum(rate(traces_service_graph_request_total{server="mystocks-backend"}[5m]))',
    expect: '> 0',
  });
  assert.equal(rate.status, 'ok', `${rate.reason}: ${rate.message}`);
});

test('generator_off: /status/services does not list the metrics-generator', async (t) => {
  const prom = await prometheus(t);
  const s = await tempo(t, `${prom.url}/api/v1/write`);
  s.setMetricsGenerator(false);
  const r = await path(s, prom);
  assert.equal(r.reason, 'generator_off', r.message);
  assert.match(r.message, /metrics-generator is not among Tempo's services \(.*distributor/);
  assert.match(r.hint!, /metrics_generator/);

  s.setMetricsGenerator(true);
  s.setModuleState('metrics-generator', 'Failed', 'failed to create WAL');
  const failedModule = await path(s, prom);
  assert.equal(failedModule.reason, 'generator_off');
  assert.match(failedModule.message, /metrics-generator is Failed/);
});

test('no_processors: the tenant has no metrics_generator.processors (the published config), and nothing is written', async (t) => {
  const prom = await prometheus(t);
  const s = await tempo(t, `${prom.url}/api/v1/write`);
  s.setProcessors([]);
  await span(s);
  await s.flushSpanMetrics();
  const r = await path(s, prom);
  assert.equal(r.reason, 'no_processors', r.message);
  assert.match(r.message, /no metrics-generator processor is enabled for tenant "single-tenant" \(runtime overrides from default overrides\)/);
  assert.match(r.hint!, /overrides: \{ defaults: \{ metrics_generator: \{ processors: \[service-graphs, span-metrics\] \} \} \}/);
  assert.doesNotMatch(r.hint!, /remote-write-receiver/, 'the receiver is on: not mentioned');
  const names = await fetch(`${prom.url}/api/v1/label/__name__/values`).then((res) => res.json() as Promise<{ data: string[] }>);
  assert.ok(!names.data.includes('traces_spanmetrics_calls_total'), 'the generator made nothing');
});

test('receiver_disabled: a real Prometheus without --web.enable-remote-write-receiver answers 404, counted as failed samples', async (t) => {
  const prom = await prometheus(t, false);
  const s = await tempo(t, `${prom.url}/api/v1/write`);
  const metrics = await sendUntil(s, (m) => counter(m, 'prometheus_remote_storage_samples_failed_total') > 0, 'a refused write');
  assert.equal(counter(metrics, 'prometheus_remote_storage_samples_retried_total'), 0, 'a 404 is not retried');
  assert.match(metrics, /^prometheus_remote_storage_samples_failed_total\{remote_name="[0-9a-f]+",tenant="single-tenant",url="http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write"\} \d+$/m);

  const r = await path(s, prom);
  assert.equal(r.reason, 'receiver_disabled', r.message);
  assert.match(r.message, /web\.enable-remote-write-receiver is false/);
  assert.match(r.hint!, /'--web\.enable-remote-write-receiver' to the prometheus service's command: list/);

  // Without the Prometheus to ask, the generator's own counters tell the same story.
  const counters = await path(s, undefined);
  assert.equal(counters.reason, 'remote_write_failing', counters.message);
  assert.match(counters.message, /delivered nothing since Tempo started: http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write: \d+ sample\(s\) refused \(samples_failed_total/);
});

test('remote_write_failing: Prometheus down (connection refused) or answering 503: retried and pending, nothing delivered', async (t) => {
  const prom = await prometheus(t);
  const dead = await closedPort();
  const s = await tempo(t, `${dead.url}/api/v1/write`);
  await sendUntil(s, (m) => counter(m, 'prometheus_remote_storage_samples_retried_total') > 0, 'a retried write');
  const r = await path(s, prom);
  assert.equal(r.reason, 'remote_write_failing', r.message);
  assert.match(r.message, new RegExp(`127\\.0\\.0\\.1:${dead.port}/api/v1/write: \\d+ sample\\(s\\) retried \\(samples_retried_total: connection refused, 5xx or 429\\), \\d+ pending`));

  const overloaded = await jsonServer(() => ({ status: 503, body: { error: 'overloaded' } }));
  t.after(() => overloaded.close());
  const s503 = await tempo(t, `${overloaded.url}/api/v1/write`);
  await sendUntil(s503, (m) => counter(m, 'prometheus_remote_storage_samples_retried_total') > 0, 'a retried write');
  const r503 = await path(s503, prom);
  assert.equal(r503.reason, 'remote_write_failing', r503.message);
  assert.equal(r503.value, 0);
});

test("remote_write_failing after it worked: the previous run's reading (private memory) shows nothing delivered since", async (t) => {
  const prom = await prometheus(t);
  // Sends only when the test flushes: a send between the two runs would be a race with prom.stop().
  const s = await tempo(t, `${prom.url}/api/v1/write`, { generatorIntervalMs: 3_600_000 });
  await sendUntil(s, (m) => counter(m, 'prometheus_remote_storage_samples_total') > 0, 'a send');
  const memory: MemoryCell = {};
  const first = await path(s, prom, memory);
  assert.equal(first.status, 'ok', first.message);
  assert.ok(memory.value, 'the run kept its reading');

  // Prometheus goes away: the counters since Tempo started still hold the good sends, so only the
  // growth since the last run shows the break.
  await prom.stop();
  await sendUntil(s, (m) => counter(m, 'prometheus_remote_storage_samples_retried_total') > 0, 'a retried write');
  const second = await path(s, undefined, memory);
  assert.equal(second.reason, 'remote_write_failing', second.message);
  assert.match(second.message, /delivered nothing in the last /);
});
