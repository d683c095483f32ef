// A run's abort is honoured, wherever in the run it comes. The kinds that ask their target many times
// (dashboards, dead_rules, prometheus_rules, stack_config, tempo_search, span_metrics_path) meet a real
// Prometheus or the Tempo stand-in that answers their first requests and then stops in the middle of
// the run: it hangs before the headers, drips the body forever, or sends half a body and stalls. Each
// run must end in `timeout` within its timeout plus BOUND_MS, the prober itself must return within
// BOUND_MS of its signal, and the target must hold no connection of the run afterwards, however many
// keep-alive sockets it kept open itself. Also: requests queued behind a full connection pool (the
// daemon shares one client among its probes) are cut by their own probe's abort, not by the others'.
// The bounds are correctness conditions, not speed: a request that outlives its abort waits for
// undici's 120 s timeouts (seen: the dashboards fault row took 120-229 s at load 15), or forever on a drip.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setMaxListeners } from 'node:events';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { runProbe } from '../../src/engine/runner.js';
import type { ProbeResult } from '../../src/engine/result.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient, type HttpClient } from '../../src/net/http.js';
import type { ProbeContext } from '../../src/probers/types.js';
import { gate, type GateTarget, type Stall } from '../support/misbehaving.js';
import { makeTempDir } from '../support/process.js';
import { bindProber } from '../support/prober.js';
import { exporterScrapeConfig, startPrometheus, waitForQuery, type PrometheusHandle } from '../support/prometheus.js';
import { startTempoStandin, type TempoStandin } from '../support/tempo-standin.js';
import { waitFor } from '../support/wait.js';

/**
 * What a run may take past its timeout, and a prober past its abort: the runner answers 50 ms after the
 * abort, and the rest is event-loop lag on a loaded 2-core machine (up to ~900 ms seen with six busy
 * loops beside the suite). A request that ignores the abort takes 120 s, or forever on a drip.
 */
const BOUND_MS = 2000;
const TIMEOUT = '1s';
const TIMEOUT_MS = 1000;
const stalls: Stall[] = ['hang', 'drip', 'stall'];

let prometheus: PrometheusHandle;
let tempo: TempoStandin;

/** Eight panels, so the dashboards kind's four-at-a-time queue has queries waiting when the target stops. */
const dashboardStack = makeTempDir('abort-dashboards');
mkdirSync(join(dashboardStack, 'provisioning', 'dashboards'), { recursive: true });
writeFileSync(
  join(dashboardStack, 'provisioning', 'dashboards', 'self.json'),
  JSON.stringify({
    title: 'Self',
    templating: { list: [{ name: 'job', type: 'query', query: 'label_values(up, job)' }] },
    panels: [
      'up',
      'prometheus_build_info',
      'prometheus_http_requests_total',
      'scrape_duration_seconds',
      'prometheus_tsdb_head_series',
      'process_open_fds',
      'go_goroutines',
      'scrape_samples_scraped',
    ].map((metric, i) => ({ id: i + 1, title: metric, targets: [{ refId: 'A', expr: `sum by (instance) (${metric}{job="$job"})` }] })),
  }),
);

/** stack_config's folder: one rule file Prometheus parses, older than any reload. */
const configStack = mkdtempSync(join(tmpdir(), 'abort-stack-'));
mkdirSync(join(configStack, 'config/rules'), { recursive: true });
writeFileSync(join(configStack, 'config/rules/app.yml'), 'groups: [{ name: app, rules: [{ record: "app:one", expr: "vector(1)" }, { record: "app:two", expr: "sum(up)" }] }]\n');
utimesSync(join(configStack, 'config/rules/app.yml'), new Date(2020, 0, 1), new Date(2020, 0, 1));

interface Row {
  kind: string;
  label?: string;
  /** The port the gate fronts. */
  behind: () => number;
  fields: (at: GateTarget) => Record<string, unknown>;
}

const prometheusPort = () => prometheus.port;
const tempoPort = () => Number(new URL(tempo.url).port);

