// Builds a real engine on a config written inline, for tests that exercise scheduling and state.
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { createHttpClient } from '../../src/net/http.js';
import { createDockerClient } from '../../src/net/docker.js';
import type { ManualTime } from './time.js';
import { waitFor } from './wait.js';

/** A pino logger whose lines are parsed back into objects, so tests assert on fields. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

export function engineFor(yamlText: string, opts: Partial<EngineOptions> & { env?: Record<string, string> } = {}) {
  const config = parseConfig([{ file: 'test.yaml', text: yamlText }], opts.env ?? {});
  const http = createHttpClient({ userAgent: 'stack-watchdog-test' });
  const engine = new Engine({
    http,
    docker: createDockerClient({ dockerHost: opts.env?.DOCKER_HOST }),
    logger: opts.logger ?? pino({ level: 'silent' }),
    now: Date.now,
    maxStartJitterMs: 0,
    ...opts,
  });
  engine.load(config);
  return {
    engine,
    config,
    close: async () => {
      await engine.stop(500);
      await http.close();
    },
  };
}

/** Polls until `check` is true or the bound passes (then throws with `what` and, given `describe`, what was seen). */
export async function eventually(check: () => boolean, what: string, timeoutMs = 10_000, describe?: () => unknown): Promise<void> {
  await waitFor(what, check, { timeoutMs, describe });
}

/** The problems a config load refuses with; fails the test when `load` accepts the config. */
export function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('the config was accepted');
}

/**
 * Moves `time` forward by `ms` in scheduler-tick steps; after each step the runs it started (real
 * requests to real local targets) finish before time moves on, so a run never overlaps its next
 * turn because the machine was slow. Each wait is bounded and names the probes still running.
 */
export async function advanceEngine(engine: Engine, time: ManualTime, ms: number, stepMs = 25): Promise<void> {
  for (let left = ms; left > 0; left -= stepMs) {
    await time.advance(Math.min(stepMs, left));
    const running = () => engine.states().filter((s) => s.running);
    await waitFor('the runs started by this step to finish', () => running().length === 0, { describe: () => running().map((s) => s.spec.name) });
  }
}
