// The watchdog's own /metrics: a private prom-client registry (never the global one, so tests and
// reloads build fresh ones), with every value read from engine state at scrape time. A probe that a
// reload removed has no state, so it leaves /metrics on the next scrape.
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DiscoveryState } from '../discovery/state.js';
import type { Engine } from '../engine/engine.js';
import type { ProbeState } from '../engine/result.js';
import { probers } from '../probers/index.js';
import type { GaugeDecl } from '../probers/types.js';
import { keptPerVersion, maintenanceExposition, probeExposition, probeLines } from './probeFamilies.js';

export interface ReloadStatus {
  ok: boolean;
  /** ms since the epoch */
  at: number;
  error?: string;
  /** The running config's content hash and when it was loaded (ms since the epoch). */
  hash?: string;
  loadedAt?: number;
}

export interface MetricsOptions {
  engine: Engine;
  version: string;
  /**
   * The stack's name (config/stack.ts): the `stack` label of every series, so one Prometheus keeps
   * several watchdogs' stacks apart. Required, so no caller can leave it out.
   */
  stack: string;
  reloadStatus: () => ReloadStatus;
  /** Off in tests that count series; on in the daemon. */
  processMetrics?: boolean;
  /** Discovery's last report (src/discovery/); without it the discovery families are left out. */
  discovery?: DiscoveryState;
  /** Whether a probe is in a maintenance window now (src/maintenance); without it the family is left out. */
  inMaintenance?: (s: ProbeState) => boolean;
  /** Whether any maintenance window is open now: while none is, a scrape asks `inMaintenance` nothing. */
  maintenanceOpen?: () => boolean;
  /**
   * Each probe's kept lines, as `probeLines(kindGauges(probers), stackLabels(stack))` writes them: the daemon keeps them
   * with the probe's other views (report/rendered.ts). Without it, /metrics keeps its own.
   */
  probeLines?: (s: ProbeState) => readonly string[];
  /** Monotonic ms, for how long kept text is reused (the process metrics, OWN_TEXT_MAX_AGE_MS, the per-probe blocks); a test moves it by hand. */
  now?: () => number;
}

/**
 * prom-client's private registry for the daemon's own metrics, with the per-probe families
 * (probeFamilies.ts) appended to its text: one /metrics, two ways of writing it.
 */
export class WatchdogRegistry extends Registry {
  /** The process metrics' text (see PROCESS_METRICS_TTL_MS). */
  private readonly processText?: KeptText;
  /** This registry's own text (see OWN_TEXT_MAX_AGE_MS). */
  private readonly ownText: KeptText;

  constructor(
    /** Appends the per-probe families' pieces, in order (probeFamilies.ts). */
    private readonly probeParts: (out: Buffer[]) => void,
    /** prom-client's default process metrics, on a registry of their own (see PROCESS_METRICS_TTL_MS). */
    private readonly process?: Registry,
    /**
     * What this registry's families show that must show at the next scrape: objects replaced when
     * they change (the reload status, discovery's report). While each is the same object, the text
     * is kept for up to OWN_TEXT_MAX_AGE_MS.
     */
    shownAtOnce: () => readonly unknown[] = () => [],
    /** Monotonic ms: how old each kept text is. */
    private readonly now: () => number = () => performance.now(),
  ) {
    super();
    if (process) this.processText = new KeptText(PROCESS_METRICS_TTL_MS, () => process.metrics());
    this.ownText = new KeptText(OWN_TEXT_MAX_AGE_MS, () => super.metrics(), shownAtOnce);
  }

  /** Its own and the process registry's: prom-client adds them to every series either writes. */
  override setDefaultLabels(labels: object): void {
    super.setDefaultLabels(labels);
    this.process?.setDefaultLabels(labels);
  }

