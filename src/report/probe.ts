// One probe's state → its pieces in the views: the JSON view of the API and the cells of the text
// table. What is rendered here is kept per probe (rendered.ts); the views join it (view.ts, page.ts).
import type { ProbeStatus } from '../core/status.js';
import type { ProbeState } from '../engine/result.js';
import type { Window } from '../maintenance/windows.js';
import { iso } from '../util/format.js';
import { probeMaintenance } from './maintenance.js';
import type { ProbeView } from './schemas.js';
import { valueText } from './value.js';

/** The probe's view under `window` (the maintenance window covering it, if any). */
export function probeViewIn(s: ProbeState, window: Window | undefined): ProbeView {
  const c = s.current;
  const view: ProbeView = {
    name: s.spec.name,
    kind: s.spec.kind,
    severity: s.spec.severity,
    status: c.status,
    reason: c.reason,
    message: c.message,
    hint: c.status === 'ok' ? null : (c.hint ?? null),
    value: c.value,
    since: iso(s.since),
    lastRun: s.last ? iso(s.last.at) : null,
    durationMs: s.last ? s.last.durationMs : null,
  };
  if (c.details && Object.keys(c.details).length) view.details = c.details;
  if (s.spec.discovered) view.discovered = true;
  const late = lateness(s);
  if (late) view.details = { ...view.details, ...late };
  const maintenance = probeMaintenance(window);
  if (maintenance) view.maintenance = maintenance;
  return view;
}

/**
 * A probe that cannot keep its schedule says so here, not only in a counter: its last scheduled run
 * started over an interval late, or ticks found its previous run still going.
 */
function lateness(s: ProbeState): Record<string, unknown> | undefined {
  if (s.spec.schedule || s.lagMs === undefined || s.lagMs < s.spec.intervalMs) return undefined;
  const lag = Math.round(s.lagMs / 100) / 10;
  return {
    late: true,
    scheduleLagSeconds: lag,
    skippedRuns: s.skipped,
    schedule: `late: the last run started ${lag}s after it was due (every ${s.spec.intervalMs / 1000}s); other slow probes hold the run slots (WATCHDOG_CONCURRENCY) or its runs take longer than its interval`,
  };
}

const mark: Record<ProbeStatus, string> = { ok: 'OK', failing: 'FAIL', blocked: 'BLOCKED', pending: 'PENDING' };

/** A text-table row's cells that change only with the probe: PROBE, KIND, STATUS, REASON, VALUE, MESSAGE. */
export type RowCells = readonly [name: string, kind: string, status: string, reason: string, value: string, message: string];

export function rowCells(s: ProbeState): RowCells {
  return [s.spec.name, s.spec.kind, mark[s.current.status], s.current.reason, valueText(s.current.value, s.spec.unit), oneLine(s.current.message)];
}

export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ');
}
