// The first health check after a start must not wait for a schema compiler: route serializers compile
// on first use (src/server/lazyCompilers.ts), and the first compile loads fast-json-stringify and Ajv,
// ~100 ms on a quiet machine and past a second under load (a CI run at load 7 timed /healthz out).
// Its own file, so that nothing else in this process has loaded either library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createMetrics } from '../../src/metrics/registry.js';
import { buildApp } from '../../src/server/app.js';
import { captureLogger, engineFor } from '../support/engine.js';

const require = createRequire(import.meta.url);
/** Whether the module at `id` (resolved as fastify resolves it) has been loaded in this process. */
const loaded = (id: string) => require.resolve(id, { paths: [require.resolve('fastify')] }) in require.cache;

test('/healthz, /readyz and /metrics answer without loading a schema compiler; a route that serialises loads them', async (t) => {
  const { engine, close } = engineFor('probes:\n  - { name: api, kind: tcp, address: "127.0.0.1:1" }\n');
  t.after(close);
  const reloadStatus = () => ({ ok: true, at: 0 });
  const app = await buildApp({
    engine,
    registry: createMetrics({ engine, version: 'test', stack: 'test', reloadStatus, processMetrics: false }),
    logger: captureLogger().logger,
    version: 'test',
    reloadStatus,
  });
  t.after(() => app.close());
  await app.ready();
  for (const url of ['/healthz', '/-/healthy', '/readyz', '/-/ready', '/metrics']) {
    const res = await app.inject(url);
    assert.ok([200, 503].includes(res.statusCode), `${url}: ${res.statusCode} ${res.body}`);
    if (url !== '/metrics') {
      assert.match(res.headers['content-type'] as string, /^application\/json/);
      assert.ok(['ok', 'unavailable'].includes(res.json<{ status: string }>().status), res.body);
    }
  }
  assert.equal(loaded('fast-json-stringify'), false, 'a health or metrics request loaded fast-json-stringify');
  assert.equal(loaded('ajv'), false, 'a health or metrics request loaded Ajv');
  // The check can fail: a route that serialises through its schema loads the compiler.
  const detail = await app.inject('/status/api');
  assert.equal(detail.statusCode, 200, detail.body);
  assert.equal(loaded('fast-json-stringify'), true, '/status/api did not load fast-json-stringify: the check above proves nothing');
  assert.equal(loaded('ajv'), true, '/status/api (a validated parameter) did not load Ajv: the check above proves nothing');
});
