// The engine on a thread of its own (WATCHDOG_PROBE_THREAD=worker). The probe thread runs a whole
// Engine (threadMain.ts): its scheduler ticks, its lanes and its runs are there, so neither a burst of
// scrapes nor a slow view on this thread makes a run late. This thread keeps a ThreadedEngine: the same
// Engine class, holding the same probes in the same states, which schedules nothing. Each result the
// thread's engine judged comes here and is judged again by the same record() (it is deterministic), so
// every reader of the engine (/status, /metrics, alerting, incidents, maintenance, discovery) reads
// states as it always did.
//
// Specs hold closures, which cannot be posted: a spec travels as its plain fields (the common ones and
// the kind's fields as written, `definition`), and the thread binds it again through the same registry,
// so it runs exactly what the loader checked here.
import { Worker } from 'node:worker_threads';
import type { ProbeSpec } from '../probers/types.js';
import { Engine, type EngineOptions } from './engine.js';
import { touched, type ProbeResult, type ProbeState } from './result.js';
import type { ThreadData, ToMain, ToThread, WireSpec } from './threadMessages.js';

/** Messages from the thread applied per turn of the event loop (see receive). */
const SLICE = 32;

/** Restarts of a thread that keeps dying are spaced out, up to this. */
const MAX_RESTART_DELAY_MS = 30_000;

export interface ThreadedEngineOptions extends EngineOptions {
  /** Handed to the thread, which builds its own clients, logger and engine from them. */
  thread: Omit<ThreadData, 'concurrency'>;
}

/** Run-now could not reach the probe thread: the API answers 500 and logs this. */
export class ProbeThreadUnavailable extends Error {
  override name = 'ProbeThreadUnavailable';
}

