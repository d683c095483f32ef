// Defects 2, 7 and 8 of issue 12: a config file that is too big, an alias bomb and a huge free-text
// field are refused with one clear line, in the daemon, by validate and by check; never a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon.js';
import { captureLogger, eventually, problemsOf } from '../support/engine.js';
import { probeFile, runWatchdogCli } from '../support/watchdog-process.js';

const watchdog = (args: string[], env: Record<string, string> = {}) => runWatchdogCli(args, env);
const configFile = (text: string) => probeFile(text, 'limits');

const aliasBomb = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'probes: []',
  '',
].join('\n');

/** Many small nodes, each line 28 bytes. */
function manyNodes(bytes: number): string {
  const line = '  - [1, 2, 3, 4, 5, 6, 7, 8]\n';
  return 'probes:\n  - { name: one, kind: tcp, address: "127.0.0.1:1" }\nextra:\n' + line.repeat(Math.ceil(bytes / line.length));
}

async function refusal(path: string, env: Record<string, string> = {}): Promise<string[]> {
  const err = await loadConfig(path, {}, readSettings(env).configLimits).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError, `refused with a ConfigError, got ${String(err)}`);
  return err.problems;
}

test('validate and check refuse a YAML alias bomb with exit 2 and one line, no stack trace', async () => {
  const file = configFile(aliasBomb);
  for (const command of ['validate', 'check']) {
    const { code, stdout, stderr } = await watchdog([command, '--config', file]);
    assert.equal(code, 2, `${command}: ${stderr}`);
    assert.equal(stdout, '');
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /probes\.yaml: .*alias/i);
    assert.doesNotMatch(stderr, /\n\s+at /);
  }
});

test('a config file over the size cap is refused before it is parsed, naming the file and the cap', async () => {
  const file = configFile(manyNodes(3 * 1024 * 1024));
  const started = Date.now();
  const problems = await refusal(file);
  assert.ok(Date.now() - started < 1000, `refused in ${Date.now() - started}ms: before parsing`);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /probes\.yaml: the file is 3(\.\d+)?MiB, over the 256KiB limit \(WATCHDOG_CONFIG_MAX_BYTES\); refused before parsing/);
  // The cap is a setting.
  const small = configFile(manyNodes(8 * 1024));
  assert.match((await refusal(small, { WATCHDOG_CONFIG_MAX_BYTES: '4096' }))[0]!, /over the 4KiB limit/);
});

test('a config of more nodes than the node cap is refused with one line', async () => {
  const file = configFile(manyNodes(20 * 1024));
  const problems = await refusal(file, { WATCHDOG_CONFIG_MAX_NODES: '1000' });
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /probes\.yaml: more than 1000 YAML nodes \(WATCHDOG_CONFIG_MAX_NODES\)/);
});

test('the daemon refuses a reload of a huge file at once and keeps answering /healthz', async (t) => {
  const file = configFile('probes: [{ name: one, kind: tcp, address: "127.0.0.1:1", interval: 1h, timeout: 1s }]\n');
  const { logger, lines } = captureLogger('warn');
  const d = await startDaemon(readSettings({ WATCHDOG_CONFIG: file, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1' }), { logger, processMetrics: false });
  t.after(() => d.stop());
  await eventually(() => d.engine.ready, 'first result');
  writeFileSync(file, manyNodes(20 * 1024 * 1024));
  const started = Date.now();
  assert.equal(await d.reload(), false);
  assert.ok(Date.now() - started < 1000, `refused in ${Date.now() - started}ms`);
  const health = await fetch(`${d.url}/healthz`, { signal: AbortSignal.timeout(1000) });
  assert.equal(health.status, 200);
  const refused = lines.find((l) => l.msg === 'config reload refused; the previous config keeps running') as { problems: string[] } | undefined;
  assert.match(refused!.problems[0]!, /over the 256KiB limit/);
});

test('free-text fields are capped at load: a huge description, hint, header or body is one clear line', () => {
  const big = 'x'.repeat(100_000);
  const problems = problemsOf(() =>
    parseConfig(
      [
        {
          file: 'big.yaml',
          text: `probes:
  - { name: a, kind: tcp, address: "127.0.0.1:1", description: "${big}" }
  - { name: b, kind: tcp, address: "127.0.0.1:1", hints: { connect: "${big}" } }
  - { name: c, kind: http, url: "http://127.0.0.1:1/", headers: { x-big: "${big}" } }
  - { name: d, kind: http, url: "http://127.0.0.1:1/", method: POST, body: "${'y'.repeat(2_000_000)}" }
`,
        },
      ],
      {},
    ),
  );
  assert.deepEqual(problems, [
    'big.yaml: probe "a": description: is 100000 characters long, over the 4096 limit',
    'big.yaml: probe "b": hints.connect: is 100000 characters long, over the 4096 limit',
    'big.yaml: probe "c": headers.x-big: is 100000 characters long, over the 8192 limit',
    'big.yaml: probe "d": body: is 2000000 characters long, over the 1048576 limit',
  ]);
});
