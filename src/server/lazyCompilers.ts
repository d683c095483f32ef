// fastify's own schema compilers (Ajv for what a request carries, fast-json-stringify for replies),
// each route's compiled the first time the route uses it rather than all at start. At start fastify
// loads both libraries and compiles every route's validators and serializers, ~40 functions; a
// watchdog that only Prometheus asks (/metrics has neither) needs none of them. Idle RSS is capped at
// 80 MiB (issue 21 §3); README "Performance" has what `npm run bench:idle` measured this to save.
// The same compilers with the same options as fastify's defaults: only when they run differs. A broken
// schema now fails at its route's first request instead of at start, so the suite compiles them all at
// start (test/server/schemas-compile.test.ts, AppOptions.eagerSchemas).
import { createRequire } from 'node:module';

/** What fastify hands a compiler: one route's schema for one part (body, querystring, a status code's reply). */
interface RouteSchema {
  schema: unknown;
  method: string;
  url: string;
  httpPart?: string;
  httpStatus?: string;
}

/** A compiled validator (Ajv's, with `errors` after a failed call) or serializer. */
type Compiled = ((data: unknown) => unknown) & { errors?: unknown };
type Compiler = (route: RouteSchema) => Compiled;
/** fastify's `schemaController.compilersFactory` builders: shared schemas and options in, a compiler out. */
type CompilerBuilder = (externalSchemas: unknown, options: unknown) => Compiler;

const require = createRequire(import.meta.url);

/**
 * `load()`'s builder, loaded and asked for a compiler on the first compile, and each route's function
 * compiled on its first call. The shared schemas are read then, when every one has long been added.
 */
function lazily(load: () => CompilerBuilder): CompilerBuilder {
  return (externalSchemas, options) => {
    let compiler: Compiler | undefined;
    return (route) => {
      let compiled: Compiled | undefined;
      const lazy: Compiled = (data) => {
        compiled ??= (compiler ??= load()(externalSchemas, options))(route);
        const out = compiled(data);
        // fastify reads a failed validation's errors off the function it called.
        lazy.errors = compiled.errors;
        return out;
      };
      return lazy;
    };
  };
}

/** fastify's default validator builder (@fastify/ajv-compiler), as fastify itself makes it. */
const ajvBuilder = (): CompilerBuilder => (require('@fastify/ajv-compiler') as () => CompilerBuilder)();
/** fastify's default serializer builder (@fastify/fast-json-stringify-compiler), as fastify itself makes it. */
const serializerBuilder = (): CompilerBuilder => (require('@fastify/fast-json-stringify-compiler') as () => CompilerBuilder)();

/** For `Fastify({ schemaController })`. */
export const lazyCompilers = { compilersFactory: { buildValidator: lazily(ajvBuilder), buildSerializer: lazily(serializerBuilder) } };