const rows: Row[] = [
  { kind: 'dashboards', behind: prometheusPort, fields: (at) => ({ prometheus: at.url, stackDir: dashboardStack }) },
  { kind: 'dead_rules', behind: prometheusPort, fields: (at) => ({ prometheus: at.url, groups: ['faults'] }) },
  { kind: 'prometheus_rules', behind: prometheusPort, fields: (at) => ({ prometheus: at.url, groups: ['faults'] }) },
  { kind: 'stack_config', behind: prometheusPort, fields: (at) => ({ stackDir: configStack, prometheus: at.url }) },
  { kind: 'tempo_search', behind: tempoPort, fields: (at) => ({ tempo: at.url, service: 'abort-app' }) },
  { kind: 'span_metrics_path', label: 'Tempo stops', behind: tempoPort, fields: (at) => ({ tempo: at.url, prometheus: prometheus.url, pause: '200ms' }) },
  { kind: 'span_metrics_path', label: 'Prometheus stops', behind: prometheusPort, fields: (at) => ({ tempo: tempo.url, prometheus: at.url, pause: '200ms' }) },
];

interface Watched {
  result: ProbeResult;
  /** From the call to its result, the client's close included when the run made its own client. */
  elapsedMs: number;
  /** From the run's abort to the prober's own return; undefined when it returned before any abort. */
  returnedAfterAbortMs?: number;
}

/**
 * One run through the runner, as test/support/prober.ts runs it (a client of its own, closed after,
 * unless `http` is given), watching when the run's signal aborts and when the prober itself returns:
 * the runner's hard stop answers for a prober that does not, so the result alone cannot tell.
 */
async function watchedRun(kind: string, probe: Record<string, unknown>, http?: HttpClient): Promise<Watched> {
  const spec = bindProber(kind, probe);
  let abortedAt: number | undefined;
  let returned: Promise<number> | undefined;
  const run = (ctx: ProbeContext) => {
    ctx.signal.addEventListener('abort', () => (abortedAt ??= performance.now()), { once: true });
    const outcome = spec.run(ctx);
    returned = outcome.then(
      () => performance.now(),
      () => performance.now(),
    );
    return outcome;
  };
  const client = http ?? createHttpClient({ userAgent: 'stack-watchdog-test' });
  const started = performance.now();
  let result: ProbeResult;
  try {
    result = await runProbe({ ...spec, run }, { http: client, docker: createDockerClient({}), logger: pino({ level: 'silent' }), now: Date.now });
  } finally {
    if (!http) await client.close();
  }
  const elapsedMs = performance.now() - started;
  // Bounded: a prober that never returns fails here, after the bound, with what was seen.
  const returnedAt = await Promise.race([returned!, sleep(BOUND_MS * 2, undefined, { ref: false })]);
  if (returnedAt === undefined) return { result, elapsedMs, returnedAfterAbortMs: Infinity };
  return { result, elapsedMs, ...(abortedAt !== undefined && returnedAt > abortedAt ? { returnedAfterAbortMs: returnedAt - abortedAt } : {}) };
}

/** The first ok result, or the last one after `ms` (Prometheus scrapes itself and Tempo's span metrics arrive after start). */
async function untilOk(run: () => Promise<Watched>, ms: number): Promise<Watched> {
  return waitFor(
    'a healthy run',
    async () => {
      const w = await run();
      return w.result.status === 'ok' ? w : undefined;
    },
    { timeoutMs: ms, intervalMs: 250 },
  );
}

before(async () => {
  prometheus = await startPrometheus({ ruleFiles: { 'faults.yml': 'groups: [{ name: faults, rules: [{ record: "faults:one", expr: "vector(1)" }, { alert: FaultsNever, expr: "up == 2" }] }]\n' } });
  prometheus.writeConfig({ scrapeConfigs: [exporterScrapeConfig('self', `127.0.0.1:${prometheus.port}`)] });
  await prometheus.reload();
  tempo = await startTempoStandin();
  tempo.addTrace({ serviceName: 'abort-app', startedAgoMs: 20_000 });
  // The generator's span metrics go to the real Prometheus, as span_metrics_path expects of a healthy path.
  tempo.setRemoteWrite(`${prometheus.url}/api/v1/write`);
  await waitForQuery(prometheus.url, 'up{job="self"}', (r) => r.length > 0);
});

after(async () => {
  await Promise.allSettled([tempo?.stop(), prometheus?.stop()]);
});

