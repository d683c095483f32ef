// The admin token's one check, for every route that changes something (run a probe now, reload, open or
// end a maintenance window). A route opts in with `onRequest: app.adminOnly(...)` and
// `security: adminSecurity` (the OpenAPI document says which routes need the token). It runs on
// request, before the body is read or validated: a caller without the token learns nothing else.
import { timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorReply } from '../schemas.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * An onRequest hook: 403 with `disabled` (what is off, and that WATCHDOG_ADMIN_TOKEN turns it on)
     * when no token is configured; 401 with `www-authenticate: Bearer` when the request's is missing or wrong.
     */
    adminOnly(disabled: string): (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
  }
}

/** The OpenAPI security requirement of the routes behind adminOnly (scheme declared in openapi.ts). */
export const adminSecurity = [{ adminToken: [] }];

export function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  // Constant time, so the token cannot be guessed byte by byte from response times.
  return given.length === want.length && timingSafeEqual(given, want);
}

async function auth(app: FastifyInstance) {
  app.decorate('adminOnly', (disabled: string) => async (req: FastifyRequest, reply: FastifyReply) => {
    const { adminToken } = app.watchdog;
    if (!adminToken) return reply.code(403).send(errorReply(403, disabled));
    if (!tokenMatches(req.headers.authorization, adminToken)) return reply.code(401).header('www-authenticate', 'Bearer').send(errorReply(401, 'missing or wrong bearer token'));
    return undefined;
  });
}

export default fp(auth, { name: 'watchdog-auth', fastify: '5.x' });
