import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { statusPage } from '../../report/page.js';
import { sendHtml } from '../html.js';
import { lookupAt } from '../../report/maintenance.js';

async function page(app: FastifyInstance) {
  const schema = { summary: 'The status page for people: failing probes first, readable without JavaScript', produces: ['text/html'], response: { 200: Type.String({ description: 'HTML' }) } };
  app.get('/', { schema }, async (_req, reply) => {
    const { engine, now, maintenance, renderings } = app.watchdog;
    return sendHtml(reply, statusPage(engine.states(), now(), lookupAt(maintenance, now()), renderings));
  });
}

export default fp(page, { name: 'watchdog-page', fastify: '5.x' });