test('a multi-request kind whose target stops answering mid-run ends at its timeout and leaves no connection', { timeout: 300_000 }, async (t) => {
  const report: string[] = [];
  await t.test('rows', { concurrency: 4 }, async (rt) => {
    await Promise.all(
      rows.map((row) => {
        const name = row.label ? `${row.kind} (${row.label})` : row.kind;
        return rt.test(name, async (st: TestContext) => {
          const at = await gate(row.behind());
          st.after(() => at.close());
          const probe = { name: row.kind.replace(/_/g, '-'), timeout: TIMEOUT, ...row.fields(at) };

          // Healthy first, through the gate: how many requests a whole run makes, so the target can stop at each step.
          const healthy = await untilOk(() => {
            at.set(Infinity, 'hang');
            return watchedRun(row.kind, { ...probe, timeout: '10s' });
          }, 40_000);
          const total = at.requests;
          assert.ok(total >= 1, `${name}: a healthy run asked the target (${healthy.result.message})`);
          const steps = [...new Set([0, 1, Math.floor(total / 2), total - 1])].filter((n) => n < total);

          for (const stall of stalls) {
            for (const answered of steps) {
              at.set(answered, stall);
              const w = await watchedRun(row.kind, probe);
              const seen = `${name}, ${stall} after ${answered} of ${total} requests: ${w.result.status} ${w.result.reason}: ${w.result.message}`;
              assert.equal(w.result.reason, 'timeout', seen);
              assert.ok(w.elapsedMs <= TIMEOUT_MS + BOUND_MS, `${seen}: took ${w.elapsedMs.toFixed(0)} ms, over the ${TIMEOUT_MS} ms timeout plus ${BOUND_MS} ms`);
              assert.ok(
                w.returnedAfterAbortMs === undefined || w.returnedAfterAbortMs <= BOUND_MS,
                `${seen}: the prober returned ${String(w.returnedAfterAbortMs?.toFixed(0))} ms after its signal aborted`,
              );
              await waitFor(`${seen}: the target holds no connection of the run`, () => at.open === 0, { timeoutMs: BOUND_MS, describe: () => ({ open: at.open }) });
              report.push(
                `${name.padEnd(34)} ${stall.padEnd(5)} after ${String(answered).padStart(2)}/${String(total).padEnd(2)} ${String(Math.round(w.elapsedMs)).padStart(5)} ms  ${w.result.message.slice(0, 90)}`,
              );
            }
          }
        });
      }),
    );
  });
  t.diagnostic(`runs (kind, stall, requests answered, time, message):\n${report.map((l) => `#   ${l}`).join('\n')}`);
});

test('requests queued behind a full connection pool end with their own probe, not with the requests ahead of them', { timeout: 60_000 }, async (t) => {
  // The daemon's one client: another probe's requests hold every connection to Prometheus (16 per
  // origin) for their own, longer timeout; the dashboards run's queries queue behind them.
  const at = await gate(prometheus.port);
  const shared = createHttpClient({ userAgent: 'stack-watchdog-test' });
  const other = new AbortController();
  // Sixteen requests listen on it, as many as one probe's run may hold.
  setMaxListeners(100, other.signal);
  t.after(async () => {
    other.abort();
    await at.close();
  });
  at.set(0, 'hang');
  const held = Array.from({ length: 16 }, (_, i) => shared.request(`${at.url}/api/v1/query?query=vector(${i})`, { signal: other.signal }).catch(() => undefined));
  await waitFor('every connection of the pool held', () => at.requests === 16, { describe: () => ({ requests: at.requests, open: at.open }) });

  const w = await watchedRun('dashboards', { prometheus: at.url, stackDir: dashboardStack, timeout: TIMEOUT }, shared);
  const seen = `dashboards behind a full pool: ${w.result.status} ${w.result.reason}: ${w.result.message}`;
  assert.equal(w.result.reason, 'timeout', seen);
  assert.ok(w.elapsedMs <= TIMEOUT_MS + BOUND_MS, `${seen}: took ${w.elapsedMs.toFixed(0)} ms`);
  assert.ok(w.returnedAfterAbortMs === undefined || w.returnedAfterAbortMs <= BOUND_MS, `${seen}: the prober returned ${String(w.returnedAfterAbortMs?.toFixed(0))} ms after its signal aborted`);
  // Its queries were cut in the queue, never sent: the target still has only the other probe's requests.
  assert.equal(at.requests, 16, seen);

  // The other probe ends: the queued requests are dropped when their turn comes (nothing is sent), and
  // the client closes with nothing left to wait for.
  other.abort();
  await Promise.all(held);
  const closing = performance.now();
  await shared.close();
  assert.ok(performance.now() - closing <= BOUND_MS, `closing the client took ${(performance.now() - closing).toFixed(0)} ms`);
  assert.equal(at.requests, 16, 'no queued request of the run was sent after its abort');
  await waitFor('the target holds no connection', () => at.open === 0, { timeoutMs: BOUND_MS, describe: () => ({ open: at.open }) });
});
