// Many stacks, one Prometheus (issue 21 §2): three watchdog processes (`watchdog run`), one per stack
// (WATCHDOG_STACK a, b and c), with the same probe names and different outcomes, scraped by one real
// Prometheus that loads the shipped alert and recording rules. The shipped dashboard's queries with
// $stack chosen return that stack's probes and nothing of the others', and a firing alert of the
// shipped rules names its stack, as Prometheus's own /api/v1/alerts lists it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { dashboardQueries, queryPanels, substitute, variableValues } from '../support/dashboard.js';
import { closedPort, jsonServer } from '../support/misbehaving.js';
import { query, startPrometheus, type PromSample } from '../support/prometheus.js';
import { startWatchdog, type RunningWatchdog } from '../support/watchdog-process.js';
import { waitFor } from '../support/wait.js';

const root = resolve(import.meta.dirname, '../..');
const rulesFile = join(root, 'deploy/prometheus/watchdog-rules.yml');
const recordingRulesFile = join(root, 'deploy/prometheus/watchdog-recording-rules.yml');

/** What each stack's probes read on the dashboard's status timeline: 0 ok, 2 blocked, 3 failing. */
const expected: Record<string, Record<string, number>> = {
  a: { api: 0, db: 3, 'only-a': 0 },
  b: { api: 3, db: 0, 'only-b': 0 },
  c: { api: 0, gate: 3, db: 2, 'only-c': 0 },
};

interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
}

