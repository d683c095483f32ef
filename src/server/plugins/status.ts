import fp from 'fastify-plugin';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ProbeDetail, StatusReport } from '../../report/schemas.js';
import { ErrorRef, errorReply, FormatQuery, ProbeParams, ProbeQuery } from '../schemas.js';
import { overall, probeDetail, statusReportParts, statusTable } from '../../report/view.js';
import { BodyPool } from '../bodyPool.js';
import { probePage } from '../../report/page.js';
import { lookupAt, maintenanceText, probeMaintenance } from '../../report/maintenance.js';
import { sendHtml, wantsHtml } from '../html.js';
import { probeIncidents } from '../../report/incidents.js';

/** Text for people at a terminal, JSON for everything else (jq, scripts). */
function wantsText(format: 'json' | 'text' | undefined, accept = ''): boolean {
  if (format) return format === 'text';
  return accept.includes('text/plain') && !accept.includes('application/json');
}

/**
 * GET /status is documented as a StatusReport but sent as bytes: the JSON that statusReportBytes joins from
 * each probe's kept JSON (serialising 1,000 probe views took most of a request), or the table. So its
 * serializer is bypassed, and test/server/status-schema.test.ts checks real replies against StatusReport.
 */
const StatusReply = Type.Unsafe<string | Buffer>(StatusReport);

const status: FastifyPluginAsyncTypebox = async (app) => {
  const bodies = new BodyPool();
  app.get(
    '/status',
    {
      schema: {
        summary: "Every probe's current status; 503 while a critical probe fails, so `curl -f` works in scripts",
        querystring: FormatQuery,
        response: { 200: StatusReply, 503: StatusReply },
      },
    },
    async (req, reply) => {
      const { engine, now, maintenance, renderings } = app.watchdog;
      const states = engine.states();
      const lookup = lookupAt(maintenance, now());
      const discovery = app.watchdog.discovery?.current();
      if (wantsText(req.query.format, req.headers.accept)) {
        reply.code(overall(states) === 'failing' ? 503 : 200).serializer((s: string) => s);
        return reply.type('text/plain; charset=utf-8').send(statusTable(states, now(), { discovery }, renderings) + maintenanceText(lookup?.active ?? [], states, now()));
      }
      const report = statusReportParts(states, now(), discovery, lookup, renderings);
      reply.code(report.status === 'failing' ? 503 : 200).serializer((s: string) => s);
      return reply.type('application/json; charset=utf-8').send(bodies.send(reply, report.parts));
    },
  );

  app.get(
    '/status/:probe',
    {
      schema: {
        summary: 'One probe with its recent history and failures (a page for a browser: Accept: text/html)',
        params: ProbeParams,
        querystring: ProbeQuery,
        response: { 200: ProbeDetail, 404: ErrorRef },
      },
    },
    async (req, reply) => {
      const state = app.watchdog.engine.state(req.params.probe);
      if (!state) return reply.code(404).send(errorReply(404, `no probe named "${req.params.probe}"`));
      const lookup = lookupAt(app.watchdog.maintenance, app.watchdog.now());
      if (wantsHtml(req.query.format, req.headers.accept)) return sendHtml(reply, probePage(state, app.watchdog.now(), lookup, app.watchdog.renderings, app.watchdog.incidents));
      const window = probeMaintenance(lookup?.covering(state));
      const kept = probeIncidents(app.watchdog.incidents, state.spec.name, app.watchdog.now());
      return window ? { ...probeDetail(state), maintenance: window, ...kept } : { ...probeDetail(state), ...kept };
    },
  );
};

export default fp(status, { name: 'watchdog-status', fastify: '5.x' });
