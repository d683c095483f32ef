import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { WatchdogRegistry } from '../../metrics/registry.js';

async function metrics(app: FastifyInstance) {
  app.get('/metrics', { schema: { summary: 'Prometheus metrics of the watchdog and its probes', produces: ['text/plain'] } }, async (_req, reply) => {
    const { registry } = app.watchdog;
    reply.header('content-type', registry.contentType);
    // The daemon's registry hands over bytes (see WatchdogRegistry); any other prom-client registry its text.
    return registry instanceof WatchdogRegistry ? registry.metricsBuffer() : registry.metrics();
  });
}

export default fp(metrics, { name: 'watchdog-metrics', fastify: '5.x' });
