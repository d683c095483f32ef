// The Grafana dashboard (deploy/grafana/) against the real thing: a real watchdog daemon with ok,
// failing and blocked probes (plus the kinds whose gauges the dashboard draws), scraped every second
// by a real Prometheus that loads the uptime recording rules. Every query of the dashboard must
// return something, and every metric it names must be one the watchdog exports (or a recording rule).
// Grafana itself is not installed here: what is checked is the JSON's queries and structure, and the
// compose mounts that provision it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon.js';
import { parseExposition } from '../../src/util/promText.js';
import { readPromql } from '../../src/util/promql.js';
import { probers } from '../../src/probers/index.js';
import { dockerAvailable, removeContainer, runContainer, uniqueName } from '../support/docker.js';
import { captureLogger, eventually } from '../support/engine.js';
import { closedPort, jsonServer } from '../support/misbehaving.js';
import { runProber } from '../support/prober.js';
import { query, startPrometheus, type PromSample } from '../support/prometheus.js';
import { startTempoStandin } from '../support/tempo-standin.js';
import { dashboard, dashboardQueries, DS, labelValuesQuery, metricNames, queryPanels, allPanels, STACK, substitute, variableValues } from '../support/dashboard.js';

const root = resolve(import.meta.dirname, '../..');
const providerFile = join(root, 'deploy/grafana/provisioning/dashboards/stack-watchdog.yml');
const recordingRulesFile = join(root, 'deploy/prometheus/watchdog-recording-rules.yml');
const override = join(root, 'docker-compose.override.yml');
const composeFixture = join(root, 'test/fixtures/compose/docker-compose.yml');

// ------------------------------------------------------------------------------ the dashboard JSON

test('the dashboard: Grafana 10/11 schema, a uid, the Prometheus data source by variable, panels in the grid', () => {
  assert.equal(dashboard.uid, 'stack-watchdog');
  // Grafana 10.0 writes 38, 10.4 writes 39, 11.x writes 39-41 and migrates anything older up.
  assert.ok(dashboard.schemaVersion >= 36 && dashboard.schemaVersion <= 41, `schemaVersion ${dashboard.schemaVersion}`);
  const ds = dashboard.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
  assert.deepEqual({ type: ds?.type, query: ds?.query }, { type: 'datasource', query: 'prometheus' });
  const ids = allPanels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of allPanels) assert.ok(p.gridPos.x >= 0 && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `panel "${p.title}" fits the 24-column grid`);
  for (const p of queryPanels) {
    assert.deepEqual(p.datasource, DS, `panel "${p.title}" uses the data source variable`);
    assert.ok(p.targets?.length, `panel "${p.title}" has queries`);
    for (const t of p.targets ?? []) {
      assert.deepEqual(t.datasource, DS, `panel "${p.title}" ${t.refId}`);
      assert.ok(t.expr.trim(), `panel "${p.title}" ${t.refId} has an expression`);
    }
  }
  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) assert.deepEqual(v.datasource, DS, `variable ${v.name}`);
});

test('the dashboard has the panels on-call people need, by type', () => {
  const byTitle = Object.fromEntries(queryPanels.map((p) => [p.title, p]));
  const expect: [string, string, RegExp][] = [
    ['Probe status over time', 'state-timeline', /watchdog_probe_status/],
    ['Failing and blocked probes now', 'table', /watchdog_probe_reason/],
    ['Probe run duration', 'timeseries', /watchdog_probe_duration_seconds/],
    ['Failed runs by reason', 'timeseries', /watchdog_probe_failures_total/],
    ['Uptime', 'table', /watchdog:probe_success:ratio_rate7d/],
    ['Container memory against its limit', 'timeseries', /watchdog_container_memory_limit_bytes/],
    ['Newest trace age', 'timeseries', /watchdog_tempo_newest_trace_age_seconds/],
    ['OTLP canary latency', 'timeseries', /kind="otlp_canary"/],
    ['Alert path', 'state-timeline', /probe="alert-path"/],
    ['Direct alerts to Alertmanager', 'timeseries', /watchdog_alertmanager_direct_alerts/],
    ['Posts to Alertmanager', 'timeseries', /watchdog_alertmanager_posts_total/],
  ];
  for (const [title, type, expr] of expect) {
    const p = byTitle[title];
    assert.ok(p, `no panel "${title}"; panels: ${Object.keys(byTitle).join(', ')}`);
    assert.equal(p.type, type, title);
    assert.match(p.targets!.map((t) => t.expr).join('\n'), expr, title);
  }
});

