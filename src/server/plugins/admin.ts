import fp from 'fastify-plugin';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProbeDetail } from '../../report/schemas.js';
import { ErrorRef, errorReply, ProbeParams } from '../schemas.js';
import { probeDetail } from '../../report/view.js';
import { adminSecurity } from './auth.js';

const admin: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/probes/:probe/run',
    {
      onRequest: app.adminOnly('running probes on demand is disabled: set WATCHDOG_ADMIN_TOKEN to enable it'),
      schema: {
        summary: 'Run one probe now and return its result (needs Authorization: Bearer <WATCHDOG_ADMIN_TOKEN>)',
        security: adminSecurity,
        params: ProbeParams,
        response: { 200: ProbeDetail, 401: ErrorRef, 403: ErrorRef, 404: ErrorRef },
      },
    },
    async (req, reply) => {
      const { engine } = app.watchdog;
      if (!engine.state(req.params.probe)) return reply.code(404).send(errorReply(404, `no probe named "${req.params.probe}"`));
      const ran = await engine.runNow(req.params.probe);
      const state = engine.state(req.params.probe);
      // A reload removed or replaced the probe while it ran: its result is nobody's to report.
      if (!ran || !state) return reply.code(404).send(errorReply(404, `probe "${req.params.probe}" was removed or replaced by a config reload while it ran`));
      req.log.info({ probe: req.params.probe }, 'probe run on demand');
      return probeDetail(state);
    },
  );
};

export default fp(admin, { name: 'watchdog-admin', fastify: '5.x', dependencies: ['watchdog-auth'] });
