// How the server answers a browser: the page's HTML with a policy that lets only its own inline style and
// script run, so a probe message that slipped past escaping still could not load or run anything.
import type { FastifyReply } from 'fastify';
import { pageCsp } from '../report/page.js';

/**
 * A browser asks for HTML first; curl (Accept: *\/*), jq pipelines and API clients get JSON as before.
 * Any ?format= asks for data, not the page.
 */
export function wantsHtml(format: string | undefined, accept: string | undefined): boolean {
  if (format) return false;
  return (accept ?? '').split(',')[0]?.trim().startsWith('text/html') ?? false;
}

export function sendHtml(reply: FastifyReply, html: string): FastifyReply {
  return reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', pageCsp)
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .serializer((text: string) => text)
    .send(html);
}
