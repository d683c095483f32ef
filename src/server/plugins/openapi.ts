// GET /openapi.json: @fastify/swagger builds the document from the routes' own schemas as they
// register, so it cannot drift from what the server validates and serialises. Only the generator:
// no UI is served (and none loaded).
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

async function openapi(app: FastifyInstance, opts: { version: string }) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'stack-watchdog', version: opts.version, description: 'Health probes of a Prometheus/Tempo/Alertmanager stack.' },
      components: {
        securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: "The daemon's WATCHDOG_ADMIN_TOKEN" } },
      },
    },
    // Shared schemas (app.addSchema) keep their $id as their name under components.schemas
    // (ProbeView, ErrorReply, ...) instead of the default def-0, def-1.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

export default fp(openapi, { name: 'watchdog-openapi', fastify: '5.x' });
