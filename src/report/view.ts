// Engine state → what people read: the JSON views of the API and the aligned text table that
// both `GET /status?format=text` and `watchdog check` print.
import type { ProbeStatus } from '../core/status.js';
import type { ProbeResult, ProbeState } from '../engine/result.js';
import type { DiscoveryStatus } from '../engine/result.js';
import { formatValue, iso } from '../util/format.js';
import type { ProbeDetail, ProbeView, StatusReport } from './schemas.js';

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
  if (discovery) {
    const when = (ms: number | null) => (ms === null ? null : iso(ms));
    report.discovery = { ...discovery, lastSuccess: when(discovery.lastSuccess), lastAttempt: when(discovery.lastAttempt), probes: [...discovery.probes] };
  }
  return report;
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

/** An aligned table for a terminal; hints for non-ok probes follow the table, one per line. */
export function statusTable(states: ProbeState[], now: number, discovery?: DiscoveryStatus): string {
  const rows = states.map((s) => [
    s.spec.name,
    s.spec.kind,
    mark[s.current.status],
    s.current.reason,
    s.current.value === null ? '-' : formatValue(s.current.value),
    s.last ? `${Math.max(0, Math.round((now - s.last.at) / 1000))}s ago` : 'never',
    oneLine(s.current.message),
  ]);
  const header = ['PROBE', 'KIND', 'STATUS', 'REASON', 'VALUE', 'LAST RUN', 'MESSAGE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const out = [line(header), ...rows.map(line)];
  const hints = states.filter((s) => s.current.status !== 'ok' && s.current.hint);
  if (hints.length) {
    out.push('');
    for (const s of hints) out.push(`${s.spec.name}: ${oneLine(s.current.hint!)}`);
  }
  if (discovery) out.push('', `discovery: ${discovery.status}: ${oneLine(discovery.message)}`);
  out.push('', `overall: ${overall(states)}`);
  return out.join('\n') + '\n';
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ');
}
