// The whole probes/mystocks.yaml against a healthy test stack (real Prometheus, Alertmanager and
// dockerd; the Tempo stand-in), then each fault an operator meets, one at a time: exactly the
// expected probes turn failing (with the expected reason) or blocked, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import { createHttpClient } from '../../src/net/http.js';
import { createDockerClient } from '../../src/net/docker.js';
import { statusReport } from '../../src/report/view.js';
import { startPrometheus, remoteWrite, waitForQuery, exporterScrapeConfig, type PrometheusHandle } from '../support/prometheus.js';
import { startAlertmanager } from '../support/alertmanager.js';
import { startTempoStandin } from '../support/tempo-standin.js';
import { dockerAvailable, runContainer, removeContainer, stopContainer, startContainer, uniqueName } from '../support/docker.js';

const profile = readFileSync('probes/mystocks.yaml', 'utf8');

const rules = (withBusiness: boolean, broken = false) => `
groups:
  - name: mystocks_tracing_alerts
    rules:
      - alert: TempoMetricsDown
        expr: up{job="tempo-metrics"} == 0
        for: 1m
      - alert: NoSpans
        expr: sum(rate(traces_spanmetrics_calls_total[5m])) == 0
        for: 10m
${withBusiness ? `  - name: mystocks_business_alerts
    rules:
      - alert: HighErrorRate
        expr: sum(rate(mystocks_http_requests_total{status=~"5.."}[5m])) > 1
        for: 5m
${broken ? `      - alert: BrokenJoin
        expr: (vector(1) / on() (vector(1) or label_replace(vector(2), "x", "y", "", ""))) > 0
` : ''}` : ''}`;

type Expectation = Record<string, string>; // probe -> "failing:reason" | "blocked:reason"

interface Fault {
  name: string;
  expect: Expectation;
  apply(): Promise<void> | void;
  restore?(): Promise<void> | void;
  env?: Record<string, string>;
}

