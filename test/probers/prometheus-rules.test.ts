// prometheus_rules against a real Prometheus 2.42 loading real rule files, through the engine path
// (parseConfig + Engine), so the kind's field validation is exercised as a user meets it.
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import type { ProbeResult } from '../../src/engine/result.js';
import { prometheusDownHint } from '../../src/probers/prometheusApi.js';
import { engineFor, eventually } from '../support/engine.js';
import { runProber } from '../support/prober.js';
import { closedPort, invalidJson, jsonServer } from '../support/misbehaving.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';

const tracingRules = `groups:
- name: mystocks_tracing_alerts
  rules:
  - alert: TempoDown
    expr: absent(up{job="tempo-metrics"})
    for: 1m
  - alert: SpanIngestionStalled
    expr: sum(rate(traces_spanmetrics_calls_total[5m])) == 0
`;
const businessRules = `groups:
- name: mystocks_business_alerts
  rules:
  - alert: HighErrorRate
    expr: sum(rate(mystocks_http_requests_total{status=~"5.."}[5m])) > 1
  - alert: SlowRequests
    expr: histogram_quantile(0.95, sum by (le) (rate(mystocks_http_request_duration_seconds_bucket[5m]))) > 2
  - record: mystocks:requests:rate5m
    expr: sum(rate(mystocks_http_requests_total[5m]))
`;
// Parses and passes promtool, but fails every evaluation: two series on the right with on() is
// many-to-many matching, which Prometheus refuses at run time.
const brokenRules = `groups:
- name: mystocks_broken_alerts
  rules:
  - alert: Fine
    expr: vector(1) > 2
  - alert: BrokenRatio
    expr: (vector(1) / on() (vector(1) or label_replace(vector(1), "x", "1", "", ""))) > 0
`;
// Prometheus waits for the group's first interval slot before evaluating, so with 24h the rule
// stays "unknown" (never evaluated) for the whole test.
const pendingRules = `groups:
- name: mystocks_pending_alerts
  interval: 24h
  rules:
  - alert: NotYetEvaluated
    expr: vector(1) > 2
`;

let prom: PrometheusHandle;

before(async () => {
  prom = await startPrometheus({
    ruleFiles: { '10-tracing.yml': tracingRules, '20-business.yml': businessRules, '30-broken.yml': brokenRules, '40-pending.yml': pendingRules },
  });
});
after(() => prom?.stop());

const name = 'rule-groups';
const probeFile = (fields: Record<string, unknown>) => JSON.stringify({ probes: [{ name, kind: 'prometheus_rules', ...fields }] });

const runOnce = (fields: Record<string, unknown>) => runProber('prometheus_rules', { name, ...fields });

/** The probe running every second, as in the daemon. */
function daemon(t: TestContext, fields: Record<string, unknown>) {
  const run = engineFor(probeFile({ interval: '1s', timeout: '900ms', ...fields }));
  t.after(() => run.close());
  run.engine.start();
  const last = () => run.engine.state(name)?.last;
  return {
    /**
     * The newest result once `settled` holds for it (rules are evaluated a moment after loading), or
     * after 30s whatever it is: the exact assertions that follow then say what was seen.
     */
    async until(settled: (r: ProbeResult) => boolean): Promise<ProbeResult> {
      const seen = () => {
        const r = last();
        return r !== undefined && settled(r);
      };
      await eventually(seen, 'the probe to settle', 30_000).catch(() => {});
      return last() ?? assert.fail('the probe never ran');
    },
  };
}

const bothGroups = ['mystocks_tracing_alerts', 'mystocks_business_alerts'];
const evaluated = (r: ProbeResult) => !r.message.includes('not evaluated yet');

test('both mystocks groups loaded and healthy: ok, value = rules in them', async (t) => {
  const r = await daemon(t, { prometheus: prom.url, groups: bothGroups }).until(evaluated);
  assert.equal(r.status, 'ok');
  assert.equal(r.reason, 'ok');
  assert.equal(r.value, 5);
  assert.equal(r.message, '2 groups loaded with 5 rules, 5 healthy');
  assert.deepEqual(r.details?.loadedGroups, ['mystocks_tracing_alerts', 'mystocks_business_alerts', 'mystocks_broken_alerts', 'mystocks_pending_alerts']);
});

