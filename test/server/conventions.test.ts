// The Prometheus ecosystem's spellings against a listening daemon: /-/healthy, /-/ready, POST /-/reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { jsonServer } from '../support/misbehaving.js';
import { captureLogger, eventually } from '../support/engine.js';

async function daemon(t: { after: (fn: () => unknown) => void }, env: Record<string, string> = {}): Promise<{ d: Daemon; file: string; url: string }> {
  const up = await jsonServer(() => ({ status: 200, body: {} }));
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-conventions-'));
  const file = join(dir, 'probes.yaml');
  writeFileSync(file, `probes: [{ name: one, kind: http, url: "${up.url}/" }]`);
  const settings = readSettings({ WATCHDOG_CONFIG: file, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', ...env });
  const d = await startDaemon(settings, { logger: captureLogger('warn').logger, processMetrics: false });
  t.after(async () => {
    await d.stop();
    await up.close();
  });
  await eventually(() => d.engine.ready, 'first results', 10_000);
  return { d, file, url: up.url };
}

test('/-/healthy and /-/ready answer as /healthz and /readyz', async (t) => {
  const { d } = await daemon(t);
  for (const [alias, url] of [
    ['/-/healthy', '/healthz'],
    ['/-/ready', '/readyz'],
  ]) {
    const [a, b] = await Promise.all([fetch(`${d.url}${alias}`), fetch(`${d.url}${url}`)]);
    assert.equal(a.status, 200, alias);
    assert.equal(a.status, b.status);
    assert.equal(((await a.json()) as { status: string }).status, ((await b.json()) as { status: string }).status);
  }
});

test('the aliases answer exactly as the originals also while not ready: same status, same body', async (t) => {
  // A target that never answers within the test: the probe has no first result, so /readyz is 503.
  const hang = await jsonServer(() => new Promise(() => {}));
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-conventions-'));
  const file = join(dir, 'probes.yaml');
  writeFileSync(file, `probes: [{ name: slow, kind: http, url: "${hang.url}/", timeout: 20s, interval: 30s }]`);
  const d = await startDaemon(readSettings({ WATCHDOG_CONFIG: file, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1' }), { logger: captureLogger('warn').logger, processMetrics: false });
  t.after(async () => {
    await d.stop();
    await hang.close();
  });
  await eventually(() => d.engine.lastTick > 0, 'the scheduler ticks', 10_000);
  for (const [alias, url] of [
    ['/-/healthy', '/healthz'],
    ['/-/ready', '/readyz'],
  ]) {
    const [a, b] = await Promise.all([fetch(`${d.url}${alias}`), fetch(`${d.url}${url}`)]);
    assert.equal(a.status, b.status, alias);
    assert.equal(a.headers.get('content-type'), b.headers.get('content-type'), alias);
    const [bodyA, bodyB] = [(await a.json()) as { detail: string }, (await b.json()) as { detail: string }];
    // /healthz names the tick's age in ms, which moves between the two requests.
    if (url === '/healthz') [bodyA.detail, bodyB.detail] = [bodyA.detail.replace(/\d+ms/, 'Nms'), bodyB.detail.replace(/\d+ms/, 'Nms')];
    assert.deepEqual(bodyA, bodyB, alias);
  }
  const ready = await fetch(`${d.url}/-/ready`);
  assert.equal(ready.status, 503);
  assert.deepEqual(await ready.json(), { status: 'unavailable', detail: '1 probe(s) have no result yet', pending: ['slow'] });
});

test('POST /-/reload: 403 without a token configured, 401 with a wrong one, reloads with the right one, 400 on a bad config', async (t) => {
  const { d, file, url } = await daemon(t, { WATCHDOG_ADMIN_TOKEN: 's3cret' });
  const reload = (token?: string) => fetch(`${d.url}/-/reload`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });

  const wrong = await reload('nope');
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('www-authenticate'), 'Bearer');

  writeFileSync(file, `probes: [{ name: one, kind: http, url: "${url}/" }, { name: two, kind: http, url: "${url}/two" }]`);
  const ok = await reload('s3cret');
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { status: 'ok', detail: 'config reloaded' });
  assert.deepEqual(
    d.engine.states().map((s) => s.spec.name),
    ['one', 'two'],
  );

  writeFileSync(file, 'probes: [{ name: Bad Name, kind: http }]');
  const bad = await reload('s3cret');
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { message: string }).message, /config refused; the previous config keeps running: /);
  assert.equal(d.engine.states().length, 2, 'the previous config keeps running');
});

test('POST /-/reload is off without WATCHDOG_ADMIN_TOKEN', async (t) => {
  const { d } = await daemon(t);
  const res = await fetch(`${d.url}/-/reload`, { method: 'POST' });
  assert.equal(res.status, 403);
  assert.match(((await res.json()) as { message: string }).message, /set WATCHDOG_ADMIN_TOKEN/);
});
