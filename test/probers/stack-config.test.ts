// stack_config (issue 18 §1): the stack's files in a real STACK_DIR against a real Prometheus and
// Alertmanager reading them, and a container of the real dockerd for the image tag. The stack folder's
// config/ is the Prometheus's own folder (prom.yml, rules/), so what the probe reads is exactly what
// Prometheus loads; alertmanager.yml is the real Alertmanager's file, named by an absolute override.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readRules, tempo2Blocks, unpinned } from '../../src/probers/stackConfig.js';
import { startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.js';
import { docker, dockerAvailable, removeContainer, TEST_IMAGE, uniqueName } from '../support/docker.js';
import { captureLogger, engineFor, eventually } from '../support/engine.js';
import { runProber } from '../support/prober.js';
import { startPrometheus, type PrometheusHandle } from '../support/prometheus.js';

// Rules as MyStocks's config/rules/ holds them: a file that loads, and (below) the guide's
// tracing-business-alerts.yml, whose span-rate alert puts a range on an aggregation.
const appRules = `groups:
- name: mystocks_app
  rules:
  - alert: HighErrorRate
    expr: sum(rate(http_requests_total{status_code=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05
    for: 5m
  - record: job:up:sum
    expr: sum by (job) (up)
`;
const guideRules = `groups:
- name: mystocks_tracing_alerts
  rules:
  - alert: HighTraceLatency
    expr: histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket[5m]))) > 1
  - alert: SpanRateDrop
    expr: rate(sum(traces_spanmetrics_calls_total)[5m]) < 1
`;
/** The guide's tempo-config.yaml keeps Tempo 2's blocks (its retention is compactor.compaction.block_retention). */
const tempo2Config = `server:
  http_listen_port: 3200
ingester:
  max_block_duration: 5m
compactor:
  compaction:
    block_retention: 24h
`;

let prom: PrometheusHandle;
let am: AlertmanagerHandle;
let stackDir: string;
let tempoName: string | undefined;
const unpinnedTempo = 'grafana/tempo:latest';
const pinnedTempo = 'grafana/tempo:2.6.1';

before(async () => {
  assert.equal(await dockerAvailable(), true, 'dockerd + test image must be there (scripts/ensure-services.sh)');
  [prom, am] = await Promise.all([startPrometheus({ ruleFiles: { '10-app.yml': appRules } }), startAlertmanager()]);
  stackDir = mkdtempSync(join(tmpdir(), 'stack-'));
  symlinkSync(prom.dir, join(stackDir, 'config'));
  writeFileSync(join(prom.dir, 'tempo-config.yaml'), tempo2Config);
  // Written before Prometheus loaded them: the healthy stack has nothing newer than its reloads.
  const past = new Date(Date.now() - 60_000);
  for (const f of ['prom.yml', 'rules/10-app.yml', 'tempo-config.yaml']) utimesSync(join(prom.dir, f), past, past);
  utimesSync(join(am.dir, 'am.yml'), past, past);
  await docker(['tag', TEST_IMAGE, unpinnedTempo]);
  await docker(['tag', TEST_IMAGE, pinnedTempo]);
});

after(async () => {
  if (tempoName) await removeContainer(tempoName);
  await Promise.all([prom?.stop(), am?.stop()]);
  rmSync(stackDir, { recursive: true, force: true });
});

/** A Tempo container of the given image, under the name compose gives MyStocks's. */
async function tempoContainer(image: string): Promise<string> {
  if (tempoName) await removeContainer(tempoName);
  tempoName = uniqueName('mystocks-tempo');
  await docker(['run', '-d', '--name', tempoName, '--network', 'none', '--label', 'watchdog-test=1', '--label', `watchdog-test.pid=${process.pid}`, image, 'sleep', '600']);
  return tempoName;
}

const probe = (more: Record<string, unknown> = {}) => ({
  name: 'stack-config',
  severity: 'warning',
  stackDir,
  files: { prometheusConfig: 'config/prom.yml', alertmanagerConfig: join(am.dir, 'am.yml') },
  prometheus: prom.url,
  alertmanager: am.url,
  ...more,
});

async function reloadAlertmanager(): Promise<void> {
  const res = await fetch(`${am.url}/-/reload`, { method: 'POST' });
  assert.equal(res.status, 200, await res.text());
}

test('the healthy stack: rules parse, Prometheus and Alertmanager run the files on disk, Tempo pinned to 2.x: ok', async () => {
  const tempo = await tempoContainer(pinnedTempo);
  const r = await runProber('stack_config', probe({ tempoContainer: tempo }));
  assert.equal(`${r.status}:${r.reason}`, 'ok:ok', r.message);
  assert.match(r.message, /^2 rules in 1 rule file parse; Prometheus runs its files as on disk \(reloaded \d{4}-/);
  assert.match(r.message, /Alertmanager runs alertmanager\.yml as on disk/);
  assert.equal(r.value, 0);
  assert.deepEqual(r.details?.ruleFiles, ['config/rules/10-app.yml']);
});

test('prometheus.yml changed and not reloaded: not_applied names the file and both times, the hint the reload command; a reload clears it', async () => {
  prom.writeConfig({ scrapeInterval: '2s' });
  const r = await runProber('stack_config', probe());
  assert.equal(`${r.status}:${r.reason}`, 'failing:not_applied', r.message);
  assert.match(r.message, /^what runs is older than the files on disk: config\/prom\.yml changed at (\d{4}-\S+), after Prometheus's last successful reload at (\d{4}-\S+)$/);
  const [, changed, reloaded] = /changed at (\S+), after .* at (\S+)$/.exec(r.message)!;
  assert.ok(Date.parse(changed!) > Date.parse(reloaded!), r.message);
  assert.equal(r.hint, `Reload so the running config is the one on disk: curl -X POST ${prom.url}/-/reload (or undo the edit).`);

  await prom.reload();
  const healed = await runProber('stack_config', probe());
  assert.equal(`${healed.status}:${healed.reason}`, 'ok:ok', healed.message);
});

test("the guide's broken rule file placed in config/rules/ without a reload: rules_invalid names file, group, rule and Prometheus's parser error", async (t) => {
  prom.writeRuleFile('30-tracing-business-alerts.yml', guideRules);
  t.after(async () => {
    rmSync(join(prom.dir, 'rules', '30-tracing-business-alerts.yml'));
    await prom.reload();
  });
  const r = await runProber('stack_config', probe());
  assert.equal(`${r.status}:${r.reason}`, 'failing:rules_invalid', r.message);
  assert.match(
    r.message,
    /^Prometheus would refuse 1 rule file at its next reload: config\/rules\/30-tracing-business-alerts\.yml: rule "SpanRateDrop" in group "mystocks_tracing_alerts": .*ranges only allowed for vector selectors/,
  );
  // The file is also newer than the last reload: both findings are listed, the refusal is the reason.
  assert.match(r.message, /config\/rules\/30-tracing-business-alerts\.yml changed at .* after Prometheus's last successful reload/);
  assert.doesNotMatch(r.message, /HighTraceLatency|HighErrorRate/);
  assert.match(r.hint!, /promtool check rules/);
  assert.deepEqual(r.details?.rulesInvalid, [
    { file: 'config/rules/30-tracing-business-alerts.yml', group: 'mystocks_tracing_alerts', rule: 'SpanRateDrop', error: (r.details?.rulesInvalid as { error: string }[])[0]!.error },
  ]);
  // What the probe said is what Prometheus does: the reload is refused.
  await assert.rejects(prom.reload(), /failed to reload config/);
});

test('alertmanager.yml changed and not reloaded: not_applied names Alertmanager and its reload; its reload clears it', async () => {
  writeFileSync(join(am.dir, 'am.yml'), JSON.stringify({ route: { receiver: 'blackhole', group_wait: '2s' }, receivers: [{ name: 'blackhole' }] }, null, 2));
  const r = await runProber('stack_config', probe());
  assert.equal(`${r.status}:${r.reason}`, 'failing:not_applied', r.message);
  assert.match(r.message, /am\.yml changed at \S+, after Alertmanager's last successful reload at \S+$/);
  assert.equal(r.hint, `Reload so the running config is the one on disk: curl -X POST ${am.url}/-/reload (or undo the edit).`);
  await reloadAlertmanager();
  const healed = await runProber('stack_config', probe());
  assert.equal(`${healed.status}:${healed.reason}`, 'ok:ok', healed.message);
});

test('an unpinned grafana/tempo:latest with Tempo 2 ingester: and compactor: blocks on disk: breaks_on_upgrade, hint pin 2.x or tempo-cli migrate config', async () => {
  const tempo = await tempoContainer(unpinnedTempo);
  const r = await runProber('stack_config', probe({ tempoContainer: tempo }));
  assert.equal(`${r.status}:${r.reason}`, 'failing:breaks_on_upgrade', r.message);
  assert.match(
    r.message,
    new RegExp(`^"${tempo}" runs grafana/tempo:latest, an unpinned tag, while config/tempo-config\\.yaml has ingester: and compactor: blocks of Tempo 2, which Tempo 3 refuses at start`),
  );
  assert.match(r.hint!, /pin a 2\.x tag/);
  assert.match(r.hint!, /tempo-cli migrate config/);

  // The same image with a Tempo 3 config (no 2.x blocks) survives the pull.
  writeFileSync(join(prom.dir, 'tempo-config.yaml'), 'server:\n  http_listen_port: 3200\n');
  try {
    const ok = await runProber('stack_config', probe({ tempoContainer: tempo }));
    assert.equal(`${ok.status}:${ok.reason}`, 'ok:ok', ok.message);
  } finally {
    writeFileSync(join(prom.dir, 'tempo-config.yaml'), tempo2Config);
  }
});

test('a missing STACK_DIR switches the probe off: blocked (not failing), one line naming STACK_DIR, one log line through the engine', async () => {
  const missing = join(stackDir, 'not-mounted');
  const r = await runProber('stack_config', probe({ stackDir: missing }));
  assert.equal(`${r.status}:${r.reason}`, 'blocked:stack_dir_missing', r.message);
  assert.equal(r.message, `STACK_DIR ${missing} does not exist, so probe "stack-config" checks nothing: mount the stack's compose folder there read-only, or set STACK_DIR`);
  assert.match(r.hint!, /- \.:\/stack:ro/);

  const { logger, lines } = captureLogger('info');
  const run = engineFor(
    `probes:\n  - name: stack-config\n    kind: stack_config\n    severity: warning\n    interval: 1s\n    timeout: 500ms\n    stackDir: \${STACK_DIR:-/stack}\n    prometheus: ${prom.url}\n`,
    {
      logger,
      env: { STACK_DIR: missing },
    },
  );
  run.engine.start();
  try {
    await eventually(
      () => (run.engine.state('stack-config')?.history.length ?? 0) >= 3,
      'three runs of stack-config',
      15_000,
      () => lines,
    );
  } finally {
    await run.close();
  }
  const said = lines.filter((l) => l.probe === 'stack-config');
  assert.equal(said.length, 1, JSON.stringify(said));
  assert.equal(said[0]!.msg, 'probe blocked');
  assert.equal(said[0]!.reason, 'stack_dir_missing');
});

test('rule files: the YAML shape Prometheus requires; unpinned tags; the Tempo 2 blocks', () => {
  assert.deepEqual(readRules(''), { rules: [], problems: [] });
  assert.deepEqual(readRules('groups:\n- name: a\n  rules:\n  - alert: A\n    record: b\n    expr: up\n  - alert: B\n'), {
    rules: [{ group: 'a', rule: 'A', expr: 'up' }],
    problems: [
      { group: 'a', rule: 'A', error: "one of 'record' or 'alert' must be set" },
      { group: 'a', rule: 'B', error: "field 'expr' must be set in rule" },
    ],
  });
  assert.deepEqual(readRules('groups:\n- name: a\n  rules: []\n- name: a\n  rules: []\n'), { rules: [], problems: [{ group: 'a', error: 'groupname: "a" is repeated in the same file' }] });
  assert.deepEqual(readRules('rules: []\n'), { error: 'field rules not found in type rulefmt.RuleGroups (only groups: is allowed at the top)' });
  assert.match((readRules('groups: [\n') as { error: string }).error, /^not YAML Prometheus can read: line \d+: /);

  assert.equal(unpinned('grafana/tempo'), true);
  assert.equal(unpinned('grafana/tempo:latest'), true);
  assert.equal(unpinned('registry:5000/grafana/tempo'), true);
  assert.equal(unpinned('grafana/tempo:2.6.1'), false);
  assert.equal(unpinned('grafana/tempo@sha256:0123'), false);
  assert.deepEqual(tempo2Blocks(tempo2Config), ['ingester', 'compactor']);
  assert.deepEqual(tempo2Blocks('server: {}\n'), []);
});
