// The OpenAPI document is built from the routes' own schemas as they register, so it cannot
// drift from what the server validates and serialises.
import fp from 'fastify-plugin';
import type { FastifyInstance, RouteOptions } from 'fastify';

interface RouteSchema {
  summary?: string;
  querystring?: { properties?: Record<string, unknown> };
  params?: { properties?: Record<string, unknown> };
  body?: unknown;
  response?: Record<string, unknown>;
  produces?: string[];
}

async function openapi(app: FastifyInstance, opts: { version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as RouteSchema | undefined;
    if (!schema || route.url === '/openapi.json') return;
    const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    for (const method of methods) {
      const parameters = [
        ...Object.entries(schema.params?.properties ?? {}).map(([name, s]) => ({ name, in: 'path', required: true, schema: s })),
        ...Object.entries(schema.querystring?.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: false, schema: s })),
      ];
      const responses = Object.fromEntries(
        Object.entries(schema.response ?? { 200: {} }).map(([code, s]) => [code, { description: `HTTP ${code}`, content: { [schema.produces?.[0] ?? 'application/json']: { schema: fixRefs(s) } } }]),
      );
      const requestBody = schema.body ? { required: true, content: { 'application/json': { schema: fixRefs(schema.body) } } } : undefined;
      (paths[path] ??= {})[method.toLowerCase()] = { summary: schema.summary, parameters, ...(requestBody ? { requestBody } : {}), responses };
    }
  });
  app.get('/openapi.json', async () => ({
    openapi: '3.0.3',
    info: { title: 'stack-watchdog', version: opts.version, description: 'Health probes of a Prometheus/Tempo/Alertmanager stack.' },
    paths,
    components: { schemas: Object.fromEntries(Object.entries(app.getSchemas()).map(([id, s]) => [id, fixRefs(s)])) },
  }));
}

/** Fastify's `Name#` references → OpenAPI's `#/components/schemas/Name`. */
function fixRefs(s: unknown): unknown {
  return JSON.parse(JSON.stringify(s ?? {}), (key, v: unknown) =>
    key === '$ref' && typeof v === 'string' && v.endsWith('#') ? `#/components/schemas/${v.slice(0, -1)}` : key === '$id' ? undefined : v,
  );
}

export default fp(openapi, { name: 'watchdog-openapi', fastify: '5.x' });
