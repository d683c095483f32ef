// The API's schemas are compiled at each route's first use (src/server/lazyCompilers.ts), not at
// start: a broken one would surface at a request, not when the daemon starts. So the suite compiles
// them all here, as fastify does by default, and checks that the lazy compilers still validate and
// serialise as fastify's own do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { createMetrics } from '../../src/metrics/registry.js';
import { buildApp, type AppOptions } from '../../src/server/app.js';
import { captureLogger, engineFor } from '../support/engine.js';

function options(t: { after: (fn: () => unknown) => void }): AppOptions {
  const { engine, close } = engineFor('probes:\n  - { name: api, kind: tcp, address: "127.0.0.1:1" }\n');
  t.after(close);
  const reloadStatus = () => ({ ok: true, at: 0 });
  const registry = createMetrics({ engine, version: 'test', stack: 'test', reloadStatus, processMetrics: false });
  return { engine, registry, logger: captureLogger().logger, version: 'test', reloadStatus };
}

async function app(t: { after: (fn: () => unknown) => void }, opts: AppOptions): Promise<FastifyInstance> {
  const built = await buildApp(opts);
  t.after(() => built.close());
  return built;
}

/** A route whose query schema Ajv refuses: `type` names no JSON type. */
const broken = (a: FastifyInstance) => a.get('/broken', { schema: { querystring: { type: 'object', properties: { n: { type: 'nonsense' } } } } }, async () => 'never');

test("every route's schemas compile, at start, with fastify's own compilers", async (t) => {
  const eager = await app(t, { ...options(t), eagerSchemas: true });
  await eager.ready();
  // The same check can fail: a broken schema stops the eager start.
  const withBroken = await app(t, { ...options(t), eagerSchemas: true });
  broken(withBroken);
  await assert.rejects(async () => {
    await withBroken.ready();
  }, /nonsense|schema/i);
});

test('the lazy compilers compile on first use: a broken schema fails its route, and the rest validate and serialise as before', async (t) => {
  const lazy = await app(t, options(t));
  broken(lazy);
  // Serialised through its response schema, which drops the fields it does not name.
  lazy.get('/typed', { schema: { response: { 200: Type.Object({ kept: Type.String() }) } } }, async () => ({ kept: 'yes', dropped: 'no' }));
  await lazy.ready();
  const res = await lazy.inject('/broken?n=1');
  assert.equal(res.statusCode, 500, res.body);

  // Validation: a query value outside the schema is refused with the route's 400, and the reason.
  const bad = await lazy.inject('/status?format=yaml');
  assert.equal(bad.statusCode, 400, bad.body);
  assert.match(bad.body, /format/);
  const typed = await lazy.inject('/typed');
  assert.deepEqual(typed.json(), { kept: 'yes' });
});
