// The CLI as an operator runs it right after a deploy: real process, exit codes, output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closedPort, jsonServer } from '../support/misbehaving.js';
import { probeFile, runWatchdogCli } from '../support/watchdog-process.js';

const watchdog = (args: string[], env: Record<string, string> = {}) => runWatchdogCli(args, env);
const configFile = (text: string) => probeFile(text, 'cli');

async function passingAndFailing(t: { after: (fn: () => unknown) => void }) {
  const up = await jsonServer(() => ({ status: 200, body: { ok: true } }));
  const down = await closedPort();
  t.after(() => up.close());
  return configFile(`
probes:
  - { name: web-up, kind: http, url: "${up.url}/" }
  - { name: otlp-grpc-port, kind: tcp, address: "127.0.0.1:${down.port}" }
`);
}

test('check with one passing and one failing probe prints both and exits 1', async (t) => {
  const file = await passingAndFailing(t);
  const { code, stdout, stderr } = await watchdog(['check', '--config', file]);
  assert.equal(code, 1, stderr);
  assert.match(stdout, /^CAUSES \(1\): fix these first\nFAIL otlp-grpc-port: .*\n {2}hint: Nothing listens on port \d+/, 'the cause first, its hint beneath it');
  assert.match(stdout, /^PROBE\s+KIND\s+STATUS/m);
  assert.match(stdout, /^web-up\s+http\s+OK\s+\S+\s+ok\s/m);
  assert.match(stdout, /^otlp-grpc-port\s+tcp\s+FAIL\s+\S+\s+connect\s/m);
  assert.match(stdout, /overall: failing/);
  assert.equal(stderr, '', 'no log noise by default');
});

test('check --format json is clean JSON for jq', async (t) => {
  const file = await passingAndFailing(t);
  const { code, stdout } = await watchdog(['check', '-c', file, '--format', 'json']);
  assert.equal(code, 1);
  const report = JSON.parse(stdout) as { status: string; probes: { name: string; status: string; reason: string }[] };
  assert.equal(report.status, 'failing');
  assert.deepEqual(
    report.probes.map((p) => [p.name, p.status, p.reason]),
    [
      ['web-up', 'ok', 'ok'],
      ['otlp-grpc-port', 'failing', 'connect'],
    ],
  );
});

test('check --probe runs only that probe and exits 0 when it passes', async (t) => {
  const file = await passingAndFailing(t);
  const { code, stdout } = await watchdog(['check', '-c', file, '--probe', 'web-up']);
  assert.equal(code, 0);
  assert.match(stdout, /web-up/);
  assert.doesNotMatch(stdout, /otlp-grpc-port/);
  const unknown = await watchdog(['check', '-c', file, '--probe', 'nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no probe named "nope"/);
});

test('WATCHDOG_CONFIG selects the config and ${VAR:-default} reads the environment', async (t) => {
  const up = await jsonServer(() => ({ status: 200, body: {} }));
  t.after(() => up.close());
  const file = configFile('probes: [{ name: web, kind: http, url: "${WEB_URL:-http://127.0.0.1:1}/" }]');
  const { code, stdout } = await watchdog(['check'], { WATCHDOG_CONFIG: file, WEB_URL: up.url });
  assert.equal(code, 0, stdout);
  const fallback = await watchdog(['check'], { WATCHDOG_CONFIG: file });
  assert.equal(fallback.code, 1);
  assert.match(fallback.stdout, /127\.0\.0\.1:1/);
});

test('validate exits 0 on a good config and 2 with the exact problem on a bad one', async () => {
  const good = configFile('probes: [{ name: a, kind: tcp, address: "tempo:4317" }]');
  const ok = await watchdog(['validate', '--config', good]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /^ok: 1 probe\(s\) in /);
  const bad = await watchdog(['validate', '--config', 'test/fixtures/bad/bad-expect.yaml']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'test/fixtures/bad/bad-expect.yaml: probe "span-rate": expect: "more than 0" is not a comparison: use one of ==, !=, >, >=, <, <= followed by a number, e.g. "> 0"\n');
  const check = await watchdog(['check', '--config', 'test/fixtures/bad/cycle.yaml']);
  assert.equal(check.code, 2, 'check refuses a bad config with 2, not 1');
});

test('usage errors exit 2', async () => {
  assert.equal((await watchdog(['frobnicate'])).code, 2);
  assert.equal((await watchdog(['check', '--format', 'xml'])).code, 2);
  assert.equal((await watchdog(['check', '--bogus'])).code, 2);
  const help = await watchdog(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: watchdog/);
});
