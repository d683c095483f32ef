// The uptime recording rules (deploy/prometheus/watchdog-recording-rules.yml), checked by the real
// promtool. The unit tests themselves live in watchdog-recording-rules.test.yml next to the rules;
// this file runs them and proves that a wrong window makes them fail.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { makeTempDir } from '../support/process.js';

const root = resolve(import.meta.dirname, '../..');
const rulesFile = join(root, 'deploy/prometheus/watchdog-recording-rules.yml');
const rulesTestFile = join(root, 'deploy/prometheus/watchdog-recording-rules.test.yml');

function promtool(args: string[]) {
  const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`promtool could not run (scripts/ensure-services.sh installs it): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the recording rules: 1h, 1d and 7d uptime ratios of watchdog_probe_success', () => {
  const doc = parse(readFileSync(rulesFile, 'utf8')) as { groups: { name: string; rules: { record: string; expr: string }[] }[] };
  assert.deepEqual(
    doc.groups.map((g) => g.name),
    ['stack_watchdog_uptime'],
  );
  assert.deepEqual(
    doc.groups[0]!.rules.map((r) => [r.record, r.expr]),
    [
      ['watchdog:probe_success:ratio_rate1h', 'avg_over_time(watchdog_probe_success[1h])'],
      ['watchdog:probe_success:ratio_rate1d', 'avg_over_time(watchdog_probe_success[1d])'],
      ['watchdog:probe_success:ratio_rate7d', 'avg_over_time(watchdog_probe_success[7d])'],
    ],
  );
});

test('promtool check rules accepts the recording rules', () => {
  const r = promtool(['check', 'rules', rulesFile]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS: 3 rules found/);
});

test('promtool test rules: the ratios over one hour, two days, two replicas and two stacks', () => {
  const r = promtool(['test', 'rules', rulesTestFile]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS/);
});

/** promtool test rules on the unit tests against a temp copy of the rules with `from` replaced by `to`. */
function testBrokenCopy(from: string, to: string) {
  const dir = makeTempDir('recording-rules');
  const original = readFileSync(rulesFile, 'utf8');
  const broken = original.replace(from, to);
  assert.notEqual(broken, original, 'the edit must change the rules, or the test proves nothing');
  writeFileSync(join(dir, 'watchdog-recording-rules.yml'), broken);
  copyFileSync(rulesTestFile, join(dir, 'watchdog-recording-rules.test.yml'));
  return promtool(['test', 'rules', join(dir, 'watchdog-recording-rules.test.yml')]);
}

test('the unit tests fail when the 1d ratio averages over the wrong window', () => {
  const r = testBrokenCopy('avg_over_time(watchdog_probe_success[1d])', 'avg_over_time(watchdog_probe_success[7d])');
  assert.equal(r.code, 1, r.out);
  // promtool 2.42 names a failed expression test by expression and time, not by test name.
  assert.match(r.out, /expr: "watchdog:probe_success:ratio_rate1d", time: 2d,/);
});

test('the unit tests fail when a ratio drops the stack', () => {
  // An aggregation that keeps the replica labels but not the stack merges two stacks' probes.
  const r = testBrokenCopy('expr: avg_over_time(watchdog_probe_success[7d])', 'expr: avg by (job, instance, probe, kind) (avg_over_time(watchdog_probe_success[7d]))');
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /expr: "watchdog:probe_success:ratio_rate7d\{stack=\\"shop-staging\\"\}", time: 1h,/);
});