test('an expected group that is not loaded: group_missing names it and lists the loaded ones', async () => {
  const r = await runOnce({ prometheus: prom.url, groups: [...bothGroups, 'mystocks_capacity_alerts'] });
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'group_missing');
  assert.equal(r.message, 'rule group "mystocks_capacity_alerts" is not loaded (loaded: "mystocks_tracing_alerts", "mystocks_business_alerts", "mystocks_broken_alerts", "mystocks_pending_alerts")');
  assert.match(r.hint!, /rule_files/);
  assert.match(r.hint!, /promtool check rules/);
  assert.match(r.hint!, /curl -X POST http:\/\/prometheus:9090\/-\/reload \(needs --web\.enable-lifecycle\)/);
  assert.equal(r.value, 5, 'the rules of the groups that are loaded still count');
});

test('a rule that fails at evaluation (health err): rule_unhealthy with its group and lastError', async (t) => {
  const r = await daemon(t, { prometheus: prom.url, groups: ['mystocks_broken_alerts'] }).until((x) => x.reason === 'rule_unhealthy');
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'rule_unhealthy');
  assert.equal(
    r.message,
    'a rule fails: rule "BrokenRatio" in group "mystocks_broken_alerts": found duplicate series for the match group {} on the right hand-side of the operation: [{x="1"}, {}];many-to-many matching not allowed: matching labels must be unique on one side',
  );
  assert.match(r.hint!, /Prometheus UI/);
  assert.equal(r.value, 2);
  assert.deepEqual(r.details?.unhealthyRules, [
    {
      group: 'mystocks_broken_alerts',
      rule: 'BrokenRatio',
      health: 'err',
      lastError: 'found duplicate series for the match group {} on the right hand-side of the operation: [{x="1"}, {}];many-to-many matching not allowed: matching labels must be unique on one side',
    },
  ]);
});

test('rules not evaluated yet (health unknown) pass, and the message says so', async () => {
  const raw = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as { data: { groups: { name: string; rules: { health: string }[] }[] } };
  const pending = raw.data.groups.find((g) => g.name === 'mystocks_pending_alerts');
  assert.equal(pending?.rules[0]?.health, 'unknown', 'precondition: Prometheus has not evaluated the 24h group');

  const r = await runOnce({ prometheus: prom.url, groups: ['mystocks_pending_alerts'] });
  assert.equal(r.status, 'ok');
  assert.equal(r.message, '1 group loaded with 1 rule, 0 healthy; 1 not evaluated yet (health "unknown"): "NotYetEvaluated"');
  assert.equal(r.value, 1);
});

test('minRules: too_few_rules per group, and a number applies to every group', async () => {
  const short = await runOnce({ prometheus: prom.url, groups: bothGroups, minRules: { mystocks_business_alerts: 10 } });
  assert.equal(short.reason, 'too_few_rules');
  assert.equal(short.message, 'too few rules: group "mystocks_business_alerts" has 3 rules, expected at least 10');
  assert.match(short.hint!, /docker exec mystocks-prometheus cat/);

  const both = await runOnce({ prometheus: prom.url, groups: bothGroups, minRules: 3 });
  assert.equal(both.reason, 'too_few_rules');
  assert.equal(both.message, 'too few rules: group "mystocks_tracing_alerts" has 2 rules, expected at least 3');

  const enough = await runOnce({ prometheus: prom.url, groups: bothGroups, minRules: 2 });
  assert.equal(enough.reason, 'ok');
});

test('a group added by a rule file and /-/reload while the watchdog runs turns the probe green', async (t) => {
  const own = await startPrometheus({ ruleFiles: { '10-tracing.yml': tracingRules } });
  t.after(() => own.stop());
  const probe = daemon(t, { prometheus: own.url, groups: bothGroups });
  const before = await probe.until((r) => r.reason === 'group_missing');
  assert.equal(before.message, 'rule group "mystocks_business_alerts" is not loaded (loaded: "mystocks_tracing_alerts")');

  own.writeRuleFile('20-business.yml', businessRules);
  await own.reload();
  const healed = await probe.until((r) => r.reason === 'ok');
  assert.equal(healed.reason, 'ok');
  assert.equal(healed.value, 5);
});

