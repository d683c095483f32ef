// Loading good configs: folders, ${VAR} expansion, and where each default comes from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import type { ProbeSpec } from '../../src/probers/types.js';

/** A probe's own fields, as its kind decoded them. */
const own = (p: ProbeSpec | undefined) => (p?.settings ?? {}) as Record<string, unknown>;

test('a folder: every *.yaml and *.yml in name order, other files ignored, dependencies across files', async () => {
  const config = await loadConfig('test/fixtures/folder-ok', {});
  assert.deepEqual(config.files, ['test/fixtures/folder-ok/10-prometheus.yaml', 'test/fixtures/folder-ok/20-tempo.yaml']);
  assert.deepEqual(
    config.probes.map((p) => p.name),
    ['prometheus-ready', 'span-rate', 'otlp-canary', 'otlp-grpc-port'],
  );
  assert.deepEqual(config.probes.find((p) => p.name === 'otlp-canary')!.dependsOn, ['prometheus-ready']);
});

test('defaults: the probe, then the kind, then its file, then 30s/5s', async () => {
  const by = Object.fromEntries((await loadConfig('test/fixtures/folder-ok', {})).probes.map((p) => [p.name, p]));
  // File defaults (1m/10s, warning) apply in their own file only; the probe's severity wins.
  assert.deepEqual([by['prometheus-ready']!.intervalMs, by['prometheus-ready']!.timeoutMs, by['prometheus-ready']!.severity], [60_000, 10_000, 'critical']);
  assert.equal(by['span-rate']!.severity, 'warning');
  // The canary's own defaults (5m/30s) beat the built-in ones; the other file has no defaults.
  assert.deepEqual([by['otlp-canary']!.intervalMs, by['otlp-canary']!.timeoutMs], [300_000, 30_000]);
  assert.deepEqual([by['otlp-grpc-port']!.intervalMs, by['otlp-grpc-port']!.timeoutMs, by['otlp-grpc-port']!.severity], [30_000, 5_000, 'critical']);
});

test('${VAR} and ${VAR:-default}: set, unset, empty, and typed when the whole value is one reference', async () => {
  const plain = Object.fromEntries((await loadConfig('test/fixtures/folder-ok', {})).probes.map((p) => [p.name, p]));
  assert.equal(own(plain['prometheus-ready']).url, 'http://prometheus:9090/-/ready');
  assert.equal(plain['span-rate']!.failureThreshold, 3, 'a lone ${...} that reads as a number is a number');
  assert.equal((own(plain['span-rate']).expect as { text: string }).text, '> 0');
  const env = { PROMETHEUS_URL: 'http://127.0.0.1:9090', SPAN_RATE_FAILURES: '5', MIN_RATE: '', TEMPO_OTLP_GRPC: '127.0.0.1:4317' };
  const set = Object.fromEntries((await loadConfig('test/fixtures/folder-ok', env)).probes.map((p) => [p.name, p]));
  assert.equal(own(set['prometheus-ready']).url, 'http://127.0.0.1:9090/-/ready');
  assert.equal(set['span-rate']!.failureThreshold, 5);
  assert.equal((own(set['span-rate']).expect as { text: string }).text, '> 0', 'an empty variable takes the default, as in a shell');
  assert.equal(own(set['otlp-grpc-port']).address, '127.0.0.1:4317');
});

test('a folder with the same probe name in two files, and alerting set twice, names both files', async () => {
  const err = await loadConfig('test/fixtures/folder-dup', {}).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError);
  assert.deepEqual(err.problems, [
    'test/fixtures/folder-dup/b.yml: alerting: already set in test/fixtures/folder-dup/a.yaml; give it in one file only',
    'test/fixtures/folder-dup/b.yml: probe "otlp-grpc-port": name: duplicate name, first defined in test/fixtures/folder-dup/a.yaml',
  ]);
});

test('a missing path and an empty folder are refused with the path named', async () => {
  await assert.rejects(loadConfig('test/fixtures/no-such-dir', {}), (e: unknown) => e instanceof ConfigError && e.problems[0] === 'test/fixtures/no-such-dir: no such file or folder');
  await assert.rejects(loadConfig('test/config', {}), (e: unknown) => e instanceof ConfigError && e.problems[0] === 'test/config: the folder holds no *.yaml file');
});

