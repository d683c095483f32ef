// The watchdog's own /metrics: a private prom-client registry (never the global one, so tests and
// reloads build fresh ones), with every value read from engine state at scrape time. A probe that a
// reload removed has no state, so it leaves /metrics on the next scrape.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Engine } from '../engine/engine.js';
import { probeStatuses } from '../core/status.js';
import type { ProbeState } from '../engine/result.js';
import { probers } from '../probers/index.js';
import type { GaugeDecl } from '../probers/types.js';

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
  reloadStatus: () => ReloadStatus;
  /** Off in tests that count series; on in the daemon. */
  processMetrics?: boolean;
}

const probeLabels = ['probe', 'kind'] as const;

export function createMetrics(opts: MetricsOptions): Registry {
  const registry = new Registry();
  const { engine } = opts;
  const each = (fn: (s: ProbeState, labels: { probe: string; kind: string }) => void) => {
    for (const s of engine.states()) fn(s, { probe: s.spec.name, kind: s.spec.kind });
  };
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
  const counter = (name: string, help: string, labelNames: readonly string[], fill: (c: Counter) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        fill(this);
      },
    });

  gauge('watchdog_probe_success', 'Whether the probe\'s current status is ok (1) or not (0: failing, blocked or pending).', probeLabels, (g) =>
    each((s, l) => g.set(l, s.current.status === 'ok' ? 1 : 0)),
  );
  gauge('watchdog_probe_status', 'The probe\'s current status: 1 on the series of the status it is in.', [...probeLabels, 'status'], (g) =>
    each((s, l) => probeStatuses.forEach((status) => g.set({ ...l, status }, s.current.status === status ? 1 : 0))),
  );
  gauge('watchdog_probe_reason', 'The reason behind the probe\'s current status (a short fixed word): 1 on that series.', [...probeLabels, 'reason'], (g) =>
    each((s, l) => g.set({ ...l, reason: s.current.reason }, 1)),
  );
  gauge('watchdog_probe_info', 'Static facts about each configured probe.', [...probeLabels, 'severity'], (g) => each((s, l) => g.set({ ...l, severity: s.spec.severity }, 1)));
  gauge('watchdog_probe_interval_seconds', 'How often the probe is meant to run (for a cron schedule: the interval used for staleness, 0 if unknown).', probeLabels, (g) =>
    each((s, l) => g.set(l, s.spec.schedule ? 0 : s.spec.intervalMs / 1000)),
  );
  gauge('watchdog_probe_duration_seconds', 'How long the probe\'s last run took (describes the last run, which may differ from the current status while a threshold is counted).', probeLabels, (g) => each((s, l) => s.last && g.set(l, s.last.durationMs / 1000)));
  gauge('watchdog_probe_last_run_timestamp_seconds', 'When the probe last finished a run (Unix time; describes the last run, not the current status).', probeLabels, (g) => each((s, l) => s.last && g.set(l, s.last.at / 1000)));
  gauge('watchdog_probe_status_since_timestamp_seconds', 'When the probe\'s current status began (Unix time).', probeLabels, (g) => each((s, l) => g.set(l, s.since / 1000)));
  gauge('watchdog_probe_value', 'The number behind the probe\'s current status, as /status shows it (trace count, query value, usage ratio, ...).', probeLabels, (g) =>
    each((s, l) => typeof s.current.value === 'number' && Number.isFinite(s.current.value) && g.set(l, s.current.value)),
  );
  counter('watchdog_probe_runs_total', 'Probe runs by result (ok, failing, blocked).', [...probeLabels, 'result'], (c) =>
    each((s, l) => s.runs.forEach((n, result) => c.inc({ ...l, result }, n))),
  );
  counter('watchdog_probe_failures_total', 'Failed probe runs by reason.', [...probeLabels, 'reason'], (c) =>
    each((s, l) => s.failuresByReason.forEach((n, reason) => c.inc({ ...l, reason }, n))),
  );
  counter('watchdog_probe_skipped_runs_total', 'Scheduled runs skipped because the previous run was still going.', probeLabels, (c) => each((s, l) => c.inc(l, s.skipped)));

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
  const build = new Gauge({ name: 'watchdog_build_info', help: 'The running stack-watchdog build.', labelNames: ['version', 'nodejs'], registers: [registry] });
  build.set({ version: opts.version, nodejs: process.versions.node }, 1);

  // The gauges each kind declares in its own file; their values follow the status people see.
  for (const [name, decl] of kindGauges(probers)) {
    gauge(name, decl.help, decl.labelNames, (g) => {
      for (const s of engine.states()) for (const sample of s.current.samples ?? []) if (sample.metric === name) g.set(sample.labels, sample.value);
    });
  }
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
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
