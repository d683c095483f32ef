import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Health } from '../schemas.js';

/** The scheduler ticks every second; this many seconds without a tick means the event loop is stuck. */
const MAX_TICK_AGE_MS = 5000;

async function health(app: FastifyInstance) {
  const healthz = async (_req: FastifyRequest, reply: FastifyReply) => {
    const { engine, now } = app.watchdog;
    const age = now() - engine.lastTick;
    if (engine.lastTick === 0 || age > MAX_TICK_AGE_MS) {
      return reply.code(503).send({ status: 'unavailable', detail: engine.lastTick === 0 ? 'scheduler not started' : `scheduler last ticked ${Math.round(age / 1000)}s ago` });
    }
    return { status: 'ok', detail: `scheduler ticked ${age}ms ago` };
  };

  const readyz = async (_req: FastifyRequest, reply: FastifyReply) => {
    const { engine, reloadStatus } = app.watchdog;
    const pending = engine
      .states()
      .filter((s) => s.last === undefined)
      .map((s) => s.spec.name);
    if (pending.length) return reply.code(503).send({ status: 'unavailable', detail: `${pending.length} probe(s) have no result yet`, pending });
    const reload = reloadStatus();
    return { status: 'ok', detail: reload.ok ? 'config loaded; every probe has a result' : 'every probe has a result; the last config reload failed, the previous config runs' };
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
