// The `maintenance:` block of a probe file, checked and decoded once at load: src/maintenance/ runs
// the windows and never parses a string itself. Every problem names the file and the field.
import type { Static } from '@sinclair/typebox';
import { Cron } from 'croner';
import { parseDuration } from '../core/fields.js';
import type { Maintenance } from './schema.js';

/** No window lasts longer than a week: a longer one is a probe to remove, not maintenance. */
export const MAX_WINDOW_MS = 168 * 3_600_000;
/** The longest window POST /maintenance accepts unless maintenance.maxDuration says otherwise. */
export const DEFAULT_MAX_API_MS = 24 * 3_600_000;

/** Which probes a window covers; all empty = every probe. */
export interface MaintenanceSelector {
  probes: string[];
  kinds: string[];
  labels: Record<string, string>;
}

export type WindowSchedule = { kind: 'cron'; cron: string; timezone: string; durationMs: number } | { kind: 'once'; startMs: number; endMs: number };

export interface ConfigWindow {
  name: string;
  reason: string;
  selector: MaintenanceSelector;
  schedule: WindowSchedule;
  file: string;
}

export interface MaintenanceConfig {
  /**
   * Keep every active window as an Alertmanager silence (maintenance.silence: true), at these URLs:
   * the nodes of one cluster share silences, so the first that answers is enough.
   */
  silenceUrls?: string[];
  maxApiDurationMs: number;
  windows: ConfigWindow[];
}

interface Context {
  probeNames: string[];
  kinds: string[];
  /** With a discover block, probes named in a window may be ones discovery makes later. */
  discovers: boolean;
  /** alerting.alertmanager.url: decoded (a list) or, when the alerting block had problems, as written. */
  alertmanagerUrl?: string | string[];
  problems: string[];
}

/**
 * A recurring window's start times, read in its zone. Five fields only (windows are evaluated a minute
 * at a time; a seconds field would promise a precision they lack), and day-of-month AND day-of-week
 * both have to match, as node-cron (the probes' `schedule:`) reads them, so "0 2 1-7 * 0" is the first
 * Sunday of a month in both. Without a callback croner schedules nothing: no timer to dispose.
 * Throws on a bad expression (the message says which field).
 */
export function windowCron(cron: string, timezone: string): Cron {
  return new Cron(cron, { timezone, mode: '5-part', domAndDow: true });
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The expression windowCron() will read: validated by the same parser that runs it. */
function cronValid(cron: string, timezone: string): boolean {
  try {
    windowCron(cron, timezone);
    return true;
  } catch {
    return false;
  }
}

/** RFC 3339 with an explicit offset: a time without one would depend on the server's zone. */
function parseInstant(text: string): number | undefined {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A duration within (0, cap], or a problem sentence. */
export function boundedDuration(text: string, capMs: number, capName: string): { ok: true; value: number } | { ok: false; problem: string } {
  const ms = parseDuration(text);
  if (!ms.ok) return { ok: false, problem: ms.problem };
  if (ms.value < 1000) return { ok: false, problem: `${text} is shorter than the 1s minimum` };
  if (ms.value > capMs) return { ok: false, problem: `${text} is over the ${capMs / 3_600_000}h cap (${capName})` };
  return ms;
}

export function decodeMaintenance(file: string, block: Static<typeof Maintenance>, ctx: Context): MaintenanceConfig | undefined {
  const before = ctx.problems.length;
  const at = (field: string, message: string) => void ctx.problems.push(`${file}: maintenance.${field}: ${message}`);
  let maxApiDurationMs = DEFAULT_MAX_API_MS;
  if (block.maxDuration !== undefined) {
    const cap = boundedDuration(block.maxDuration, MAX_WINDOW_MS, 'at most 168h');
    if (cap.ok) maxApiDurationMs = cap.value;
    else at('maxDuration', cap.problem);
  }
  if (block.silence && !ctx.alertmanagerUrl) at('silence', 'silences go to alerting.alertmanager.url, which is not set');
  const seen = new Set<string>();
  const windows: ConfigWindow[] = [];
  (block.windows ?? []).forEach((w, i) => {
    const field = (f: string) => `windows[${i}].${f}`;
    const count = ctx.problems.length;
    if (seen.has(w.name)) at(field('name'), `duplicate window name "${w.name}"`);
    seen.add(w.name);
    w.probes?.forEach((p, j) => {
      if (!ctx.probeNames.includes(p) && !ctx.discovers) at(field(`probes[${j}]`), `no probe is named "${p}"`);
    });
    w.kinds?.forEach((k, j) => {
      if (!ctx.kinds.includes(k)) at(field(`kinds[${j}]`), `unknown kind "${k}" (one of ${ctx.kinds.join(', ')})`);
    });
    let schedule: WindowSchedule | undefined;
    if ((w.cron === undefined) === (w.start === undefined)) {
      at(field('cron'), 'give either cron (a recurring window) or start (a one-off window)');
    } else if (w.cron !== undefined) {
      const timezone = w.timezone ?? 'UTC';
      if (w.end !== undefined) at(field('end'), 'a recurring window takes a duration, not an end');
      if (!isTimeZone(timezone)) at(field('timezone'), `unknown time zone "${timezone}" (an IANA name such as Europe/Berlin or UTC)`);
      else if (!cronValid(w.cron, timezone)) at(field('cron'), `"${w.cron}" is not a 5-field cron expression (minute hour day-of-month month day-of-week)`);
      const duration = w.duration === undefined ? undefined : boundedDuration(w.duration, MAX_WINDOW_MS, 'at most 168h');
      if (!duration) at(field('duration'), 'a recurring window needs a duration, e.g. "30m"');
      else if (!duration.ok) at(field('duration'), duration.problem);
      if (ctx.problems.length === count && duration?.ok) schedule = { kind: 'cron', cron: w.cron, timezone, durationMs: duration.value };
    } else {
      const startMs = parseInstant(w.start!);
      if (w.timezone !== undefined) at(field('timezone'), 'applies to cron only; give start with its offset, e.g. 2026-12-05T10:00:00+01:00');
      if (startMs === undefined) at(field('start'), `expected a time with its offset such as 2026-12-05T10:00:00Z, got "${w.start}"`);
      let endMs: number | undefined;
      if ((w.end === undefined) === (w.duration === undefined)) at(field('end'), 'give either end or duration');
      else if (w.end !== undefined) {
        endMs = parseInstant(w.end);
        if (endMs === undefined) at(field('end'), `expected a time with its offset such as 2026-12-05T11:00:00Z, got "${w.end}"`);
        else if (startMs !== undefined && endMs <= startMs) at(field('end'), `${w.end} is not after start (${w.start})`);
        else if (startMs !== undefined && endMs - startMs > MAX_WINDOW_MS) at(field('end'), 'the window is longer than the 168h cap');
      } else {
        const duration = boundedDuration(w.duration!, MAX_WINDOW_MS, 'at most 168h');
        if (!duration.ok) at(field('duration'), duration.problem);
        else if (startMs !== undefined) endMs = startMs + duration.value;
      }
      if (ctx.problems.length === count && startMs !== undefined && endMs !== undefined) schedule = { kind: 'once', startMs, endMs };
    }
    if (schedule) windows.push({ name: w.name, reason: w.reason, selector: { probes: w.probes ?? [], kinds: w.kinds ?? [], labels: w.labels ?? {} }, schedule, file });
  });
  if (ctx.problems.length > before) return undefined;
  return { ...(block.silence && ctx.alertmanagerUrl ? { silenceUrls: [ctx.alertmanagerUrl].flat() } : {}), maxApiDurationMs, windows };
}
