// Defect 1 of issue 12: a password in a probe URL must never be shown, wherever a URL is shown, while
// the request itself still uses it. Real daemon, real CLI, real local targets on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon.js';
import { redactText, redactUrl } from '../../src/util/url.js';
import { closedPort, hangAfterAccept, jsonServer } from '../support/misbehaving.js';
import { captureLogger, eventually } from '../support/engine.js';
import { probeFile, runWatchdogCli } from '../support/watchdog-process.js';

const watchdog = (args: string[], env: Record<string, string> = {}) => runWatchdogCli(args, env);
const configFile = (text: string) => probeFile(text, 'secrets');

const secret = 's3cret';
const token = 'tok-9f8e7d';

/** Three probes whose URLs carry credentials, failing by connect, HTTP status and timeout. */
async function targets(t: { after: (fn: () => unknown) => void }) {
  const seen: (string | undefined)[] = [];
  const status = await jsonServer((req) => {
    seen.push(req.headers.authorization);
    return { status: 500, body: 'broken' };
  });
  const down = await closedPort();
  const hang = await hangAfterAccept();
  t.after(async () => {
    await status.close();
    await hang.close();
  });
  const hostOf = (url: string) => url.replace('http://', '');
  const yaml = `
probes:
  - { name: conn, kind: http, url: "http://admin:${secret}@${hostOf(down.url)}/x", timeout: 1s }
  - { name: stat, kind: http, url: "http://admin:${secret}@${hostOf(status.url)}/x?access_token=${token}&q=1", timeout: 1s }
  - { name: slow, kind: http, url: "http://admin:${secret}@${hostOf(hang.url)}/x", timeout: 1s }
`;
  return { yaml, seen };
}

function assertClean(where: string, text: string) {
  assert.ok(!text.includes(secret), `${where} shows the password: ${text.slice(0, 2000)}`);
  assert.ok(!text.includes(token), `${where} shows the token: ${text.slice(0, 2000)}`);
}

test('redactUrl masks userinfo and secret-looking query values, and keeps the rest as written', () => {
  assert.equal(redactUrl('http://admin:s3cret@host:9/x'), 'http://***@host:9/x');
  assert.equal(redactUrl('https://tok@host/x?a=1&api_key=k&Signature=s#frag'), 'https://***@host/x?a=1&api_key=***&Signature=***#frag');
  assert.equal(redactUrl('http://host:9090/api/v1/query?query=up'), 'http://host:9090/api/v1/query?query=up');
  assert.equal(redactText('cannot connect to http://a:b@h/x: ECONNREFUSED'), 'cannot connect to http://***@h/x: ECONNREFUSED');
});

test('a password in a probe URL appears in no view, answer or log of the daemon, and the request still sends it', async (t) => {
  const { yaml, seen } = await targets(t);
  const file = configFile(yaml);
  const { logger, lines } = captureLogger('debug');
  const d = await startDaemon(readSettings({ WATCHDOG_CONFIG: file, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_ADMIN_TOKEN: 'adm' }), { logger, processMetrics: false });
  t.after(() => d.stop());
  await eventually(() => d.engine.ready, 'first results', 10_000);
  const reasons = Object.fromEntries(d.engine.states().map((s) => [s.spec.name, s.current.reason]));
  assert.deepEqual(reasons, { conn: 'connect', stat: 'http_status', slow: 'timeout' });
  // The request used the credentials (undici turns userinfo into basic auth).
  assert.equal(seen[0], `Basic ${Buffer.from(`admin:${secret}`).toString('base64')}`);

  assertClean('/status', await (await fetch(`${d.url}/status`)).text());
  assertClean('/status?format=text', await (await fetch(`${d.url}/status?format=text`)).text());
  for (const p of ['conn', 'stat', 'slow']) {
    assertClean(`/status/${p}`, await (await fetch(`${d.url}/status/${p}`)).text());
    const ran = await fetch(`${d.url}/probes/${p}/run`, { method: 'POST', headers: { authorization: 'Bearer adm' } });
    assert.equal(ran.status, 200);
    assertClean(`run-now ${p}`, await ran.text());
  }
  assertClean('/metrics', await (await fetch(`${d.url}/metrics`)).text());
  assertClean('the log', lines.map((l) => JSON.stringify(l)).join('\n'));
  assert.match(JSON.stringify(await (await fetch(`${d.url}/status/conn`)).json()), /http:\/\/\*\*\*@127\.0\.0\.1/);

  // A refused reload echoes the URL it refuses, masked.
  writeFileSync(file, `probes: [{ name: bad, kind: http, url: "ftp://admin:${secret}@host/x" }]\n`);
  assert.equal(await d.reload(), false);
  const refused = lines.find((l) => l.msg === 'config reload refused; the previous config keeps running');
  assert.ok(refused, 'the refusal is logged');
  assertClean('the reload refusal', JSON.stringify(refused));
});

test('check (text and JSON) and validate do not print the password', async (t) => {
  const { yaml } = await targets(t);
  const file = configFile(yaml);
  for (const format of ['text', 'json']) {
    const { code, stdout, stderr } = await watchdog(['check', '--config', file, '--format', format]);
    assert.equal(code, 1, stderr);
    assert.match(stdout, /\*\*\*@127\.0\.0\.1/);
    assertClean(`check --format ${format}`, stdout + stderr);
  }
  const bad = configFile(`probes: [{ name: bad, kind: http, url: "ftp://admin:${secret}@host/x?token=${token}" }]\n`);
  const { code, stdout, stderr } = await watchdog(['validate', '--config', bad]);
  assert.equal(code, 2);
  assert.match(stderr, /url: expected an http:\/\/ or https:\/\/ URL, got "ftp:\/\/\*\*\*@host/);
  assertClean('validate', stdout + stderr);
});
