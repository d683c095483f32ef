// The scheduler: when each probe runs, how many run at once, what a dependency failure means,
// and what is kept. It knows no probe kind: runner.ts dispatches through the registry.
import { EventEmitter, setMaxListeners } from 'node:events';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { ProbeSpec } from '../probers/types.js';
import type { WatchdogConfig } from '../config/load.js';
import { runProbe, type RunDeps } from './runner.js';
import { newState, record, touched, type ProbeResult, type ProbeState } from './result.js';
import { Priority, Semaphore } from './semaphore.js';
import { systemTimers, type Timer, type Timers } from '../util/timers.js';

export interface EngineOptions extends Omit<RunDeps, 'stopSignal'> {
  logger: Logger;
  /** Probes running at once, across all probes. */
  concurrency?: number;
  historySize?: number;
  failureHistorySize?: number;
  /** Upper bound of the random delay before each probe's first run, so a restart does not burst. */
  maxStartJitterMs?: number;
  random?: () => number;
  /** What the scheduler tick runs on (beside `now`); tests move it forward instead of sleeping. */
  timers?: Timers;
  /**
   * No log line per change of a probe's status: the engine of the probe thread (thread.ts) leaves
   * them to the engine of the main thread, which judges the same results and logs them once.
   */
  quiet?: boolean;
}

export interface EngineEvents {
  result: [state: ProbeState, raw: ProbeResult, changed: boolean];
  /** Every probe has had a run since the previous round: the heartbeat hangs on this. */
  round: [];
  /** A scheduled run got its slot `lagMs` after it was due (the schedule lateness /metrics counts). */
  lag: [state: ProbeState, lagMs: number];
  /** A tick found the probe's previous run still going (`state.skipped` counted it). */
  skipped: [state: ProbeState];
}

/**
 * How often the scheduler looks for due probes. Due times are spread over the interval (start
 * jitter), so a coarser tick would start every run up to one tick late: at the 1 s cron tick this
 * replaced, that was 0-1 s of lateness on every run by design. A pass over 1,000 slots costs
 * microseconds, so 25 ms keeps the tick's share of lateness small at no measurable cost.
 */
const TICK_MS = 25;

interface Slot {
  state: ProbeState;
  nextDue: number;
  task?: ScheduledTask;
  /** Ran since the last `round` event. */
  inRound: boolean;
}

export class Engine extends EventEmitter<EngineEvents> {
  protected slots = new Map<string, Slot>();
  /**
   * The states of `slots`, in order, made once per install: every scrape, `/status` request and alert
   * evaluation asks for them, and at 1,000 probes a fresh array per call was a 1,000-element array
   * per request for the collector.
   */
  private statesList: readonly ProbeState[] = [];
  private verdictChangeCount = 0;
  /** The probes of the config files, and those discovery made: installed together. */
  private written: ProbeSpec[] = [];
  private discovered: ProbeSpec[] = [];
  /** The scheduler tick (not the alerting heartbeat, which hangs on `round`). */
  private ticker?: Timer;
  private readonly stopController = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** The run going for a probe, so any number of run-now callers wait on it without a listener each. */
  private readonly runs = new WeakMap<ProbeState, Promise<ProbeResult>>();
  private readonly semaphore: Semaphore;
  /**
   * Probes whose last run was slow (timed out, or took over half its timeout) queue here, on
   * slots of their own: hanging targets then delay each other, never the probes that answer.
   */
  private readonly slowLane: Semaphore;
  private readonly limits: { history: number; failures: number };
  private readonly timers: Timers;
  protected started = false;
  /** Slots that have not run since the last `round` event. */
  private roundLeft = 0;
  /** When the scheduler last ticked (ms): /healthz reads it. */
  lastTick = 0;

  constructor(private readonly opts: EngineOptions) {
    super();
    // Every run in flight listens on the stop signal (its deadline follows it): one listener per
    // concurrent run is expected, not the leak Node's default cap of 10 warns about.
    setMaxListeners(0, this.stopController.signal);
    this.semaphore = new Semaphore(opts.concurrency ?? 8);
    this.slowLane = new Semaphore(opts.concurrency ?? 8);
    this.limits = { history: opts.historySize ?? 20, failures: opts.failureHistorySize ?? 50 };
    this.timers = opts.timers ?? systemTimers;
  }

