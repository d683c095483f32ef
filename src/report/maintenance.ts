// Maintenance windows as people read them: the API's view of a window, the lines under the text
// table and the page's banner. The windows themselves are src/maintenance's.
import type { ProbeState } from '../engine/result.js';
import { covers, selectsAll, type Window } from '../maintenance/windows.js';
import { formatSeconds, iso } from '../util/format.js';
import type { MaintenanceWindowView, ProbeView } from './schemas.js';

/** What the views need to know about maintenance: the open windows, and the one covering a probe. */
export interface MaintenanceLookup {
  active: Window[];
  covering(s: ProbeState): Window | undefined;
}

export function windowView(w: Window, states: readonly ProbeState[]): MaintenanceWindowView {
  return {
    id: w.id,
    source: w.source,
    reason: w.reason,
    startsAt: iso(w.startsAt),
    until: iso(w.endsAt),
    probes: w.selector.probes,
    kinds: w.selector.kinds,
    labels: w.selector.labels,
    covered: states.filter((s) => covers(w.selector, s.spec)).map((s) => s.spec.name),
  };
}

export function probeMaintenance(w: Window | undefined): ProbeView['maintenance'] {
  return w && { id: w.id, reason: w.reason, until: iso(w.endsAt) };
}

/** Lines for the end of the text table: one per open window. */
export function maintenanceText(active: Window[], states: readonly ProbeState[], now: number): string {
  if (!active.length) return '';
  const lines = active.map((w) => {
    const covered = windowView(w, states).covered;
    return `maintenance ${w.id}: ${selectsAll(w.selector) ? 'all probes' : covered.join(', ') || 'no probe'} until ${iso(w.endsAt)} (${formatSeconds(Math.max(0, w.endsAt - now))} left): ${w.reason.replace(/\s+/g, ' ')}`;
  });
  return `${lines.join('\n')}\n`;
}

/** The lookup the views take, from the windows open at `now`. */
export function lookupAt(maintenance: { active(now: number): Window[] } | undefined, now: number): MaintenanceLookup | undefined {
  if (!maintenance) return undefined;
  const active = maintenance.active(now);
  return { active, covering: (s) => active.filter((w) => covers(w.selector, s.spec)).at(-1) };
}
