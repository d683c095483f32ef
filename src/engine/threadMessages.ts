// What the engine's side (thread.ts) and the probe thread (threadMain.ts) post each other. Plain data
// only: structured clone carries no function, so a spec travels as the fields it is bound from.
import type { CommonSpec } from '../probers/types.js';
import type { ProbeResult } from './result.js';

/** What the thread builds its clients and logger from. */
export interface ThreadData {
  userAgent: string;
  dockerHost?: string;
  logLevel: string;
}

export interface WireSpec {
  common: CommonSpec;
  /** The kind's fields as written, serialised (ProbeSpec.definition). */
  definition: string;
}

export type ToThread =
  /** `spec` comes with the first run of each spec number, and again after a restart of the thread. */
  | { t: 'run'; id: number; specId: number; spec?: WireSpec; memory: unknown }
  /** The probes the engine holds now: the thread forgets the specs of the others. */
  | { t: 'retain'; names: string[] }
  /** The daemon is stopping: runs in flight give up. */
  | { t: 'stop' };

/** `memory` is the run's memory cell afterwards (what it kept, or what it was handed). */
export type ToMain = { t: 'result'; id: number; result: ProbeResult; memory: unknown };
