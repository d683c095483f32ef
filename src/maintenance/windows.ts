// What a maintenance window is at run time, which probes it covers, and when a recurring one is open.
import type { Cron } from 'croner';
import { windowCron, type ConfigWindow, type MaintenanceSelector } from '../config/maintenance.js';
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

/**
 * A config window, open or not at a given time. A recurring one is open when its latest start at or
 * before `now` (croner, in the window's zone) is less than its duration ago. Starts are looked up
 * once per occurrence, not per call: the latest start stays the answer until the next one is reached.
 * Every answer counts from the `now` it is given (the injected clock), never from the wall clock.
 */
export class ConfigClock {
  private readonly starts?: Cron;
  /** The latest start at or before `from`, and the first after it (null: none ever). */
  private cache?: { from: number; start?: number; next: number | null };

  constructor(readonly window: ConfigWindow) {
    if (window.schedule.kind === 'cron') this.starts = windowCron(window.schedule.cron, window.schedule.timezone);
  }

  /** The occurrence open at `now`, if any. */
  open(now: number): Window | undefined {
    const s = this.window.schedule;
    if (s.kind === 'once') return s.startMs <= now && now < s.endMs ? this.occurrence(this.window.name, s.startMs, s.endMs) : undefined;
    const start = this.latestStart(now);
    if (start === undefined || start + s.durationMs <= now) return undefined;
    return this.recurring(start, s.durationMs);
  }

  /** The next occurrence that starts after `now` (for GET /maintenance), if any. */
  next(now: number): Window | undefined {
    const s = this.window.schedule;
    if (s.kind === 'once') return s.startMs > now ? this.occurrence(this.window.name, s.startMs, s.endMs) : undefined;
    const start = this.starts!.nextRun(new Date(now))?.getTime();
    return start === undefined ? undefined : this.recurring(start, s.durationMs);
  }

  private latestStart(now: number): number | undefined {
    const c = this.cache;
    if (c && c.from <= now && (c.next === null || now < c.next)) return c.start;
    // previousRuns leaves out a start at the reference itself; +1 ms takes it in (a window opens at its start).
    const start = this.starts!.previousRuns(1, new Date(now + 1))[0]?.getTime();
    const next = this.starts!.nextRun(new Date(now))?.getTime() ?? null;
    this.cache = { from: now, start, next };
    return start;
  }

  private recurring(start: number, durationMs: number): Window {
    return this.occurrence(`${this.window.name}@${new Date(start).toISOString()}`, start, start + durationMs);
  }

  private occurrence(id: string, startsAt: number, endsAt: number): Window {
    return { id, source: 'config', reason: this.window.reason, startsAt, endsAt, selector: this.window.selector };
  }
}