test('three stacks, one Prometheus: the dashboard shows each stack its own probes, and an alert names its stack', { timeout: 180_000 }, async (t) => {
  const up = await jsonServer(() => ({ status: 200, body: {} }));
  t.after(() => up.close());
  const down = await closedPort();
  const ok = (name: string) => ({ name, kind: 'http', url: `${up.url}/${name}`, interval: '1s', timeout: '900ms' });
  const failing = (name: string) => ({ name, kind: 'tcp', address: down.hostPort, interval: '1s', timeout: '900ms' });
  const probes: Record<string, object[]> = {
    a: [ok('api'), failing('db'), ok('only-a')],
    b: [failing('api'), ok('db'), ok('only-b')],
    c: [ok('api'), failing('gate'), { ...ok('db'), dependsOn: ['gate'] }, ok('only-c')],
  };

  const watchdogs: Record<string, RunningWatchdog> = {};
  for (const stack of Object.keys(probes)) {
    const dir = mkdtempSync(join(tmpdir(), `watchdog-stack-${stack}-`));
    writeFileSync(join(dir, 'probes.yaml'), stringify({ probes: probes[stack] }));
    const w = await startWatchdog(dir, { WATCHDOG_STACK: stack });
    t.after(async () => {
      w.child.kill('SIGTERM');
      await w.exited;
    });
    watchdogs[stack] = w;
    const started = w.logs.find((l) => l.msg === 'stack-watchdog started');
    assert.deepEqual([started?.stack, started?.stackSource], [stack, 'WATCHDOG_STACK'], 'the start line says which stack and where the name came from');
  }
  const instanceOf = Object.fromEntries(Object.entries(watchdogs).map(([stack, w]) => [stack, new URL(w.url).host]));

  // The shipped rules as they are, but for WatchdogProbeFailing's `for:` (2m, the knob the file's
  // own comment says to edit), shortened so the alert fires within the test.
  const rules = readFileSync(rulesFile, 'utf8');
  const quick = rules.replace(/(alert: WatchdogProbeFailing[\s\S]*?)for: 2m/, '$1for: 3s');
  assert.notEqual(quick, rules, "the rule's for: was found");
  const prom = await startPrometheus({
    scrapeInterval: '1s',
    evaluationInterval: '1s',
    // One job, as deploy/prometheus/scrape-config.yml names it, with every stack's watchdog in it.
    scrapeConfigs: [{ job_name: 'watchdog', static_configs: [{ targets: Object.values(instanceOf) }] }],
    ruleFiles: { 'watchdog-rules.yml': quick, 'watchdog-recording-rules.yml': readFileSync(recordingRulesFile, 'utf8') },
  });
  t.after(() => prom.stop());

  let targets: { health: string; scrapeUrl: string; lastError: string }[] = [];
  await waitFor(
    'Prometheus to scrape all three watchdogs',
    async () => {
      const body = (await (await fetch(`${prom.url}/api/v1/targets`)).json()) as { data: { activeTargets: typeof targets } };
      targets = body.data.activeTargets;
      return targets.length === 3 && targets.every((x) => x.health === 'up');
    },
    { timeoutMs: 30_000, intervalMs: 250, describe: () => targets.map((x) => `${x.scrapeUrl}: ${x.health} ${x.lastError}`) },
  );

  const panelQuery = (title: string, stack: string, target = 0) => substitute(queryPanels.find((p) => p.title === title)!.targets![target]!.expr, { ...variableValues, stack });
  // Every stack's status timeline complete (each probe has a first result and was scraped with it).
  const timelines: Record<string, Record<string, number>> = {};
  await waitFor(
    "each stack's probes on the status timeline, with their outcomes",
    async () => {
      for (const stack of Object.keys(expected)) {
        timelines[stack] = valuesBy(await query(prom.url, panelQuery('Probe status over time', stack)), 'probe');
      }
      return Object.keys(expected).every((stack) => JSON.stringify(sorted(timelines[stack]!)) === JSON.stringify(sorted(expected[stack]!)));
    },
    { timeoutMs: 30_000, intervalMs: 250, describe: () => timelines },
  );

  await t.test('every dashboard query with $stack chosen answers for that stack only', async () => {
    // The kinds these watchdogs do not run (containers, Tempo, the canary, alert-path) have nothing
    // to draw; every other query must answer, once the recording rules and increase() have two
    // samples. $stack's own query lists every stack by design (checked below).
    const noKind = /watchdog_container_memory_|watchdog_tempo_newest_trace_age_seconds|otlp_canary|alert-path/;
    const queries = Object.keys(expected).flatMap((stack) =>
      dashboardQueries({ ...variableValues, stack })
        .filter((q) => q.where !== 'variable $stack')
        .map((q) => ({ ...q, stack })),
    );
    const results = new Map<(typeof queries)[number], PromSample[]>();
    const waiting = () => queries.filter((q) => !noKind.test(q.expr) && !results.get(q)?.length);
    await waitFor(
      'every query of every stack to answer',
      async () => {
        for (const q of queries) if (!results.get(q)?.length) results.set(q, await query(prom.url, q.expr));
        return waiting().length === 0;
      },
      { timeoutMs: 60_000, intervalMs: 500, describe: () => waiting().map((q) => `stack ${q.stack}, ${q.where}`) },
    );
    for (const [q, result] of results) {
      for (const s of result) {
        const where = `stack ${q.stack}, ${q.where}: ${JSON.stringify(s.metric)}`;
        if (s.metric.stack !== undefined) assert.equal(s.metric.stack, q.stack, where);
        if (s.metric.instance !== undefined) assert.equal(s.metric.instance, instanceOf[q.stack], where);
        if (s.metric.probe !== undefined) assert.ok(Object.hasOwn(expected[q.stack]!, s.metric.probe), where);
      }
    }
    t.diagnostic(`${results.size} queries, ${[...results.values()].filter((r) => r.length).length} answered`);
    // The right data, not only none of the others': the failing table and the counts by status.
    const failingTable = async (stack: string) =>
      (await query(prom.url, panelQuery('Failing and blocked probes now', stack))).map((s) => `${s.metric.probe}:${s.metric.status}:${s.metric.reason}`).sort();
    assert.deepEqual(await failingTable('a'), ['db:failing:connect']);
    assert.deepEqual(await failingTable('b'), ['api:failing:connect']);
    assert.deepEqual(await failingTable('c'), ['db:blocked:dependency_failed', 'gate:failing:connect']);
    const byStatus = async (stack: string) => valuesBy(await query(prom.url, panelQuery('Probes by status', stack)), 'status');
    assert.deepEqual(await byStatus('c'), { ok: 2, failing: 1, blocked: 1, pending: 0 });
    // The variables: $instance lists the stack's own watchdog, $probe its own probes.
    const variable = (name: string, stack: string) => dashboardQueries({ ...variableValues, stack }).find((q) => q.where === `variable $${name}`)!.expr;
    const labelsOf = (result: PromSample[], label: string) => [...new Set(result.map((s) => s.metric[label]))].sort();
    assert.deepEqual(labelsOf(await query(prom.url, variable('stack', 'a')), 'stack'), ['a', 'b', 'c']);
    for (const stack of Object.keys(expected)) {
      assert.deepEqual(labelsOf(await query(prom.url, variable('instance', stack)), 'instance'), [instanceOf[stack]]);
      assert.deepEqual(labelsOf(await query(prom.url, variable('probe', stack)), 'probe'), Object.keys(expected[stack]!).sort());
    }
  });

  await t.test("the shipped rules' alert names its stack: labels.stack and the annotations", async () => {
    let alerts: PromAlert[] = [];
    const failingProbe = (stack: string, probe: string) =>
      alerts.find((a) => a.labels.alertname === 'WatchdogProbeFailing' && a.state === 'firing' && a.labels.stack === stack && a.labels.probe === probe);
    await waitFor(
      "WatchdogProbeFailing firing for a's db, b's api and c's gate",
      async () => {
        alerts = ((await (await fetch(`${prom.url}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } }).data.alerts;
        return failingProbe('a', 'db') && failingProbe('b', 'api') && failingProbe('c', 'gate');
      },
      { timeoutMs: 30_000, intervalMs: 250, describe: () => alerts.map((a) => `${a.labels.alertname} ${a.state} ${JSON.stringify(a.labels)}`) },
    );
    const a = failingProbe('a', 'db')!;
    assert.deepEqual(a.labels, { alertname: 'WatchdogProbeFailing', job: 'watchdog', instance: instanceOf.a, stack: 'a', probe: 'db', kind: 'tcp', severity: 'critical' });
    assert.equal(a.annotations.summary, 'Probe db of stack a is failing: connect');
    assert.match(
      a.annotations.description!,
      new RegExp(`^The tcp probe db \\(severity critical\\) of stack a, watched by the watchdog at ${instanceOf.a!.replace(/\./g, '\\.')}, has been failing for more than 2m with reason "connect"\\.`),
    );
    assert.equal(failingProbe('b', 'api')!.annotations.summary, 'Probe api of stack b is failing: connect');
    // Only the probes that fail: a's api and c's api are ok though b's api, of the same name, fails.
    const firing = alerts.filter((x) => x.labels.alertname === 'WatchdogProbeFailing').map((x) => `${x.labels.stack}/${x.labels.probe}`);
    assert.deepEqual(firing.sort(), ['a/db', 'b/api', 'c/gate']);
  });
});

/** Each sample's value by one of its labels. */
function valuesBy(result: PromSample[], label: string): Record<string, number> {
  return Object.fromEntries(result.map((s): [string, number] => [s.metric[label] ?? '', Number(s.value![1])]));
}

function sorted(o: Record<string, number>): [string, number][] {
  return Object.entries(o).sort(([x], [y]) => x.localeCompare(y));
}
