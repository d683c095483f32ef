// What a maintenance window is at run time, which probes it covers, and when a recurring one is open.
import { createTask, type ScheduledTask } from 'node-cron';
import type { ConfigWindow, MaintenanceSelector } from '../config/maintenance.js';
import type { CommonSpec } from '../probers/types.js';

export type { MaintenanceSelector } from '../config/maintenance.js';

/** One open (or upcoming) window, as the API, the views and the state file hold it. */
export interface Window {
  /** API windows: "m-" and 8 hex digits; config windows: their name (recurring ones with "@" and the start). */
  id: string;
  source: 'api' | 'config';
  reason: string;
  /** ms since the epoch */
  startsAt: number;
  endsAt: number;
  selector: MaintenanceSelector;
}

export function selectsAll(sel: MaintenanceSelector): boolean {
  return !sel.probes.length && !sel.kinds.length && !Object.keys(sel.labels).length;
}

/** Named, or of a listed kind, or carrying every listed label; an empty selector covers every probe. */
export function covers(sel: MaintenanceSelector, spec: Pick<CommonSpec, 'name' | 'kind' | 'labels'>): boolean {
  if (selectsAll(sel)) return true;
  if (sel.probes.includes(spec.name) || sel.kinds.includes(spec.kind)) return true;
  const wanted = Object.entries(sel.labels);
  return wanted.length > 0 && wanted.every(([k, v]) => spec.labels?.[k] === v);
}

const MINUTE = 60_000;

/**
 * A config window, open or not at a given time. A recurring one is open when its cron expression
 * matched a minute in (now - duration, now]. The minutes are scanned once and then only the new
 * ones, so a week-long window costs its 10080 matches once, not every minute.
 */
export class ConfigClock {
  private readonly task?: ScheduledTask;
  private cache?: { minute: number; start?: number };

  constructor(readonly window: ConfigWindow) {
    if (window.schedule.kind === 'cron') this.task = createTask(window.schedule.cron, () => undefined, { timezone: window.schedule.timezone, name: `maintenance-${window.name}` });
  }

  /** The occurrence open at `now`, if any. */
  open(now: number): Window | undefined {
    const s = this.window.schedule;
    if (s.kind === 'once') return s.startMs <= now && now < s.endMs ? this.occurrence(this.window.name, s.startMs, s.endMs) : undefined;
    const start = this.latestStart(now, s.durationMs);
    if (start === undefined || start + s.durationMs <= now) return undefined;
    return this.occurrence(`${this.window.name}@${new Date(start).toISOString()}`, start, start + s.durationMs);
  }

  /** The next occurrence that starts after `now` (for GET /maintenance), if any. */
  next(now: number): Window | undefined {
    const s = this.window.schedule;
    if (s.kind === 'once') return s.startMs > now ? this.occurrence(this.window.name, s.startMs, s.endMs) : undefined;
    // getNextRuns counts from the wall clock, which is what `now` is outside tests.
    const start = this.task?.getNextRuns(1)[0]?.getTime();
    return start === undefined ? undefined : this.occurrence(`${this.window.name}@${new Date(start).toISOString()}`, start, start + s.durationMs);
  }

  dispose(): void {
    void this.task?.destroy();
  }

  private latestStart(now: number, durationMs: number): number | undefined {
    const minute = Math.floor(now / MINUTE) * MINUTE;
    const cache = this.cache;
    if (cache?.minute === minute) return cache.start;
    // Only the minutes since the last scan are new. A full scan (about 40 ms per day of duration;
    // measured 300 ms for 168h) happens on the first call and after a jump of the clock.
    const from = cache && cache.minute < minute && minute - cache.minute < durationMs ? cache.minute : now - durationMs;
    let start = from === cache?.minute ? cache.start : undefined;
    for (let m = minute; m > from; m -= MINUTE) {
      if (this.task!.match(new Date(m))) {
        start = m;
        break;
      }
    }
    this.cache = { minute, start };
    return start;
  }

  private occurrence(id: string, startsAt: number, endsAt: number): Window {
    return { id, source: 'config', reason: this.window.reason, startsAt, endsAt, selector: this.window.selector };
  }
}
