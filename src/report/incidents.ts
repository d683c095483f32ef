// Incidents as people read them: the API's view of one, the list with downtime per probe, and the
// text summary that both `GET /incidents?format=text` and `watchdog incidents` print (from the list
// view, so the CLI prints what the daemon answered, not a second rendering).
import type { Incident, Incidents } from '../incidents/incidents.js';
import { formatSeconds, iso } from '../util/format.js';
import type { IncidentList, IncidentView, ProbeDetail } from './schemas.js';

export function incidentView(i: Incident, now: number): IncidentView {
  return {
    probe: i.probe,
    start: iso(i.start),
    end: i.end === null ? null : iso(i.end),
    open: i.end === null,
    durationSeconds: Math.max(0, (i.end ?? now) - i.start) / 1000,
    reasons: i.reasons,
    message: i.message,
    hint: i.hint,
    maintenance: i.maintenance,
  };
}

export function incidentList(incidents: Incident[], now: number, since?: number): IncidentList {
  const downtime = new Map<string, { probe: string; incidents: number; downtimeSeconds: number }>();
  for (const i of incidents) {
    const d = downtime.get(i.probe) ?? { probe: i.probe, incidents: 0, downtimeSeconds: 0 };
    d.incidents++;
    // Within the span asked about: a week's summary counts a week's downtime, not an older start.
    d.downtimeSeconds += Math.max(0, Math.min(i.end ?? now, now) - Math.max(i.start, since ?? i.start)) / 1000;
    downtime.set(i.probe, d);
  }
  return {
    generatedAt: iso(now),
    since: since === undefined ? null : iso(since),
    incidents: incidents.map((i) => incidentView(i, now)),
    downtime: [...downtime.values()].sort((a, b) => b.downtimeSeconds - a.downtimeSeconds || a.probe.localeCompare(b.probe)),
  };
}

/** An aligned table of the incidents, then the downtime per probe. */
export function incidentsText(list: IncidentList): string {
  const span = list.since ? `since ${list.since}` : 'kept';
  if (!list.incidents.length) return `no incidents ${span}\n`;
  const rows = list.incidents.map((i) => [
    i.probe,
    i.start,
    i.end ?? 'open',
    formatSeconds(i.durationSeconds * 1000),
    i.reasons.join(','),
    `${oneLine(i.message)}${i.maintenance.length ? ` (in maintenance: ${i.maintenance.join(', ')})` : ''}`,
  ]);
  const downtime = list.downtime.map((d) => [d.probe, String(d.incidents), formatSeconds(d.downtimeSeconds * 1000)]);
  return (
    [
      `${list.incidents.length} incident(s) ${span}:`,
      ...table(['PROBE', 'START', 'END', 'DURATION', 'REASONS', 'MESSAGE'], rows),
      '',
      `downtime per probe ${span}:`,
      ...table(['PROBE', 'INCIDENTS', 'DOWNTIME'], downtime),
    ].join('\n') + '\n'
  );
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ');
}

/** What /status/<probe> adds: its recent incidents and its availability; nothing without incidents kept. */
export function probeIncidents(incidents: Incidents | undefined, probe: string, now: number): Pick<ProbeDetail, 'incidents' | 'availability'> {
  if (!incidents) return {};
  return {
    incidents: incidents
      .list({ probe })
      .slice(0, RECENT)
      .map((i) => incidentView(i, now)),
    availability: incidents.availability(probe, now),
  };
}

/** How many incidents /status/<probe> lists; the rest are one GET /incidents?probe= away. */
const RECENT = 10;
