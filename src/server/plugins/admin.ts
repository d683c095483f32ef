import { timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { ProbeDetail } from '../../report/schemas.js';
import { errorReply, ProbeParams } from '../schemas.js';
import { probeDetail } from '../../report/view.js';

export function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  // Constant time, so the token cannot be guessed byte by byte from response times.
  return given.length === want.length && timingSafeEqual(given, want);
}

async function admin(app: FastifyInstance) {
  app.post<{ Params: Static<typeof ProbeParams> }>(
    '/probes/:probe/run',
    {
      schema: {
        summary: 'Run one probe now and return its result (needs Authorization: Bearer <WATCHDOG_ADMIN_TOKEN>)',
        params: ProbeParams,
        response: { 200: ProbeDetail, 401: { $ref: 'ErrorReply#' }, 403: { $ref: 'ErrorReply#' }, 404: { $ref: 'ErrorReply#' } },
      },
    },
    async (req, reply) => {
      const { engine, adminToken } = app.watchdog;
      if (!adminToken) return reply.code(403).send(errorReply(403, 'running probes on demand is disabled: set WATCHDOG_ADMIN_TOKEN to enable it'));
      if (!tokenMatches(req.headers.authorization, adminToken)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send(errorReply(401, 'missing or wrong bearer token'));
      }
      if (!engine.state(req.params.probe)) return reply.code(404).send(errorReply(404, `no probe named "${req.params.probe}"`));
      const ran = await engine.runNow(req.params.probe);
      const state = engine.state(req.params.probe);
      // A reload removed or replaced the probe while it ran: its result is nobody's to report.
      if (!ran || !state) return reply.code(404).send(errorReply(404, `probe "${req.params.probe}" was removed or replaced by a config reload while it ran`));
      req.log.info({ probe: req.params.probe }, 'probe run on demand');
      return probeDetail(state);
    },
  );
}

export default fp(admin, { name: 'watchdog-admin', fastify: '5.x' });
