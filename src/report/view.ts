// Engine state → what people read: the JSON views of the API and the aligned text table that
// both `GET /status?format=text` and `watchdog check` print.
import type { ProbeStatus } from '../core/status.js';
import type { ProbeResult, ProbeState } from '../engine/result.js';
import type { DiscoveryStatus } from '../discovery/state.js';
import { formatSeconds, iso } from '../util/format.js';
import { windowView, type MaintenanceLookup } from './maintenance.js';
import { causesOf, coveredBy, type Cause } from './causes.js';
import { oneLine, probeViewIn } from './probe.js';
import { sharedRenderings, type ProbeRenderings } from './rendered.js';
import type { ProbeDetail, ProbeView, StatusReport } from './schemas.js';

export function probeView(s: ProbeState, maintenance?: MaintenanceLookup): ProbeView {
  return probeViewIn(s, maintenance?.covering(s));
}

export function overall(states: readonly ProbeState[]): StatusReport['status'] {
  const failing = states.filter((s) => s.current.status === 'failing');
  if (failing.some((s) => s.spec.severity === 'critical')) return 'failing';
  return failing.length ? 'degraded' : 'ok';
}

export function statusReport(states: readonly ProbeState[], now: number, discovery?: DiscoveryStatus, maintenance?: MaintenanceLookup): StatusReport {
  const report: StatusReport = { status: overall(states), generatedAt: iso(now), causes: causesOf(states), probes: states.map((s) => probeView(s, maintenance)) };
  if (maintenance) report.maintenance = maintenance.active.map((w) => windowView(w, states));
  if (discovery) report.discovery = discoveryView(discovery);
  return report;
}

function discoveryView(discovery: DiscoveryStatus): NonNullable<StatusReport['discovery']> {
  const when = (ms: number | null) => (ms === null ? null : iso(ms));
  return { ...discovery, lastSuccess: when(discovery.lastSuccess), lastAttempt: when(discovery.lastAttempt), probes: [...discovery.probes] };
}

/**
 * `statusReport` as JSON text, the same document field for field, joined from each probe's kept JSON:
 * rendering and serialising 1,000 probe views took most of a request's time. GET /status sends the bytes.
 */
export function statusReportJson(...args: Parameters<typeof statusReportBytes>): { status: StatusReport['status']; json: string } {
  const { status, body } = statusReportBytes(...args);
  return { status, json: body.toString('utf8') };
}

const COMMA = Buffer.from(',');

/**
 * `statusReportJson` as the UTF-8 bytes GET /status sends, joined from each probe's kept bytes. At 1,000
 * probes, joining the kept strings into one 230 kB string and encoding that on the socket was a fifth of a
 * request's CPU (profile under `npm run bench:scale`: the join, then `writeLatin1String`); each probe's
 * JSON is now encoded once per change, and a request copies each byte once.
 */
export function statusReportBytes(...args: Parameters<typeof statusReportParts>): { status: StatusReport['status']; body: Buffer } {
  const { status, parts } = statusReportParts(...args);
  return { status, body: Buffer.concat(parts) };
}

