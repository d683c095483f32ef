// Maintenance windows over HTTP: open one (POST, token), list them (GET), end one early (DELETE, token).
// The token and its check are the run-now route's (admin.ts).
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { boundedDuration, MAX_WINDOW_MS } from '../../config/maintenance.js';
import { MaintenanceSelector } from '../../config/schema.js';
import { MaintenanceWindowView } from '../../report/schemas.js';
import { windowView } from '../../report/maintenance.js';
import { errorReply } from '../schemas.js';
import { tokenMatches } from './admin.js';

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

const MaintenanceList = Type.Object({
  active: Type.Array(MaintenanceWindowView, { description: 'Open windows, soonest end first.' }),
  upcoming: Type.Array(MaintenanceWindowView, { description: "The config windows' next occurrences." }),
});

const WindowParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9@:.TZ-]{1,100}$' }) });

const errors = { 400: { $ref: 'ErrorReply#' }, 401: { $ref: 'ErrorReply#' }, 403: { $ref: 'ErrorReply#' }, 503: { $ref: 'ErrorReply#' } };

async function maintenance(app: FastifyInstance) {
  /** The run-now route's check; a reply when the request may not change windows. */
  const refuse = (req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined => {
    const { adminToken } = app.watchdog;
    if (!app.watchdog.maintenance) return reply.code(503).send(errorReply(503, 'this server has no maintenance windows'));
    if (!adminToken) return reply.code(403).send(errorReply(403, 'changing maintenance windows is disabled: set WATCHDOG_ADMIN_TOKEN to enable it'));
    if (!tokenMatches(req.headers.authorization, adminToken)) return reply.code(401).header('www-authenticate', 'Bearer').send(errorReply(401, 'missing or wrong bearer token'));
    return undefined;
  };
  const specs = () => app.watchdog.engine.states();

  app.post<{ Body: Static<typeof MaintenanceRequest> }>(
    '/maintenance',
    {
      schema: {
        summary: 'Open a maintenance window now: the probes it covers keep running but page nobody (needs Authorization: Bearer <WATCHDOG_ADMIN_TOKEN>)',
        body: MaintenanceRequest,
        response: { 201: MaintenanceWindowView, ...errors },
      },
    },
    async (req, reply) => {
      if (refuse(req, reply)) return reply;
      const m = app.watchdog.maintenance!;
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

  app.delete<{ Params: Static<typeof WindowParams> }>(
    '/maintenance/:id',
    {
      schema: {
        summary: 'End a maintenance window opened over the API now (needs Authorization: Bearer <WATCHDOG_ADMIN_TOKEN>)',
        params: WindowParams,
        response: { 200: MaintenanceWindowView, 404: { $ref: 'ErrorReply#' }, 409: { $ref: 'ErrorReply#' }, ...errors },
      },
    },
    async (req, reply) => {
      if (refuse(req, reply)) return reply;
      const ended = app.watchdog.maintenance!.end(req.params.id);
      if (!ended.ok) return reply.code(ended.status).send(errorReply(ended.status, ended.problem));
      return windowView(ended.window, specs());
    },
  );
}

export default fp(maintenance, { name: 'watchdog-maintenance', fastify: '5.x' });
