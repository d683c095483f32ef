// Small pieces every prober shares: building outcomes and turning transport failures into
// outcomes with a reason and a next step, so each kind's file only holds what is special to it.
import { TransportError, type HttpRequest } from '../net/http.js';
import type { ProbeContext, ProbeOutcome } from './types.js';

export function passed(message: string, extra: Partial<ProbeOutcome> = {}): ProbeOutcome {
  return { status: 'ok', reason: 'ok', message, ...extra };
}

export function failed(reason: string, message: string, hint: string, extra: Partial<ProbeOutcome> = {}): ProbeOutcome {
  return { status: 'failing', reason, message, hint, ...extra };
}

export function isOutcome(x: unknown): x is ProbeOutcome {
  return typeof x === 'object' && x !== null && 'status' in x && 'reason' in x && 'message' in x;
}

const transportHints: Record<TransportError['reason'], string> = {
  timeout: 'The target accepted the request but did not answer within the timeout: check that it is not overloaded or stuck (docker logs <container>), or raise the probe\'s timeout.',
  connect: 'Nothing accepts connections there: check that the container is running (docker compose ps) and that the URL\'s host and port match the service.',
  reset: 'The target closed the connection mid-request: it may be restarting or crashing (docker compose ps, docker logs <container>).',
  dns: 'The host name does not resolve: in compose the host is the service name, and the watchdog must be on the same network.',
  body_too_large: 'The answer is larger than the probe accepts: point the probe at a narrower endpoint or raise maxBodyBytes.',
  protocol: 'The target did not speak HTTP as expected: check the scheme (http/https) and the port.',
};

/** A transport failure as an outcome. `hint` overrides the generic one where the prober knows better. */
export function transportFailure(err: TransportError, hint?: string): ProbeOutcome {
  return failed(err.reason, err.message, hint ?? transportHints[err.reason]);
}

/** Runs `fn`, turning a TransportError into an outcome; anything else is a bug and propagates. */
export async function orTransportFailure<T>(fn: () => Promise<T>, hint?: string): Promise<T | ProbeOutcome> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TransportError) return transportFailure(err, hint);
    throw err;
  }
}

export interface JsonAnswer {
  status: number;
  json: unknown;
}

/**
 * GET (or other) a URL and parse JSON. Non-2xx is `http_status`; a body that is not JSON is
 * `invalid_response`. Returns the outcome instead of throwing, so callers stay linear.
 */
export async function fetchJson(
  ctx: ProbeContext,
  url: string,
  opts: Omit<HttpRequest, 'signal'> & { hint?: string; acceptStatus?: (s: number) => boolean } = {},
): Promise<JsonAnswer | ProbeOutcome> {
  const res = await orTransportFailure(() => ctx.http.request(url, { ...opts, signal: ctx.signal }), opts.hint);
  if (isOutcome(res)) return res;
  const accept = opts.acceptStatus ?? ((s: number) => s >= 200 && s < 300);
  if (!accept(res.status)) {
    return failed('http_status', `${url} answered HTTP ${res.status}: ${snippet(res.body)}`, opts.hint ?? 'The endpoint answered with an error status: read the body above and the service\'s logs.');
  }
  try {
    return { status: res.status, json: JSON.parse(res.body) };
  } catch {
    return failed('invalid_response', `${url} answered HTTP ${res.status} with a body that is not JSON: ${snippet(res.body)}`, 'Something other than the expected API answered (a proxy, a login page, another service on that port?): check the URL.');
  }
}

/** The start of a body, on one line, for messages. */
export function snippet(body: string, max = 120): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat || '(empty body)';
}

/** Joins a base URL and a path without doubling or losing the slash. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}
