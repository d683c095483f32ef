// Incidents: each probe's stretches of failing, kept apart from the engine's short history so they
// outlive it (and, with WATCHDOG_STATE_DIR, a restart). Fed one result at a time by the daemon's
// subscription to the engine's `result` event; knows nothing of HTTP or of how incidents are shown.
//
// What counts: the probe's visible status (after failure/successThreshold, as /status and the alerts
// see it). An incident opens when it turns `failing` (start: that run's time) and ends when it turns
// `ok` (end: that run's time). `blocked` is not an incident of its own: the failing dependency has
// the incident that explains it, and a blocked probe's own open incident (it failed, then its
// dependency did too) stays open, since nobody has seen it ok since. `pending` (after a restart)
// likewise neither opens nor ends one: an incident open at shutdown ends at the first ok run after
// the restart, because the watchdog saw nothing in between.
import type { Logger } from 'pino';
import type { ProbeState } from '../engine/result.js';
import { writeJsonAtomic } from '../util/stateFile.js';
import { readIncidentFile, INCIDENT_FILE, type Incident } from './file.js';

export type { Incident } from './file.js';

export interface IncidentsOptions {
  logger: Logger;
  now: () => number;
  /** The folder of incidents.json; none: incidents live in memory and end with the process. */
  stateDir?: string;
  /** At most this many incidents are kept (default 1000); the oldest ended ones go first. Open ones are always kept. */
  maxCount?: number;
  /** Ended incidents older than this are dropped (default 30 days: a week's availability needs a week). */
  maxAgeMs?: number;
  /** The maintenance window covering a probe now, if any: recorded on its open incident. */
  maintenanceOf?: (state: ProbeState) => string | undefined;
}

export interface IncidentFilter {
  probe?: string;
  /** Incidents that were open at or after this time (ms). */
  since?: number;
  open?: boolean;
}

/** Reasons and windows an incident lists: a flapping probe must not grow its entry without bound. */
const MAX_LISTED = 20;
const DAY_MS = 86_400_000;

export const availabilityWindows = { hour: 3_600_000, day: DAY_MS, week: 7 * DAY_MS } as const;
export type Availability = Record<keyof typeof availabilityWindows, number | null>;

export class Incidents {
  /** Oldest start first. */
  private kept: Incident[] = [];
  private readonly open = new Map<string, Incident>();
  /** When each probe's first result came (kept across restarts): availability counts from there. */
  private readonly watched = new Map<string, number>();
  private writing: Promise<void> = Promise.resolve();
  private readonly logger: Logger;
  private readonly maxCount: number;
  private readonly maxAgeMs: number;

  constructor(private readonly opts: IncidentsOptions) {
    this.logger = opts.logger.child({ component: 'incidents' });
    this.maxCount = opts.maxCount ?? 1000;
    this.maxAgeMs = opts.maxAgeMs ?? 30 * DAY_MS;
  }

  /** Reads incidents.json: a file that cannot be used is logged and moved aside, a bad entry is logged and dropped. */
  async load(): Promise<void> {
    if (!this.opts.stateDir) return;
    const read = await readIncidentFile(this.opts.stateDir);
    for (const problem of read.problems) this.logger.error({ problem }, 'incident state dropped: it cannot be used');
    for (const incident of read.incidents) {
      if (incident.end === null) {
        const other = this.open.get(incident.probe);
        // Only one stretch of failing per probe can be going on: a second open one is a damaged file.
        if (other) {
          this.logger.error(
            { problem: `${read.path}: a second open incident of "${incident.probe}" (started ${new Date(incident.start).toISOString()})` },
            'incident state dropped: it cannot be used',
          );
          continue;
        }
        this.open.set(incident.probe, incident);
      }
      this.kept.push(incident);
    }
    this.kept.sort((a, b) => a.start - b.start);
    // The bounds may have been lowered, or the watchdog down for long: applied before anything is shown.
    this.prune();
    for (const [probe, at] of Object.entries(read.watched)) this.watched.set(probe, at);
    if (this.kept.length) this.logger.info({ incidents: this.kept.length, open: [...this.open.keys()] }, 'incidents restored from the state file');
  }

  async stop(): Promise<void> {
    await this.writing;
  }

