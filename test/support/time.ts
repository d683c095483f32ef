// Time a test moves by hand, for tests where time is the subject (a tick, a renewal, a retry, a
// window's end). Hand `now` and the ManualTime itself (it is a Timers) to what is tested, where
// production passes Date.now and Node's timers: nothing fires until the test calls advance().
// Hand-written rather than node:test's mock.timers because that one replaces the globals, and the
// tests that need it also talk to real programs over undici, whose own timeouts must stay real.
import type { Timer, Timers } from '../../src/util/timers.js';

interface Scheduled {
  at: number;
  every?: number;
  fn: () => void;
  /** Creation order: timers due at the same instant fire in the order they were set, as Node's do. */
  seq: number;
}

class ManualTimer implements Timer {
  constructor(readonly id: number) {}
  unref(): this {
    return this;
  }
}

export class ManualTime implements Timers {
  private t: number;
  private seq = 0;
  private readonly scheduled = new Map<number, Scheduled>();

  /** Starts at the real time by default: what it stamps reads as now to a real Alertmanager. */
  constructor(start = Date.now()) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  setTimeout(fn: () => void, ms: number): Timer {
    return this.add(fn, ms);
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clear(timer: Timer | undefined): void {
    if (timer instanceof ManualTimer) this.scheduled.delete(timer.id);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.scheduled.size;
  }

  /**
   * Moves the clock forward by `ms`, firing every timer that falls due on the way at its own due
   * time, earliest first; after each, the callbacks and promise continuations it started get a
   * turn of the event loop (real I/O they start still takes real time: wait for its result).
   */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (let next = this.due(end); next; next = this.due(end)) {
      this.t = Math.max(this.t, next.at);
      if (next.every === undefined) this.scheduled.delete(next.seq);
      else next.at += next.every;
      next.fn();
      await turn();
    }
    this.t = end;
    await turn();
  }

  /**
   * Moves the clock to the earliest pending timer and fires it (and any due at the same instant);
   * returns how far time moved, undefined when nothing is pending. For watching a sequence of
   * timers (retries) one by one, each stamped with the time it fired at.
   */
  async advanceToNext(): Promise<number | undefined> {
    const next = this.due(Infinity);
    if (!next) return undefined;
    const ms = Math.max(0, next.at - this.t);
    await this.advance(ms);
    return ms;
  }

  private add(fn: () => void, ms: number, every?: number): Timer {
    const seq = ++this.seq;
    // Node runs a timer of 0 (or less, or NaN) after 1 ms.
    this.scheduled.set(seq, { at: this.t + (ms >= 1 ? ms : 1), every, fn, seq });
    return new ManualTimer(seq);
  }

  private due(end: number): Scheduled | undefined {
    let first: Scheduled | undefined;
    for (const s of this.scheduled.values()) if (s.at <= end && (!first || s.at < first.at || (s.at === first.at && s.seq < first.seq))) first = s;
    return first;
  }
}

/** One turn of the real event loop: pending promise continuations and I/O callbacks run. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A daily window that is far from now whenever the test runs: it opens at least ten hours ahead and
 * closes at least ten hours ago, so a test about an *upcoming* window cannot see it open. A fixed
 * "0 3 * * *" in Europe/Berlin is 01:00 or 02:00 UTC, and a CI run started at 02:10 UTC found it open.
 * `utcHours` are the hours its start can fall on in UTC (Berlin is UTC+1 in winter, UTC+2 in summer).
 */
export function farDailyWindow(now = Date.now()): { cron: string; timezone: string; utcHours: number[] } {
  const utcHour = (new Date(now).getUTCHours() + 12) % 24;
  // Written in Berlin's time so the tests still show that the timezone is applied.
  const berlinHour = (utcHour + 1) % 24;
  return { cron: `0 ${berlinHour} * * *`, timezone: 'Europe/Berlin', utcHours: [utcHour, (utcHour + 23) % 24] };
}
