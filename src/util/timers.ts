// The timers a component schedules on, injected beside its clock (`now`). Whatever fires on its own
// schedule (the scheduler tick, alert renewals and retries, maintenance window ends, discovery
// listings, the config poll) asks this source, so a test moves time forward and sees each tick,
// window end or retry happen in order, instead of sleeping and hoping the machine kept up.
// Timers that bound real work (a run's deadline, a request timeout, the shutdown grace) stay on
// Node's: they measure how long a real program takes, and a test must not be able to stop them.

/** What a scheduled timer is to its owner: something to unref and to hand back to `clear`. */
export interface Timer {
  unref(): unknown;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): Timer;
  setInterval(fn: () => void, ms: number): Timer;
  /** Cancels either kind; undefined (nothing scheduled) is fine. */
  clear(timer: Timer | undefined): void;
}

/**
 * Node's timers. The globals are looked up at each call, not captured, so node:test's
 * `mock.timers` applies to code that uses this default too.
 */
export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};
