// `watchdog check --wait`, colour rules and the Prometheus-style flags, as a real process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { listenAddress } from '../../src/cli.js';
import { statusTable } from '../../src/report/view.js';
import { engineFor } from '../support/engine.js';
import { closedPort, jsonServer } from '../support/misbehaving.js';
import { freePort } from '../support/ports.js';
import { startProcess, waitForHttpOk } from '../support/process.js';
import { probeFile, runWatchdogCli } from '../support/watchdog-process.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'watchdog.js');
const watchdog = (args: string[], env: Record<string, string> = {}) => runWatchdogCli(args, env, { timeoutMs: 90_000 });
const configFile = (text: string) => probeFile(text, 'wait');

test('check --wait re-runs a failing probe until it passes, then exits 0', async (t) => {
  // A service that is still starting: 503 for its first three answers.
  let calls = 0;
  const starting = await jsonServer(() => (++calls <= 3 ? { status: 503, body: { starting: true } } : { status: 200, body: {} }));
  t.after(() => starting.close());
  const file = configFile(`probes: [{ name: starting, kind: http, url: "${starting.url}/" }]`);
  const { code, stdout, stderr } = await watchdog(['check', '--config.file', file, '--wait', '20s']);
  assert.equal(code, 0, stdout + stderr);
  assert.ok(calls >= 4, `the probe ran ${calls} times`);
  assert.match(stdout, /^starting\s+http\s+OK\s/m);
});

test('check --wait gives up when the time is up and exits 1; piped output has no colour', async (t) => {
  const down = await closedPort();
  const file = configFile(`probes: [{ name: down, kind: tcp, address: "127.0.0.1:${down.port}" }]`);
  const { code, stdout, ms } = await watchdog(['check', '-c', file, '--wait', '3s']);
  assert.equal(code, 1);
  // The floor is the point; the ceiling is loose because starting node with tsx takes seconds on a busy machine.
  assert.ok(ms >= 3000 && ms < 60_000, `took ${ms} ms`);
  assert.match(stdout, /^CAUSES \(1\): fix these first\nFAIL down: .*\n {2}hint: Nothing listens on port/);
  assert.match(stdout, /^PROBE\s+KIND\s+STATUS\s+SINCE\s+REASON/m);
  assert.match(stdout, /^down\s+tcp\s+FAIL\s/m);
  assert.ok(!stdout.includes('\u001b['), 'no escape codes when stdout is not a terminal');
  t.diagnostic(`--wait 3s took ${ms} ms`);
});

test('check --wait refuses a malformed duration with exit 2', async () => {
  const { code, stderr } = await watchdog(['check', '--wait', 'soon']);
  assert.equal(code, 2);
  assert.match(stderr, /--wait: expected a duration such as "500ms", "30s", "5m" or "1h", got "soon"/);
});

test('--web.listen-address: HOST:PORT, :PORT and [IPv6]:PORT, as Prometheus reads them', () => {
  assert.deepEqual(listenAddress('127.0.0.1:9469'), { host: '127.0.0.1', port: 9469 });
  assert.deepEqual(listenAddress(':9469'), { host: '0.0.0.0', port: 9469 });
  assert.deepEqual(listenAddress('[::1]:9469'), { host: '::1', port: 9469 });
  assert.equal(listenAddress('9469'), undefined);
  assert.equal(listenAddress('host:99999'), undefined);
});

test('run --web.listen-address and --config.file start the daemon there', async (t) => {
  const up = await jsonServer(() => ({ status: 200, body: {} }));
  t.after(() => up.close());
  const file = configFile(`probes: [{ name: up, kind: http, url: "${up.url}/" }]`);
  const port = await freePort();
  const proc = await startProcess({
    name: 'watchdog-flags',
    command: process.execPath,
    args: [bin, 'run', '--config.file', file, '--web.listen-address', `127.0.0.1:${port}`],
    env: { PATH: process.env.PATH, WATCHDOG_LOG_LEVEL: 'warn' },
  });
  t.after(() => proc.stop());
  await waitForHttpOk(`http://127.0.0.1:${port}/-/ready`, { timeoutMs: 60_000, abortIf: () => (proc.isRunning() ? undefined : 'exited'), describe: () => proc.logTail() });
  const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { probes: { name: string }[] };
  assert.deepEqual(
    status.probes.map((p) => p.name),
    ['up'],
  );
});

test('the table colours the status words only when asked to, and keeps its columns aligned', async (t) => {
  const down = await closedPort();
  const built = engineFor(`probes: [{ name: down, kind: tcp, address: "127.0.0.1:${down.port}" }]`);
  t.after(() => built.close());
  const states = await built.engine.runOnce();
  const plain = statusTable(states, Date.now());
  const coloured = statusTable(states, Date.now(), { colour: true });
  assert.ok(!plain.includes('\u001b['));
  assert.ok(coloured.includes('\u001b[1;31mFAIL  \u001b[0m'), JSON.stringify(coloured));
  assert.equal(coloured.replaceAll('\u001b[1;31m', '').replaceAll('\u001b[0m', ''), plain);
});

test("a failing probe's hint is printed beneath its cause, wrapped and indented; what waits on it is one line", async (t) => {
  const down = await closedPort();
  const hint = 'Look at the compose file of the stack and the logs of the service that should listen there. '.repeat(3).trim();
  const built = engineFor(`
probes:
  - { name: down, kind: tcp, address: "127.0.0.1:${down.port}", hints: { connect: "${hint}" } }
  - { name: after, kind: tcp, address: "127.0.0.1:${down.port}", dependsOn: [down] }
`);
  t.after(() => built.close());
  const states = await built.engine.runOnce();
  const lines = statusTable(states, Date.now(), { width: 80 }).split('\n');
  const cause = lines.findIndex((l) => l.startsWith('FAIL down: '));
  assert.equal(cause, 1, `the cause leads: ${JSON.stringify(lines)}`);
  const waiting = lines.findIndex((l) => l.startsWith('  waiting: '));
  const beneath = lines.slice(cause + 1, waiting);
  assert.ok(beneath.length >= 3, `the hint is wrapped beneath its cause: ${JSON.stringify(lines)}`);
  assert.match(beneath[0]!, /^ {2}hint: Nothing listens on port \d+/);
  for (const l of beneath) assert.ok(l.length <= 80 && /^ {2}\S| {8}\S/.test(l), `indented and at most 80 wide: ${JSON.stringify(l)}`);
  const text = beneath.map((l) => l.trim()).join(' ');
  assert.ok(text.endsWith(hint), text);
  assert.equal(lines[waiting], '  waiting: after', 'the blocked probe: one line under its cause');
  const header = lines.findIndex((l) => l.startsWith('PROBE '));
  assert.match(lines[header + 1]!, /^down\s+tcp\s+FAIL/);
  assert.match(lines[header + 2]!, /^after\s+tcp\s+BLOCKED/, 'rows follow rows: the hint is not repeated in the table');
  assert.ok(!lines.some((l) => /Fix "down" first/.test(l)), 'no "fix that first" per blocked probe');
  assert.ok(!lines.some((l) => /^down: /.test(l)), 'no separate hint list under the table');
});