  /**
   * The exposition as the pieces of its bytes, in order: prom-client's text, the process metrics (kept a
   * second, PROCESS_METRICS_TTL_MS) and the per-probe families, kept encoded and joined. None is ever
   * written into once handed out: GET /metrics writes them to the socket as they are
   * (server/plugins/metrics.ts).
   */
  async metricsParts(): Promise<Buffer[]> {
    const now = this.now();
    const parts = [await this.ownText.read(now), this.processText ? await this.processText.read(now) : NO_TEXT];
    this.probeParts(parts);
    return parts;
  }

  /** The exposition as bytes. */
  async metricsBuffer(): Promise<Buffer> {
    return Buffer.concat(await this.metricsParts());
  }

  override async metrics(): Promise<string> {
    return (await this.metricsBuffer()).toString();
  }
}

const NO_TEXT = Buffer.alloc(0);

/**
 * A text `write` makes, encoded and reused while it is younger than `maxAgeMs` and each object `from`
 * returns is the one it was written with: one of them replaced means what the text shows changed.
 */
class KeptText {
  private at = -Infinity;
  private text = NO_TEXT;
  private from: readonly unknown[] = [];

  constructor(
    private readonly maxAgeMs: number,
    private readonly write: () => Promise<string>,
    private readonly shownAtOnce: () => readonly unknown[] = () => [],
  ) {}

  /** The text as of `now` (monotonic ms). */
  async read(now: number): Promise<Buffer> {
    const from = this.shownAtOnce();
    if (now - this.at >= this.maxAgeMs || from.length !== this.from.length || from.some((x, i) => x !== this.from[i])) {
      this.text = Buffer.from(await this.write());
      this.at = now;
      this.from = from;
    }
    return this.text;
  }
}

/**
 * How long the process metrics (CPU, memory, heap spaces, event loop lag, fds) are reused. Reading
 * them (syscalls, a histogram of the loop's lag) was most of what a scrape still cost once the
 * per-probe text was kept; Prometheus scrapes every 15 s or so, and these describe the process at
 * that grain anyway. The watchdog's own gauges are read at every scrape.
 */
const PROCESS_METRICS_TTL_MS = 1000;

/**
 * How long this registry's own text (config, scheduler, discovery, schedule lag, alerting, build) is
 * reused while nothing it must show at once changed (`shownAtOnce`). Writing it was a few percent of
 * the serving thread's samples but its promises and garbage set the scrape's tail: at 1,000 probes
 * under back-to-back scrapes, keeping it 100 ms took `/metrics` p99 from 30 to 18 ms and p50 from 4.1
 * to 2.3 ms (medians of 3 interleaved pairs, `WATCHDOG_PROBE_THREAD=worker npm run bench:scale`,
 * issue 21 §3; README "Performance", sixth round).
 * Prometheus, scraping every 15 s, never meets it; two scrapers within 100 ms read the same counts.
 * Counts and times here (lag, posts, heartbeat pings, the last tick) are at most this old; a reload's
 * result and discovery's report are never held back.
 */
export const OWN_TEXT_MAX_AGE_MS = 100;

