// Maintenance windows over HTTP: open one (POST, token), list them (GET), end one early (DELETE, token).
// The token and its check are every admin route's (auth.ts).
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { boundedDuration, MAX_WINDOW_MS } from '../../config/maintenance.js';
import { MaintenanceSelector } from '../../config/schema.js';
import { MaintenanceList, MaintenanceWindowView } from '../../report/schemas.js';
import { windowView } from '../../report/maintenance.js';
import { ErrorRef, errorReply } from '../schemas.js';
import { adminSecurity } from './auth.js';

const MaintenanceRequest = Type.Object(
  {
    duration: Type.String({ description: 'How long, e.g. "30m" or "2h"; at most maintenance.maxDuration (default 24h).', maxLength: 32 }),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
    probes: MaintenanceSelector.probes,
    kinds: MaintenanceSelector.kinds,
    // The config's schema words its error with errorMessage, a keyword fastify's validator refuses.
    labels: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,62}$' }), Type.String({ maxLength: 128 }))),
  },
  { additionalProperties: false },
);

const WindowParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9@:.TZ-]{1,100}$' }) });

const errors = { 400: ErrorRef, 401: ErrorRef, 403: ErrorRef, 503: ErrorRef };

const maintenance: FastifyPluginAsyncTypebox = async (app) => {
  /** The routes that change windows: 503 when this server has none, then the admin token's check. */
  const changes = [
    async (_req: FastifyRequest, reply: FastifyReply) => (app.watchdog.maintenance ? undefined : reply.code(503).send(errorReply(503, 'this server has no maintenance windows'))),
    app.adminOnly('changing maintenance windows is disabled: set WATCHDOG_ADMIN_TOKEN to enable it'),
  ];
  const specs = () => app.watchdog.engine.states();
  /** Set by the first hook of `changes` on every route that uses them. */
  const manager = () => app.watchdog.maintenance!;

  app.post(
    '/maintenance',
    {
      onRequest: changes,
      schema: {
        summary: 'Open a maintenance window now: the probes it covers keep running but page nobody (needs Authorization: Bearer <WATCHDOG_ADMIN_TOKEN>)',
        security: adminSecurity,
        body: MaintenanceRequest,
        response: { 201: MaintenanceWindowView, ...errors },
      },
    },
    async (req, reply) => {
      const m = manager();
      const duration = boundedDuration(req.body.duration, Math.min(m.maxDurationMs, MAX_WINDOW_MS), 'maintenance.maxDuration');
      if (!duration.ok) return reply.code(400).send(errorReply(400, `duration: ${duration.problem}`));
      const selector = { probes: req.body.probes ?? [], kinds: req.body.kinds ?? [], labels: req.body.labels ?? {} };
      const opened = m.open(
        { durationMs: duration.value, reason: req.body.reason, selector },
        specs().map((s) => s.spec),
      );
      if (!opened.ok) return reply.code(400).send(errorReply(400, opened.problem));
      req.log.info({ id: opened.window.id, reason: opened.window.reason }, 'maintenance window opened over HTTP');
      return reply.code(201).send(windowView(opened.window, specs()));
    },
  );

  app.get('/maintenance', { schema: { summary: 'Open maintenance windows, and the next occurrence of each config window', response: { 200: MaintenanceList } } }, async () => {
    const m = app.watchdog.maintenance;
    const states = specs();
    const now = app.watchdog.now();
    return { active: (m?.active(now) ?? []).map((w) => windowView(w, states)), upcoming: (m?.upcoming(now) ?? []).map((w) => windowView(w, states)) };
  });

  app.delete(
    '/maintenance/:id',
    {
      onRequest: changes,
      schema: {
        summary: 'End a maintenance window opened over the API now (needs Authorization: Bearer <WATCHDOG_ADMIN_TOKEN>)',
        security: adminSecurity,
        params: WindowParams,
        response: { 200: MaintenanceWindowView, 404: ErrorRef, 409: ErrorRef, ...errors },
      },
    },
    async (req, reply) => {
      const ended = manager().end(req.params.id);
      if (!ended.ok) return reply.code(ended.status).send(errorReply(ended.status, ended.problem));
      return windowView(ended.window, specs());
    },
  );
};

export default fp(maintenance, { name: 'watchdog-maintenance', fastify: '5.x', dependencies: ['watchdog-auth'] });