// The MyStocks guide's tracing-business-alerts.yml: a range selector on a function call does not
// parse ("ranges only allowed for vector selectors"), so Prometheus refuses the reload and keeps the
// old rules; /api/v1/rules still shows them loaded and healthy.
const unparsableRules = `groups:
- name: mystocks_tracing_alerts
  rules:
  - alert: SpanRateDrop
    expr: rate(sum(traces_spanmetrics_calls_total)[5m]) < 1
`;

test('a rule file that breaks the reload: reload_failed, though the old rules still show healthy', async (t) => {
  const own = await startPrometheus({ ruleFiles: { '10-tracing.yml': tracingRules, '20-business.yml': businessRules } });
  t.after(() => own.stop());
  const probe = daemon(t, { prometheus: own.url, groups: bothGroups });
  assert.equal((await probe.until(evaluated)).reason, 'ok');

  own.writeRuleFile('30-tracing-business.yml', unparsableRules);
  await assert.rejects(own.reload(), /failed to reload config/);
  const r = await probe.until((x) => x.reason !== 'ok');
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'reload_failed');
  assert.match(r.message, /^Prometheus's last config reload failed; it still runs the config and rules it loaded at \d{4}-\d\d-\d\dT/);
  assert.match(r.message, /2 groups loaded with 5 rules are the old ones/);
  assert.match(r.hint!, /promtool check rules <file>/);
  assert.match(r.hint!, /docker logs mystocks-prometheus/);
  assert.equal(r.details?.reloadConfigSuccess, false);

  // Fixing the file and reloading again turns it green.
  own.writeRuleFile('30-tracing-business.yml', 'groups: []\n');
  await own.reload();
  assert.equal((await probe.until((x) => x.reason === 'ok')).reason, 'ok');
});

test('Prometheus down: connect, with the Prometheus hint', async () => {
  const dead = await closedPort();
  const r = await runOnce({ prometheus: dead.url, groups: bothGroups });
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'connect');
  assert.equal(r.hint, prometheusDownHint);
});

test('an answer that is not JSON, or JSON of another shape: invalid_response', async (t) => {
  const garbage = await invalidJson();
  t.after(() => garbage.close());
  const r = await runOnce({ prometheus: garbage.url, groups: bothGroups });
  assert.equal(r.reason, 'invalid_response');
  assert.equal(r.message, `${garbage.url}/api/v1/rules answered HTTP 200 with a body that is not JSON: {"status": "success", "data": [`);

  // A Prometheus-style envelope around something else (an older or foreign API).
  const other = await jsonServer(() => ({ status: 200, body: { status: 'success', data: { groups: { name: 'mystocks_tracing_alerts' } } } }));
  t.after(() => other.close());
  const wrong = await runOnce({ prometheus: other.url, groups: bothGroups });
  assert.equal(wrong.reason, 'invalid_response');
  assert.equal(wrong.message, 'the answer of /api/v1/rules has no data.groups list of {name, rules}');
});

test('bad configs are refused with exact messages', () => {
  const refused = (fields: Record<string, unknown>, problem: string) => assert.throws(() => engineFor(probeFile(fields)), { problems: [`test.yaml: probe "${name}": ${problem}`] });
  refused({ prometheus: prom.url, groups: [] }, 'groups: expected array length to be greater or equal to 1, got a list');
  refused({ prometheus: prom.url }, 'groups: required field is missing');
  refused(
    { prometheus: prom.url, groups: bothGroups, minRules: { mystocks_other_alerts: 1 } },
    'minRules.mystocks_other_alerts: "mystocks_other_alerts" is not one of the groups ("mystocks_tracing_alerts", "mystocks_business_alerts")',
  );
  refused({ prometheus: prom.url, groups: bothGroups, minRules: 0 }, 'minRules: expected a whole number of at least 1, or a mapping from group name to one, got 0');
  refused(
    { prometheus: prom.url, groups: bothGroups, minRules: { mystocks_tracing_alerts: 0 } },
    'minRules: expected a whole number of at least 1, or a mapping from group name to one, got a mapping',
  );
  refused({ prometheus: 'prometheus:9090', groups: bothGroups }, 'prometheus: expected an http:// or https:// URL, got "prometheus:9090"');
});
