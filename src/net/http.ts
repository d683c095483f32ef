// One HTTP client for every probe: undici with a private connection pool, a body size cap and
// errors classified into the short reasons that end up in metric labels.
import type { Dispatcher } from 'undici';
// undici's pool and request, imported by path rather than from the package's index: the index also loads
// fetch, WebSocket, EventSource, the caches and the mock agents, which the watchdog never uses (+18 MiB RSS
// for the index, +10 MiB for these; issue 21 §3's idle budget). These are the modules the index itself
// re-exports; undici has no "exports" map, so the paths are reachable, but they are not its documented API:
// an undici update that moves them fails this import at start, in every test. `request` below is what the
// index's `request(url, opts)` does (undici/index.js `makeDispatcher`) for the absolute URLs probes use.
import Agent from 'undici/lib/dispatcher/agent.js';
import dispatcherRequest from 'undici/lib/api/api-request.js';
import { parseURL } from 'undici/lib/core/util.js';
import { formatBytes } from '../util/format.js';
import { redactUrl } from '../util/url.js';

export type TransportReason = 'timeout' | 'connect' | 'reset' | 'dns' | 'body_too_large' | 'protocol';

/** A failure to talk to the target at all (as opposed to an answer we did not like). */
export class TransportError extends Error {
  constructor(
    readonly reason: TransportReason,
    message: string,
    readonly code?: string,
    /** host:port the request went to, when known: probes failing the same way there share one cause (report/causes.ts). */
    readonly target?: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Refuse bodies larger than this (default 10 MiB): a probe never needs more, and memory is not free. */
  maxBytes?: number;
  signal: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpClient {
  request(url: string, opts: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

export function createHttpClient(opts: { userAgent: string; dispatcher?: Dispatcher }): HttpClient {
  // undici's own header/body timeouts default to 5 minutes; the probe's AbortSignal is the real
  // bound, so these only protect against a forgotten signal.
  const dispatcher = opts.dispatcher ?? new Agent({ connections: 16, headersTimeout: 120_000, bodyTimeout: 120_000, connectTimeout: 30_000 });
  return {
    async request(target, req) {
      const maxBytes = req.maxBytes ?? DEFAULT_MAX_BYTES;
      // Messages quote the URL as configured, minus its credentials; the request sends them.
      const url = redactUrl(target);
      const { href, authorization } = splitCredentials(target);
      const ownAuth = Object.keys(req.headers ?? {}).some((h) => h.toLowerCase() === 'authorization');
      let res: Dispatcher.ResponseData;
      try {
        const u = parseURL(href);
        res = await untilAborted(
          dispatcherRequest.call(dispatcher, {
            origin: u.origin,
            path: u.search ? `${u.pathname}${u.search}` : u.pathname,
            method: req.method ?? 'GET',
            headers: { 'user-agent': opts.userAgent, ...(authorization && !ownAuth ? { authorization } : {}), ...req.headers },
            body: req.body,
            signal: req.signal,
          }),
          req.signal,
        );
      } catch (err) {
        throw classify(err, req.signal, url);
      }
      // A HEAD answer announces the length of a body it never sends: nothing to refuse.
      const declared = req.method === 'HEAD' ? NaN : Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        discard(res.body);
        throw new TransportError('body_too_large', `${url} announced a ${formatBytes(declared)} body, over the ${formatBytes(maxBytes)} cap`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of res.body) {
          size += (chunk as Buffer).length;
          if (size > maxBytes) {
            discard(res.body);
            throw new TransportError('body_too_large', `${url} sent more than the ${formatBytes(maxBytes)} cap`);
          }
          chunks.push(chunk as Buffer);
        }
      } catch (err) {
        if (err instanceof TransportError) throw err;
        throw classify(err, req.signal, url);
      }
      return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') };
    },
    close: () => dispatcher.close(),
  };
}

/**
 * `http://user:pass@host/x` → the URL without userinfo and the Basic authorization it stands for
 * (undici sends no credentials from the URL by itself). A header given by the probe wins.
 */
function splitCredentials(target: string): { href: string; authorization?: string } {
  if (!target.includes('@')) return { href: target };
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    return { href: target };
  }
  if (!u.username && !u.password) return { href: target };
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  return { href: u.href, authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
}

/**
 * The answer, or a rejection as soon as `signal` aborts. undici (7.x) honours an abort at once only for
 * a request that has a connection: one queued behind busy connections (the pool's per-origin limit,
 * reached by other probes' requests to the same slow target) just records it and settles when a
 * connection frees, which may be another probe's whole timeout later. undici still drops the queued
 * request when its turn comes (it is aborted before anything is written); an answer that slips in
 * after the abort has its body and connection dropped.
 */
function untilAborted(pending: Promise<Dispatcher.ResponseData>, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (res) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) discard(res.body);
        else resolve(res);
      },
      (err: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * Drops an answer's body and its connection. undici reports the abort as an 'error' event a tick
 * later; nobody reads the body any more, so without a listener that event would crash the daemon.
 */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

function classify(err: unknown, signal: AbortSignal, url: string): TransportError {
  const target = hostPort(url);
  if (signal.aborted) return new TransportError('timeout', `${url} did not answer in time`, undefined, target);
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  const detail = e.message ?? String(err);
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'EADDRNOTAVAIL':
      return new TransportError('connect', `cannot connect to ${url}: ${code}`, code, target);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new TransportError('dns', `cannot resolve the host of ${url} (${code})`, code, target);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new TransportError('reset', `${url} closed the connection before answering (${code})`, code, target);
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return new TransportError('timeout', `${url} did not answer in time (${code})`, code, target);
    default:
      return new TransportError('protocol', `request to ${url} failed: ${detail}`, code || undefined, target);
  }
}

/** The host:port a URL goes to (its default port filled in), or undefined for one that does not parse. */
function hostPort(url: string): string | undefined {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return undefined;
  }
}
