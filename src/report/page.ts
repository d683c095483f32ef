// The status page for people: one self-contained HTML document (no external assets, no build step),
// readable with JavaScript off. Everything a target sent (messages, hints, details) is escaped.
import { createHash } from 'node:crypto';
import type { ProbeStatus } from '../core/status.js';
import type { ProbeResult, ProbeState } from '../engine/result.js';
import { formatDuration, iso } from '../util/format.js';
import { covers } from '../maintenance/windows.js';
import { badge, escapeHtml, fillCard, word } from './card.js';
import type { MaintenanceLookup } from './maintenance.js';
import { sharedRenderings, type ProbeRenderings } from './rendered.js';
import { overall } from './view.js';

export { escapeHtml, sparkline } from './card.js';

/** Seconds between refreshes: the meta refresh without JavaScript, the in-place refresh with it. */
const REFRESH_SECONDS = 15;
const rank: Record<ProbeStatus, number> = { failing: 0, blocked: 1, pending: 2, ok: 3 };

// Status colours are text on a badge: each pair is above WCAG AA (4.5:1) in light and dark mode,
// and the status is always spelled out, so colour never carries it alone.
const style = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1a1a1a;--muted:#555;--card:#f4f5f7;--line:#d0d4da;
--ok:#1b6e20;--failing:#b00020;--blocked:#8a4b00;--pending:#4a5568;--maint:#4527a0;--on:#fff}
@media (prefers-color-scheme:dark){:root{--bg:#121417;--fg:#e8eaed;--muted:#b0b6bf;--card:#1e2227;--line:#3a4049;
--ok:#81c784;--failing:#ff8a80;--blocked:#ffb74d;--pending:#b0bec5;--maint:#b39ddb;--on:#111}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header,main,footer{max-width:60rem;margin:0 auto;padding:.75rem 1rem}
h1{font-size:1.4rem;margin:.2rem 0}
h2{font-size:1.1rem;margin:0;overflow-wrap:anywhere}
a{color:inherit}
.summary{margin:.2rem 0;color:var(--muted)}
ol.probes{list-style:none;margin:0;padding:0}
.probe{background:var(--card);border:1px solid var(--line);border-left:.4rem solid var(--line);border-radius:.4rem;padding:.6rem .8rem;margin:.6rem 0}
.probe.failing{border-left-color:var(--failing)}.probe.blocked{border-left-color:var(--blocked)}
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
export function pageOrder(states: ProbeState[]): ProbeState[] {
  return [...states].sort(
    (a, b) => rank[a.current.status] - rank[b.current.status] || (a.spec.severity === b.spec.severity ? 0 : a.spec.severity === 'critical' ? -1 : 1) || a.spec.name.localeCompare(b.spec.name),
  );
}

/** Open windows above the probes: who is held back from paging, until when, and why. */
function banner(maintenance: MaintenanceLookup | undefined, states: ProbeState[]): string {
  if (!maintenance?.active.length) return '';
  const items = maintenance.active.map((w) => {
    const covered = states.filter((s) => covers(w.selector, s.spec)).length;
    return `<li><strong>${escapeHtml(w.id)}</strong> until <time datetime="${iso(w.endsAt)}">${iso(w.endsAt)}</time>: ${escapeHtml(w.reason)} (${covered} probe(s))</li>`;
  });
  return `<section class="banner" aria-label="maintenance"><strong>Maintenance:</strong> probes below marked MAINTENANCE run and show their real status, but page nobody.<ul>${items.join('')}</ul></section>`;
}

/** The probe's kept card, with its ages as of `now`. */
function probeCard(s: ProbeState, now: number, maintenance: MaintenanceLookup | undefined, renderings: ProbeRenderings): string {
  return fillCard(renderings.of(s, maintenance?.covering(s)).card, now);
}

export function statusPage(states: ProbeState[], now: number, maintenance?: MaintenanceLookup, renderings: ProbeRenderings = sharedRenderings): string {
  const status = overall(states);
  const counts = (st: ProbeStatus) => states.filter((s) => s.current.status === st).length;
  const summary = (['failing', 'blocked', 'pending', 'ok'] as const)
    .map((st) => [st, counts(st)] as const)
    .filter(([, n]) => n > 0)
    .map(([st, n]) => `${n} ${st}`)
    .join(', ');
  const title = `${status === 'ok' ? 'OK' : status.toUpperCase()}: stack-watchdog`;
  return layout(
    title,
    `<header><h1>stack-watchdog: <span class="overall" data-status="${status}">${status}</span></h1>
<p class="summary">${states.length} probe(s): ${summary || 'none configured'}. <span id="updated">As of <time datetime="${iso(now)}">${iso(now)}</time>.</span></p></header>
<main>
${banner(maintenance, states)}
<ol class="probes">
${pageOrder(states)
  .map((s) => probeCard(s, now, maintenance, renderings))
  .join('\n')}
</ol>
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

/** One probe with its history: what `/status/:probe` answers a browser. */
export function probePage(s: ProbeState, now: number, maintenance?: MaintenanceLookup, renderings: ProbeRenderings = sharedRenderings): string {
  const name = escapeHtml(s.spec.name);
  return layout(
    `${word[s.current.status]}: ${s.spec.name}`,
    `<header><p><a href="/">← all probes</a></p><h1>${name}</h1>
<p class="summary">${escapeHtml(s.spec.kind)} · ${s.spec.severity}${s.spec.description ? ` · ${escapeHtml(s.spec.description)}` : ''}</p></header>
<main>
<ol class="probes">
${probeCard(s, now, maintenance, renderings)}
</ol>
${historyTable('Recent runs, newest first', s.history)}
${historyTable('Recent failures, kept longer', s.failures)}
</main>`,
  );
}
