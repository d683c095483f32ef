// What the main thread's engine (thread.ts) and the probe thread's (threadMain.ts) post each other.
// Plain data only: structured clone carries no function, so a spec travels as the fields it is bound
// from, and a result as the raw ProbeResult both engines judge alike.
import type { CommonSpec } from '../probers/types.js';
import type { ProbeResult } from './result.js';

/** What the thread builds its clients, logger and engine from. */
export interface ThreadData {
  userAgent: string;
  dockerHost?: string;
  logLevel: string;
  concurrency: number;
}

export interface WireSpec {
  common: CommonSpec;
  /** The kind's fields as written, serialised (ProbeSpec.definition). */
  definition: string;
}

export type ToThread =
  /** The probes as the main engine now holds them; `generation` counts installs. */
  | { t: 'install'; generation: number; written: WireSpec[]; discovered: WireSpec[] }
  | { t: 'start' }
  | { t: 'runNow'; id: number; name: string }
  /** Stop scheduling; runs in flight get `graceMs`, then are cut. The thread answers `stopped`. */
  | { t: 'stop'; graceMs: number };

export type ToMain =
  /** `generation`: the install the thread's engine held when the run ended. */
  | { t: 'result'; name: string; raw: ProbeResult; generation: number }
  | { t: 'lag'; name: string; lagMs: number }
  | { t: 'skipped'; name: string }
  /** The thread's scheduler ticked (posted at most once a second): /healthz and the tick gauge read it. */
  | { t: 'tick'; at: number }
  | { t: 'ran'; id: number; raw: ProbeResult | undefined }
  /** A spec the thread could not bind: the loader here would have refused it, so this is a bug of ours. */
  | { t: 'problem'; message: string }
  | { t: 'stopped' };