  /** Installs a config. Probes that keep their name and kind keep their history and counters. */
  load(config: Pick<WatchdogConfig, 'probes'>): void {
    this.written = config.probes;
    this.install();
  }

  /**
   * Replaces the discovered probes, without a reload: a probe that keeps its name and kind keeps its
   * state, a new one is scheduled, one no longer given is removed (and leaves /metrics). A written
   * probe of the same name wins.
   */
  setDiscovered(specs: ProbeSpec[]): void {
    this.discovered = specs;
    this.install();
  }

  /**
   * Both lists at once, in one install: the probe thread's engine takes what the main engine
   * installed this way, so it never holds the new written probes beside the old discovered ones.
   */
  installAll(written: ProbeSpec[], discovered: ProbeSpec[]): void {
    this.written = written;
    this.discovered = discovered;
    this.install();
  }

  protected install(): void {
    const now = this.opts.now();
    const next = new Map<string, Slot>();
    const written = new Set(this.written.map((s) => s.name));
    for (const spec of [...this.written, ...this.discovered.filter((s) => !written.has(s.name))]) {
      const old = this.slots.get(spec.name);
      const sameSchedule = old?.state.spec.intervalMs === spec.intervalMs && old?.state.spec.schedule === spec.schedule;
      // Same object, new spec: a run in flight across the reload still lands in the right place.
      const kept = old && old.state.spec.kind === spec.kind ? old.state : undefined;
      // What the kind remembered was about the old definition (another container, another window): a
      // changed probe starts its memory afresh; an unchanged one keeps it across the reload.
      if (kept && kept.spec.definition !== spec.definition) kept.memory = {};
      const state = kept ? touched(Object.assign(kept, { spec })) : newState(spec, now);
      // A kept probe keeps its place in the schedule: a reload must not re-run everything at once
      // (the OTLP canary writes into Tempo on every run).
      const keep = old && old.state === state && state.last !== undefined && sameSchedule;
      next.set(spec.name, { state, nextDue: keep ? old.nextDue : now + this.jitter(spec), inRound: false });
    }
    for (const [name, slot] of this.slots) {
      this.destroy(slot.task);
      // A run of a removed or changed probe that is still going writes into a state nobody reads.
      if (!next.has(name)) this.opts.logger.info({ probe: name }, 'probe removed');
    }
    this.slots = next;
    this.statesList = Array.from(next.values(), (slot) => slot.state);
    this.verdictChangeCount++;
    this.roundLeft = next.size;
    if (this.started) for (const slot of this.slots.values()) this.schedule(slot);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.lastTick = this.opts.now();
    // One ticking timer drives every interval probe; cron-scheduled probes get a task of their own.
    this.ticker = this.timers.setInterval(() => this.tick(), TICK_MS);
    for (const slot of this.slots.values()) this.schedule(slot);
    this.tick();
  }

  /**
   * Stops scheduling, lets runs in flight finish for up to `graceMs`, then cancels them. The grace
   * is on Node's timers, not the injected ones: it bounds real work, and must end even in a test
   * whose time stands still.
   */
  async stop(graceMs = 3000): Promise<void> {
    this.started = false;
    this.timers.clear(this.ticker);
    for (const slot of this.slots.values()) this.destroy(slot.task);
    const all = Promise.allSettled([...this.inFlight]);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([all, grace]);
    clearTimeout(timer);
    this.stopController.abort();
    await Promise.race([all, new Promise((r) => setTimeout(r, 200))]);
  }

  /** node-cron's destroy() may return a promise; a failure to stop a task is logged, never unhandled. */
  private destroy(task: ScheduledTask | undefined): void {
    if (!task) return;
    Promise.resolve(task.destroy()).catch((err: unknown) => this.opts.logger.warn({ err }, 'a cron task did not stop cleanly'));
  }

  /** Every probe's state, in config order; the same array until the next install. */
  states(): readonly ProbeState[] {
    return this.statesList;
  }

  /**
   * Moves whenever a probe's status or reason changes and at every install (load, reload, discovery):
   * while it stands still, only counts and times have moved, which lets /metrics skip looking at each
   * probe (metrics/probeFamilies.ts).
   */
  get verdictChanges(): number {
    return this.verdictChangeCount;
  }

  state(name: string): ProbeState | undefined {
    return this.slots.get(name)?.state;
  }

  /** Every probe has a first result (blocked counts: it is an answer). */
  get ready(): boolean {
    return [...this.slots.values()].every((s) => s.state.last !== undefined);
  }