test('fault matrix over probes/mystocks.yaml', { timeout: 600_000 }, async (t) => {
  if (!(await dockerAvailable())) assert.fail('dockerd is not running: run scripts/ensure-services.sh');
  const tempo = await startTempoStandin();
  const prometheus: PrometheusHandle = await startPrometheus({
    ruleFiles: { 'mystocks.yml': rules(true) },
    scrapeConfigs: [exporterScrapeConfig('tempo-metrics', new URL(tempo.url).host)],
    extraArgs: ['--web.enable-admin-api'],
  });
  const alertmanager = await startAlertmanager();
  const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`;
  const names = { prom: uniqueName('prometheus'), tempo: uniqueName('tempo'), app: uniqueName('app'), appNoSampler: uniqueName('app-nosampler'), noLimit: uniqueName('nolimit'), small: uniqueName('small') };
  await Promise.all([
    runContainer({ name: names.prom, memory: '2g' }),
    runContainer({ name: names.tempo, memory: '1g' }),
    runContainer({ name: names.app, env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', DB_PASSWORD: secret } }),
    runContainer({ name: names.appNoSampler, env: { DB_PASSWORD: secret } }),
    runContainer({ name: names.noLimit }),
    runContainer({ name: names.small, memory: '512m' }),
  ]);
  t.after(async () => {
    await Promise.all(Object.values(names).map((n) => removeContainer(n)));
    await Promise.allSettled([tempo.stop(), prometheus.stop(), alertmanager.stop()]);
  });

  const baseEnv: Record<string, string> = {
    PROMETHEUS_URL: prometheus.url,
    TEMPO_URL: tempo.url,
    TEMPO_OTLP_GRPC: tempo.otlpGrpcAddress,
    TEMPO_OTLP_HTTP: tempo.otlpHttpUrl,
    ALERTMANAGER_URL: alertmanager.url,
    PROMETHEUS_CONTAINER: names.prom,
    TEMPO_CONTAINER: names.tempo,
    APP_CONTAINER: names.app,
    WATCHDOG_ALERT_MODE: 'off',
  };
  const http = createHttpClient({ userAgent: 'fault-matrix' });
  t.after(() => http.close());

  // Span metrics arrive by remote write, as from Tempo's metrics-generator, and the app's request
  // counter as if scraped; a fresh series each round keeps the 5m rate positive however long the
  // matrix runs. 600 requests and 60 server spans per round: the 10% sampling the guide promises.
  let feed = 0;
  let feeding = true;
  let requestsPerRound = 600;
  let serverSpansPerRound = 60;
  const feedSpanMetrics = async () => {
    if (!feeding) return;
    const now = Date.now();
    const series = (labels: Record<string, string>, increase: number) => ({ labels: { ...labels, feed: String(feed) }, samples: [{ value: 0, timestampMs: now - 30_000 }, { value: increase, timestampMs: now - 1000 }] });
    feed++;
    await remoteWrite(prometheus.url, [
      series({ __name__: 'traces_spanmetrics_calls_total', service: 'mystocks-backend', span_kind: 'SPAN_KIND_SERVER' }, serverSpansPerRound),
      series({ __name__: 'mystocks_http_requests_total', method: 'GET', endpoint: '/api/stocks', status: '200' }, requestsPerRound),
    ]);
  };
  const deleteSeries = async (metric: string) => {
    const res = await fetch(`${prometheus.url}/api/v1/admin/tsdb/delete_series?match[]=${metric}`, { method: 'POST' });
    assert.equal(res.status, 204);
  };
  // The ratio of the two sums holds only while both metrics have as many series in the window:
  // a fault that changes one of them starts both afresh.
  const resetFeed = async () => {
    await deleteSeries('traces_spanmetrics_calls_total');
    await deleteSeries('mystocks_http_requests_total');
  };
  const freshTrace = () => tempo.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 20_000, rootName: 'GET /api/stocks' });

  const runAll = async (env: Record<string, string> = {}) => {
    const config = parseConfig([{ file: 'probes/mystocks.yaml', text: profile }], { ...baseEnv, ...env });
    const engine = new Engine({ http, docker: createDockerClient({ dockerHost: env.DOCKER_HOST }), logger: pino({ level: 'silent' }), now: Date.now, concurrency: 12 });
    engine.load(config);
    await feedSpanMetrics();
    const started = performance.now();
    const states = await engine.runOnce();
    return { states, ms: Math.round(performance.now() - started) };
  };
  const summary = (states: Awaited<ReturnType<typeof runAll>>['states']) =>
    Object.fromEntries(states.filter((s) => s.current.status !== 'ok').map((s) => [s.spec.name, `${s.current.status}:${s.current.reason}`]));

  // Healthy: every probe green.
  freshTrace();
  await waitForQuery(prometheus.url, 'up{job="tempo-metrics"}', (r) => r.length === 1 && r[0]!.value?.[1] === '1', 30_000);
  const healthy = await runAll();
  assert.deepEqual(summary(healthy.states), {}, JSON.stringify(healthy.states.map((s) => [s.spec.name, s.current.reason, s.current.message]), null, 1));
  // 14 since issue 9 added app-requests and sampling-ratio.
  assert.equal(healthy.states.length, 14);
  const value = (name: string) => healthy.states.find((s) => s.spec.name === name)!.current.value;
  assert.ok(value('span-rate')! > 0);
  assert.ok(Math.abs(value('sampling-ratio')! - 0.1) < 1e-9, `sampling ratio ${value('sampling-ratio')}`);
  assert.ok(value('otlp-canary')! >= 0, 'the canary measured an ingestion latency');
  assert.equal(value('rule-groups'), 3);
  // The app's secret never leaves the process, though the same container is inspected.
  assert.doesNotMatch(JSON.stringify(statusReport(healthy.states, Date.now())), new RegExp(secret));
  t.diagnostic(`healthy round: ${healthy.ms} ms, 14/14 ok`);

  // The same, as an operator runs it right after a deploy: the CLI prints every probe green, exit 0.
  const cli = await new Promise<{ code: number; stdout: string }>((resolve) =>
    execFile(process.execPath, ['bin/watchdog.js', 'check', '--config', 'probes/mystocks.yaml'], { env: { PATH: process.env.PATH, ...baseEnv }, timeout: 60_000 }, (err, stdout) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout }),
    ),
  );
  assert.equal(cli.code, 0, cli.stdout);
  const rows = cli.stdout.split('\n').slice(1, 15);
  assert.equal(rows.filter((r) => /^\S+\s+\S+\s+OK\s+ok\s/.test(r)).length, 14, cli.stdout);
  assert.match(cli.stdout, /overall: ok/);

  const faults: Fault[] = [
    {
      name: 'Tempo ingester not Running',
      apply: () => tempo.setModuleState('ingester', 'Failed', 'failed to replay WAL'),
      restore: () => tempo.setModuleState('ingester', 'Running'),
      expect: { 'tempo-ready': 'failing:not_ready', 'tempo-ingestion': 'blocked:dependency_failed', 'otlp-canary': 'blocked:dependency_failed', 'span-rate': 'blocked:dependency_failed' },
    },
    {
      name: 'no traces of the app',
      apply: () => tempo.clearTraces(),
      restore: freshTrace,
      // span-rate is blocked behind it, not a second failure (issue 9).
      expect: { 'tempo-ingestion': 'failing:absent', 'span-rate': 'blocked:dependency_failed' },
    },
    {
      name: 'only stale traces (12 min old): the guide\'s "> 0" would pass',
      apply: () => {
        tempo.clearTraces();
        tempo.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 12 * 60_000 });
      },
      restore: () => {
        tempo.clearTraces();
        freshTrace();
      },
      expect: { 'tempo-ingestion': 'failing:stale', 'span-rate': 'blocked:dependency_failed' },
    },
    {
      name: 'Tempo drops what it accepts',
      apply: () => tempo.setDropIngest(true),
      restore: () => tempo.setDropIngest(false),
      expect: { 'otlp-canary': 'failing:not_found' },
    },
    {
      name: 'OTLP/HTTP receiver refuses spans (503)',
      apply: () => tempo.setRejectIngest(503, 'at least 1 live replicas required'),
      restore: () => tempo.setRejectIngest(null),
      expect: { 'otlp-canary': 'failing:export_failed' },
    },
    {
      name: 'OTLP gRPC port 4317 closed',
      apply: () => tempo.closeGrpcPort(),
      restore: () => tempo.openGrpcPort(),
      expect: { 'otlp-grpc-port': 'failing:connect', 'otlp-canary': 'failing:export_failed' },
    },
    {
      name: 'a bare TCP listener on 4317 (accepts, speaks no gRPC): a TCP check would pass',
      apply: () => tempo.setGrpcMode('silent'),
      restore: () => tempo.setGrpcMode('otlp'),
      expect: { 'otlp-grpc-port': 'failing:timeout', 'otlp-canary': 'failing:timeout' },
    },
    {
      name: 'a gRPC server on 4317 without the OTLP trace service',
      apply: () => tempo.setGrpcMode('unimplemented'),
      restore: () => tempo.setGrpcMode('otlp'),
      expect: { 'otlp-grpc-port': 'failing:grpc_status', 'otlp-canary': 'failing:export_failed' },
    },
    {
      name: 'the app silent (its request counter flat) while the canary runs',
      apply: async () => {
        requestsPerRound = 0;
        await resetFeed();
      },
      restore: async () => {
        requestsPerRound = 600;
        await resetFeed();
      },
      expect: { 'app-requests': 'failing:threshold', 'sampling-ratio': 'blocked:dependency_failed' },
    },
    {
      name: 'a sampler that samples far less than configured (1% instead of 10%)',
      apply: async () => {
        serverSpansPerRound = 6;
        await resetFeed();
      },
      restore: async () => {
        serverSpansPerRound = 60;
        await resetFeed();
      },
      expect: { 'sampling-ratio': 'failing:threshold' },
    },
    {
      name: 'span metrics never written (metrics-generator off)',
      apply: async () => {
        feeding = false;
        await deleteSeries('traces_spanmetrics_calls_total');
      },
      restore: async () => {
        feeding = true;
        await resetFeed();
      },
      // The request counter is not fed either while feeding is off, but its last series is still in the 5m window.
      expect: { 'span-rate': 'failing:absent', 'sampling-ratio': 'failing:absent' },
    },
    {
      name: 'rule group mystocks_business_alerts not loaded',
      apply: async () => {
        prometheus.writeRuleFile('mystocks.yml', rules(false));
        await prometheus.reload();
      },
      restore: async () => {
        prometheus.writeRuleFile('mystocks.yml', rules(true));
        await prometheus.reload();
      },
      expect: { 'rule-groups': 'failing:group_missing' },
    },
    {
      name: 'a rule that fails at evaluation',
      apply: async () => {
        prometheus.writeRuleFile('mystocks.yml', rules(true, true));
        await prometheus.reload();
        await waitForRuleError(prometheus.url);
      },
      restore: async () => {
        prometheus.writeRuleFile('mystocks.yml', rules(true));
        await prometheus.reload();
      },
      expect: { 'rule-groups': 'failing:rule_unhealthy' },
    },
    {
      name: 'Alertmanager down',
      apply: () => alertmanager.stop(),
      restore: () => alertmanager.start(),
      expect: { alertmanager: 'failing:connect' },
    },
    {
      name: 'app container without the sampler variables',
      apply: () => {},
      env: { APP_CONTAINER: names.appNoSampler },
      expect: { 'sampler-env': 'failing:env_mismatch' },
    },
    {
      name: 'Prometheus container without any memory limit',
      apply: () => {},
      env: { PROMETHEUS_CONTAINER: names.noLimit },
      expect: { 'prometheus-memory': 'failing:no_limit' },
    },
    {
      name: 'Tempo container with a 512m limit instead of 1G',
      apply: () => {},
      env: { TEMPO_CONTAINER: names.small },
      expect: { 'tempo-memory': 'failing:limit_mismatch' },
    },
    {
      name: 'Tempo container stopped',
      apply: () => stopContainer(names.tempo),
      restore: () => startContainer(names.tempo),
      expect: { 'tempo-memory': 'failing:not_running' },
    },
    {
      name: 'Docker socket unreachable',
      apply: () => {},
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
      expect: { 'prometheus-memory': 'blocked:docker_unavailable', 'tempo-memory': 'blocked:docker_unavailable', 'sampler-env': 'blocked:docker_unavailable' },
    },
    {
      name: 'Prometheus down',
      apply: async () => {
        feeding = false;
        await prometheus.stop();
      },
      restore: async () => {
        await prometheus.start();
        feeding = true;
        // After a restart, `up` answers from the replayed WAL at once, but the target list is
        // empty until discovery runs (about 5 s): wait for the list itself.
        await waitForTargetHealth(prometheus.url, 'tempo-metrics', 'up');
      },
      expect: {
        'prometheus-ready': 'failing:connect',
        'span-rate': 'blocked:dependency_failed',
        'app-requests': 'blocked:dependency_failed',
        'sampling-ratio': 'blocked:dependency_failed',
        'rule-groups': 'blocked:dependency_failed',
        'tempo-metrics-target': 'blocked:dependency_failed',
      },
    },
    {
      name: 'Tempo down (last: the stand-in does not come back)',
      apply: async () => {
        await tempo.stop();
        await waitForTargetHealth(prometheus.url, 'tempo-metrics', 'down');
      },
      expect: {
        'tempo-ready': 'failing:connect',
        'otlp-grpc-port': 'failing:connect',
        'tempo-metrics-target': 'failing:target_down',
        'tempo-ingestion': 'blocked:dependency_failed',
        'otlp-canary': 'blocked:dependency_failed',
        'span-rate': 'blocked:dependency_failed',
      },
    },
  ];

  const report: string[] = [];
  for (const fault of faults) {
    await t.test(fault.name, async () => {
      await fault.apply();
      const { states, ms } = await runAll(fault.env);
      assert.deepEqual(summary(states), fault.expect);
      for (const s of states.filter((x) => x.current.status !== 'ok')) {
        assert.ok(s.current.message.length > 0 && s.current.hint && s.current.hint.length > 20, `${s.spec.name} explains itself`);
      }
      // Detected within one round, and a round is bounded by the slowest failing probe's timeout.
      const bound = Math.max(...states.filter((s) => s.current.status === 'failing').map((s) => s.spec.timeoutMs), 0) + 3000;
      assert.ok(ms <= bound, `round took ${ms} ms, over ${bound} ms`);
      report.push(`${fault.name}: ${Object.entries(fault.expect).map(([p, r]) => `${p}=${r}`).join(', ')} (${ms} ms)`);
      await fault.restore?.();
      if (fault.restore) {
        const after = await runAll();
        assert.deepEqual(summary(after.states), {}, `${fault.name}: restored stack is green again`);
      }
    });
  }
  t.diagnostic(`fault matrix:\n${report.join('\n')}`);
  console.log(`\nfault matrix detection (one runOnce round after the fault):\n${report.map((l) => `  ${l}`).join('\n')}`);
});

async function waitForRuleError(promUrl: string): Promise<void> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: { rules: { health: string }[] }[] } };
    if (body.data.groups.some((g) => g.rules.some((r) => r.health === 'err'))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the broken rule never reported health err');
}

async function waitForTargetHealth(promUrl: string, job: string, health: 'up' | 'down'): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const res = await fetch(`${promUrl}/api/v1/targets?state=active`).catch(() => undefined);
    if (res?.ok) {
      const body = (await res.json()) as { data: { activeTargets: { labels: { job: string }; health: string }[] } };
      if (body.data.activeTargets.some((t) => t.labels.job === job && t.health === health)) return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`target ${job} never became ${health}`);
}
