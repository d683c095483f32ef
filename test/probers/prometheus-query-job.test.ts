// kind: prometheus_query given the scrape job it reads (issue 17, item 3): a real Prometheus scraping
// small node:http exporters on 127.0.0.1 every second. A target moved to a dead port, a counter that is
// declared but never incremented (as MyStocks's mystocks_http_requests_total), and a counter a target
// stops writing are each named at their cause within a scrape interval, while the 5-minute rate() the
// query asks for still returns the old samples (what made app-requests read ok for five minutes).
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import type { ProbeResult } from '../../src/engine/result.js';
import { closedPort } from '../support/misbehaving.js';
import { runProber } from '../support/prober.js';
import { exporterScrapeConfig, query as promQuery, startExporter, startPrometheus, waitForQuery, type Exporter, type PrometheusHandle } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

const SCRAPE_INTERVAL_MS = 1000;
let prom: PrometheusHandle;
const jobs: object[] = [];
const exporters: Exporter[] = [];

before(async () => {
  prom = await startPrometheus({ scrapeInterval: `${SCRAPE_INTERVAL_MS / 1000}s` });
});
after(async () => {
  await Promise.all(exporters.map((e) => e.close()));
  await prom?.stop();
});

/** A counter that rises at every scrape, as an app serving traffic; `mode` says what it serves now. */
function app(counter: string, mode: { now: 'counting' | 'declared_only' | 'gone' }, extra = '') {
  let n = 0;
  return () => {
    n += 3;
    const head = `# HELP ${counter} Requests served.\n# TYPE ${counter} counter\n`;
    const body = mode.now === 'counting' ? `${head}${counter}{method="GET",status_code="200"} ${n}\n` : mode.now === 'declared_only' ? head : '';
    return body + extra.replace(/\$N/g, String(n));
  };
}

async function scrape(job: string, hostPort: string): Promise<void> {
  const i = jobs.findIndex((j) => (j as { job_name: string }).job_name === job);
  const entry = exporterScrapeConfig(job, hostPort);
  if (i >= 0) jobs[i] = entry;
  else jobs.push(entry);
  prom.writeConfig({ scrapeConfigs: [...jobs] });
  await prom.reload();
}

async function serve(job: string, text: () => string): Promise<Exporter> {
  const e = await startExporter(text);
  exporters.push(e);
  await scrape(job, e.hostPort);
  return e;
}

const rateOf = (metric: string) => `sum(rate(${metric}[5m]))`;

async function waitForRate(metric: string): Promise<void> {
  await waitForQuery(prom.url, rateOf(metric), (r) => Number(r[0]?.value?.[1]) > 0, 20_000);
}

async function probe(t: TestContext, fields: Record<string, unknown>): Promise<ProbeResult> {
  const r = await runProber('prometheus_query', { name: 'app-requests', prometheus: prom.url, timeout: '5s', expect: '> 0', ...fields });
  t.diagnostic(`${r.reason}: ${r.message} | hint: ${r.hint ?? ''} (${r.durationMs} ms)`);
  return r;
}

/** The query still returns a positive rate from older samples: a probe without the job reads ok. */
async function assertRateStillPositive(metric: string): Promise<void> {
  const r = await promQuery(prom.url, rateOf(metric));
  assert.ok(Number(r[0]?.value?.[1]) > 0, `the 5m rate still returns old samples: ${JSON.stringify(r)}`);
}

test('a healthy job whose counter moves reads ok, with its targets and freshness checked', async (t) => {
  await serve('healthy-app', app('healthy_requests_total', { now: 'counting' }));
  await waitForRate('healthy_requests_total');
  const r = await probe(t, { query: rateOf('healthy_requests_total'), job: 'healthy-app' });
  assert.equal(r.status, 'ok', r.message);
  assert.ok(r.value! > 0);
});

test('the target moved to a dead port is target_down within a scrape interval, with lastError and the scrape URL, while rate() still returns a value', async (t) => {
  await serve('moved-app', app('moved_requests_total', { now: 'counting' }));
  await waitForRate('moved_requests_total');
  assert.equal((await probe(t, { query: rateOf('moved_requests_total'), job: 'moved-app' })).status, 'ok');
  const dead = await closedPort();
  const faultAt = Date.now();
  await scrape('moved-app', dead.hostPort);
  // Polled as the daemon would run it; the bound is far below the five minutes of a 5m rate().
  const r = await waitFor(
    'target_down',
    async () => {
      const res = await probe(t, { query: rateOf('moved_requests_total'), job: 'moved-app' });
      return res.reason === 'target_down' && res;
    },
    { timeoutMs: 15_000, intervalMs: 250 },
  );
  const elapsed = Date.now() - faultAt;
  t.diagnostic(`target_down ${elapsed} ms after the move (scrape interval ${SCRAPE_INTERVAL_MS} ms)`);
  await assertRateStillPositive('moved_requests_total');
  assert.equal(r.status, 'failing');
  assert.match(r.message, new RegExp(`^job "moved-app": 1 of 1 target down: http://${dead.hostPort}/metrics: .*connection refused`));
  assert.match(r.message, /the query still returns [0-9.e-]+, computed from older samples\)$/);
  assert.match(r.hint ?? '', /compare the port in scrape_configs with the port the app really listens on/);
  assert.ok(elapsed < 15_000);
});

