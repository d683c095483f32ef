// The status page for people: one self-contained HTML document (no external assets, no build step),
// readable with JavaScript off. Everything a target sent (messages, hints, details) is escaped.
import { createHash } from 'node:crypto';
import type { ProbeStatus } from '../core/status.js';
import type { ProbeResult, ProbeState } from '../engine/result.js';
import { formatDuration, formatSeconds, iso } from '../util/format.js';
import type { Availability, Incident } from '../incidents/incidents.js';
import { covers } from '../maintenance/windows.js';
import { badge, escapeHtml, fillCard, fillRow, word } from './card.js';
import { incidentView } from './incidents.js';
import { causesOf, type Cause } from './causes.js';
import type { IncidentView } from './schemas.js';
import type { MaintenanceLookup } from './maintenance.js';
import { sharedRenderings, type ProbeRenderings } from './rendered.js';
import { overall } from './view.js';

export { escapeHtml, sparkline } from './card.js';

/** Seconds between refreshes: the meta refresh without JavaScript, the in-place refresh with it. */
const REFRESH_SECONDS = 15;
const rank: Record<ProbeStatus, number> = { failing: 0, blocked: 1, pending: 2, ok: 3 };

// Status colours are text on a badge: each pair is above WCAG AA (4.5:1) in light and dark mode,
// and the status is always spelled out, so colour never carries it alone.
// The overview is one line per probe and, from 64rem up, two columns read top to bottom: a profile
// of two dozen probes then fits a 1280x800 screen under the causes. Below 40rem a row takes two lines
// (value, why and bar under the name), so a phone never scrolls sideways.
const style = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1a1a1a;--muted:#555;--card:#f4f5f7;--line:#d0d4da;
--ok:#1b6e20;--failing:#b00020;--blocked:#8a4b00;--pending:#4a5568;--maint:#4527a0;--on:#fff}
@media (prefers-color-scheme:dark){:root{--bg:#121417;--fg:#e8eaed;--muted:#b0b6bf;--card:#1e2227;--line:#3a4049;
--ok:#81c784;--failing:#ff8a80;--blocked:#ffb74d;--pending:#b0bec5;--maint:#b39ddb;--on:#111}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header,main,footer{max-width:80rem;margin:0 auto;padding:.4rem 1rem}
h1{font-size:1.3rem;margin:.1rem 0}
h2{font-size:1rem;margin:.6rem 0 .2rem}
h3{font-size:1.05rem;margin:0;overflow-wrap:anywhere}
a{color:inherit}
.summary{margin:.1rem 0;color:var(--muted)}
ol.probes,ol.rows,ol.causes{list-style:none;margin:0;padding:0}
ol.probes{max-width:60rem}
.probe{background:var(--card);border:1px solid var(--line);border-left:.4rem solid var(--line);border-radius:.4rem;padding:.6rem .8rem;margin:.6rem 0;scroll-margin-top:.5rem}
.probe:target{outline:2px solid var(--fg);outline-offset:2px}
.probe.failing,.cause.failing{border-left-color:var(--failing)}.probe.blocked,.cause.blocked{border-left-color:var(--blocked)}
.probe.pending{border-left-color:var(--pending)}.probe.ok{border-left-color:var(--ok)}
.head{display:flex;flex-wrap:wrap;gap:.4rem .6rem;align-items:baseline}
.badge{display:inline-block;font-weight:700;font-size:.85rem;letter-spacing:.03em;padding:.05rem .45rem;border-radius:.25rem;color:var(--on)}
.badge.maint{background:var(--maint)}
.banner{background:var(--card);border:1px solid var(--maint);border-left:.4rem solid var(--maint);border-radius:.4rem;padding:.5rem .8rem;margin:.6rem 0}
.banner ul{margin:.2rem 0;padding-left:1.2rem}
.badge.ok{background:var(--ok)}.badge.failing{background:var(--failing)}.badge.blocked{background:var(--blocked)}.badge.pending{background:var(--pending)}
.meta,.kind{color:var(--muted);font-size:.9rem}
p{margin:.3rem 0;overflow-wrap:anywhere}
.hint{border-left:3px solid var(--line);padding-left:.5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.3rem 0;font-size:.9rem}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
svg.spark{display:block;width:100%;max-width:24rem;height:2.5rem;margin-top:.3rem}
.r-ok{fill:var(--ok)}.r-failing{fill:var(--failing)}.r-blocked{fill:var(--blocked)}.r-pending{fill:var(--pending)}
.cause{border-left:.3rem solid var(--line);padding:.1rem .6rem;margin:.25rem 0;font-size:.95rem}
.cause p{margin:0}.cause .badge{font-size:.75rem;margin-right:.3rem}
.cause .under,.cause .hint{color:var(--muted);font-size:.85rem}.cause .hint{color:inherit;margin:.1rem 0}
ol.rows{font-size:.9rem;column-gap:2rem}
@media (min-width:64rem){ol.rows{columns:2}}
.row{display:grid;grid-template-columns:5.2rem auto minmax(0,1fr) 3.6rem 4.2rem 5rem;gap:.5rem;align-items:center;padding:.12rem .3rem;border-bottom:1px solid var(--line);break-inside:avoid}
.row .badge{font-size:.72rem;text-align:center}
.row .name{min-width:0;overflow-wrap:anywhere}.row .name .badge{margin-left:.3rem}
.row .why{min-width:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.row .why,.cause .sev{color:var(--muted);font-size:.8rem}
.row .since,.row .value{color:var(--muted);text-align:right;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
svg.bar{display:block;width:5rem;height:.8rem}.bar.none{color:var(--muted);font-size:.75rem}
@media (max-width:40rem){.row{grid-template-columns:5.2rem minmax(0,1fr) auto;grid-template-areas:"st name since" "value why bar";row-gap:0}
.row>.badge{grid-area:st}.row .name{grid-area:name}.row .why{grid-area:why}.row .since{grid-area:since}.row .value{grid-area:value;text-align:left}.row .bar{grid-area:bar}}
.availability{font-size:.9rem}
ul.incidents{margin:.2rem 0;padding-left:1.2rem;font-size:.9rem}ul.incidents li{overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
.table{overflow-x:auto}
@media (prefers-reduced-motion:no-preference){.probe{transition:border-color .3s}}
`;

// Swaps <main> for a fresh copy every REFRESH_SECONDS, so the page updates without a reload or a jump.
const script = `(()=>{const m=document.querySelector('main');const s=document.getElementById('updated');
setInterval(async()=>{try{const r=await fetch(location.href,{headers:{accept:'text/html'}});
const d=new DOMParser().parseFromString(await r.text(),'text/html');const n=d.querySelector('main');
if(n&&m){m.innerHTML=n.innerHTML;document.title=d.title}}catch{if(s)s.textContent='refresh failed; retrying'}},${REFRESH_SECONDS * 1000})})();`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Only this page's own inline style and script run; nothing is loaded from anywhere. */
export const pageCsp = [
  "default-src 'none'",
  `style-src ${sha256(style)}`,
  `script-src ${sha256(script)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<noscript><meta http-equiv="refresh" content="${REFRESH_SECONDS}"></noscript>
<style>${style}</style>
</head>
<body>
${body}
<footer class="meta">Refreshes every ${REFRESH_SECONDS}s<noscript> (by reloading: JavaScript is off)</noscript>. <a href="/status">JSON</a> · <a href="/status?format=text">text</a> · <a href="/metrics">metrics</a></footer>
<script>${script}</script>
</body>
</html>
`;
}

/** Failing first, then blocked, then pending, then ok; critical before warning, then by name. */
export function pageOrder(states: readonly ProbeState[]): ProbeState[] {
  return [...states].sort(
    (a, b) => rank[a.current.status] - rank[b.current.status] || (a.spec.severity === b.spec.severity ? 0 : a.spec.severity === 'critical' ? -1 : 1) || a.spec.name.localeCompare(b.spec.name),
  );
}

/** Open windows above the probes: who is held back from paging, until when, and why. */
function banner(maintenance: MaintenanceLookup | undefined, states: readonly ProbeState[]): string {
  if (!maintenance?.active.length) return '';
  const items = maintenance.active.map((w) => {
    const covered = states.filter((s) => covers(w.selector, s.spec)).length;
    return `<li><strong>${escapeHtml(w.id)}</strong> until <time datetime="${iso(w.endsAt)}">${iso(w.endsAt)}</time>: ${escapeHtml(w.reason)} (${covered} probe(s))</li>`;
  });
  return `<section class="banner" aria-label="maintenance"><strong>Maintenance:</strong> probes below marked MAINTENANCE run and show their real status, but page nobody.<ul>${items.join('')}</ul></section>`;
}

/** A probe's kept rendering (its row and card without their ages) under the window covering it now. */
function probePieces(s: ProbeState, maintenance: MaintenanceLookup | undefined, renderings: ProbeRenderings) {
  return renderings.of(s, maintenance?.covering(s));
}

/** What the page shows of the kept incidents: each probe's availability and its last few incidents. */
export interface PageIncidents {
  list(): Incident[];
  /** Every probe's availability as of `now`, looked up by name. */
  availabilities(now: number): (probe: string) => Availability;
}

/** Incidents a card lists; the rest are on the probe's own page and in GET /incidents. */
const CARD_INCIDENTS = 3;

/** A share of time as people read an availability: floored, so a short outage never reads 100%. */
function share(ratio: number | null): string {
  return ratio === null ? 'no data yet' : `${Math.floor(ratio * 10000) / 100}%`;
}

function availabilityLine(a: Availability): string {
  return `<p class="availability"><strong>Availability:</strong> <span data-span="hour">${share(a.hour)}</span> last hour · <span data-span="day">${share(a.day)}</span> last day · <span data-span="week">${share(a.week)}</span> last week</p>`;
}

function incidentItem(i: IncidentView): string {
  const maint = i.maintenance.length ? ` (in maintenance: ${escapeHtml(i.maintenance.join(', '))})` : '';
  return `<li><time datetime="${i.start}">${i.start}</time>, ${i.open ? `open for ${formatSeconds(i.durationSeconds * 1000)}` : `lasted ${formatSeconds(i.durationSeconds * 1000)}`}: ${escapeHtml(i.reasons.join(', '))}: ${escapeHtml(i.message)}${maint}</li>`;
}

/** A card's availability and last incidents (they follow the clock and the kept incidents, not the probe's version). */
function keptSection(probe: string, now: number, availability: Availability, incidents: Incident[], total: number): string {
  const items = incidents.map((i) => incidentItem(incidentView(i, now)));
  const more = total > items.length ? ` <a href="/status/${encodeURIComponent(probe)}">${total - items.length} more</a>` : '';
  const list = items.length ? `<p class="kept">Last incidents:${more}</p><ul class="incidents">${items.join('')}</ul>` : '<p class="kept">No incidents kept.</p>';
  return availabilityLine(availability) + list;
}

/** Each probe's newest incidents, in one pass over the kept ones: up to `limit` each, and how many there are. */
function incidentsByProbe(kept: PageIncidents | undefined, limit: number): Map<string, { latest: Incident[]; total: number }> {
  const by = new Map<string, { latest: Incident[]; total: number }>();
  for (const i of kept?.list() ?? []) {
    const entry = by.get(i.probe) ?? { latest: [], total: 0 };
    if (entry.latest.length < limit) entry.latest.push(i);
    entry.total++;
    by.set(i.probe, entry);
  }
  return by;
}

/**
 * The causes above everything else: one line per cause (a probe that fails, or cannot be judged, on
 * its own, with those failing at the same root), its hint once, and the probes waiting on it as one
 * line beneath rather than a "fix that first" each; so an outage of nineteen probes reads as the two
 * or three things to fix. The names link to the probes' cards.
 */
function causesSection(causes: readonly Cause[]): string {
  if (!causes.length) return '';
  const links = (names: readonly string[]) => names.map((n) => `<a href="#probe-${escapeHtml(n)}">${escapeHtml(n)}</a>`).join(', ');
  const items = causes.map((c) => {
    // The summary is plain text; the names under it are the links.
    const under = [`details: ${links([c.probe])}`, c.sameRoot.length ? `same root: ${links(c.sameRoot)}` : '', c.blocks.length ? `waiting on it (${c.blocks.length}): ${links(c.blocks)}` : ''].filter(
      Boolean,
    );
    return `<li class="cause ${c.status}" data-cause="${escapeHtml(c.probe)}">
<p>${badge(c.status)}<span class="sev">${c.severity}</span> <span class="what">${escapeHtml(c.summary)}</span></p>
${c.hint ? `<p class="hint"><strong>What to do:</strong> ${escapeHtml(c.hint)}</p>\n` : ''}<p class="under">${under.join(' · ')}</p></li>`;
  });
  return `<section aria-labelledby="causes"><h2 id="causes">Causes (${causes.length})</h2>
<ol class="causes">
${items.join('\n')}
</ol></section>`;
}

export function statusPage(states: readonly ProbeState[], now: number, maintenance?: MaintenanceLookup, renderings: ProbeRenderings = sharedRenderings, incidents?: PageIncidents): string {
  const status = overall(states);
  const counts = (st: ProbeStatus) => states.filter((s) => s.current.status === st).length;
  const summary = (['failing', 'blocked', 'pending', 'ok'] as const)
    .map((st) => [st, counts(st)] as const)
    .filter(([, n]) => n > 0)
    .map(([st, n]) => `${n} ${st}`)
    .join(', ');
  const title = `${status === 'ok' ? 'OK' : status.toUpperCase()}: stack-watchdog`;
  const ordered = pageOrder(states);
  // Read right after `of`, as rendered.ts asks: the row and card of one version of each probe.
  const pieces = ordered.map((s) => probePieces(s, maintenance, renderings));
  const rows = pieces.map((p) => fillRow(p.row, now));
  const kept = incidentsByProbe(incidents, CARD_INCIDENTS);
  const availability = incidents?.availabilities(now);
  const cards = ordered.map((s, i) => {
    const mine = kept.get(s.spec.name);
    return fillCard(pieces[i]!.card, now, availability ? keptSection(s.spec.name, now, availability(s.spec.name), mine?.latest ?? [], mine?.total ?? 0) : '');
  });
  return layout(
    title,
    `<header><h1>stack-watchdog: <span class="overall" data-status="${status}">${status}</span></h1>
<p class="summary">${states.length} probe(s): ${summary || 'none configured'}. <span id="updated">As of <time datetime="${iso(now)}">${iso(now)}</time>.</span></p></header>
<main>
${banner(maintenance, states)}
${causesSection(causesOf(states))}
<section aria-labelledby="overview"><h2 id="overview">Probes</h2>
<ol class="rows">
${rows.join('\n')}
</ol></section>
<section aria-labelledby="details"><h2 id="details">Details</h2>
<ol class="probes">
${cards.join('\n')}
</ol></section>
</main>`,
  );
}

function historyRow(r: ProbeResult): string {
  return `<tr><td><time datetime="${iso(r.at)}">${iso(r.at)}</time></td><td>${badge(r.status)}</td><td>${escapeHtml(r.reason)}</td><td>${formatDuration(r.durationMs)}</td><td>${escapeHtml(r.message)}</td></tr>`;
}

function historyTable(caption: string, rows: ProbeResult[]): string {
  if (!rows.length) return `<p>${escapeHtml(caption)}: none.</p>`;
  return `<div class="table"><table><caption>${escapeHtml(caption)}</caption><thead><tr><th scope="col">at</th><th scope="col">status</th><th scope="col">reason</th><th scope="col">took</th><th scope="col">message</th></tr></thead><tbody>${rows.map(historyRow).join('')}</tbody></table></div>`;
}

/** One probe with its history, availability and incidents: what `/status/:probe` answers a browser. */
export function probePage(s: ProbeState, now: number, maintenance?: MaintenanceLookup, renderings: ProbeRenderings = sharedRenderings, incidents?: PageIncidents): string {
  const name = escapeHtml(s.spec.name);
  const mine = incidentsByProbe(incidents, PROBE_PAGE_INCIDENTS).get(s.spec.name);
  const kept = incidents ? `${availabilityLine(incidents.availabilities(now)(s.spec.name))}${incidentTable(mine?.latest ?? [], now)}` : '';
  return layout(
    `${word[s.current.status]}: ${s.spec.name}`,
    `<header><p><a href="/">← all probes</a></p><h1>${name}</h1>
<p class="summary">${escapeHtml(s.spec.kind)} · ${s.spec.severity}${s.spec.description ? ` · ${escapeHtml(s.spec.description)}` : ''}</p></header>
<main>
<ol class="probes">
${fillCard(probePieces(s, maintenance, renderings).card, now)}
</ol>
${kept}
${historyTable('Recent runs, newest first', s.history)}
${historyTable('Recent failures, kept longer', s.failures)}
</main>`,
  );
}

/** Incidents the probe's own page lists, as many as its JSON (`/status/<probe>`) does. */
const PROBE_PAGE_INCIDENTS = 10;

function incidentTable(incidents: Incident[], now: number): string {
  if (!incidents.length) return '<p>Incidents: none kept.</p>';
  const rows = incidents.map((i) => {
    const v = incidentView(i, now);
    return `<tr><td><time datetime="${v.start}">${v.start}</time></td><td>${v.end ? `<time datetime="${v.end}">${v.end}</time>` : 'open'}</td><td>${formatSeconds(v.durationSeconds * 1000)}</td><td>${escapeHtml(v.reasons.join(', '))}</td><td>${escapeHtml(v.message)}${v.maintenance.length ? ` (in maintenance: ${escapeHtml(v.maintenance.join(', '))})` : ''}</td></tr>`;
  });
  return `<div class="table"><table><caption>Incidents, newest first</caption><thead><tr><th scope="col">start</th><th scope="col">end</th><th scope="col">duration</th><th scope="col">reasons</th><th scope="col">message</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}
