// The admin token's one hook (src/server/plugins/auth.ts): every route that changes something is
// behind it, the OpenAPI document says which, and it answers before the request's body is read.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { captureLogger, eventually } from '../support/engine.js';
import { jsonServer } from '../support/misbehaving.js';

const TOKEN = 'let-me-in-0123';

async function daemon(t: TestContext, env: Record<string, string>): Promise<Daemon> {
  const up = await jsonServer(() => ({ status: 200, body: {} }));
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-auth-'));
  writeFileSync(join(dir, 'probes.yaml'), `probes: [{ name: web, kind: http, url: "${up.url}/" }]\n`);
  const settings = readSettings({ WATCHDOG_CONFIG: join(dir, 'probes.yaml'), WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', ...env });
  const d = await startDaemon(settings, { logger: captureLogger('warn').logger, processMetrics: false });
  t.after(async () => {
    await d.stop();
    await up.close();
  });
  await eventually(() => d.engine.ready, 'first results');
  return d;
}

interface Operation {
  method: string;
  path: string;
  secured: boolean;
}

/** Every operation of the daemon's OpenAPI document, with a concrete URL for its path parameters. */
async function operations(d: Daemon): Promise<Operation[]> {
  const doc = (await (await fetch(`${d.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
    components: { securitySchemes?: Record<string, { type: string; scheme: string }> };
  };
  assert.deepEqual(doc.components.securitySchemes?.adminToken, { type: 'http', scheme: 'bearer', description: "The daemon's WATCHDOG_ADMIN_TOKEN" });
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path: path.replace('{probe}', 'web').replace('{id}', 'm-00000000'),
      secured: JSON.stringify(op.security) === JSON.stringify([{ adminToken: [] }]),
    })),
  );
}

const send = (d: Daemon, op: Operation, headers: Record<string, string> = {}, body?: string) =>
  fetch(`${d.url}${op.path}`, { method: op.method, headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });

test('every route that changes something needs the token, and the OpenAPI document marks exactly those', async (t) => {
  const d = await daemon(t, { WATCHDOG_ADMIN_TOKEN: TOKEN });
  const ops = await operations(d);
  assert.deepEqual(
    ops.filter((o) => o.secured).map((o) => `${o.method} ${o.path}`),
    ops.filter((o) => o.method !== 'GET').map((o) => `${o.method} ${o.path}`),
    'secured = every operation that is not a GET',
  );
  assert.deepEqual(
    ops
      .filter((o) => o.secured)
      .map((o) => `${o.method} ${o.path}`)
      .sort(),
    ['DELETE /maintenance/m-00000000', 'POST /-/reload', 'POST /maintenance', 'POST /probes/web/run'],
  );

  const wrongOfSameLength = TOKEN.slice(0, -1) + 'X';
  for (const op of ops.filter((o) => o.secured)) {
    const what = `${op.method} ${op.path}`;
    for (const [how, headers] of [
      ['no header', {}],
      ['wrong token', { authorization: `Bearer ${wrongOfSameLength}` }],
      ['token without the Bearer scheme', { authorization: TOKEN }],
      ['longer token', { authorization: `Bearer ${TOKEN}x` }],
    ] as const) {
      const res = await send(d, op, headers);
      const body = (await res.json()) as { statusCode: number; message: string };
      assert.equal(res.status, 401, `${what}, ${how}`);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer', `${what}, ${how}`);
      assert.deepEqual(body, { statusCode: 401, error: 'Unauthorized', message: 'missing or wrong bearer token' }, `${what}, ${how}`);
    }
    // The check comes before the body is parsed or validated: without the token a malformed body is still a 401.
    assert.equal((await send(d, op, {}, '{"not json')).status, 401, `${what}, malformed body without the token`);
    // With the token the route's own answer comes through (whatever it is, not the hook's).
    const res = await send(d, op, { authorization: `Bearer ${TOKEN}` }, op.path === '/maintenance' ? JSON.stringify({ duration: '1m', reason: 'auth test' }) : undefined);
    assert.ok(![401, 403].includes(res.status), `${what} with the token: ${res.status} ${await res.text()}`);
  }
});

test('without WATCHDOG_ADMIN_TOKEN every such route is 403 and says how to turn it on', async (t) => {
  const d = await daemon(t, {});
  for (const op of (await operations(d)).filter((o) => o.secured)) {
    const res = await send(d, op, { authorization: 'Bearer anything' });
    const body = (await res.json()) as { message: string };
    assert.equal(res.status, 403, `${op.method} ${op.path}`);
    assert.match(body.message, /is disabled: set WATCHDOG_ADMIN_TOKEN to enable it/, `${op.method} ${op.path}`);
  }
});
