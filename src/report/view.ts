// Engine state → what people read: the JSON views of the API and the aligned text table that
// both `GET /status?format=text` and `watchdog check` print.
import type { ProbeStatus } from '../core/status.js';
import type { ProbeResult, ProbeState } from '../engine/result.js';
import type { DiscoveryStatus } from '../engine/result.js';
import { formatSeconds, iso } from '../util/format.js';
import type { ProbeDetail, ProbeView, StatusReport } from './schemas.js';
import { valueText } from './value.js';

export function probeView(s: ProbeState): ProbeView {
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

export function overall(states: ProbeState[]): StatusReport['status'] {
  const failing = states.filter((s) => s.current.status === 'failing');
  if (failing.some((s) => s.spec.severity === 'critical')) return 'failing';
  return failing.length ? 'degraded' : 'ok';
}

export function statusReport(states: ProbeState[], now: number, discovery?: DiscoveryStatus): StatusReport {
  const report: StatusReport = { status: overall(states), generatedAt: iso(now), probes: states.map(probeView) };
  if (discovery) report.discovery = discoveryView(discovery);
  return report;
}

function discoveryView(discovery: DiscoveryStatus): NonNullable<StatusReport['discovery']> {
  const when = (ms: number | null) => (ms === null ? null : iso(ms));
  return { ...discovery, lastSuccess: when(discovery.lastSuccess), lastAttempt: when(discovery.lastAttempt), probes: [...discovery.probes] };
}

/**
 * Something rendered from one probe's state, kept with the state's version: redone only when the
 * probe changed (a run, a skipped tick, a reload), so with 1,000 probes a request renders the few
 * that changed since the last one instead of all of them. Keyed weakly: a probe a reload removed
 * takes its entry with it.
 */
function perVersion<T>(render: (s: ProbeState) => T): (s: ProbeState) => T {
  const kept = new WeakMap<ProbeState, { version: number; value: T }>();
  return (s) => {
    const k = kept.get(s);
    if (k && k.version === s.version) return k.value;
    const value = render(s);
    kept.set(s, { version: s.version, value });
    return value;
  };
}

const probeJson = perVersion((s) => JSON.stringify(probeView(s)));

/**
 * `statusReport` as JSON text, the same document field for field, built from each probe's kept JSON
 * (`GET /status`): rendering and serialising 1,000 probe views took most of a request's time.
 */
export function statusReportJson(states: ProbeState[], now: number, discovery?: DiscoveryStatus): { status: StatusReport['status']; json: string } {
  const status = overall(states);
  const head = `{"status":${JSON.stringify(status)},"generatedAt":${JSON.stringify(iso(now))},"probes":[`;
  const tail = discovery ? `],"discovery":${JSON.stringify(discoveryView(discovery))}}` : ']}';
  return { status, json: head + states.map(probeJson).join(',') + tail };
}

function historyEntry(r: ProbeResult) {
  return { at: iso(r.at), status: r.status, reason: r.reason, message: r.message, value: r.value, durationMs: r.durationMs };
}

export function probeDetail(s: ProbeState): ProbeDetail {
  return {
    ...probeView(s),
    description: s.spec.description ?? null,
    dependsOn: s.spec.dependsOn,
    intervalSeconds: s.spec.intervalMs / 1000,
    schedule: s.spec.schedule ?? null,
    timeoutSeconds: s.spec.timeoutMs / 1000,
    file: s.spec.file,
    history: s.history.map(historyEntry),
    recentFailures: s.failures.map(historyEntry),
  };
}

const mark: Record<ProbeStatus, string> = { ok: 'OK', failing: 'FAIL', blocked: 'BLOCKED', pending: 'PENDING' };

/** ANSI colours of the STATUS cell; only ever sent to a terminal that asked for them (see TableOptions). */
const colour: Record<ProbeStatus, string> = { ok: '\x1b[32m', failing: '\x1b[1;31m', blocked: '\x1b[33m', pending: '\x1b[2m' };

export interface TableOptions {
  /** Colour the status words: only on a TTY, and never when NO_COLOR is set (https://no-color.org). */
  colour?: boolean;
  /** What container discovery last reported, shown under the table. */
  discovery?: DiscoveryStatus;
}

/** An aligned table for a terminal; hints for non-ok probes follow the table, one per line. */
export function statusTable(states: ProbeState[], now: number, opts: TableOptions = {}): string {
  const rows = states.map((s) => {
    const [name, kind, status, reason, value, message] = rowCells(s);
    // The two ages follow the clock, so they are the only cells written at every call.
    return [name, kind, status, formatSeconds(Math.max(0, now - s.since)), reason, value, s.last ? `${formatSeconds(Math.max(0, now - s.last.at))} ago` : 'never', message];
  });
  const header = ['PROBE', 'KIND', 'STATUS', 'SINCE', 'REASON', 'VALUE', 'LAST RUN', 'MESSAGE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[], status?: ProbeStatus) =>
    cells
      .map((c, i) => {
        const cell = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        // Coloured after padding, so the escape codes do not count towards the column width.
        return i === 2 && status && opts.colour ? `${colour[status]}${cell}\x1b[0m` : cell;
      })
      .join('  ');
  const out = [line(header), ...rows.map((r, i) => line(r, states[i]!.current.status))];
  const hints = states.filter((s) => s.current.status !== 'ok' && s.current.hint);
  if (hints.length) {
    out.push('');
    for (const s of hints) out.push(`${s.spec.name}: ${oneLine(s.current.hint!)}`);
  }
  if (opts.discovery) out.push('', `discovery: ${opts.discovery.status}: ${oneLine(opts.discovery.message)}`);
  out.push('', `overall: ${overall(states)}`);
  return out.join('\n') + '\n';
}

/** A row's cells that change only with the probe. */
const rowCells = perVersion((s) => [s.spec.name, s.spec.kind, mark[s.current.status], s.current.reason, valueText(s.current.value, s.spec.unit), oneLine(s.current.message)] as const);

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ');
}