  /**
   * Runs a probe now, outside its schedule (the admin API), and returns the run's result. A run
   * already going is shared: any number of callers wait on its promise, none on an event listener.
   * Undefined when there is no such probe, or a reload removed or replaced it while it ran (the
   * result then belongs to nobody).
   */
  async runNow(name: string): Promise<ProbeResult | undefined> {
    const slot = this.slots.get(name);
    if (!slot) return undefined;
    const raw = await (this.runs.get(slot.state) ?? this.execute(slot));
    return this.slots.get(name)?.state === slot.state ? raw : undefined;
  }

  /**
   * One pass over the given probes (all by default) in dependency order, as `watchdog check`
   * does. Thresholds do not apply: a single run is reported as it is.
   */
  async runOnce(names?: string[]): Promise<ProbeState[]> {
    const wanted = names ? this.withDependencies(names) : new Set(this.slots.keys());
    // Each probe starts as soon as its own dependencies are done, not when a whole wave is: in waves, a
    // chain (container-tempo → tempo-ready → otlp-canary) waited at each step for the slowest probe of
    // the step before, and a round outlasted its slowest probe's timeout. The load refuses cycles.
    const runs = new Map<string, Promise<void>>();
    const run = (n: string): Promise<void> => {
      let started = runs.get(n);
      if (!started) {
        const deps = this.slots.get(n)!.state.spec.dependsOn.filter((d) => wanted.has(d));
        started = Promise.all(deps.map(run)).then(async () => void (await this.execute(this.slots.get(n)!, { undamped: true })));
        runs.set(n, started);
      }
      return started;
    };
    await Promise.all([...wanted].map(run));
    // Reported in config order, as people wrote them, not in the order they ran.
    return [...this.slots.keys()].filter((n) => wanted.has(n)).map((n) => this.slots.get(n)!.state);
  }

  /** The named probes and, transitively, what they depend on: what `runOnce(names)` runs. */
  withDependencies(names: string[]): Set<string> {
    const out = new Set<string>();
    const add = (n: string) => {
      if (out.has(n) || !this.slots.has(n)) return;
      out.add(n);
      this.slots.get(n)!.state.spec.dependsOn.forEach(add);
    };
    names.forEach(add);
    return out;
  }

  private jitter(spec: ProbeSpec): number {
    const max = Math.min(this.opts.maxStartJitterMs ?? 1000, spec.intervalMs / 2);
    return Math.floor((this.opts.random ?? Math.random)() * max);
  }

  protected schedule(slot: Slot): void {
    const spec = slot.state.spec;
    if (!spec.schedule) return;
    slot.task = cron.schedule(spec.schedule, () => this.startScheduledRun(slot), { name: `probe-${spec.name}` });
  }

  private tick(): void {
    const now = this.opts.now();
    this.lastTick = now;
    for (const slot of this.slots.values()) {
      // Every probe runs once at start, whatever its schedule; afterwards interval probes are due here.
      const firstRun = slot.state.last === undefined && !slot.state.running;
      if ((slot.state.spec.schedule && !firstRun) || now < slot.nextDue) continue;
      // A run started or skipped uses up this turn; one waiting for a dependency stays due.
      if (this.startScheduledRun(slot, slot.nextDue) !== 'waiting') {
        slot.nextDue += slot.state.spec.intervalMs;
        if (slot.nextDue <= now) slot.nextDue = now + slot.state.spec.intervalMs;
      }
    }
  }

  /**
   * A probe's scheduled run is due: starts it (`started`), unless one is still going (`skipped`,
   * and counted) or a dependency has no result yet (`waiting`).
   */
  private startScheduledRun(slot: Slot, dueAt = this.opts.now()): 'started' | 'skipped' | 'waiting' {
    const state = slot.state;
    if (state.running) {
      touched(state).skipped++;
      this.emit('skipped', state);
      this.opts.logger.debug({ probe: state.spec.name }, 'previous run still going; tick skipped');
      return 'skipped';
    }
    // Before a dependency's first result there is nothing to judge by: wait for it.
    if (state.spec.dependsOn.some((d) => this.slots.get(d)?.state.last === undefined)) return 'waiting';
    // runProbe turns whatever a prober does into a result, so a throw here is a bug of ours: log it,
    // and let the scheduler go on (execute has already cleared `running`).
    this.execute(slot, { dueAt }).catch((err: unknown) => {
      this.opts.logger.error({ err, probe: state.spec.name }, 'scheduled run threw instead of returning a result: this is a bug in stack-watchdog, please report it');
    });
    return 'started';
  }