export class ThreadedEngine extends Engine {
  private worker?: Worker;
  private generation = 0;
  /** The install each state was made in: a result the thread judged for an older probe of the name is dropped. */
  private readonly madeIn = new WeakMap<ProbeState, number>();
  private readonly waiting = new Map<number, { resolve: (raw: ProbeResult | undefined) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private restarts = 0;
  private restartTimer?: NodeJS.Timeout;
  private closing = false;
  private stopped?: () => void;
  private readonly inbox: ToMain[] = [];
  private read = 0;
  private draining = false;

  constructor(private readonly topts: ThreadedEngineOptions) {
    super(topts);
    this.spawn();
  }

  /** Every install (load, discovery) is the thread's too, with the same probes in the same order. */
  protected override install(): void {
    const before = new Set(this.states());
    super.install();
    this.generation++;
    for (const s of this.states()) if (!before.has(s)) this.madeIn.set(s, this.generation);
    this.post(this.installMessage());
  }

  /** Nothing is scheduled here: the thread's engine ticks. */
  protected override schedule(): void {}

  override start(): void {
    if (this.started) return;
    this.started = true;
    // Until the thread's first tick arrives (milliseconds), /healthz counts from now.
    this.lastTick = this.topts.now();
    this.post({ t: 'start' });
  }

  override async stop(graceMs = 3000): Promise<void> {
    this.started = false;
    this.closing = true;
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (worker) {
      // Bounded: a thread that does not answer in its grace and a second is ended anyway.
      const done = new Promise<void>((resolve) => (this.stopped = resolve));
      this.post({ t: 'stop', graceMs });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, graceMs + 1000)))]);
      clearTimeout(timer);
      this.worker = undefined;
      await worker.terminate();
    }
    this.failWaiting('the watchdog is stopping');
  }

  /** Run-now goes to the thread's engine; its result comes back as every result does, then answers here. */
  override async runNow(name: string): Promise<ProbeResult | undefined> {
    const state = this.state(name);
    if (!state) return undefined;
    if (!this.worker) throw new ProbeThreadUnavailable(this.closing ? 'the watchdog is stopping' : 'the probe thread is restarting (see the log)');
    const id = this.nextId++;
    const raw = await new Promise<ProbeResult | undefined>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.post({ t: 'runNow', id, name });
    });
    return this.state(name) === state ? raw : undefined;
  }

  /** `watchdog check` runs an engine of its own thread; this one only mirrors a running daemon's. */
  override runOnce(): Promise<ProbeState[]> {
    return Promise.reject(new Error('runOnce is for an engine on its own thread (watchdog check), not a threaded one'));
  }

  private failWaiting(why: string): void {
    for (const { reject } of this.waiting.values()) reject(new ProbeThreadUnavailable(why));
    this.waiting.clear();
  }

  private post(m: ToThread): void {
    this.worker?.postMessage(m);
  }

  private installMessage(): ToThread {
    const states = this.states();
    const written = states.filter((s) => !s.spec.discovered).map((s) => wire(s.spec));
    const discovered = states.filter((s) => s.spec.discovered).map((s) => wire(s.spec));
    return { t: 'install', generation: this.generation, written, discovered };
  }

  private spawn(): void {
    const data: ThreadData = { ...this.topts.thread, concurrency: this.topts.concurrency ?? 8 };
    const here = import.meta.url;
    let worker: Worker;
    if (here.endsWith('.ts')) {
      // Run from the TypeScript sources (tests, `npx watchdog` without a build): Node 20 hands a worker
      // neither the hooks tsx registered here nor an `--import` in execArgv, so a small bootstrap
      // registers tsx in the thread before importing its entry.
      const entry = new URL('./threadMain.ts', here).href;
      const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
      worker = new Worker(bootstrap, { eval: true, workerData: data });
    } else {
      // Its log lines go to the same fd as ours (pino, sync writes of whole lines).
      worker = new Worker(new URL('./threadMain.js', here), { workerData: data });
    }
    worker.on('message', (m: ToMain) => this.receive(m));
    worker.on('error', (err) => this.topts.logger.error({ err }, 'the probe thread failed'));
    worker.on('exit', (code) => this.onExit(worker, code));
    this.worker = worker;
    // A new thread knows nothing: it gets the probes as they are now, and starts if we had.
    worker.postMessage(this.installMessage());
    if (this.started) worker.postMessage({ t: 'start' } satisfies ToThread);
  }

  /**
   * Messages wait in a queue and are applied a slice per turn of the event loop. Node hands a port's
   * waiting messages over all at once: after a scrape or a collection held this thread, a thousand
   * results a second arrive as one batch, and judging them in one go held the next scrape behind it.
   */
  private receive(m: ToMain): void {
    this.inbox.push(m);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    const end = Math.min(this.inbox.length, this.read + SLICE);
    while (this.read < end) this.onMessage(this.inbox[this.read++]!);
    if (this.read < this.inbox.length) {
      setImmediate(() => this.drain());
      return;
    }
    this.inbox.length = 0;
    this.read = 0;
    this.draining = false;
  }

  private onMessage(m: ToMain): void {
    switch (m.t) {
      case 'result': {
        const slot = this.slots.get(m.name);
        // A run of a probe that a reload since removed or replaced belongs to nobody, as on one thread.
        if (!slot || m.generation < (this.madeIn.get(slot.state) ?? 0)) return;
        this.restarts = 0;
        this.apply(slot, m.raw, {});
        return;
      }
      case 'lag': {
        const state = this.state(m.name);
        if (state) this.noteLag(state, m.lagMs);
        return;
      }
      case 'skipped': {
        const state = this.state(m.name);
        if (state) touched(state).skipped++;
        return;
      }
      case 'tick':
        this.lastTick = m.at;
        return;
      case 'ran': {
        this.waiting.get(m.id)?.resolve(m.raw);
        this.waiting.delete(m.id);
        return;
      }
      case 'problem':
        this.topts.logger.error({ problem: m.message }, 'the probe thread refused a probe this thread loaded: this is a bug in stack-watchdog, please report it');
        return;
      case 'stopped':
        this.stopped?.();
        return;
    }
  }

  private onExit(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    // Run-now callers get an error (not "no such probe"); scheduled runs in flight are simply gone, as in a restart.
    this.failWaiting(`the probe thread exited (code ${code}) during the run`);
    if (this.closing) return;
    const delay = Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** this.restarts++);
    this.topts.logger.error({ code, restartInMs: delay }, 'the probe thread exited; starting a new one (its scheduler stopped: /healthz shows it until then)');
    this.restartTimer = setTimeout(() => this.spawn(), delay);
  }
}

/**
 * The fields a spec is bound from: the common ones (whatever CommonSpec holds, so a field added there
 * travels too) and the kind's as written; run, settings and unit the thread's bind makes again.
 */
function wire(spec: ProbeSpec): WireSpec {
  const { run: _run, settings: _settings, unit: _unit, definition, ...common } = spec;
  return { common, definition };
}