test("every dashboard query parses with Prometheus's grammar once its variables are substituted", () => {
  const queries = dashboardQueries();
  assert.ok(queries.length >= 20, `${queries.length} queries`);
  for (const q of queries) assert.ok(metricNames(q.expr).length > 0 || /\bvector\(|\btime\(\)/.test(q.expr), `${q.where} selects no metric: ${q.expr}`);
  // The parser is strict enough to catch what a typo does to a query.
  assert.throws(() => metricNames('sum by (probe (watchdog_probe_success)'), /PromQL parse error/);
  assert.deepEqual(metricNames('rate({__name__="a_total"}[1m]) / on (x) b:c:ratio'), ['a_total', 'b:c:ratio']);
});

test('a $stack variable (one stack at a time), and every selector of every panel and variable filters on it', () => {
  const stack = dashboard.templating.list.find((v) => v.name === 'stack');
  assert.ok(stack, 'no $stack variable');
  assert.deepEqual(labelValuesQuery(stack), { selector: 'watchdog_build_info', label: 'stack' });
  // The panels aggregate by probe, which two stacks may share: one stack per view keeps them apart.
  assert.deepEqual({ multi: stack.multi, includeAll: stack.includeAll }, { multi: false, includeAll: false });
  const order = dashboard.templating.list.map((v) => v.name);
  assert.ok(order.indexOf('stack') < order.indexOf('instance'), `$stack comes before the variables that depend on it: ${order.join(', ')}`);
  // A marker for $stack, so each selector's own matcher can be read with Prometheus's grammar.
  const marker = '__chosen_stack__';
  const unfiltered: string[] = [];
  let selectors = 0;
  for (const q of dashboardQueries({ ...variableValues, stack: marker })) {
    if (q.where === 'variable $stack') continue;
    const { selectors: found, errors } = readPromql(q.expr);
    assert.deepEqual(errors, [], q.expr);
    for (const s of found) {
      // up is Prometheus's own and has no stack: the query must then join a selector that has it.
      if (s.metric === 'up') continue;
      selectors++;
      if (!s.matchers.some((m) => m.name === 'stack' && m.op === '=~' && m.value === marker)) unfiltered.push(`${q.where}: ${q.expr.slice(s.from, s.to)}`);
    }
    if (found.some((s) => s.metric === 'up')) assert.match(q.expr, /\band on \(job, instance\)/, `${q.where} joins up with a stack-filtered series`);
  }
  assert.ok(selectors > 30, `${selectors} selectors read`);
  assert.deepEqual(unfiltered, [], 'selectors without stack=~"$stack"');
});

// ------------------------------------------------------------------------- provisioning and compose

test('the provisioning file loads the dashboards folder that the compose override mounts into Grafana', () => {
  const provider = parse(readFileSync(providerFile, 'utf8')) as { apiVersion: number; providers: { name: string; type: string; folder: string; options: { path: string } }[] };
  assert.equal(provider.apiVersion, 1);
  assert.equal(provider.providers.length, 1);
  const p = provider.providers[0]!;
  assert.equal(p.type, 'file');
  assert.equal(p.folder, 'Stack watchdog');

  // docker-compose config merges the override onto a file shaped like the stack's (see compose.test.ts).
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(COMPOSE_|DOCKER_GID$|WATCHDOG_)/.test(k)) env[k] = v;
  const fixtureDir = join(root, 'test/fixtures/compose');
  const r = spawnSync('docker-compose', ['--project-directory', fixtureDir, '-f', composeFixture, '-f', override, 'config'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...env, WATCHDOG_DIR: root },
  });
  if (r.error) throw new Error(`docker-compose could not run (scripts/ensure-services.sh installs it): ${r.error.message}`);
  assert.equal(r.status, 0, r.stderr);
  const services = (parse(r.stdout) as { services: Record<string, { image?: string; volumes?: string[] }> }).services;
  // The stack's Grafana keeps its image; only the two read-only mounts are added.
  assert.equal(services.grafana!.image, 'grafana/grafana:10.2.2');
  const mounts = services.grafana!.volumes ?? [];
  assert.deepEqual([...mounts].sort(), [
    `${root}/deploy/grafana/dashboards:${p.options.path}:ro`,
    `${root}/deploy/grafana/provisioning/dashboards/stack-watchdog.yml:/etc/grafana/provisioning/dashboards/stack-watchdog.yml:ro`,
  ]);
  assert.ok(existsSync(join(root, 'deploy/grafana/dashboards/stack-watchdog.json')));
  assert.ok(
    services.prometheus!.volumes?.includes(`${root}/deploy/prometheus/watchdog-recording-rules.yml:/etc/prometheus/rules/watchdog-recording-rules.yml:ro`),
    String(services.prometheus!.volumes),
  );
});

