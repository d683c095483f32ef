import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

async function metrics(app: FastifyInstance) {
  app.get('/metrics', { schema: { summary: 'Prometheus metrics of the watchdog and its probes', produces: ['text/plain'] } }, async (_req, reply) => {
    const { registry } = app.watchdog;
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}

export default fp(metrics, { name: 'watchdog-metrics', fastify: '5.x' });
