// One probe's card on the status page (and on its own page), rendered once per change of the probe
// and kept (rendered.ts). Its two ages follow the clock, so the card is kept in pieces around them
// and `fillCard` writes them in at every request. Everything a target sent is escaped.
import type { ProbeStatus } from '../core/status.js';
import type { ProbeResult, ProbeState } from '../engine/result.js';
import type { Window } from '../maintenance/windows.js';
import { formatDuration, formatSeconds, iso } from '../util/format.js';
import { oneLine } from './probe.js';
import { valueText } from './value.js';

/** Runs drawn in a probe's sparkline on its card. */
const SPARK_RUNS = 30;
/** Runs drawn in the history bar of a probe's row on the overview: the last ten minutes at a 30 s interval. */
const BAR_RUNS = 20;

export const word: Record<ProbeStatus, string> = { failing: 'FAILING', blocked: 'BLOCKED', pending: 'PENDING', ok: 'OK' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function badge(status: ProbeStatus): string {
  return `<span class="badge ${status}">${word[status]}</span>`;
}

/**
 * A run's tooltip, written once per run: a run stays in the sparkline for 30 runs, and each of them
 * renders the card again (the date, duration and escaping were most of a card's cost). Keyed weakly
 * by the result, which is never changed once recorded and leaves with the history.
 */
const barTitles = new WeakMap<ProbeResult, string>();

function barTitle(r: ProbeResult): string {
  let title = barTitles.get(r);
  if (title === undefined) {
    title = `<title>${escapeHtml(`${iso(r.at)} ${word[r.status]} ${formatDuration(r.durationMs)}: ${r.message}`)}</title>`;
    barTitles.set(r, title);
  }
  return title;
}

/** "last 20 runs: 18 ok, 2 failing": what a chart of runs shows, for a screen reader. */
function runsLabel(recent: ProbeResult[]): string {
  const counts = new Map<string, number>();
  for (const r of recent) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return `last ${recent.length} runs: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`;
}

/** Recent runs, oldest left: bar height is the run's duration, colour and tooltip its status. */
export function sparkline(history: ProbeResult[], runs = SPARK_RUNS): string {
  const recent = history.slice(0, runs).reverse();
  if (!recent.length) return '';
  const max = Math.max(1, ...recent.map((r) => r.durationMs));
  const w = 8;
  const h = 40;
  const label = `${runsLabel(recent)}; slowest ${formatDuration(max)}`;
  const bars = recent
    .map((r, i) => {
      const bh = Math.max(3, Math.round((r.durationMs / max) * (h - 2)));
      return `<rect class="r-${r.status}" x="${i * w}" y="${h - bh}" width="${w - 2}" height="${bh}">${barTitle(r)}</rect>`;
    })
    .join('');
  return `<svg class="spark" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${runs * w} ${h}" preserveAspectRatio="xMinYMax meet">${bars}</svg>`;
}

/**
 * A card without its ages: `text` holds the pieces around them (two pieces when the probe never ran,
 * so it has no "last run" age; three otherwise), `since` and `lastRun` the times they count from.
 */
export interface Card {
  text: readonly string[];
  since: number;
  lastRun?: number;
}

/** The probe's card under `window` (the maintenance window covering it, if any). */
export function card(s: ProbeState, window: Window | undefined): Card {
  const c = s.current;
  const name = escapeHtml(s.spec.name);
  const since = iso(s.since);
  const dependency = c.status === 'blocked' && typeof c.details?.dependency === 'string' ? c.details.dependency : undefined;
  const more: string[] = [];
  if (dependency) more.push(`<dt>blocked by</dt><dd><a href="/status/${encodeURIComponent(dependency)}">${escapeHtml(dependency)}</a></dd>`);
  if (window)
    more.push(
      `<dt>maintenance</dt><dd class="maintenance">until <time datetime="${iso(window.endsAt)}">${iso(window.endsAt)}</time> (${escapeHtml(window.id)}): ${escapeHtml(window.reason)}; pages nobody</dd>`,
    );
  const maint = window ? ' <span class="badge maint" title="in a maintenance window: runs, but pages nobody">MAINTENANCE</span>' : '';
  const head = `<li class="probe ${c.status}" id="probe-${name}" data-probe="${name}" data-status="${c.status}"${window ? ` data-maintenance="${escapeHtml(window.id)}"` : ''}>
<div class="head">${badge(c.status)}${maint}<h3><a href="/status/${encodeURIComponent(s.spec.name)}">${name}</a></h3><span class="kind">${escapeHtml(s.spec.kind)} · ${s.spec.severity}</span></div>
<p class="meta">since <time datetime="${since}" title="${since}">`;
  const body = ` ago</time> <span class="abs">(${since})</span></p>
<p class="message">${escapeHtml(c.message)}</p>
${c.status !== 'ok' && c.hint ? `<p class="hint"><strong>What to do:</strong> ${escapeHtml(c.hint)}</p>` : ''}
<dl><dt>value</dt><dd>${escapeHtml(valueText(c.value, s.spec.unit))}</dd>`;
  const tail = `${more.join('')}</dl>
${sparkline(s.history)}`;
  if (!s.last) return { text: [head, body + tail], since: s.since };
  return { text: [head, `${body}<dt>last run</dt><dd>`, ` ago, took ${formatDuration(s.last.durationMs)}</dd>${tail}`], since: s.since, lastRun: s.last.at };
}

/**
 * The card with its ages as of `now`, and `extra` at its end: what follows the clock or the kept
 * incidents rather than the probe's version (its availability and last incidents).
 */
export function fillCard(kept: Card, now: number, extra = ''): string {
  return `${fillAges(kept, now)}${extra}</li>`;
}

function fillAges(kept: Card, now: number): string {
  const [head, body, tail] = kept.text;
  const since = head! + formatSeconds(Math.max(0, now - kept.since)) + body!;
  return kept.lastRun === undefined ? since : since + formatSeconds(Math.max(0, now - kept.lastRun)) + tail!;
}

/** Recent runs as equal cells, oldest left and newest at the right edge, coloured by the run's status. */
export function historyBar(history: ProbeResult[], runs = BAR_RUNS): string {
  const recent = history.slice(0, runs).reverse();
  if (!recent.length) return '<span class="bar none">no runs yet</span>';
  const w = 4;
  const offset = runs - recent.length;
  // No tooltip per cell, unlike the card's chart: twenty of them per row would double the page's size
  // at 1,000 probes, and the card one click away has them.
  const cells = recent.map((r, i) => `<rect class="r-${r.status}" x="${(offset + i) * w}" y="0" width="${w - 1}" height="10"/>`).join('');
  return `<svg class="bar" role="img" aria-label="${escapeHtml(runsLabel(recent))}" viewBox="0 0 ${runs * w} 10" preserveAspectRatio="none">${cells}</svg>`;
}

/**
 * The probe's row on the overview, without its age: status word and colour, name (a link to its
 * card further down the page), since when, value and a bar of recent runs. One line on a wide
 * screen, so a whole profile fits on the first screen.
 */
export function row(s: ProbeState, window: Window | undefined): Card {
  const c = s.current;
  const name = escapeHtml(s.spec.name);
  const since = iso(s.since);
  const maint = window ? ' <span class="badge maint" title="in a maintenance window: runs, but pages nobody">MAINT</span>' : '';
  const head = `<li class="row ${c.status}" data-row="${name}" data-status="${c.status}" title="${escapeHtml(oneLine(c.message))}">${badge(c.status)}<span class="name"><a href="#probe-${name}">${name}</a>${maint}</span>${why(s)}<time class="since" datetime="${since}" title="since ${since}">`;
  const tail = `</time><span class="value">${escapeHtml(valueText(c.value, s.spec.unit))}</span>${historyBar(s.history)}</li>`;
  return { text: [head, tail], since: s.since };
}

/** Why a row is not ok, in a word: what it waits on, or its reason (bounded, so it fits beside the name). */
function why(s: ProbeState): string {
  const c = s.current;
  // Always there, empty when ok: the row's cells keep their places in its grid.
  if (c.status === 'ok' || c.status === 'pending') return '<span class="why"></span>';
  const dependency = c.status === 'blocked' && typeof c.details?.dependency === 'string' ? c.details.dependency : undefined;
  return `<span class="why">${dependency ? `waits on ${escapeHtml(dependency)}` : escapeHtml(c.reason)}</span>`;
}

/** The row with its age as of `now`. */
export function fillRow(kept: Card, now: number): string {
  return fillAges(kept, now);
}
