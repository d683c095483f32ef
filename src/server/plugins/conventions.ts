// POST /-/reload, the Prometheus ecosystem's spelling of SIGHUP. (/-/healthy and /-/ready are the
// health routes' own aliases: src/server/plugins/health.ts.)
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { errorReply } from '../schemas.js';
import { tokenMatches } from './admin.js';

const ReloadReply = Type.Object({ status: Type.Literal('ok'), detail: Type.String() });

async function conventions(app: FastifyInstance) {
  app.post(
    '/-/reload',
    {
      schema: {
        summary: 'Load the config again, as SIGHUP does (needs Authorization: Bearer <WATCHDOG_ADMIN_TOKEN>); 400 when the new config is refused',
        response: { 200: ReloadReply, 400: { $ref: 'ErrorReply#' }, 401: { $ref: 'ErrorReply#' }, 403: { $ref: 'ErrorReply#' }, 503: { $ref: 'ErrorReply#' } },
      },
    },
    async (req, reply) => {
      const { adminToken, reload, reloadStatus } = app.watchdog;
      if (!adminToken) return reply.code(403).send(errorReply(403, 'reloading over HTTP is disabled: set WATCHDOG_ADMIN_TOKEN to enable it, or send SIGHUP'));
      if (!tokenMatches(req.headers.authorization, adminToken)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send(errorReply(401, 'missing or wrong bearer token'));
      }
      if (!reload) return reply.code(503).send(errorReply(503, 'this server cannot reload its config'));
      req.log.info('reload requested over HTTP');
      if (await reload()) return { status: 'ok' as const, detail: 'config reloaded' };
      return reply.code(400).send(errorReply(400, `config refused; the previous config keeps running: ${reloadStatus().error ?? 'see the log'}`));
    },
  );
}

export default fp(conventions, { name: 'watchdog-conventions', fastify: '5.x', dependencies: ['watchdog-health'] });
