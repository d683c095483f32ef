import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { WatchdogRegistry } from '../../metrics/registry.js';
import { BodyPool } from '../bodyPool.js';

async function metrics(app: FastifyInstance) {
  // The response schema documents the text; fastify sends a string or Buffer as it is, never through a serializer.
  const schema = { summary: 'Prometheus metrics of the watchdog and its probes', produces: ['text/plain'], response: { 200: Type.String({ description: 'The Prometheus text format' }) } };
  const bodies = new BodyPool();
  app.get('/metrics', { schema }, async (_req, reply) => {
    const { registry } = app.watchdog;
    reply.header('content-type', registry.contentType);
    // The daemon's registry hands over pieces of bytes (see WatchdogRegistry); any other prom-client registry its text.
    return registry instanceof WatchdogRegistry ? bodies.send(reply, await registry.metricsParts()) : registry.metrics();
  });
}

export default fp(metrics, { name: 'watchdog-metrics', fastify: '5.x' });
