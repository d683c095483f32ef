// Small pieces every prober shares: building outcomes and turning transport failures into
// outcomes with a reason and a next step, so each kind's file only holds what is special to it.
import { TransportError, type HttpRequest } from '../net/http.js';
import { snippet } from '../util/text.js';
import type { Attempt, ProbeContext, ProbeOutcome } from './types.js';

export function passed<G extends string = never>(message: string, extra: Partial<ProbeOutcome<G>> = {}): ProbeOutcome<G> {
  return { status: 'ok', reason: 'ok', message, ...extra };
}

export function failed<G extends string = never>(reason: string, message: string, hint: string, extra: Partial<ProbeOutcome<G>> = {}): ProbeOutcome<G> {
  return { status: 'failing', reason, message, hint, ...extra };
}

export function success<T>(value: T): Attempt<T> {
  return { ok: true, value };
}

export function failure<T = never>(outcome: ProbeOutcome): Attempt<T> {
  return { ok: false, outcome };
}

const transportHints: Record<TransportError['reason'], string> = {
  timeout: "The target accepted the request but did not answer within the timeout: check that it is not overloaded or stuck (docker logs <container>), or raise the probe's timeout.",
  connect: "Nothing accepts connections there: check that the container is running (docker compose ps) and that the URL's host and port match the service.",
  reset: 'The target closed the connection mid-request: it may be restarting or crashing (docker compose ps, docker logs <container>).',
  dns: 'The host name does not resolve: in compose the host is the service name, and the watchdog must be on the same network.',
  body_too_large: 'The answer is larger than the probe accepts: point the probe at a narrower endpoint or raise maxBodyBytes.',
  protocol: 'The target did not speak HTTP as expected: check the scheme (http/https) and the port.',
};

/** A transport failure as an outcome. `hint` overrides the generic one where the prober knows better. */
export function transportFailure(err: TransportError, hint?: string): ProbeOutcome {
  return failed(err.reason, err.message, hint ?? transportHints[err.reason]);
}

/** Runs `fn`, turning a TransportError into a failed attempt; anything else is a bug and propagates. */
export async function attempt<T>(fn: () => Promise<T>, hint?: string): Promise<Attempt<T>> {
  try {
    return success(await fn());
  } catch (err) {
    if (err instanceof TransportError) return failure(transportFailure(err, hint));
    throw err;
  }
}

export interface JsonAnswer {
  status: number;
  json: unknown;
}

/**
 * GET (or other) a URL and parse JSON. Non-2xx is `http_status`; a body that is not JSON is
 * `invalid_response`.
 */
export async function fetchJson(ctx: ProbeContext, url: string, opts: Omit<HttpRequest, 'signal'> & { hint?: string; acceptStatus?: (s: number) => boolean } = {}): Promise<Attempt<JsonAnswer>> {
  const res = await attempt(() => ctx.http.request(url, { ...opts, signal: ctx.signal }), opts.hint);
  if (!res.ok) return res;
  const { status, body } = res.value;
  const accept = opts.acceptStatus ?? ((s: number) => s >= 200 && s < 300);
  if (!accept(status)) {
    return failure(failed('http_status', `${url} answered HTTP ${status}: ${snippet(body)}`, opts.hint ?? "The endpoint answered with an error status: read the body above and the service's logs."));
  }
  try {
    return success({ status, json: JSON.parse(body) as unknown });
  } catch {
    return failure(
      failed(
        'invalid_response',
        `${url} answered HTTP ${status} with a body that is not JSON: ${snippet(body)}`,
        'Something other than the expected API answered (a proxy, a login page, another service on that port?): check the URL.',
      ),
    );
  }
}

/** A plain object read from JSON, or undefined: for picking fields out of answers without casts. */
export function asRecord(x: unknown): Record<string, unknown> | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}
