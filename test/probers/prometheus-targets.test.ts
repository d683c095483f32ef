// prometheus_targets against a real Prometheus scraping real local exporters, through the engine
// path (parseConfig + Engine). Discovery and scrapes are asynchronous: each test first waits, within
// a bound, for Prometheus's own `up` series to show the state, then runs the probe once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { prometheusDownHint } from '../../src/probers/prometheusApi.js';
import { engineFor } from '../support/engine.js';
import { runProber } from '../support/prober.js';
import { closedPort, invalidJson, jsonServer } from '../support/misbehaving.js';
import { waitFor } from '../support/wait.js';
import { exporterScrapeConfig, startExporter, startPrometheus, waitForQuery, type Exporter, type PrometheusHandle } from '../support/prometheus.js';

let prom: PrometheusHandle;
let backend: Exporter;
let tempo: Exporter;

before(async () => {
  backend = await startExporter('mystocks_http_requests_total{status="200"} 42\n');
  tempo = await startExporter('tempo_distributor_spans_received_total 7\n');
  prom = await startPrometheus({
    scrapeConfigs: [
      exporterScrapeConfig('mystocks-backend', backend.hostPort),
      // Relabelled: the job label no longer says "tempo-metrics", the scrape pool still does.
      { ...exporterScrapeConfig('tempo-metrics', tempo.hostPort), relabel_configs: [{ target_label: 'job', replacement: 'tempo' }] },
      // A target's first scrape waits for its slot within the interval: with 24h it stays "unknown".
      { ...exporterScrapeConfig('nightly', tempo.hostPort), scrape_interval: '24h' },
    ],
  });
});
after(async () => {
  await prom?.stop();
  await backend?.close();
  await tempo?.close();
});

const name = 'scrape-target';
const probeFile = (fields: Record<string, unknown>) => JSON.stringify({ probes: [{ name, kind: 'prometheus_targets', ...fields }] });

const runOnce = (fields: Record<string, unknown>) => runProber('prometheus_targets', { name, ...fields });

/** Prometheus publishes discovered targets every 5s: wait until the job's `up` series has `value`. */
const upIs = (job: string, value: string) => waitForQuery(prom.url, `up{job="${job}"}`, (r) => r[0]?.value?.[1] === value);

test('a scraped exporter: ok, value = targets up', async () => {
  await upIs('mystocks-backend', '1');
  const r = await runOnce({ prometheus: prom.url, job: 'mystocks-backend' });
  assert.equal(r.status, 'ok');
  assert.equal(r.message, '1 of 1 target of job "mystocks-backend" up');
  assert.equal(r.value, 1);
  assert.equal((r.details?.targets as { scrapeUrl: string }[])[0]?.scrapeUrl, backend.metricsUrl);
  assert.ok(backend.scrapes() > 0);
});

test('a job whose label was relabelled is still found by its scrape pool', async () => {
  await upIs('tempo', '1');
  const r = await runOnce({ prometheus: prom.url, job: 'tempo-metrics' });
  assert.equal(r.message, '1 of 1 target of job "tempo-metrics" up');
  assert.equal(r.value, 1);
});

test('a target found but not scraped yet (health unknown) passes, and the message says so', async () => {
  const r = await runOnce({ prometheus: prom.url, job: 'nightly' });
  const health = (r.details?.targets as { health: string }[])[0]?.health;
  assert.equal(health, 'unknown', 'precondition: Prometheus has not scraped the 24h target yet');
  assert.equal(r.status, 'ok');
  assert.equal(r.message, '0 of 1 target of job "nightly" up; 1 not scraped yet (health "unknown")');
  assert.equal(r.value, 0);
});

test('a job nobody scrapes: no_targets, listing the jobs that have targets', async () => {
  const r = await runOnce({ prometheus: prom.url, job: 'node-exporter' });
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'no_targets');
  assert.equal(r.message, 'no active target for job "node-exporter" (jobs with targets: "mystocks-backend", "nightly", "tempo")');
  assert.match(r.hint!, /job_name/);
  assert.match(r.hint!, /Service Discovery/);
  assert.equal(r.value, 0);
});

test('fewer targets than minTargets: too_few_targets', async () => {
  const r = await runOnce({ prometheus: prom.url, job: 'mystocks-backend', minTargets: 2 });
  assert.equal(r.reason, 'too_few_targets');
  assert.equal(r.message, 'job "mystocks-backend" has 1 active target, expected at least 2');
  assert.equal(r.value, 1);
});

test('the exporter stops: target_down with its scrape URL and lastError', async () => {
  await backend.close();
  await upIs('mystocks-backend', '0');
  // The first failed scrape may have been cut by the close itself ("connection reset by peer", seen at
  // load 19); the next one meets the closed port. Wait for that one, then judge it.
  let seen: unknown;
  const r = await waitFor(
    'a scrape after the close that met the closed port',
    async () => {
      const run = await runOnce({ prometheus: prom.url, job: 'mystocks-backend' });
      seen = { reason: run.reason, message: run.message };
      return run.reason === 'target_down' && run.message.includes('connection refused') ? run : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250, describe: () => seen },
  );
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'target_down');
  assert.ok(
    r.message.startsWith(`1 of 1 target of job "mystocks-backend" down: ${backend.metricsUrl}: Get "${backend.metricsUrl}": dial tcp ${backend.hostPort}: connect: connection refused`),
    r.message,
  );
  assert.match(r.hint!, /connection refused/);
  assert.equal(r.value, 0);
});

test('Prometheus down: connect, with the Prometheus hint', async () => {
  const dead = await closedPort();
  const r = await runOnce({ prometheus: dead.url, job: 'mystocks-backend' });
  assert.equal(r.reason, 'connect');
  assert.equal(r.hint, prometheusDownHint);
});

test('an answer that is not JSON, or JSON of another shape: invalid_response', async (t) => {
  const garbage = await invalidJson();
  t.after(() => garbage.close());
  const r = await runOnce({ prometheus: garbage.url, job: 'mystocks-backend' });
  assert.equal(r.reason, 'invalid_response');
  assert.equal(r.message, `${garbage.url}/api/v1/targets?state=active answered HTTP 200 with a body that is not JSON: {"status": "success", "data": [`);

  const other = await jsonServer(() => ({ status: 200, body: { status: 'success', data: [] } }));
  t.after(() => other.close());
  const wrong = await runOnce({ prometheus: other.url, job: 'mystocks-backend' });
  assert.equal(wrong.reason, 'invalid_response');
  assert.equal(wrong.message, 'the answer of /api/v1/targets has no data.activeTargets list');
});

test('bad configs are refused with exact messages', () => {
  const refused = (fields: Record<string, unknown>, problem: string) => assert.throws(() => engineFor(probeFile(fields)), { problems: [`test.yaml: probe "${name}": ${problem}`] });
  refused({ prometheus: prom.url }, 'job: required field is missing');
  refused({ prometheus: prom.url, job: '' }, 'job: expected string length greater or equal to 1, got ""');
  refused({ prometheus: prom.url, job: 'x', minTargets: 0 }, 'minTargets: expected integer to be greater or equal to 1, got 0');
});