test('enabled: false switches a probe off: checked all the same, not run, and no longer a dependency', () => {
  const text = (enabled: string) => `
probes:
  - { name: box, kind: tcp, address: "127.0.0.1:9", enabled: ${enabled} }
  - { name: after, kind: tcp, address: "127.0.0.1:9", dependsOn: [box] }
`;
  const on = parseConfig([{ file: 'p.yaml', text: text('"${BOX_ON:-true}"') }], {});
  assert.deepEqual(
    on.probes.map((p) => [p.name, p.dependsOn]),
    [
      ['box', []],
      ['after', ['box']],
    ],
  );
  assert.deepEqual(on.disabled, []);
  const off = parseConfig([{ file: 'p.yaml', text: text('"${BOX_ON:-true}"') }], { BOX_ON: 'false' });
  assert.deepEqual(
    off.probes.map((p) => [p.name, p.dependsOn]),
    [['after', []]],
  );
  assert.deepEqual(off.disabled, ['box']);
  // A mistake in a switched-off probe is still a mistake, and "enabled" takes a boolean only.
  assert.throws(
    () => parseConfig([{ file: 'p.yaml', text: 'probes:\n  - { name: box, kind: tcp, address: "nohost", enabled: false }\n' }], {}),
    (e: unknown) => e instanceof ConfigError && e.problems.length === 1 && e.problems[0]!.startsWith('p.yaml: probe "box": address:'),
  );
  assert.throws(
    () => parseConfig([{ file: 'p.yaml', text: 'probes:\n  - { name: box, kind: tcp, address: "127.0.0.1:9", enabled: "no" }\n' }], {}),
    (e: unknown) => e instanceof ConfigError && e.problems[0]!.startsWith('p.yaml: probe "box": enabled:'),
  );
});

test('APP_IN_COMPOSE=false: the shipped profile leaves container-backend out (the app runs on the host)', async () => {
  const config = await loadConfig('probes', { APP_IN_COMPOSE: 'false' });
  assert.deepEqual(config.disabled, ['container-backend']);
  assert.equal(config.probes.length, 22);
  assert.ok(!config.probes.some((p) => p.dependsOn.includes('container-backend')));
});

test('the shipped probes/ validate with no environment at all', async () => {
  const config = await loadConfig('probes', {});
  // 23: alert-path and dead-rules (issue 8), app-requests and sampling-ratio (issue 9), container-prometheus,
  // container-tempo and container-backend (issue 10) joined the 12; tempo-storage and span-metrics-path (issue 17);
  // stack-config and dashboards (issue 18).
  assert.equal(config.probes.length, 23);
  assert.deepEqual(config.alerting?.alertmanager?.guardProbes, ['prometheus-ready', 'alert-path']);
  // One URL is decoded as a list of one: the direct path posts to every Alertmanager listed (issue 21).
  assert.deepEqual(config.alerting?.alertmanager?.url, ['http://alertmanager:9093']);
});

test('alerting.alertmanager.url takes every node of a cluster; a bad, empty or repeating list is refused naming the field', () => {
  const doc = (url: unknown) => JSON.stringify({ alerting: { alertmanager: { url, mode: 'always' } }, probes: [{ name: 'box', kind: 'tcp', address: '127.0.0.1:9' }] });
  const config = parseConfig([{ file: 'p.yaml', text: doc(['http://am-1:9093', 'http://am-2:9093']) }], {});
  assert.deepEqual(config.alerting?.alertmanager?.url, ['http://am-1:9093', 'http://am-2:9093']);
  for (const bad of [['http://am-1:9093', 'am-2:9093'], [], ['http://am-1:9093', 'http://am-1:9093']]) {
    assert.throws(
      () => parseConfig([{ file: 'p.yaml', text: doc(bad) }], {}),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.startsWith('p.yaml: alerting.alertmanager.url')),
      JSON.stringify(bad),
    );
  }
});
