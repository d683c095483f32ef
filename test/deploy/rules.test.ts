// The alert rules, the scrape snippet and the Alertmanager route, checked by the real tools
// (promtool, amtool). The unit tests themselves live in deploy/prometheus/watchdog-rules.test.yml;
// this file runs them and proves that a broken rule makes them fail.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import { makeTempDir } from '../support/process.js';

const root = resolve(import.meta.dirname, '../..');
const rulesFile = join(root, 'deploy/prometheus/watchdog-rules.yml');
const rulesTestFile = join(root, 'deploy/prometheus/watchdog-rules.test.yml');
const scrapeSnippet = join(root, 'deploy/prometheus/scrape-config.yml');
const routeExample = join(root, 'deploy/alertmanager/route-example.yml');

function tool(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`${cmd} could not run (scripts/ensure-services.sh installs it): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A temp copy of the rules and their unit tests, with `edit` applied to the rules. */
function brokenCopy(edit: (rules: string) => string): { rules: string; tests: string } {
  const dir = makeTempDir('rules');
  const original = readFileSync(rulesFile, 'utf8');
  const changed = edit(original);
  assert.notEqual(changed, original, 'the edit must change the rules, or the test proves nothing');
  writeFileSync(join(dir, 'watchdog-rules.yml'), changed);
  copyFileSync(rulesTestFile, join(dir, 'watchdog-rules.test.yml'));
  return { rules: join(dir, 'watchdog-rules.yml'), tests: join(dir, 'watchdog-rules.test.yml') };
}

test('the rule group holds the five watchdog alerts and the alert-path heartbeat', () => {
  const doc = parse(readFileSync(rulesFile, 'utf8')) as { groups: { name: string; rules: { alert: string; expr: string; for?: string; labels?: Record<string, string> }[] }[] };
  assert.deepEqual(
    doc.groups.map((g) => g.name),
    ['stack_watchdog'],
  );
  const rules = doc.groups[0]!.rules;
  assert.deepEqual(
    rules.map((r) => r.alert),
    ['WatchdogProbeFailing', 'WatchdogDown', 'WatchdogAbsent', 'WatchdogProbeStale', 'WatchdogConfigReloadFailed', 'WatchdogAlertPathHeartbeat'],
  );
  assert.equal(rules[5]!.expr, 'vector(1)');
  assert.equal(rules[5]!.for, undefined);
  // The probe alert takes severity from watchdog_probe_info; a fixed label would override it.
  assert.equal(rules[0]!.labels?.severity, undefined);
  assert.equal(rules[0]!.for, '2m');
});

test('promtool check rules accepts the rules file', () => {
  const r = tool('promtool', ['check', 'rules', rulesFile]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS: 6 rules found/);
});

test('promtool test rules: firing, not firing, resolved, for: boundary, stale, reload, down, absent, per stack', () => {
  const r = tool('promtool', ['test', 'rules', rulesTestFile]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS/);
});

test('the unit tests fail when for: moves off the tested boundary', () => {
  const copy = brokenCopy((s) => s.replace(/(alert: WatchdogProbeFailing[\s\S]*?)for: 2m/, '$1for: 1m'));
  const r = tool('promtool', ['test', 'rules', copy.tests]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /name: for boundary, one evaluation before and at it/);
});

test('the unit tests fail when the severity join loses the replica labels', () => {
  // Matching on probe and kind alone makes two watchdog replicas a many-to-many error.
  const copy = brokenCopy((s) => s.replace('on (job, instance, stack, probe, kind) group_left (severity)', 'on (probe, kind) group_left (severity)'));
  const r = tool('promtool', ['test', 'rules', copy.tests]);
  assert.equal(r.code, 1, r.out);
  // promtool reports an evaluation error by rule and time, not by test name.
  assert.match(r.out, /rule: WatchdogProbeFailing, .*many-to-many matching not allowed/);
});

test('the unit tests fail when the severity join loses the stack (two stacks behind one address)', () => {
  const copy = brokenCopy((s) => s.replace('on (job, instance, stack, probe, kind) group_left (severity)', 'on (job, instance, probe, kind) group_left (severity)'));
  const r = tool('promtool', ['test', 'rules', copy.tests]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /rule: WatchdogProbeFailing, .*many-to-many matching not allowed/);
});

test('the unit tests fail when an alert stops naming its stack', () => {
  for (const [edit, name] of [
    [
      (s: string) => s.replace('Probe {{ $labels.probe }} of stack {{ $labels.stack }} is failing:', 'Probe {{ $labels.probe }} is failing:'),
      /name: two stacks behind one address alert apart, each naming its stack/,
    ],
    [
      (s: string) => s.replace('The watchdog of stack {{ with $labels.stack }}', 'The watchdog {{ with $labels.stack }}'),
      /name: watchdog down after 2m of failed scrapes, naming the stack it last reported/,
    ],
    // WatchdogDown without the join: up has no stack, so the alert loses it.
    [(s: string) => s.replace('* on (job, instance) group_left (stack)', '* on (job, instance)'), /name: watchdog down after 2m of failed scrapes, naming the stack it last reported/],
  ] as const) {
    const copy = brokenCopy(edit);
    const r = tool('promtool', ['test', 'rules', copy.tests]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, name);
  }
});

test('the unit tests fail when the heartbeat stops firing or gets a for:', () => {
  const copy = brokenCopy((s) => s.replace('expr: vector(1)', 'expr: vector(1)\n        for: 1m'));
  const r = tool('promtool', ['test', 'rules', copy.tests]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /name: the alert-path heartbeat always fires/);
});

test('the unit tests fail when cron probes (interval 0) count as stale', () => {
  const copy = brokenCopy((s) => s.replaceAll('> 3 * (watchdog_probe_interval_seconds > 0)', '> 3 * watchdog_probe_interval_seconds'));
  const r = tool('promtool', ['test', 'rules', copy.tests]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /name: stale probes, a cron probe left out/);
});

test('promtool check rules refuses a broken expression', () => {
  const copy = brokenCopy((s) => s.replace('expr: absent(up{job="watchdog"})', 'expr: absent(up{job="watchdog")'));
  const r = tool('promtool', ['check', 'rules', copy.rules]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /FAILED/);
});

test('the scrape snippet is a valid prometheus.yml that loads the rules as job "watchdog" on :9469', () => {
  const snippet = parse(readFileSync(scrapeSnippet, 'utf8')) as { rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
  assert.deepEqual(snippet.rule_files, ['/etc/prometheus/rules/*.yml']);
  assert.equal(snippet.scrape_configs.length, 1);
  assert.equal(snippet.scrape_configs[0]!.job_name, 'watchdog');
  assert.deepEqual(snippet.scrape_configs[0]!.static_configs, [{ targets: ['watchdog:9469'] }]);
  // Point rule_files at this checkout, as the compose mount does inside the container, so that
  // promtool also loads and checks the rules through the config.
  const dir = makeTempDir('scrape');
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, stringify({ ...snippet, rule_files: [rulesFile] }));
  const r = tool('promtool', ['check', 'config', config]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS: 6 rules found/);
});

test('amtool accepts the route example', () => {
  const r = tool('amtool', ['check-config', routeExample]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS/);
});

test('the route sends watchdog alerts by severity, and nothing else', () => {
  const routes = (receiver: string, ...labels: string[]) => tool('amtool', ['config', 'routes', 'test', `--config.file=${routeExample}`, `--verify.receivers=${receiver}`, ...labels]);
  for (const [receiver, labels] of [
    ['oncall-pager', ['alertname=WatchdogProbeFailing', 'severity=critical', 'probe=prometheus-ready']],
    ['team-chat', ['alertname=WatchdogProbeFailing', 'severity=warning', 'probe=span-rate']],
    ['team-chat', ['alertname=WatchdogProbeStale', 'severity=warning', 'probe=span-rate']],
    ['oncall-pager', ['alertname=WatchdogAbsent', 'severity=critical', 'job=watchdog']],
    ['default', ['alertname=TempoDown', 'severity=critical']],
    ['null', ['alertname=WatchdogAlertPathHeartbeat', 'severity=none', 'purpose=alert-path-heartbeat']],
    // kube-prometheus' dead man's switch fires all the time by design: it must not page through this route.
    ['default', ['alertname=Watchdog', 'severity=none']],
    ['default', ['alertname=Watchdog', 'severity=critical']],
    ['team-chat', ['alertname=WatchdogConfigReloadFailed', 'severity=warning']],
  ] as const) {
    const r = routes(receiver, ...labels);
    assert.equal(r.code, 0, `${labels.join(' ')} → expected ${receiver}: ${r.out}`);
  }
  // The check above can fail: the same tool says no to a wrong receiver.
  const wrong = routes('team-chat', 'alertname=WatchdogProbeFailing', 'severity=critical', 'probe=prometheus-ready');
  assert.equal(wrong.code, 1, wrong.out);
});