  private async execute(slot: Slot, opts: { undamped?: boolean; dueAt?: number } = {}): Promise<ProbeResult> {
    const state = slot.state;
    state.running = true;
    const lane = this.wasSlow(state) ? this.slowLane : this.semaphore;
    const work = (async () => {
      const blocked = this.blockedBy(state.spec);
      const raw =
        blocked ??
        (await lane.use(
          () => {
            // Measured when the slot is granted: the wait in the queue is the lateness people feel.
            if (opts.dueAt !== undefined) this.noteLag(state, Math.max(0, this.opts.now() - opts.dueAt));
            return runProbe(state.spec, { ...this.opts, stopSignal: this.stopController.signal }, state.memory);
          },
          state.last ? Priority.known : Priority.first,
        ));
      state.running = false;
      // A reload may have replaced this probe while it ran: then its result belongs to nobody.
      const live = this.slots.get(state.spec.name);
      if (live?.state === state) this.apply(live, raw, opts);
      return raw;
    })();
    this.runs.set(state, work);
    this.inFlight.add(work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(work);
      if (this.runs.get(state) === work) this.runs.delete(state);
      state.running = false;
    }
  }

  private wasSlow(state: ProbeState): boolean {
    const last = state.last;
    return last !== undefined && (last.reason === 'timeout' || last.durationMs > state.spec.timeoutMs / 2);
  }

  /** A scheduled run got its slot `lagMs` late: kept on the probe and told to /metrics. */
  protected noteLag(state: ProbeState, lagMs: number): void {
    touched(state).lagMs = lagMs;
    this.emit('lag', state, lagMs);
  }

  protected apply(slot: Slot, raw: ProbeResult, opts: { undamped?: boolean }): void {
    const state = slot.state;
    const before = state.current.status;
    const reasonBefore = state.current.reason;
    const changed = record(state, raw, this.limits, opts);
    if (changed || state.current.reason !== reasonBefore) this.verdictChangeCount++;
    if (!this.opts.quiet) this.logChange(state, before, changed);
    // Counted down rather than checked over every slot: at 1,000 probes a second that check alone
    // was a million slot visits a second.
    if (!slot.inRound) {
      slot.inRound = true;
      this.roundLeft--;
    }
    this.emit('result', state, raw, changed);
    if (this.roundLeft <= 0) {
      for (const s of this.slots.values()) s.inRound = false;
      this.roundLeft = this.slots.size;
      this.emit('round');
    }
  }

  /**
   * A probe whose dependency fails (or is blocked behind a failure) is not run: one outage, one failure.
   * A dependency blocked for its own reason (the Docker Engine cannot be asked, the stack folder is not
   * mounted) failed nothing: what depends on it still runs, or an unreachable Docker socket would hide
   * a Tempo whose HTTP API answers perfectly well.
   */
  private blockedBy(spec: ProbeSpec): ProbeResult | undefined {
    for (const d of spec.dependsOn) {
      const dep = this.slots.get(d)?.state.current;
      if (dep && (dep.status === 'failing' || (dep.status === 'blocked' && dep.reason === 'dependency_failed'))) {
        const now = this.opts.now();
        return {
          status: 'blocked',
          reason: 'dependency_failed',
          message: `not run: depends on "${d}", which is ${dep.status} (${dep.reason})`,
          hint: `Fix "${d}" first: curl the watchdog's /status/${d} for its reason and hint.`,
          value: null,
          durationMs: 0,
          at: now,
          details: { dependency: d },
        };
      }
    }
    return undefined;
  }

  private logChange(state: ProbeState, before: string, changed: boolean): void {
    const { spec, current } = state;
    const fields = { probe: spec.name, kind: spec.kind, severity: spec.severity, status: current.status, previous: before, reason: current.reason, message: current.message };
    if (!changed) {
      this.opts.logger.debug(fields, 'probe run');
      return;
    }
    if (current.status === 'failing') this.opts.logger.warn({ ...fields, hint: current.hint }, 'probe failing');
    else if (current.status === 'ok') this.opts.logger.info(fields, before === 'pending' ? 'probe ok' : 'probe recovered');
    else this.opts.logger.info(fields, `probe ${current.status}`);
  }
}