export function createMetrics(opts: MetricsOptions): WatchdogRegistry {
  const { engine } = opts;
  let processRegistry: Registry | undefined;
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: (processRegistry = new Registry()) });
  const labels = stackLabels(opts.stack);
  const gauges = kindGauges(probers);
  const probeParts = probeExposition(() => engine.states(), gauges, opts.probeLines ?? keptPerVersion(probeLines(gauges, labels)), {
    verdictChanges: () => engine.verdictChanges,
    now: opts.now,
  });
  const inMaintenance = opts.inMaintenance;
  const maintenanceParts = inMaintenance && maintenanceExposition(() => engine.states(), inMaintenance, labels, opts.maintenanceOpen);
  const parts = maintenanceParts
    ? (out: Buffer[]) => {
        probeParts(out);
        out.push(maintenanceParts());
      }
    : probeParts;
  const registry = new WatchdogRegistry(parts, processRegistry, () => [opts.reloadStatus(), opts.discovery?.current()], opts.now);
  // prom-client's own default labels, so that no family registered here (or by alerting/) can forget
  // the stack; the hand-written per-probe lines take the same labels (probeLines, maintenanceExposition).
  registry.setDefaultLabels(labels);
  const gauge = (name: string, help: string, labelNames: readonly string[], fill: (g: Gauge) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });

  gauge('watchdog_config_last_reload_successful', 'Whether the last attempt to load the probe config succeeded.', [], (g) => g.set(opts.reloadStatus().ok ? 1 : 0));
  gauge('watchdog_config_last_reload_timestamp_seconds', 'When the config was last loaded or a load was attempted (Unix time).', [], (g) => g.set(opts.reloadStatus().at / 1000));
  gauge('watchdog_config_info', 'The running config: its content hash (first 12 hex digits of sha256 over file names and contents).', ['hash'], (g) => {
    const { hash } = opts.reloadStatus();
    if (hash) g.set({ hash: hash.slice(0, 12) }, 1);
  });
  gauge('watchdog_config_loaded_timestamp_seconds', 'When the running config was loaded (Unix time); a refused reload does not change it.', [], (g) => {
    const { loadedAt } = opts.reloadStatus();
    if (loadedAt !== undefined) g.set(loadedAt / 1000);
  });
  gauge('watchdog_scheduler_last_tick_timestamp_seconds', 'When the scheduler last ticked (Unix time): a stuck event loop shows here.', [], (g) => g.set(engine.lastTick / 1000));
  // Discovery's own health: no series at all without a discover block.
  gauge('watchdog_discovery_up', "Whether discovery's last listing of containers reached Docker (0: the last set found is kept).", [], (g) => {
    const d = opts.discovery?.current();
    if (d) g.set(d.status === 'ok' ? 1 : 0);
  });
  gauge('watchdog_discovery_last_success_timestamp_seconds', 'When discovery last listed the containers (Unix time).', [], (g) => {
    const at = opts.discovery?.current()?.lastSuccess;
    if (at) g.set(at / 1000);
  });
  gauge('watchdog_discovery_probes', 'Probes discovery keeps (one per container found).', [], (g) => {
    const d = opts.discovery?.current();
    if (d) g.set(d.probes.length);
  });
  // One series set for all probes, not one per probe: what the 1,000-probe budget (lateness p99 under
  // 100 ms) is checked against, and what says the run slots (WATCHDOG_CONCURRENCY) are too few.
  const lag = new Histogram({
    name: 'watchdog_schedule_lag_seconds',
    help: 'How late scheduled probe runs started after they were due (waiting for a run slot included).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  engine.on('lag', (_state, ms) => lag.observe(ms / 1000));
  const build = new Gauge({ name: 'watchdog_build_info', help: 'The running stack-watchdog build.', labelNames: ['version', 'nodejs'], registers: [registry] });
  build.set({ version: opts.version, nodejs: process.versions.node }, 1);

  return registry;
}

/** The labels every series of the watchdog carries. */
export function stackLabels(stack: string): Readonly<Record<string, string>> {
  return { stack };
}

/**
 * Every gauge the registered kinds declare, once each. Two kinds may publish the same gauge (both
 * container kinds could report memory), but only with the same labels and help: otherwise one of
 * them would silently lose its series, so that is refused at start.
 */
export function kindGauges(kinds: Readonly<Record<string, { gauges: Readonly<Record<string, GaugeDecl>> }>>): Map<string, GaugeDecl> {
  const out = new Map<string, GaugeDecl & { kind: string }>();
  for (const [kind, { gauges }] of Object.entries(kinds)) {
    for (const [name, decl] of Object.entries(gauges)) {
      const seen = out.get(name);
      if (seen && (seen.help !== decl.help || seen.labelNames.join(',') !== decl.labelNames.join(','))) {
        throw new Error(`kinds ${seen.kind} and ${kind} declare gauge ${name} differently`);
      }
      if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name) || !name.startsWith('watchdog_')) throw new Error(`kind ${kind} declares gauge "${name}": names start with watchdog_ and use [a-zA-Z0-9_:]`);
      out.set(name, { ...decl, kind });
    }
  }
  return out;
}
