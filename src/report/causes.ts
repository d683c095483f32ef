// Root causes first. Nineteen red probes are usually two faults: a probe that fails (or cannot be
// judged for a reason of its own, like an unreachable Docker Engine), the others failing the same way
// at the same place, and everything blocked behind them. Every view that leads with causes
// (`/status.causes`, the text table, `watchdog check`, the page) takes them from here.
import type { Severity } from '../core/status.js';
import type { ProbeResult, ProbeState } from '../engine/result.js';
import type { CauseView } from './schemas.js';

export type Cause = CauseView;

/**
 * What failures share a root: the same reason at the same place. Name resolution is one root whatever
 * the name: when several of the stack's service names stop resolving at once, the resolver or the
 * network the watchdog is on is what broke, not each service. There is one Docker Engine per watchdog.
 * Anything else shares a root only with failures of the same reason at the same `details.root` (a kind
 * that knows the shared cause names it) or the same host:port, which the transport puts in `details.target`.
 */
function rootOf(r: ProbeResult): string | null {
  if (r.reason === 'dns') return 'dns';
  if (r.reason === 'docker_unavailable') return 'docker';
  // A kind that knows the root better names it (Compose v1 dropping every service's memory limit).
  const root = r.details?.root ?? r.details?.target;
  return typeof root === 'string' ? `${r.reason}@${root}` : null;
}

/** A cause of its own: failing, or blocked by something other than a dependency (it could not be judged). */
function isRoot(s: ProbeState): boolean {
  const c = s.current;
  return c.status === 'failing' || (c.status === 'blocked' && c.reason !== 'dependency_failed');
}

const dependencyOf = (s: ProbeState): string | undefined => {
  const d = s.current.details?.dependency;
  return s.current.status === 'blocked' && s.current.reason === 'dependency_failed' && typeof d === 'string' ? d : undefined;
};

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

const hostOf = (target: unknown): string | undefined => (typeof target === 'string' ? target.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1') : undefined);

/** The one hint for many names that do not resolve: one name may be a typo, several are the network. */
const networkHint =
  "Several of the stack's host names do not resolve from the watchdog: it is most likely not on the stack's network. Run it in the stack's compose project (docker compose up -d with docker-compose.override.yml, which joins the network), or point the URLs at addresses it can reach.";

/**
 * The causes of everything not ok, most urgent first: critical before warning, failing before
 * blocked, more probes affected first, then in the order of the probe files.
 */
export function causesOf(states: readonly ProbeState[]): Cause[] {
  // Without a failing or self-blocked probe there is no cause (a probe blocked behind one needs one). That is
  // most of the time, and every /status asks: one pass that allocates nothing, before the maps of every probe
  // (2.5% of the serving thread in a cpu profile of bench:scale with 1,000 healthy probes).
  if (!states.some(isRoot)) return [];
  const byName = new Map(states.map((s) => [s.spec.name, s]));
  const order = new Map(states.map((s, i) => [s.spec.name, i]));

  // The probe a blocked one waits on in the end, following the chain of blocks (a cycle ends nowhere).
  const rootBehind = (s: ProbeState): ProbeState | undefined => {
    const seen = new Set<string>();
    let at: ProbeState | undefined = s;
    while (at && !isRoot(at)) {
      const next = dependencyOf(at);
      if (!next || seen.has(next)) return undefined;
      seen.add(next);
      at = byName.get(next);
    }
    return at;
  };

  const groups = new Map<string, { key: string | null; members: ProbeState[] }>();
  const groupOf = new Map<ProbeState, { key: string | null; members: ProbeState[] }>();
  for (const s of states) {
    if (!isRoot(s)) continue;
    const key = rootOf(s.current);
    const id = key ?? `probe:${s.spec.name}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { key, members: [] }));
    g.members.push(s);
    groupOf.set(s, g);
  }

  const blocks = new Map<ProbeState, ProbeState[]>();
  for (const s of states) {
    if (isRoot(s) || !dependencyOf(s)) continue;
    const root = rootBehind(s);
    if (!root) continue;
    const list = blocks.get(root) ?? [];
    list.push(s);
    blocks.set(root, list);
  }

  const causes = [...groups.values()].map(({ key, members }) => {
    const waiting = (m: ProbeState) => blocks.get(m) ?? [];
    // The member most others wait on leads (then a critical one, then file order): its name is the one people look up.
    const sorted = [...members].sort((a, b) => waiting(b).length - waiting(a).length || sev(b.spec.severity) - sev(a.spec.severity) || order.get(a.spec.name)! - order.get(b.spec.name)!);
    const lead = sorted[0]!;
    const blocked = members.flatMap(waiting).sort((a, b) => order.get(a.spec.name)! - order.get(b.spec.name)!);
    const severity: Severity = [...members, ...blocked].some((s) => s.spec.severity === 'critical') ? 'critical' : 'warning';
    const names = sorted.map((s) => s.spec.name);
    const hosts = [...new Set(sorted.map((s) => hostOf(s.current.details?.target)).filter((h): h is string => h !== undefined))];
    const what =
      key === 'dns' && hosts.length > 0
        ? `cannot resolve ${hosts.join(', ')}`
        : key === 'docker' && members.length > 1
          ? 'the Docker Engine is unreachable'
          : lead.current.message.replace(/\s+/g, ' ');
    const wait = blocked.length ? `: ${plural(blocked.length, 'probe waits', 'probes wait')} on ${names.length > 1 ? 'them' : 'it'}` : '';
    return {
      probe: lead.spec.name,
      status: lead.current.status === 'failing' ? ('failing' as const) : ('blocked' as const),
      reason: lead.current.reason,
      message: lead.current.message,
      hint: key === 'dns' && hosts.length > 1 ? networkHint : (lead.current.hint ?? ''),
      severity,
      root: key,
      sameRoot: names.slice(1),
      blocks: blocked.map((s) => s.spec.name),
      members: sorted.map((s) => ({ probe: s.spec.name, reason: s.current.reason, message: s.current.message, blocks: waiting(s).map((b) => b.spec.name) })),
      summary: `${names.join(', ')}: ${what}${wait}`,
    };
  });
  return causes.sort(
    (a, b) =>
      sev(b.severity) - sev(a.severity) ||
      Number(b.status === 'failing') - Number(a.status === 'failing') ||
      b.blocks.length + b.sameRoot.length - (a.blocks.length + a.sameRoot.length) ||
      order.get(a.probe)! - order.get(b.probe)!,
  );
}

function sev(s: Severity): number {
  return s === 'critical' ? 1 : 0;
}

/** Every probe a cause accounts for: its members and what waits on them. */
export function coveredBy(causes: readonly Cause[]): Set<string> {
  return new Set(causes.flatMap((c) => [c.probe, ...c.sameRoot, ...c.blocks]));
}
