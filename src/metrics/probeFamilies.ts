// The per-probe metric families in Prometheus's text format, written by hand instead of through
// prom-client's Gauge/Counter objects. With 1,000 probes these are ~14,000 series; prom-client
// rebuilt every one of them at every scrape (reset, set with label hashing and validation, then
// formatting), which cost hundreds of milliseconds and most of the garbage. Here each probe's
// lines are written once per change of the probe and kept: a scrape joins the kept text, so its
// cost follows what changed since the last scrape, not the number of series. The families, names
// and help texts are the same as before; the process, config and alerting metrics stay on
// prom-client's private registry (metrics/registry.ts), which appends this text to its own.
import { probeStatuses } from '../core/status.js';
import type { ProbeState } from '../engine/result.js';
import type { GaugeDecl } from '../probers/types.js';

interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  /** This probe's lines of the family; `l` is `probe="...",kind="..."` and the default labels. */
  lines(s: ProbeState, l: string): string;
}

const families: Family[] = [
  gauge('watchdog_probe_success', "Whether the probe's current status is ok (1) or not (0: failing, blocked or pending).", (s, l) =>
    line('watchdog_probe_success', l, s.current.status === 'ok' ? 1 : 0),
  ),
  gauge('watchdog_probe_status', "The probe's current status: 1 on the series of the status it is in.", (s, l) =>
    probeStatuses.map((status) => line('watchdog_probe_status', `${l},status="${status}"`, s.current.status === status ? 1 : 0)).join(''),
  ),
  gauge('watchdog_probe_reason', "The reason behind the probe's current status (a short fixed word): 1 on that series.", (s, l) =>
    line('watchdog_probe_reason', `${l},reason="${escape(s.current.reason)}"`, 1),
  ),
  gauge('watchdog_probe_info', 'Static facts about each configured probe.', (s, l) => line('watchdog_probe_info', `${l},severity="${s.spec.severity}"`, 1)),
  gauge('watchdog_probe_interval_seconds', 'How often the probe is meant to run (for a cron schedule: the interval used for staleness, 0 if unknown).', (s, l) =>
    line('watchdog_probe_interval_seconds', l, s.spec.schedule ? 0 : s.spec.intervalMs / 1000),
  ),
  gauge('watchdog_probe_duration_seconds', "How long the probe's last run took (describes the last run, which may differ from the current status while a threshold is counted).", (s, l) =>
    s.last ? line('watchdog_probe_duration_seconds', l, s.last.durationMs / 1000) : '',
  ),
  gauge('watchdog_probe_last_run_timestamp_seconds', 'When the probe last finished a run (Unix time; describes the last run, not the current status).', (s, l) =>
    s.last ? line('watchdog_probe_last_run_timestamp_seconds', l, s.last.at / 1000) : '',
  ),
  gauge('watchdog_probe_status_since_timestamp_seconds', "When the probe's current status began (Unix time).", (s, l) => line('watchdog_probe_status_since_timestamp_seconds', l, s.since / 1000)),
  gauge('watchdog_probe_value', "The number behind the probe's current status, as /status shows it (trace count, query value, usage ratio, ...).", (s, l) =>
    typeof s.current.value === 'number' && Number.isFinite(s.current.value) ? line('watchdog_probe_value', l, s.current.value) : '',
  ),
  counter('watchdog_probe_runs_total', 'Probe runs by result (ok, failing, blocked).', (s, l) =>
    [...s.runs].map(([result, n]) => line('watchdog_probe_runs_total', `${l},result="${escape(result)}"`, n)).join(''),
  ),
  counter('watchdog_probe_failures_total', 'Failed probe runs by reason.', (s, l) =>
    [...s.failuresByReason].map(([reason, n]) => line('watchdog_probe_failures_total', `${l},reason="${escape(reason)}"`, n)).join(''),
  ),
  counter('watchdog_probe_skipped_runs_total', 'Scheduled runs skipped because the previous run was still going.', (s, l) => line('watchdog_probe_skipped_runs_total', l, s.skipped)),
];

export const probeFamilyNames: readonly string[] = families.map((f) => f.name);

function gauge(name: string, help: string, lines: Family['lines']): Family {
  return { name, help, type: 'gauge', lines };
}

function counter(name: string, help: string, lines: Family['lines']): Family {
  return { name, help, type: 'counter', lines };
}

function line(name: string, labels: string, value: number): string {
  return `${name}{${labels}} ${formatNumber(value)}\n`;
}

