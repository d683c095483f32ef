// Each bad fixture maps to the exact lines `watchdog validate` prints for it: the file, the probe
// and the field, as an operator reads them. A changed message is a deliberate, reviewed change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../../src/config/load.js';

const dir = 'test/fixtures/bad';
const allowedHttp =
  'name, kind, description, severity, interval, schedule, timeout, dependsOn, failureThreshold, successThreshold, enabled, hints, labels, url, method, headers, body, expectStatus, assertions, maxBodyBytes';

const expected: Record<string, (string | RegExp)[]> = {
  'unknown-key.yaml': ['probe "prometheus-ready": url: required field is missing', 'probe "prometheus-ready": urll: unknown field; did you mean "url"?'],
  'wrong-type.yaml': ['probe "prometheus-ready": timeout: expected a duration such as "500ms", "30s", "5m" or "1h", got 5'],
  'duplicate-name.yaml': ['probe "otlp-grpc-port": name: duplicate name, first defined in probes[0] of this file'],
  'unknown-dependency.yaml': ['probe "span-rate": dependsOn: no probe is named "prometheus-redy"'],
  'cycle.yaml': ['probe "a": dependsOn: dependency cycle a -> b -> a'],
  'timeout-not-shorter.yaml': ['probe "otlp-grpc-port": timeout: 15s is not shorter than the interval (15s)'],
  'unset-variable.yaml': ['probe "prometheus-ready": url: environment variable WATCHDOG_TEST_UNSET_URL is not set and has no default'],
  'bad-expect.yaml': ['probe "span-rate": expect: "more than 0" is not a comparison: use one of ==, !=, >, >=, <, <= followed by a number, e.g. "> 0"'],
  // The list grows with every kind registered; its start is fixed.
  'unknown-kind.yaml': [/^test\/fixtures\/bad\/unknown-kind\.yaml: probe "tempo-grpc": kind: unknown kind "grpc" \(one of http, tcp, prometheus_query(, [a-z_]+)*\)$/],
  'bad-name.yaml': ['probe "Prometheus_Ready": name: use lowercase letters, digits and "-" (at most 64, not starting or ending with "-"), got "Prometheus_Ready"'],
  'yaml-syntax.yaml': ['line 5: Sequence item without - indicator'],
  'bad-schedule.yaml': ['probe "otlp-grpc-port": schedule: "*/75 * * * * * *" is not a valid cron expression'],
  'top-level-typo.yaml': ['probes: required field is missing', 'probe: unknown field; did you mean "probes"?'],
  'bad-duration.yaml': ['defaults.timeout: expected a duration such as "500ms", "30s", "5m" or "1h", got "5 seconds"'],
  'interval-and-schedule.yaml': ['probe "otlp-grpc-port": schedule: give either interval or schedule, not both'],
  'bad-severity.yaml': ['probe "otlp-grpc-port": severity: must be one of "critical", "warning", got "page"'],
  'bad-assertion.yaml': ['probe "prometheus-build": assertions[0]: give exactly one of expect or equals'],
  'empty.yaml': ['the file is empty: expected a mapping with a "probes" list'],
  'too-short-interval.yaml': ['probe "otlp-grpc-port": interval: 500ms is shorter than the 1s minimum'],
  'unknown-field-far.yaml': [`probe "otlp-grpc-port": retries: unknown field (allowed: ${allowedHttp.replace(/url, .*$/, 'address')})`],
};

for (const [file, lines] of Object.entries(expected)) {
  test(`bad config ${file}`, async () => {
    const path = `${dir}/${file}`;
    const err = await loadConfig(path, {}).then(
      () => assert.fail(`${file} was accepted`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.problems.length, lines.length, err.problems.join('\n'));
    err.problems.forEach((problem, i) => {
      const want = lines[i]!;
      if (want instanceof RegExp) assert.match(problem, want);
      else assert.equal(problem, `${path}: ${want}`);
    });
  });
}

test('every bad fixture on disk has an expected message', async () => {
  const { readdir } = await import('node:fs/promises');
  const onDisk = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  assert.deepEqual(onDisk, Object.keys(expected).sort());
});
