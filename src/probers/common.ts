// Small pieces every prober shares: building outcomes and turning transport failures into
// outcomes with a reason and a next step, so each kind's file only holds what is special to it.
import { TransportError, type HttpRequest } from '../net/http.js';
import { parseExposition, type Sample } from '../util/promText.js';
import { snippet } from '../util/text.js';
import { joinUrl } from '../util/url.js';
import type { Attempt, ProbeContext, ProbeOutcome, ReasonHints } from './types.js';

/** What an outcome may carry besides its status, reason and message. */
type Extra<G extends string, M> = Partial<Omit<ProbeOutcome<G, never, M>, 'status' | 'reason' | 'message'>>;

export function passed<G extends string = never, M = never>(message: string, extra: Extra<G, M> = {}): ProbeOutcome<G, never, M> {
  return { status: 'ok', reason: 'ok', message, ...extra };
}

/**
 * A failure. `reason` must be one the kind declares (its type comes from the declaration); `hint` is
 * for a next step that depends on what the run saw: left out, the declared hint of the reason is shown.
 */
export function failed<R extends string, G extends string = never, M = never>(reason: R, message: string, hint?: string, extra: Extra<G, M> = {}): ProbeOutcome<G, R, M> {
  return { status: 'failing', reason, message, ...(hint === undefined ? {} : { hint }), ...extra };
}

export function success<T>(value: T): Attempt<T, never> {
  return { ok: true, value };
}

export function failure<T = never, R extends string = never>(outcome: ProbeOutcome<never, R, never>): Attempt<T, R> {
  return { ok: false, outcome };
}

/** The reasons a failed transport gives, whatever the kind: every kind that makes a request declares them. */
export const transportReasons = {
  timeout: "The target accepted the request but did not answer within the timeout: check that it is not overloaded or stuck (docker logs <container>), or raise the probe's timeout.",
  connect: "Nothing accepts connections there: check that the container is running (docker compose ps) and that the URL's host and port match the service.",
  reset: 'The target closed the connection mid-request: it may be restarting or crashing (docker compose ps, docker logs <container>).',
  dns: 'The host name does not resolve: in compose the host is the service name, and the watchdog must be on the same network.',
  body_too_large: 'The answer is larger than the probe accepts: point the probe at a narrower endpoint or raise maxBodyBytes.',
  protocol: 'The target did not speak HTTP as expected: check the scheme (http/https) and the port.',
} as const satisfies ReasonHints<TransportError['reason']>;
export type TransportReason = keyof typeof transportReasons;

const httpStatusHint = "The endpoint answered with an error status: read the body above and the service's logs.";
const invalidResponseHint = 'Something other than the expected API answered (a proxy, a login page, another service on that port?): check the URL.';

/** The reasons of a JSON API call (fetchJson): a transport failure, an error status, a body that is not JSON. */
export const httpReasons = { ...transportReasons, http_status: httpStatusHint, invalid_response: invalidResponseHint } as const;
export type HttpReason = keyof typeof httpReasons;

/** One outside system's hints: for every way it fails to answer, and for an answer from something else. */
export interface SystemHints {
  /** Connection refused, timed out or reset, or an error status: the system is down or unwell. */
  down: string;
  /** Where a name that does not resolve is most likely the system's URL, not the network: its down hint. */
  dns?: string;
  invalid: string;
}

/**
 * httpReasons with one system's hints in place of the generic ones, so a kind that calls Prometheus or
 * Alertmanager names that system's container and port once, from its API module, not per kind.
 */
export function systemReasons(hints: SystemHints): ReasonHints<HttpReason> {
  const { down } = hints;
  return { ...httpReasons, connect: down, timeout: down, reset: down, ...(hints.dns === undefined ? {} : { dns: hints.dns }), http_status: down, invalid_response: hints.invalid };
}

/** A transport failure as an outcome. `hint` overrides the generic one where the prober knows better. */
export function transportFailure(err: TransportError, hint?: string): ProbeOutcome<never, TransportReason, never> {
  return failed(err.reason, err.message, hint ?? transportReasons[err.reason], err.target ? { details: { target: err.target } } : {});
}

/** Runs `fn`, turning a TransportError into a failed attempt; anything else is a bug and propagates. */
export async function attempt<T>(fn: () => Promise<T>, hint?: string): Promise<Attempt<T, TransportReason>> {
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
export async function fetchJson(
  ctx: ProbeContext,
  url: string,
  opts: Omit<HttpRequest, 'signal'> & { hint?: string; acceptStatus?: (s: number) => boolean } = {},
): Promise<Attempt<JsonAnswer, HttpReason>> {
  const res = await attempt(() => ctx.http.request(url, { ...opts, signal: ctx.signal }), opts.hint);
  if (!res.ok) return res;
  const { status, body } = res.value;
  const accept = opts.acceptStatus ?? ((s: number) => s >= 200 && s < 300);
  if (!accept(status)) {
    return failure(failed('http_status', `${url} answered HTTP ${status}: ${snippet(body)}`, opts.hint ?? httpStatusHint));
  }
  try {
    return success({ status, json: JSON.parse(body) as unknown });
  } catch {
    return failure(failed('invalid_response', `${url} answered HTTP ${status} with a body that is not JSON: ${snippet(body)}`, invalidResponseHint));
  }
}

/** A plain object read from JSON, or undefined: for picking fields out of answers without casts. */
export function asRecord(x: unknown): Record<string, unknown> | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}

/**
 * The samples of a service's own /metrics (Prometheus, Alertmanager) whose names match `wanted`:
 * what they say about themselves that no API answers (notification counters, reload times).
 */
export async function metricsOf(ctx: ProbeContext, base: string, hint: string, wanted: RegExp): Promise<Attempt<Sample[], HttpReason>> {
  const url = joinUrl(base, '/metrics');
  const res = await attempt(() => ctx.http.request(url, { signal: ctx.signal, maxBytes: 8 * 1024 * 1024 }), hint);
  if (!res.ok) return res;
  if (res.value.status !== 200) return failure(failed('http_status', `${url} answered HTTP ${res.value.status}: ${snippet(res.value.body)}`, hint));
  return success(
    parseExposition(res.value.body)
      .allSamples()
      .filter((s) => wanted.test(s.name)),
  );
}
