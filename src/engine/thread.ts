// Probe runs on a thread of their own (WATCHDOG_PROBE_THREAD=worker). The engine stays here: it
// schedules, judges (record), keeps the states and feeds every view, so /status, /metrics, alerting and
// maintenance read what they always read. Only the runs move: at 1,000 runs a second their I/O, body
// parsing and garbage would otherwise share the event loop that answers Prometheus's scrapes.
//
// Specs hold closures, which cannot be posted. A spec travels as its plain fields (the common ones and
// the kind's fields as written, `definition`), posted once per spec object; the thread binds it again
// through the same registry, so it runs exactly what the loader checked here.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { CommonSpec, ProbeSpec } from '../probers/types.js';
import { HARD_STOP_GRACE_MS, type Runner } from './runner.js';
import type { MemoryCell, ProbeResult } from './result.js';
import type { ThreadData, ToMain, ToThread, WireSpec } from './threadMessages.js';

/** How long past a run's own timeout and hard stop the engine waits for the thread before it answers for it. */
const LOST_AFTER_MS = 5_000;
/** Restarts of a thread that keeps dying are spaced out, up to this. */
const MAX_RESTART_DELAY_MS = 30_000;

interface Pending {
  resolve: (r: ProbeResult) => void;
  memory: MemoryCell;
  spec: ProbeSpec;
  timer: NodeJS.Timeout;
  started: number;
}

export interface ProbeThreadOptions {
  logger: Logger;
  /** Handed to the thread, which builds its own clients and logger from them. */
  data: ThreadData;
  now?: () => number;
}

export class ProbeThread implements Runner {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Each spec object gets one number; the thread is sent its fields once per number. */
  private readonly specIds = new WeakMap<ProbeSpec, number>();
  private nextSpecId = 1;
  /**
   * The spec number the current worker holds for each probe name (a restarted worker holds none). The
   * thread keeps the same map (threadMain.ts): a new spec for a name replaces the old, and `retain`
   * drops names on both sides alike, so what is sent once is never asked for again.
   */
  private known = new Map<string, number>();
  private closed = false;
  private restarts = 0;
  private restartTimer?: NodeJS.Timeout;
  private readonly stopListeners = new WeakSet<AbortSignal>();
  private readonly now: () => number;

  constructor(private readonly opts: ProbeThreadOptions) {
    this.now = opts.now ?? Date.now;
    this.spawn();
  }

  run(spec: ProbeSpec, memory: MemoryCell, stopSignal: AbortSignal): Promise<ProbeResult> {
    const started = this.now();
    if (this.closed || stopSignal.aborted) return Promise.resolve(cancelled(started, this.now()));
    if (!this.worker) return Promise.resolve(lost(started, this.now(), 'the probe thread is restarting'));
    this.listenForStop(stopSignal);
    const id = this.nextId++;
    let specId = this.specIds.get(spec);
    if (specId === undefined) {
      specId = this.nextSpecId++;
      this.specIds.set(spec, specId);
    }
    const message: ToThread = { t: 'run', id, specId, memory: memory.value };
    if (this.known.get(spec.name) !== specId) {
      message.spec = wire(spec);
      this.known.set(spec.name, specId);
    }
    return new Promise<ProbeResult>((resolve) => {
      // The thread bounds each run itself; this bounds the thread (stuck in a loop, or dead between
      // two messages): the run then reads as a failure of the watchdog, never as a hang of the engine.
      const timer = setTimeout(
        () => this.settle(id, lost(started, this.now(), `the probe thread did not answer within ${spec.timeoutMs + HARD_STOP_GRACE_MS + LOST_AFTER_MS} ms`)),
        spec.timeoutMs + HARD_STOP_GRACE_MS + LOST_AFTER_MS,
      );
      this.pending.set(id, { resolve, memory, spec, timer, started });
      this.worker!.postMessage(message);
    });
  }

