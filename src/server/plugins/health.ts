import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { Health } from '../schemas.js';

/** The scheduler ticks every second; this many seconds without a tick means the event loop is stuck. */
const MAX_TICK_AGE_MS = 5000;

/**
 * The answer as JSON text, which fastify sends as it is. Route serializers compile on a route's first
 * request (lazyCompilers.ts), and the first compile loads fast-json-stringify: ~100 ms on a quiet
 * machine, a second under load, which the first health check after a start must not wait for (Docker's
 * HEALTHCHECK, an orchestrator's probe). The Health schema still documents the reply.
 */
function answer(reply: FastifyReply, code: 200 | 503, body: Static<typeof Health>) {
  return reply.code(code).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

async function health(app: FastifyInstance) {
  const healthz = async (_req: FastifyRequest, reply: FastifyReply) => {
    const { engine, now } = app.watchdog;
    const age = now() - engine.lastTick;
    if (engine.lastTick === 0 || age > MAX_TICK_AGE_MS) {
      return answer(reply, 503, { status: 'unavailable', detail: engine.lastTick === 0 ? 'scheduler not started' : `scheduler last ticked ${Math.round(age / 1000)}s ago` });
    }
    return answer(reply, 200, { status: 'ok', detail: `scheduler ticked ${age}ms ago` });
  };

  const readyz = async (_req: FastifyRequest, reply: FastifyReply) => {
    const { engine, reloadStatus } = app.watchdog;
    const pending = engine
      .states()
      .filter((s) => s.last === undefined)
      .map((s) => s.spec.name);
    if (pending.length) return answer(reply, 503, { status: 'unavailable', detail: `${pending.length} probe(s) have no result yet`, pending });
    const reload = reloadStatus();
    return answer(reply, 200, {
      status: 'ok',
      detail: reload.ok ? 'config loaded; every probe has a result' : 'every probe has a result; the last config reload failed, the previous config runs',
    });
  };

  // Each under its Prometheus spelling too (/-/healthy, /-/ready), which operators type without
  // thinking: the same handler, so the alias can never answer differently.
  for (const [url, alias, summary, handler] of [
    ['/healthz', '/-/healthy', 'The daemon is alive: its scheduler ticks', healthz],
    ['/readyz', '/-/ready', 'Config loaded and every probe has a first result', readyz],
  ] as const) {
    app.get(url, { schema: { summary, response: { 200: Health, 503: Health } } }, handler);
    app.get(alias, { schema: { summary: `The same as ${url}`, response: { 200: Health, 503: Health } } }, handler);
  }
}

export default fp(health, { name: 'watchdog-health', fastify: '5.x' });