/** As prom-client and Go's client write them. */
function formatNumber(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

/** `k="v",...` in the order given: `first` (a sample's own labels) before the rest. */
function labelText(labels: Readonly<Record<string, string>>, first: readonly string[] = []): string {
  const keys = [...first, ...Object.keys(labels).filter((k) => !first.includes(k))];
  return keys.map((k) => `${k}="${escape(labels[k]!)}"`).join(',');
}

/** Label values in the text format: backslash, double quote and newline escaped. */
function escape(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

/** The lines of one block of consecutive probes, per family and per kind gauge, and the versions they were written from. */
interface Block {
  states: ProbeState[];
  versions: number[];
  /** What each member's lines say that must show at the next scrape (see `settled`), as written. */
  specs: ProbeState['spec'][];
  statuses: string[];
  reasons: string[];
  /** The block's own second (`slotOf`) in which it was written. */
  slot: number;
  /** One buffer per family: the block's lines of it, encoded once when the block is written. */
  text: Buffer[];
  /** Per kind gauge, the lines of each probe that has any (most kinds publish none). */
  gauges: string[][];
}

/**
 * Probes per block. A scrape rewrites only the blocks holding a probe that changed, then joins the
 * blocks: with 1,000 probes on 1 s intervals some tens of probes change between two close scrapes.
 * Blocks of 32 had half of them rewritten at every scrape (measured); 8 rewrites a quarter as much
 * and still joins ~1,500 pieces instead of 14,000 lines.
 */
const BLOCK = 8;

/**
 * How long a block's text may be served after one of its probes changed only in what it counted or
 * timed (runs, durations, last-run time, value, the kinds' gauges). Rewriting a block at every change
 * was ~1,000 rewrites a second at 1,000 probes a second when scrapes come back to back, and that garbage
 * drove the major collections that set /metrics p99 (issue 21 §3: 14-16 ms against 23-34 ms with this
 * cap, a 100 ms cap cut nothing since a block of 8 probes on 1 s intervals changes 8 times a second).
 * Prometheus scrapes every 15 s or so and never meets it; a `curl` loop may read numbers up to this old.
 * A change of status, reason or definition is never held back (`settled`).
 */
export const BLOCK_MAX_AGE_MS = 1000;

/**
 * How many phases a period of BLOCK_MAX_AGE_MS has: block `k` of `count` is in phase
 * `floor(k * PHASES / count)`, and its periods begin that many tenths of a period after block 0's.
 */
export const PHASES = 10;

/**
 * Block `k` of `count`'s own period of BLOCK_MAX_AGE_MS in which `at` falls. A held block is rewritten
 * once its period has passed, so its text is never older than BLOCK_MAX_AGE_MS. Periods by phase, not
 * an age from each block's last write, is what spreads the rewrites: blocks written by one scrape (at
 * start, or all of them once a period with back-to-back scrapes) otherwise all came due together, and
 * the scrape that met them rewrote all 1,000 probes' lines, 10-25 ms of the thread once a second
 * (writeBlock in a cpu profile under `npm run bench:scale`, issue 21 §3). In phases rather than one
 * offset per block so that the joined text (`probeExposition`) changes PHASES times a period, not
 * at every scrape, and most scrapes send it as it is.
 */
export function slotOf(k: number, count: number, at: number): number {
  const phase = Math.floor((k * PHASES) / count);
  return Math.floor((at + (phase * BLOCK_MAX_AGE_MS) / PHASES) / BLOCK_MAX_AGE_MS);
}

/**
 * A probe's lines: one string per family, then one per kind gauge (in `kindGauges`' order), each
 * empty when the probe has no series in it. `l` labels every line with the probe, its kind and
 * `defaultLabels` (the stack), which prom-client's registry.setDefaultLabels puts on the rest of
 * /metrics (registry.ts): every series carries them, whichever of the two writes it.
 */
export function probeLines(kindGauges: ReadonlyMap<string, GaugeDecl>, defaultLabels: Readonly<Record<string, string>>): (s: ProbeState) => string[] {
  const gaugeNames = [...kindGauges.keys()];
  const tail = labelText(defaultLabels);
  return (s) => {
    const l = `probe="${escape(s.spec.name)}",kind="${escape(s.spec.kind)}"${tail && `,${tail}`}`;
    const text = families.map((f) => f.lines(s, l));
    for (const name of gaugeNames) {
      let out = '';
      for (const sample of s.current.samples ?? []) {
        if (sample.metric !== name) continue;
        // A kind's own label of the same name wins, as in prom-client.
        const labels = labelText({ ...defaultLabels, ...sample.labels }, Object.keys(sample.labels));
        out += line(name, labels, sample.value);
      }
      text.push(out);
    }
    return text;
  };
}

/**
 * The text of every per-probe family and every kind gauge, for the probes `states()` returns, as
 * the UTF-8 pieces of one exposition, in order. Each probe's lines are written once per change of
 * the probe (its state's `version`) and kept by `linesOf`: the daemon's ProbeRenderings, which keeps
 * them with the probe's other views, or `keptPerVersion`. Each block's text is encoded once per change
 * of one of its probes, and the whole text joined into one buffer once per change of a block
 * (`joinBody`); a scrape appends that buffer, which GET /metrics writes to the socket as it is.
 * Buffers, not strings: no scrape joins a 1 MB string, measures it and encodes it again. Probes a
 * reload removed drop out on the next scrape.
 */
export function probeExposition(
  states: () => readonly ProbeState[],
  kindGauges: ReadonlyMap<string, GaugeDecl>,
  linesOf: (s: ProbeState) => readonly string[],
  opts: {
    /**
     * A number that moves whenever a probe's status or reason changes, or the probes are installed
     * anew (the engine's `verdictChanges`). While it and the list of states stand still, every block is
     * still settled and only its period decides: a scrape then looks at no probe. Without it, each
     * scrape compares every probe of every held block (a tenth of the serving thread at 1,000 probes
     * in a cpu profile under `npm run bench:scale`, issue 21 §3).
     */
    verdictChanges?: () => number;
    /** Monotonic ms; a test moves it by hand. */
    now?: () => number;
  } = {},
): (out: Buffer[]) => void {
  const { verdictChanges, now = () => performance.now() } = opts;
  const gaugeNames = [...kindGauges.keys()];
  const headers = [
    ...families.map((f) => `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`),
    ...gaugeNames.map((name) => `# HELP ${name} ${kindGauges.get(name)?.help ?? ''}\n# TYPE ${name} gauge\n`),
  ].map((h) => Buffer.from(h));
  const blocks: Block[] = [];

  const writeBlock = (members: ProbeState[], slot: number): Block => {
    const texts = members.map(linesOf);
    return {
      states: members,
      versions: members.map((s) => s.version),
      specs: members.map((s) => s.spec),
      statuses: members.map((s) => s.current.status),
      reasons: members.map((s) => s.current.reason),
      slot,
      text: families.map((_, i) => Buffer.from(texts.map((t) => t[i]).join(''))),
      gauges: gaugeNames.map((_, j) => texts.map((t) => t[families.length + j]!).filter(Boolean)),
    };
  };

  // Compared in place, not on a slice: a scrape that finds a block unchanged allocates nothing for it.
  const current = (b: Block | undefined, all: readonly ProbeState[], start: number, end: number): boolean => {
    if (b === undefined || b.states.length !== end - start) return false;
    for (let i = start; i < end; i++) if (b.states[i - start] !== all[i] || b.versions[i - start] !== all[i]!.version) return false;
    return true;
  };

  // Whether the block's members still say what their text says in all that must show at once: the
  // same probes, definitions, statuses and reasons. Only counts and times may have moved since. (A
  // status has reasons of its own, so a new status comes with a new reason; both are compared anyway.)
  const settled = (b: Block, all: readonly ProbeState[], start: number): boolean => {
    for (let i = start; i < start + b.states.length; i++) {
      const s = all[i]!;
      const k = i - start;
      if (b.states[k] !== s || b.specs[k] !== s.spec || b.statuses[k] !== s.current.status || b.reasons[k] !== s.current.reason) return false;
    }
    return true;
  };

  const joinGauge = (j: number): Buffer | undefined => {
    // Two probes may publish the same series (two probes of one container): one line each, the last wins.
    const seen = new Map<string, string>();
    for (const b of blocks) {
      for (const lines of b.gauges[j]!) for (const text of lines.split('\n')) if (text) seen.set(text.slice(0, text.lastIndexOf(' ')), `${text}\n`);
    }
    return seen.size ? Buffer.from([...seen.values()].join('')) : undefined;
  };

  // Every family's header and blocks, then the kind gauges: the whole text, joined once per change of
  // a block. Joined at every scrape, its 1,500 pieces were copied into each response (a tenth of the
  // serving thread in a cpu profile under `npm run bench:scale`); now a scrape that finds no block
  // changed, most of them, hands on the same buffer. A fresh one per change, never written into again,
  // so a response still sending the last one is not disturbed.
  const joinBody = (): Buffer => {
    const pieces: Buffer[] = [];
    for (let i = 0; i < families.length; i++) {
      pieces.push(headers[i]!);
      for (const b of blocks) pieces.push(b.text[i]!);
    }
    const gaugeText = gaugeNames.map((_, j) => joinGauge(j));
    for (let j = 0; j < gaugeNames.length; j++) {
      pieces.push(headers[families.length + j]!);
      const text = gaugeText[j];
      if (text) pieces.push(text);
    }
    return Buffer.concat(pieces);
  };
  let body = joinBody();

  // Each scrape appends to the caller's list rather than returning a new one: what a scrape leaves
  // behind is what V8 must collect, and at hundreds of scrapes a second the garbage of a scrape that
  // changed nothing kept the old generation growing and major collections landing inside scrapes
  // (issue 21 §3; --trace-gc and a sampling heap profile under `npm run bench:scale`).
  let seen: { states: readonly ProbeState[]; verdicts: number } | undefined;
  return (out) => {
    const all = states();
    const count = Math.ceil(all.length / BLOCK);
    const at = now();
    const verdicts = verdictChanges?.();
    // The same probes and no verdict changed since the last scrape, which left every block settled.
    const quiet = verdicts !== undefined && seen !== undefined && seen.states === all && seen.verdicts === verdicts;
    if (!quiet) seen = verdicts === undefined ? undefined : { states: all, verdicts };
    let changed = blocks.length !== count;
    for (let k = 0; k < count; k++) {
      const start = k * BLOCK;
      const end = Math.min(start + BLOCK, all.length);
      const b = blocks[k];
      const slot = slotOf(k, count, at);
      if (quiet && b !== undefined && slot === b.slot) continue;
      if (current(b, all, start, end)) continue;
      if (b !== undefined && slot === b.slot && b.states.length === end - start && settled(b, all, start)) continue;
      blocks[k] = writeBlock(all.slice(start, end), slot);
      changed = true;
    }
    blocks.length = count;
    if (changed) body = joinBody();
    out.push(body);
  };
}

/** A probe's lines kept with the state's version they were written from; weakly, so a removed probe takes them with it. */
export function keptPerVersion(write: (s: ProbeState) => string[]): (s: ProbeState) => readonly string[] {
  const kept = new WeakMap<ProbeState, { version: number; text: string[] }>();
  return (s) => {
    const k = kept.get(s);
    if (k && k.version === s.version) return k.text;
    const text = write(s);
    kept.set(s, { version: s.version, text });
    return text;
  };
}

const MAINTENANCE = 'watchdog_probe_maintenance';
const maintenanceHeader = Buffer.from(
  `# HELP ${MAINTENANCE} Whether the probe is in a maintenance window (1): it runs and reports, but pages nobody; the shipped rules skip it.\n# TYPE ${MAINTENANCE} gauge\n`,
);

/**
 * `watchdog_probe_maintenance`, one series per probe, by hand as the families above. It was a prom-client
 * Gauge reset and refilled at every scrape: at 1,000 probes that was a third of a scrape's CPU in the
 * profile under `npm run bench:scale` (label hashing and validation, `flattenSharedLabels`, formatting)
 * and most of its garbage. A window opens and ends without any probe's version moving, so this family is
 * not kept with the probe's lines: each scrape asks `inMaintenance` for every probe (a filter over the
 * open windows, cached by the maintenance manager) and reuses the last text while the probes and the
 * answers are the same.
 */
export function maintenanceExposition(
  states: () => readonly ProbeState[],
  inMaintenance: (s: ProbeState) => boolean,
  defaultLabels: Readonly<Record<string, string>> = {},
  /**
   * Whether any window is open now; asked once per scrape. When none is, no probe is asked: the
   * maintenance manager reads the clock for each question, and those 1,000 boxed times a scrape were
   * a fifth of what a scrape allocated (sampling heap profile under `npm run bench:scale`).
   */
  anyOpen: () => boolean = () => true,
): () => Buffer {
  const tail = labelText(defaultLabels);
  let kept = { states: [] as readonly ProbeState[], flags: new Uint8Array(0), text: maintenanceHeader };
  return () => {
    const all = states();
    const open = anyOpen();
    const flag = (s: ProbeState) => (open && inMaintenance(s) ? 1 : 0);
    // Checked in place: building a string of the flags at every scrape was most of what an unchanged
    // scrape allocated (sampling heap profile under `npm run bench:scale`).
    if (all.length === kept.states.length) {
      let i = 0;
      while (i < all.length && all[i] === kept.states[i] && flag(all[i]!) === kept.flags[i]) i++;
      if (i === all.length) return kept.text;
    }
    const flags = Uint8Array.from(all, flag);
    const lines = all.map((s, i) => line(MAINTENANCE, `probe="${escape(s.spec.name)}"${tail && `,${tail}`}`, flags[i]!));
    kept = { states: all, flags, text: Buffer.concat([maintenanceHeader, Buffer.from(lines.join(''))]) };
    return kept.text;
  };
}