/** `statusReportBytes` as the pieces of its bytes, in order: GET /status joins them into a reused buffer (server/bodyPool.ts). */
export function statusReportParts(
  states: readonly ProbeState[],
  now: number,
  discovery?: DiscoveryStatus,
  maintenance?: MaintenanceLookup,
  renderings: ProbeRenderings = sharedRenderings,
): { status: StatusReport['status']; parts: Buffer[] } {
  const status = overall(states);
  // Causes are worked out at every request: they change with any probe, and grouping a thousand is cheap next to the probes' JSON.
  const head = `{"status":${JSON.stringify(status)},"generatedAt":${JSON.stringify(iso(now))},"causes":${JSON.stringify(causesOf(states))},"probes":[`;
  // Sized once: pushing 2,000 pieces grew the array a dozen times per request, garbage that at
  // hundreds of requests a second helped bring on major collections (sampling heap profile, bench:scale).
  const parts = new Array<Buffer>(2 * states.length + 1);
  parts[0] = Buffer.from(head);
  // With no window open no probe is covered: the lookup per probe is skipped.
  const open = maintenance?.active.length ? maintenance : undefined;
  let n = 1;
  for (let i = 0; i < states.length; i++) {
    const s = states[i]!;
    if (i) parts[n++] = COMMA;
    parts[n++] = renderings.of(s, open?.covering(s)).jsonBytes;
  }
  parts.length = n;
  const windows = maintenance ? `,"maintenance":${JSON.stringify(maintenance.active.map((w) => windowView(w, states)))}` : '';
  parts.push(Buffer.from(`]${windows}${discovery ? `,"discovery":${JSON.stringify(discoveryView(discovery))}` : ''}}`));
  return { status, parts };
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

/** ANSI colours of the STATUS cell; only ever sent to a terminal that asked for them (see TableOptions). */
const colour: Record<ProbeStatus, string> = { ok: '\x1b[32m', failing: '\x1b[1;31m', blocked: '\x1b[33m', pending: '\x1b[2m' };

export interface TableOptions {
  /** Colour the status words: only on a TTY, and never when NO_COLOR is set (https://no-color.org). */
  colour?: boolean;
  /** What container discovery last reported, shown under the table. */
  discovery?: DiscoveryStatus;
  /** Where hints wrap: the terminal's width when known (default 100, at least 40). */
  width?: number;
}

/** Hints start two columns in; their wrapped lines line up under the hint's first word. */
const HINT_LABEL = '  hint: ';
const HINT_INDENT = ' '.repeat(HINT_LABEL.length);

/**
 * An aligned table for a terminal. The hint of a probe that is not ok is printed beneath its row,
 * so what to do stands next to what broke; wrapped to the width rather than running off screen.
 */
export function statusTable(states: readonly ProbeState[], now: number, opts: TableOptions = {}, renderings: ProbeRenderings = sharedRenderings): string {
  const rows = states.map((s) => {
    // The window is not in the table (maintenanceText prints the windows under it): the rendering kept for the other views serves.
    const [name, kind, status, reason, value, message] = renderings.ofAnyWindow(s).cells;
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
  const width = Math.max(40, opts.width ?? 100);
  const hint = (text: string) => wrap(oneLine(text), width - HINT_INDENT.length).map((l, j) => (j ? HINT_INDENT : HINT_LABEL) + l);
  const causes = causesOf(states);
  // A probe a cause accounts for has its hint there, once: not again under its row.
  const covered = coveredBy(causes);
  const out = causes.length ? [...causesText(causes, width, hint, opts.colour), ''] : [];
  out.push(line(header));
  rows.forEach((r, i) => {
    const c = states[i]!.current;
    out.push(line(r, c.status));
    if (c.status !== 'ok' && c.hint && !covered.has(states[i]!.spec.name)) out.push(...hint(c.hint));
  });
  if (opts.discovery) out.push('', `discovery: ${opts.discovery.status}: ${oneLine(opts.discovery.message)}`);
  out.push('', `overall: ${overall(states)}`);
  return out.join('\n') + '\n';
}

const WAITING_LABEL = '  waiting: ';

/**
 * The causes, most urgent first: one line each, its hint, and the probes that wait on it as one
 * wrapped line rather than a row and a "fix that first" hint each.
 */
function causesText(causes: Cause[], width: number, hint: (text: string) => string[], colours?: boolean): string[] {
  const out = [`CAUSES (${causes.length}): fix these first`];
  for (const c of causes) {
    const word = c.status === 'failing' ? 'FAIL' : 'BLOCKED';
    out.push(`${colours ? `${colour[c.status]}${word}\x1b[0m` : word} ${oneLine(c.summary)}`);
    if (c.hint) out.push(...hint(c.hint));
    if (c.blocks.length) out.push(...wrap(c.blocks.join(', '), width - WAITING_LABEL.length).map((l, j) => (j ? ' '.repeat(WAITING_LABEL.length) : WAITING_LABEL) + l));
  }
  return out;
}

/** Words to lines of at most `width` characters; a longer word (a URL) gets a line of its own. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.trim().split(' ')) {
    if (current && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  if (current) lines.push(current);
  return lines;
}
