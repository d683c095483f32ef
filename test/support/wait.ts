// Waiting on a real program: poll for the condition the test needs, bounded, and say what was
// last seen when it does not come. A fixed sleep "long enough" is a race on a loaded machine.
import { setTimeout as sleep } from 'node:timers/promises';

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

export interface WaitOptions {
  /** Default 10 s: generous, the suite runs on a loaded 2-core machine. */
  timeoutMs?: number;
  intervalMs?: number;
  /** The observed state, for the failure message. */
  describe?: () => unknown;
}

/**
 * Polls `condition` until it returns something truthy (which is returned) or `timeoutMs` passes;
 * then throws with `what` and the observed state. The condition is tried once more at the bound,
 * so a slow poll never loses the last chance.
 */
export async function waitFor<T>(what: string, condition: () => T | Promise<T>, opts: WaitOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const until = Date.now() + timeoutMs;
  for (;;) {
    const last = Date.now() >= until;
    const value = await condition();
    if (value) return value as Truthy<T>;
    if (last) {
      const seen = opts.describe?.();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen === undefined ? '' : `; observed: ${typeof seen === 'string' ? seen : JSON.stringify(seen)}`}`);
    }
    await sleep(Math.min(opts.intervalMs ?? 50, Math.max(0, until - Date.now())));
  }
}

/**
 * The bounded wait for something that must not happen: polls `happened` until `until` (ms since the
 * epoch) and throws the moment it turns true, with `what` and the observed state. The caller says why
 * the period is long enough (the timings of the program that would make it happen).
 */
export async function stays(what: string, happened: () => boolean | Promise<boolean>, until: number, opts: Pick<WaitOptions, 'describe' | 'intervalMs'> = {}): Promise<void> {
  const came = await waitFor(what, happened, { timeoutMs: Math.max(0, until - Date.now()), intervalMs: opts.intervalMs ?? 100 }).then(
    () => true,
    () => false,
  );
  if (came || (await happened())) {
    const seen = opts.describe?.();
    throw new Error(`${what}: it happened${seen === undefined ? '' : `; observed: ${typeof seen === 'string' ? seen : JSON.stringify(seen)}`}`);
  }
}