  /** One result has been recorded for the probe (the engine's `result` event). */
  observe(state: ProbeState): void {
    const probe = state.spec.name;
    const { current, last } = state;
    let changed = false;
    if (!this.watched.has(probe)) {
      this.watched.set(probe, last?.at ?? this.opts.now());
      changed = true;
    }
    let incident = this.open.get(probe);
    if (current.status === 'failing' && !incident) {
      incident = { probe, start: state.since, end: null, reasons: [current.reason], message: current.message, hint: current.hint ?? null, maintenance: [] };
      this.open.set(probe, incident);
      this.kept.push(incident);
      this.prune();
      changed = true;
    } else if (current.status === 'ok' && incident) {
      incident.end = state.since;
      this.open.delete(probe);
      incident = undefined;
      changed = true;
    }
    if (incident) {
      // The reasons of the runs themselves: the visible status may still show the first one.
      if (last?.status === 'failing') changed = addOnce(incident.reasons, last.reason) || changed;
      const window = this.opts.maintenanceOf?.(state);
      if (window) changed = addOnce(incident.maintenance, window) || changed;
    }
    if (changed) this.persist();
  }

  /**
   * The probes now in the config: an open incident of a probe no longer there ends now (nothing will
   * run it again to see it ok), and its availability starts afresh if it comes back.
   */
  retain(probes: Iterable<string>): void {
    const names = new Set(probes);
    const now = this.opts.now();
    let changed = false;
    for (const [probe, incident] of this.open) {
      if (names.has(probe)) continue;
      incident.end = Math.max(incident.start, now);
      this.open.delete(probe);
      changed = true;
    }
    for (const probe of this.watched.keys()) if (!names.has(probe)) changed = this.watched.delete(probe) || changed;
    if (changed) this.persist();
  }

  /** Newest first. */
  list(filter: IncidentFilter = {}): Incident[] {
    return this.kept
      .filter(
        (i) =>
          (filter.probe === undefined || i.probe === filter.probe) &&
          (filter.since === undefined || i.end === null || i.end >= filter.since) &&
          (filter.open === undefined || (i.end === null) === filter.open),
      )
      .reverse();
  }

  /**
   * The share of the last hour, day and week the probe spent outside its own incidents, counted from its
   * first result (null when there is none in the window). Time the watchdog was not running counts as
   * ok unless an incident was open across it; time blocked counts for the dependency's incident.
   */
  availability(probe: string, now = this.opts.now()): Availability {
    return this.availabilityOf(
      probe,
      this.kept.filter((i) => i.probe === probe),
      now,
    );
  }

  /**
   * `availability` of every probe at once, for a view that shows them all (the status page): the kept
   * incidents are grouped in one pass, not filtered again per probe (1,000 probes with 1,000 incidents
   * kept took a tenth of a second per request that way).
   */
  availabilities(now = this.opts.now()): (probe: string) => Availability {
    const by = new Map<string, Incident[]>();
    for (const i of this.kept) {
      const list = by.get(i.probe);
      if (list) list.push(i);
      else by.set(i.probe, [i]);
    }
    return (probe) => this.availabilityOf(probe, by.get(probe) ?? [], now);
  }

  private availabilityOf(probe: string, mine: Incident[], now: number): Availability {
    const first = this.watched.get(probe);
    const share = (windowMs: number): number | null => {
      if (first === undefined) return null;
      const from = Math.max(now - windowMs, first);
      if (from >= now) return null;
      const down = mine.reduce((sum, i) => sum + Math.max(0, Math.min(i.end ?? now, now) - Math.max(i.start, from)), 0);
      return Math.max(0, now - from - down) / (now - from);
    };
    return { hour: share(availabilityWindows.hour), day: share(availabilityWindows.day), week: share(availabilityWindows.week) };
  }

  /** Drops ended incidents past the age bound, then the oldest ended ones over the count bound. */
  private prune(): void {
    const oldest = this.opts.now() - this.maxAgeMs;
    this.kept = this.kept.filter((i) => i.end === null || i.end >= oldest);
    let over = this.kept.length - this.maxCount;
    if (over > 0) this.kept = this.kept.filter((i) => i.end === null || over-- <= 0);
  }

  private persist(): void {
    const dir = this.opts.stateDir;
    if (!dir) return;
    this.prune();
    const content = { version: 1, incidents: this.kept, watched: Object.fromEntries(this.watched) };
    // Serialised now, written in order: the last state written is the last state known.
    const snapshot = JSON.parse(JSON.stringify(content)) as unknown;
    this.writing = this.writing.then(() => writeJsonAtomic(dir, INCIDENT_FILE, snapshot)).catch((err: unknown) => this.logger.error({ err, dir }, 'cannot write the incident state file'));
  }
}

function addOnce(list: string[], item: string): boolean {
  if (list.includes(item) || list.length >= MAX_LISTED) return false;
  list.push(item);
  return true;
}
