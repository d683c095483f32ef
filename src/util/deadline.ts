/**
 * A signal that aborts after `ms` or when `parent` does; call done() when the work is over.
 * Built by hand because on Node 20 a timeout signal inside AbortSignal.any() can be garbage
 * collected before it fires (nodejs/node#57736), and then a hanging target hangs us too.
 * Fractions of a millisecond (from an injected clock) are rounded up rather than refused.
 */
export function deadline(parent: AbortSignal | undefined, ms: number): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const wait = Math.max(1, Math.ceil(ms));
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer in ${wait} ms`, 'TimeoutError')), wait);
  const onAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    done: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}
