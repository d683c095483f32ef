import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { WatchdogRegistry } from '../../metrics/registry.js';

async function metrics(app: FastifyInstance) {
  // The response schema documents the text; fastify sends a string or Buffer as it is, never through a serializer.
  const schema = { summary: 'Prometheus metrics of the watchdog and its probes', produces: ['text/plain'], response: { 200: Type.String({ description: 'The Prometheus text format' }) } };
  app.get('/metrics', { schema }, async (_req, reply) => {
    const { registry } = app.watchdog;
    // The daemon's registry hands over pieces of bytes (see WatchdogRegistry); any other prom-client registry its text.
    if (registry instanceof WatchdogRegistry) return sendPieces(reply, registry.contentType, await registry.metricsParts());
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}

/**
 * Writes `pieces` as the body, one after another, in one write to the socket (corked): no copy of them
 * is made. fastify sends one string or buffer, so the reply is taken over (hijacked) to do it. The
 * pieces are never written into again once handed out (the per-probe text is a fresh buffer per
 * change, metrics/probeFamilies.ts), so a response still sending them is not disturbed. Joining them,
 * even into a reused buffer (bodyPool.ts, which /status still uses), was a tenth of the serving
 * thread at 1,000 probes (`npm run bench:scale`, issue 21 §3); with the per-probe text kept joined,
 * this is the same single copy into the socket that a static server makes.
 */
function sendPieces(reply: FastifyReply, contentType: string, pieces: readonly Buffer[]): void {
  let length = 0;
  for (const p of pieces) length += p.length;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': contentType, 'content-length': length });
  res.cork();
  for (const p of pieces) res.write(p);
  res.end();
}

export default fp(metrics, { name: 'watchdog-metrics', fastify: '5.x' });
