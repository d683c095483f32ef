import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { ProbeDetail, StatusReport } from '../../report/schemas.js';
import { errorReply, FormatQuery, ProbeParams } from '../schemas.js';
import { probeDetail, statusReportJson, statusTable } from '../../report/view.js';
import { probePage } from '../../report/page.js';
import { lookupAt, maintenanceText, probeMaintenance } from '../../report/maintenance.js';
import { sendHtml, wantsHtml } from '../html.js';

/** Text for people at a terminal, JSON for everything else (jq, scripts). */
function wantsText(req: FastifyRequest<{ Querystring: Static<typeof FormatQuery> }>): boolean {
  if (req.query.format) return req.query.format === 'text';
  const accept = req.headers.accept ?? '';
  return accept.includes('text/plain') && !accept.includes('application/json');
}

async function status(app: FastifyInstance) {
  app.get<{ Querystring: Static<typeof FormatQuery> }>(
    '/status',
    {
      schema: {
        summary: "Every probe's current status; 503 while a critical probe fails, so `curl -f` works in scripts",
        querystring: FormatQuery,
        response: { 200: StatusReport, 503: StatusReport },
      },
    },
    async (req, reply) => {
      const { engine, now, maintenance } = app.watchdog;
      const states = engine.states();
      const lookup = lookupAt(maintenance, now());
      const report = statusReportJson(states, now(), engine.discovery, lookup);
      reply.code(report.status === 'failing' ? 503 : 200).serializer((s: unknown) => s as string);
      if (wantsText(req)) return reply.type('text/plain; charset=utf-8').send(statusTable(states, now(), { discovery: engine.discovery }) + maintenanceText(lookup?.active ?? [], states, now()));
      // Already JSON (kept per probe, see statusReportJson); the schema above still documents it.
      return reply.type('application/json; charset=utf-8').send(report.json);
    },
  );

  app.get<{ Params: Static<typeof ProbeParams> }>(
    '/status/:probe',
    {
      schema: {
        summary: 'One probe with its recent history and failures (a page for a browser: Accept: text/html)',
        params: ProbeParams,
        response: { 200: ProbeDetail, 404: { $ref: 'ErrorReply#' } },
      },
    },
    async (req, reply) => {
      const state = app.watchdog.engine.state(req.params.probe);
      if (!state) return reply.code(404).send(errorReply(404, `no probe named "${req.params.probe}"`));
      const lookup = lookupAt(app.watchdog.maintenance, app.watchdog.now());
      if (wantsHtml(req)) return sendHtml(reply, probePage(state, app.watchdog.now(), lookup));
      const window = probeMaintenance(lookup?.covering(state));
      return window ? { ...probeDetail(state), maintenance: window } : probeDetail(state);
    },
  );
}

export default fp(status, { name: 'watchdog-status', fastify: '5.x' });
