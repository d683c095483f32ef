import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { statusPage } from '../../report/page.js';
import { sendHtml } from '../html.js';
import { lookupAt } from '../../report/maintenance.js';

async function page(app: FastifyInstance) {
  const schema = {
    summary: "The status page for people: the causes first, then one row per probe and each probe's details; readable without JavaScript",
    produces: ['text/html'],
    response: { 200: Type.String({ description: 'HTML' }) },
  };
  app.get('/', { schema }, async (_req, reply) => {
    const { engine, now, maintenance, renderings, incidents } = app.watchdog;
    const at = now();
    return sendHtml(reply, statusPage(engine.states(), at, lookupAt(maintenance, at), renderings, incidents));
  });
}

export default fp(page, { name: 'watchdog-page', fastify: '5.x' });
