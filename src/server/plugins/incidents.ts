// GET /incidents: the kept incidents, filtered by probe, since and open; JSON, or the text summary
// (`?since=7d&format=text`: each incident with its duration, then the downtime per probe).
import fp from 'fastify-plugin';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { IncidentList } from '../../report/schemas.js';
import { incidentList, incidentsText } from '../../report/incidents.js';
import { ErrorRef, errorReply } from '../schemas.js';

const IncidentQuery = Type.Object(
  {
    probe: Type.Optional(Type.String({ pattern: '^[a-z0-9-]{1,64}$', description: "Only this probe's incidents." })),
    since: Type.Optional(Type.String({ maxLength: 40, description: 'Incidents open at or after this: a span back from now ("7d", "24h", "30m", "1w") or a time ("2026-12-01T00:00:00Z").' })),
    open: Type.Optional(Type.Boolean({ description: 'true: only those going on; false: only ended ones.' })),
    // An enum rather than a union of literals: the validator's message for a bad value is then one sentence.
    format: Type.Optional(Type.Unsafe<'json' | 'text'>({ type: 'string', enum: ['json', 'text'] })),
  },
  { additionalProperties: false },
);

/** Documented (and serialised) as the list; ?format=text sends the summary through its own serializer instead. */
const IncidentReply = Type.Unsafe<IncidentList | string>(IncidentList);

const known = new Set(Object.keys(IncidentQuery.properties));

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `since` as a time: a span back from now, or an ISO 8601 time. Spans take d and w besides the probe
 * files' units (a weekly summary says 7d), which core's parseDuration does not, on purpose: no probe
 * interval is days long.
 */
export function parseSince(text: string, now: number): { ok: true; value: number } | { ok: false; problem: string } {
  if (/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(text)) {
    let total = 0;
    for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) total += Number(m[1]) * unitMs[m[2]!]!;
    return { ok: true, value: now - total };
  }
  const at = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d))?$/i.test(text) ? Date.parse(text) : NaN;
  if (!Number.isNaN(at)) return { ok: true, value: at };
  return { ok: false, problem: `since: expected a span such as "7d", "24h" or "30m", or a time such as "2026-12-01T00:00:00Z", got "${text}"` };
}

const incidents: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/incidents',
    {
      // Before validation: the validator's own message for an unknown parameter does not name it.
      preValidation: async (req, reply) => {
        const unknown = Object.keys(req.query as object).filter((k) => !known.has(k));
        if (unknown.length) return reply.code(400).send(errorReply(400, `${unknown.join(', ')}: unknown parameter (probe, since, open and format are known)`));
      },
      schema: {
        summary: "Incidents: each probe's stretches of failing, kept across restarts with WATCHDOG_STATE_DIR; ?format=text is a summary with the downtime per probe",
        querystring: IncidentQuery,
        response: { 200: IncidentReply, 400: ErrorRef, 503: ErrorRef },
      },
    },
    async (req, reply) => {
      const { incidents: kept, now } = app.watchdog;
      if (!kept) return reply.code(503).send(errorReply(503, 'this server keeps no incidents'));
      const at = now();
      let since: number | undefined;
      if (req.query.since !== undefined) {
        const parsed = parseSince(req.query.since, at);
        if (!parsed.ok) return reply.code(400).send(errorReply(400, parsed.problem));
        since = parsed.value;
      }
      const list = incidentList(kept.list({ probe: req.query.probe, since, open: req.query.open }), at, since);
      if (req.query.format === 'text')
        return reply
          .type('text/plain; charset=utf-8')
          .serializer((s: string) => s)
          .send(incidentsText(list));
      return list;
    },
  );
};

export default fp(incidents, { name: 'watchdog-incidents', fastify: '5.x' });
