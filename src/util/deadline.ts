import { setMaxListeners } from 'node:events';

/**
 * The reason every ended bound aborts with. One object for all: a DOMException captures a stack when
 * made, and made per run it was 2% of the thread at 1,000 runs a second (cpu profile of bench:scale).
 * Nobody reads it but undici, to reject what is still in flight.
 */
const WORK_OVER = new DOMException('the work is over', 'AbortError');

/** Listeners a signal may carry before Node warns of a leak: one bound's requests in flight, twice. */
const MAX_LISTENERS = 100;

/**
 * A signal that aborts after `ms` or when `parent` does; call done() when the work is over, or end()
 * when some of it may still be running and must stop.
 * Built by hand because on Node 20 a timeout signal inside AbortSignal.any() can be garbage
 * collected before it fires (nodejs/node#57736), and then a hanging target hangs us too.
 * Fractions of a millisecond (from an injected clock) are rounded up rather than refused.
 */
export function deadline(parent: AbortSignal | undefined, ms: number): { signal: AbortSignal; done: () => void; end: () => void } {
  const controller = new AbortController();
  // Each request in flight listens on the signal twice (undici, and http.ts for a queued request); a
  // run asks several at once (alert_path six, dashboards four), over Node's leak warning at 10.
  setMaxListeners(MAX_LISTENERS, controller.signal);
  const wait = Math.max(1, Math.ceil(ms));
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer in ${wait} ms`, 'TimeoutError')), wait);
  const onAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  const done = () => {
    clearTimeout(timer);
    parent?.removeEventListener('abort', onAbort);
  };
  return {
    signal: controller.signal,
    done,
    /** done(), and the signal aborts if it has not: for work that may have left something running on it. */
    end: () => {
      done();
      if (!controller.signal.aborted) controller.abort(WORK_OVER);
    },
  };
}