  retain(names: ReadonlySet<string>): void {
    for (const name of this.known.keys()) if (!names.has(name)) this.known.delete(name);
    this.worker?.postMessage({ t: 'retain', names: [...names] } satisfies ToThread);
  }

  /** Ends the thread; runs still pending read as cancelled. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    this.worker = undefined;
    for (const [id, p] of this.pending) this.settle(id, cancelled(p.started, this.now()));
    await worker?.terminate();
  }

  private spawn(): void {
    const here = import.meta.url;
    let worker: Worker;
    if (here.endsWith('.ts')) {
      // Run from the TypeScript sources (tests, `npx watchdog` without a build): Node 20 hands a worker
      // neither the hooks tsx registered here nor an `--import` in execArgv, so a small bootstrap
      // registers tsx in the thread before importing its entry.
      const entry = new URL('./threadMain.ts', here).href;
      const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
      worker = new Worker(bootstrap, { eval: true, workerData: this.opts.data, stdout: false, stderr: false });
    } else {
      // The thread's output is its log lines, written to the same fd as ours (pino, sync).
      worker = new Worker(new URL('./threadMain.js', here), { workerData: this.opts.data, stdout: false, stderr: false });
    }
    this.known = new Map();
    worker.on('message', (m: ToMain) => this.onMessage(m));
    worker.on('error', (err) => this.opts.logger.error({ err }, 'the probe thread failed'));
    worker.on('exit', (code) => this.onExit(worker, code));
    this.worker = worker;
  }

  private onMessage(m: ToMain): void {
    if (m.t === 'result') {
      const p = this.pending.get(m.id);
      if (!p) return;
      p.memory.value = m.memory;
      this.settle(m.id, m.result);
      this.restarts = 0;
    }
  }

  private settle(id: number, result: ProbeResult): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(result);
  }

  private onExit(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const [id, p] of this.pending) this.settle(id, lost(p.started, this.now(), `the probe thread exited (code ${code})`));
    if (this.closed) return;
    const delay = Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** this.restarts++);
    this.opts.logger.error({ code, restartInMs: delay }, 'the probe thread exited; starting a new one');
    this.restartTimer = setTimeout(() => this.spawn(), delay);
  }

  /** The engine's stop signal reaches the thread as a message: its runs in flight give up at once. */
  private listenForStop(signal: AbortSignal): void {
    if (this.stopListeners.has(signal)) return;
    this.stopListeners.add(signal);
    signal.addEventListener('abort', () => this.worker?.postMessage({ t: 'stop' } satisfies ToThread), { once: true });
  }
}

/** The fields a spec is bound from; everything else (run, settings, unit) the thread's bind makes again. */
function wire(spec: ProbeSpec): WireSpec {
  const common: CommonSpec = {
    name: spec.name,
    kind: spec.kind,
    description: spec.description,
    severity: spec.severity,
    intervalMs: spec.intervalMs,
    schedule: spec.schedule,
    timeoutMs: spec.timeoutMs,
    dependsOn: spec.dependsOn,
    failureThreshold: spec.failureThreshold,
    successThreshold: spec.successThreshold,
    hints: spec.hints,
    labels: spec.labels,
    file: spec.file,
    discovered: spec.discovered,
  };
  return { common, definition: spec.definition };
}

/** A run the thread never answered for: the watchdog's own failure, said as such. */
function lost(started: number, now: number, why: string): ProbeResult {
  return {
    status: 'failing',
    reason: 'error',
    message: `internal error: ${why}`,
    hint: 'This is stack-watchdog failing, not the target: see its log for "probe thread". WATCHDOG_PROBE_THREAD=main runs the probes on the main thread instead.',
    value: null,
    durationMs: now - started,
    at: now,
  };
}

/** A run cut by the watchdog stopping: what runProbe says in this thread for the same. */
function cancelled(started: number, now: number): ProbeResult {
  return { status: 'failing', reason: 'timeout', message: 'run cancelled: the watchdog is stopping', value: null, durationMs: now - started, at: now };
}
