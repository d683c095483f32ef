// The daemon as a real process: reload on SIGHUP and on file change, refusing a bad config while
// the last good one keeps running, and a bounded, clean shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonServer } from '../support/misbehaving.js';
import { eventually } from '../support/engine.js';
import { startWatchdog } from '../support/watchdog-process.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'watchdog.js');

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

test('reload: SIGHUP and file changes apply a good config; a bad one is refused and the old one keeps running', async (t) => {
  const target = await jsonServer(() => ({ status: 200, body: {} }));
  t.after(() => target.close());
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-reload-'));
  const file = join(dir, 'probes.yaml');
  const probe = (name: string) => `  - { name: ${name}, kind: http, url: "${target.url}/${name}" }\n`;
  writeFileSync(file, `probes:\n${probe('first')}${probe('second')}`);
  const w = await startWatchdog(dir);
  t.after(() => w.child.kill('SIGKILL'));
  await eventually(() => w.logs.filter((l) => l.msg === 'probe ok').length === 2, 'both probes ok');
  // No WATCHDOG_STACK, no compose project, no discover block: the documented default, said at start.
  assert.ok(
    w.logs.some((l) => l.msg === 'stack-watchdog started' && l.stack === 'default' && l.stackSource === 'default'),
    JSON.stringify(w.logs[0]),
  );
  assert.match(await metrics(w.url), /watchdog_probe_success\{probe="second",kind="http",stack="default"\} 1/);

  // A file change: "second" removed, "third" added.
  writeFileSync(file, `probes:\n${probe('first')}${probe('third')}`);
  await eventually(() => w.logs.some((l) => l.msg === 'config reloaded'), 'reload after the file changed');
  let text = await metrics(w.url);
  assert.doesNotMatch(text, /probe="second"/, 'a removed probe leaves /metrics');
  await eventually(() => w.logs.some((l) => l.msg === 'probe ok' && l.probe === 'third'), 'third ran');
  assert.match(await metrics(w.url), /watchdog_probe_success\{probe="third",kind="http",stack="default"\} 1/);

  // A bad config: refused, logged with the exact problem, metric at 0, old probes still there.
  writeFileSync(file, `probes:\n${probe('first')}  - { name: broken, kind: http, url: "${target.url}/", expect: "> 0" }\n`);
  await eventually(() => w.logs.some((l) => l.msg === 'config reload refused; the previous config keeps running'), 'the refusal');
  const refusal = w.logs.find((l) => l.msg === 'config reload refused; the previous config keeps running')!;
  assert.equal(refusal.level, 'error');
  assert.deepEqual(refusal.problems, [
    `${file}: probe "broken": expect: unknown field (allowed: name, kind, description, severity, interval, schedule, timeout, dependsOn, failureThreshold, successThreshold, enabled, hints, labels, url, method, headers, body, expectStatus, assertions, maxBodyBytes)`,
  ]);
  text = await metrics(w.url);
  assert.match(text, /^watchdog_config_last_reload_successful\{stack="default"\} 0$/m);
  assert.match(text, /probe="third"/);
  const status = (await (await fetch(`${w.url}/status`)).json()) as { probes: { name: string }[] };
  assert.deepEqual(
    status.probes.map((p) => p.name),
    ['first', 'third'],
  );

  // Fixed, and applied by SIGHUP too.
  writeFileSync(file, `probes:\n${probe('first')}`);
  const reloadsBefore = w.logs.filter((l) => l.msg === 'config reloaded').length;
  w.child.kill('SIGHUP');
  await eventually(() => w.logs.filter((l) => l.msg === 'config reloaded').length > reloadsBefore, 'reload after SIGHUP');
  assert.match(await metrics(w.url), /^watchdog_config_last_reload_successful\{stack="default"\} 1$/m);
});

test('SIGTERM stops the schedule, lets runs finish, closes the server and exits 0 within 5 s', async (t) => {
  // A probe that is mid-run when SIGTERM comes: the target answers after 1 s.
  let requests = 0;
  const slow = await jsonServer(() => {
    requests++;
    return new Promise((r) => setTimeout(() => r({ status: 200, body: {} }), 1000));
  });
  t.after(() => slow.close());
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-term-'));
  writeFileSync(join(dir, 'p.yaml'), `probes: [{ name: slow, kind: http, url: "${slow.url}/", interval: 2s, timeout: 1500ms }]`);
  const w = await startWatchdog(dir);
  t.after(() => w.child.kill('SIGKILL'));
  await eventually(() => w.logs.some((l) => l.msg === 'probe ok'), 'first run finished', 10_000);
  // Wait until the next run is in flight, then stop.
  await eventually(() => requests >= 2, 'second run started', 10_000);
  const started = Date.now();
  w.child.kill('SIGTERM');
  const code = await w.exited;
  const elapsed = Date.now() - started;
  assert.equal(code, 0);
  assert.ok(elapsed < 5000, `took ${elapsed} ms`);
  assert.ok(w.logs.some((l) => l.msg === 'stack-watchdog stopped'));
  await assert.rejects(fetch(`${w.url}/healthz`), 'the server is closed');
});

test('the daemon refuses to start on an invalid config with exit 2 and the exact problem', async () => {
  const child = spawn(process.execPath, [bin, 'run'], { env: { PATH: process.env.PATH, WATCHDOG_CONFIG: 'test/fixtures/bad/cycle.yaml', WATCHDOG_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 2);
  assert.equal(stderr, 'test/fixtures/bad/cycle.yaml: probe "a": dependsOn: dependency cycle a -> b -> a\n');
});