// ---------------------------------------------------------------------- against a running watchdog

/**
 * Names the dashboard may use that the watchdog's /metrics cannot show, each with its reason.
 * `up`: Prometheus writes it for every scrape target itself (the dashboard's "Scraped by Prometheus").
 */
const notFromTheWatchdog: Record<string, string> = {
  up: 'written by Prometheus for each scrape target, not exported by the target',
};

test('against a real Prometheus scraping a real watchdog (ok, failing, blocked, alert-path, tempo_search, otlp_canary, container_memory)', async (t) => {
  const withDocker = await dockerAvailable();
  const ok = await jsonServer(() => ({ status: 200, body: { status: 'success' } }));
  t.after(() => ok.close());
  const down = await closedPort();
  const tempo = await startTempoStandin();
  t.after(() => tempo.stop());
  tempo.addTrace({ serviceName: 'mystocks-backend', startedAgoMs: 5_000 });

  let containerName: string | undefined;
  if (withDocker) {
    containerName = uniqueName('dashboard-mem');
    await runContainer({ name: containerName, memory: '32m' });
    t.after(() => removeContainer(containerName!));
  } else {
    t.diagnostic('dockerd or the test image is missing: no container_memory probe, so the container memory panels are exempt (scripts/ensure-services.sh starts dockerd)');
  }

  const probes: Record<string, unknown>[] = [
    { name: 'api-ok', kind: 'http', url: `${ok.url}/ready`, interval: '1s', timeout: '900ms' },
    { name: 'api-down', kind: 'tcp', address: `127.0.0.1:${down.port}`, interval: '1s', timeout: '900ms' },
    { name: 'after-down', kind: 'tcp', address: `127.0.0.1:${down.port}`, interval: '1s', timeout: '900ms', dependsOn: ['api-down'] },
    // The dashboard's alert-path panels select the probe by its name, through the framework's
    // watchdog_probe_status and watchdog_probe_reason that every kind exports, so any kind under that
    // name satisfies them. The alert_path kind itself needs a Prometheus and an Alertmanager wired
    // to each other; an http probe stands in for it here.
    { name: 'alert-path', kind: 'http', url: `${ok.url}/alert-path`, interval: '1s', timeout: '900ms' },
    { name: 'tempo-ingestion', kind: 'tempo_search', tempo: tempo.url, service: 'mystocks-backend', interval: '2s', timeout: '1s' },
    { name: 'otlp-canary', kind: 'otlp_canary', tempo: tempo.url, otlpHttp: tempo.otlpHttpUrl, interval: '3s', timeout: '2s', pollInterval: '100ms' },
    ...(containerName ? [{ name: 'container-memory', kind: 'container_memory', container: containerName, expectLimit: '32M', interval: '2s', timeout: '1500ms' }] : []),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-dashboard-'));
  writeFileSync(join(dir, 'probes.yaml'), stringify({ probes }));
  const env: Record<string, string> = { WATCHDOG_CONFIG: join(dir, 'probes.yaml'), WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_STACK: STACK };
  if (process.env.DOCKER_HOST) env.DOCKER_HOST = process.env.DOCKER_HOST;
  const daemon = await startDaemon(readSettings(env), { logger: captureLogger('warn').logger });
  t.after(() => daemon.stop());
  await eventually(() => daemon.engine.ready, 'first results of every probe', 15_000);

  const prom = await startPrometheus({
    scrapeInterval: '1s',
    evaluationInterval: '1s',
    // Job "watchdog", as deploy/prometheus/scrape-config.yml names it.
    scrapeConfigs: [{ job_name: 'watchdog', static_configs: [{ targets: [new URL(daemon.url).host] }] }],
    ruleFiles: { 'watchdog-recording-rules.yml': readFileSync(recordingRulesFile, 'utf8') },
  });
  t.after(() => prom.stop());

  // Two checks, each reported on its own: a misspelt name fails the first at once and the second
  // after its bound.
  await t.test('every metric the dashboard names is exported by the running watchdog, a recording rule, or listed above', async () => {
    // The daemon has a first result of every probe, so every kind's gauges are in /metrics now.
    const exposition = parseExposition(await (await fetch(`${daemon.url}/metrics`)).text());
    const exported = new Set(exposition.allSamples().map((s) => s.name));
    assert.ok(exported.has('watchdog_probe_success') && !exported.has('watchdog_probe_sucess'), 'the exposition was read');
    const rules = parse(readFileSync(recordingRulesFile, 'utf8')) as { groups: { rules: { record?: string }[] }[] };
    const recorded = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : [])));
    const declaredByContainerKind = Object.keys(probers.container_memory!.gauges);
    const used = new Set(dashboardQueries().flatMap((q) => metricNames(q.expr)));
    const unknown = [...used].filter((name) => {
      if (exported.has(name) || recorded.includes(name) || Object.hasOwn(notFromTheWatchdog, name)) return false;
      // Without dockerd no container_memory probe ran; its gauges must still be ones the kind declares.
      return !(!withDocker && declaredByContainerKind.includes(name));
    });
    assert.deepEqual(unknown, [], `metrics the dashboard names that the watchdog does not export: ${unknown.join(', ')}`);
    for (const name of Object.keys(notFromTheWatchdog)) assert.ok(used.has(name), `${name} is allowed but no longer used: drop it from the list`);
  });

  await t.test('every dashboard query returns data from Prometheus, and the right data', async () => {
    // Poll every query until each has returned something (bounded): scrapes, rule evaluations and
    // increase() over two samples arrive at their own pace. A query error fails at once.
    const exempt = (expr: string) => !withDocker && /watchdog_container_memory_/.test(expr);
    const queries = dashboardQueries().filter((q) => !exempt(q.expr));
    const results = new Map<string, PromSample[]>();
    const deadline = Date.now() + 60_000;
    for (;;) {
      for (const q of queries) {
        if (results.get(q.expr)?.length) continue;
        results.set(q.expr, await query(prom.url, q.expr));
      }
      const empty = queries.filter((q) => !results.get(q.expr)?.length);
      if (empty.length === 0) break;
      if (Date.now() > deadline) assert.fail(`these dashboard queries returned nothing within 60s:\n${empty.map((q) => `  ${q.where}: ${q.expr}`).join('\n')}`);
      await sleep(500);
    }
    t.diagnostic(`${queries.length} queries answered`);

    // Not only something, but the right thing: the status encoding, the failing table, the canary.
    const resultOf = (title: string, target = 0) => results.get(substitute(queryPanels.find((p) => p.title === title)!.targets![target]!.expr))!;
    const statusCode = new Map(resultOf('Probe status over time').map((s) => [s.metric.probe, Number(s.value![1])]));
    assert.deepEqual(
      { ok: statusCode.get('api-ok'), failing: statusCode.get('api-down'), blocked: statusCode.get('after-down'), alertPath: statusCode.get('alert-path') },
      { ok: 0, failing: 3, blocked: 2, alertPath: 0 },
    );
    assert.deepEqual(
      resultOf('Failing and blocked probes now')
        .map((s) => [s.metric.probe, s.metric.status, s.metric.reason, s.metric.severity])
        .sort(),
      [
        ['after-down', 'blocked', 'dependency_failed', 'critical'],
        ['api-down', 'failing', 'connect', 'critical'],
      ],
    );
    const canary = resultOf('OTLP canary latency');
    assert.ok(canary.length === 1 && Number(canary[0]!.value![1]) > 0, JSON.stringify(canary));
    if (withDocker) {
      // The 32m container: its limit (target B) is drawn against its usage.
      const limit = resultOf('Container memory against its limit', 1);
      assert.deepEqual(
        limit.map((s) => Number(s.value![1])),
        [32 * 1024 * 1024],
      );
    }
  });

  // The watchdog's own probe of a stack's dashboards (kind dashboards, issue 18) over this one: it
  // replaces the variables and Grafana's intervals itself, and must find nothing broken here.
  await t.test('the dashboards kind reads every panel of the shipped dashboard as answering', async () => {
    const r = await runProber('dashboards', { prometheus: prom.url, stackDir: root, files: { dashboards: 'deploy/grafana/dashboards/*.json' }, scrapeInterval: '1s', timeout: '20s' });
    const broken = (r.details?.brokenPanels as { panel: string }[] | undefined) ?? [];
    // Without dockerd no container_memory probe ran, so its two panels select metrics nobody wrote.
    const expected = withDocker ? [] : ['Container memory against its limit', 'Container memory use of limit'];
    assert.deepEqual(
      broken.map((p) => p.panel),
      expected,
      `${r.reason}: ${r.message}`,
    );
    if (withDocker) assert.deepEqual([r.status, r.reason], ['ok', 'ok'], r.message);
    assert.match(r.message, withDocker ? /^every panel answers: \d+ queries of \d+ panels in 1 dashboard$/ : /^2 panels broken/);
  });
});