test('a job named in the selector is the default: a dead target is target_down without a job field', async (t) => {
  const dead = await closedPort();
  await scrape('dead-from-start', dead.hostPort);
  await waitFor('Prometheus to scrape the dead target', async () => (await promQuery(prom.url, 'up{job="dead-from-start"} == 0')).length === 1, { timeoutMs: 15_000, intervalMs: 200 });
  const r = await probe(t, { query: 'sum(rate(app_requests_total{job="dead-from-start"}[5m]))' });
  assert.equal(r.reason, 'target_down');
  assert.match(r.message, /^job "dead-from-start": 1 of 1 target down: http:\/\/127\.0\.0\.1:\d+\/metrics: .*connection refused$/);
  assert.equal(r.details?.job, 'dead-from-start');
});

test('MyStocks: mystocks_http_requests_total declared (HELP/TYPE) but never written is never_written, naming http_requests_total that moves', async (t) => {
  // What the MyStocks backend serves: prometheus_exporter.py declares the labelled counter, nothing
  // increments it; the performance middleware increments http_requests_total{method,endpoint,status_code}.
  const moving = '# HELP http_requests_total Total HTTP requests\n# TYPE http_requests_total counter\nhttp_requests_total{method="GET",endpoint="/api/stocks",status_code="200"} $N\n';
  const e = await serve('mystocks-backend', app('mystocks_http_requests_total', { now: 'declared_only' }, moving));
  await waitForRate('http_requests_total{job="mystocks-backend"}');
  const r = await probe(t, { query: rateOf('mystocks_http_requests_total'), job: 'mystocks-backend' });
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'never_written');
  assert.equal(r.message, `job "mystocks-backend" declares "mystocks_http_requests_total" (# HELP/# TYPE in ${e.metricsUrl}) but has no sample of it`);
  assert.match(r.hint ?? '', /^Counters of job "mystocks-backend" that do move: http_requests_total\. The target declares the metric/);
  assert.deepEqual(r.details?.movingCounters, ['http_requests_total']);
});

test('a counter the target stops writing (still declared) is never_written within a scrape interval, while rate() still returns a value', async (t) => {
  const mode: { now: 'counting' | 'declared_only' | 'gone' } = { now: 'counting' };
  await serve('stopping-app', app('stopping_requests_total', mode, '# TYPE other_events_total counter\nother_events_total $N\n'));
  await waitForRate('stopping_requests_total');
  assert.equal((await probe(t, { query: rateOf('stopping_requests_total'), job: 'stopping-app' })).status, 'ok');
  mode.now = 'declared_only';
  const faultAt = Date.now();
  // The condition the verdict needs: Prometheus has marked the series stale (next scrape after the change).
  await waitFor('the stale marker', async () => (await promQuery(prom.url, 'count(stopping_requests_total{job="stopping-app"})')).length === 0, { timeoutMs: 15_000, intervalMs: 100 });
  const r = await probe(t, { query: rateOf('stopping_requests_total'), job: 'stopping-app' });
  t.diagnostic(`never_written ${Date.now() - faultAt} ms after the change`);
  await assertRateStillPositive('stopping_requests_total');
  assert.equal(r.reason, 'never_written');
  assert.match(r.message, /^job "stopping-app" declares "stopping_requests_total" \(.*\) but has no sample of it \(the query still returns [0-9.e-]+, computed from older samples\)$/);
  assert.match(r.hint ?? '', /that do move: other_events_total\./);
  assert.deepEqual(r.details?.staleMetrics, ['stopping_requests_total']);
});

test('a counter the target no longer exposes at all is absent within a scrape interval, with look-alikes, while rate() still returns a value', async (t) => {
  const mode: { now: 'counting' | 'declared_only' | 'gone' } = { now: 'counting' };
  await serve('renamed-app', app('renamed_requests_total', mode, '# TYPE renamed_http_requests_total counter\nrenamed_http_requests_total $N\n'));
  await waitForRate('renamed_requests_total');
  mode.now = 'gone';
  await waitFor('the stale marker', async () => (await promQuery(prom.url, 'count(renamed_requests_total{job="renamed-app"})')).length === 0, { timeoutMs: 15_000, intervalMs: 100 });
  const r = await probe(t, { query: rateOf('renamed_requests_total'), job: 'renamed-app' });
  await assertRateStillPositive('renamed_requests_total');
  assert.equal(r.reason, 'absent');
  assert.match(r.message, /^no fresh sample of "renamed_requests_total": the targets of job "renamed-app" are up but no longer expose it \(the query still returns/);
  assert.match(r.hint ?? '', /look alike: [^.]*renamed_http_requests_total/);
});

test('a metric unknown to Prometheus, its job up, stays the ordinary absent with look-alikes from every name', async (t) => {
  await serve('typo-app', app('typo_requests_total', { now: 'counting' }));
  await waitForRate('typo_requests_total');
  const r = await probe(t, { query: rateOf('typo_request_total'), job: 'typo-app' });
  assert.equal(r.reason, 'absent');
  assert.equal(r.message, 'no data: "typo_request_total" does not exist in Prometheus');
  assert.match(r.hint ?? '', /look alike: [^.]*typo_requests_total/);
});
