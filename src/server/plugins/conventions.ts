// POST /-/reload, the Prometheus ecosystem's spelling of SIGHUP. (/-/healthy and /-/ready are the
// health routes' own aliases: src/server/plugins/health.ts.)
import fp from 'fastify-plugin';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ErrorRef, errorReply } from '../schemas.js';
import { adminSecurity } from './auth.js';

const ReloadReply = Type.Object({ status: Type.Literal('ok'), detail: Type.String() });

const conventions: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/-/reload',
    {
      onRequest: app.adminOnly('reloading over HTTP is disabled: set WATCHDOG_ADMIN_TOKEN to enable it, or send SIGHUP'),
      schema: {
        summary: 'Load the config again, as SIGHUP does (needs Authorization: Bearer <WATCHDOG_ADMIN_TOKEN>); 400 when the new config is refused',
        security: adminSecurity,
        response: { 200: ReloadReply, 400: ErrorRef, 401: ErrorRef, 403: ErrorRef, 503: ErrorRef },
      },
    },
    async (req, reply) => {
      const { reload, reloadStatus } = app.watchdog;
      if (!reload) return reply.code(503).send(errorReply(503, 'this server cannot reload its config'));
      req.log.info('reload requested over HTTP');
      if (await reload()) return { status: 'ok' as const, detail: 'config reloaded' };
      return reply.code(400).send(errorReply(400, `config refused; the previous config keeps running: ${reloadStatus().error ?? 'see the log'}`));
    },
  );
};

export default fp(conventions, { name: 'watchdog-conventions', fastify: '5.x', dependencies: ['watchdog-health', 'watchdog-auth'] });
