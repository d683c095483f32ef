// What the direct path and the heartbeat share: how a request to an outside service failed, and a
// log that says when such a link went down and came back, not every failed attempt.
import type { Logger } from 'pino';
import { TransportError } from '../net/http.js';
import { snippet } from '../util/text.js';
import { redactText, redactUrl } from '../util/url.js';

/** Log fields with the link's URL masked: the URL of a webhook or dead man's switch may carry a token. */
function masked(fields: Record<string, unknown>): Record<string, unknown> {
  return typeof fields.url === 'string' ? { ...fields, url: redactUrl(fields.url) } : fields;
}

/**
 * Logs a link's state changes (unreachable, reachable again) once each, not every failed attempt:
 * a retry loop would otherwise flood the log during exactly the outage someone has to read it in.
 * Every line masks the URL's credentials here, once, whichever sender logs.
 */
export function linkLog(logger: Logger, what: string, now: () => number) {
  let down: { since: number; attempts: number; reason: string } | undefined;
  return {
    get down() {
      return down !== undefined;
    },
    ok(fields: Record<string, unknown> = {}): void {
      if (!down) return;
      logger.info({ ...masked(fields), failedAttempts: down.attempts, downForMs: now() - down.since, lastReason: down.reason }, `${what} reachable again`);
      down = undefined;
    },
    failed(reason: string, rawMessage: string, rawFields: Record<string, unknown> = {}): void {
      const message = redactText(rawMessage);
      const fields = masked(rawFields);
      if (down) {
        down.attempts++;
        down.reason = reason;
        logger.debug({ ...fields, reason, message, attempts: down.attempts }, `${what} still unreachable`);
        return;
      }
      down = { since: now(), attempts: 1, reason };
      logger.warn({ ...fields, reason, message }, `${what} unreachable`);
    },
  };
}

/** A failed request as a short reason word and a message, for logs. Only bugs are rethrown. */
export async function describeFailure(send: () => Promise<{ status: number; body: string }>): Promise<{ reason: string; message: string } | undefined> {
  try {
    const res = await send();
    if (res.status >= 200 && res.status < 300) return undefined;
    return { reason: `http_${res.status}`, message: `answered ${res.status}: ${snippet(res.body)}` };
  } catch (err) {
    if (err instanceof TransportError) return { reason: err.reason, message: err.message };
    throw err;
  }
}
