// The dead man's switch: a ping to an outside URL after every complete round. When the watchdog
// dies or its scheduler stalls, the pings stop and the service behind the URL raises the alarm that
// no probe of ours can raise about ourselves.
import type { Logger } from 'pino';
import type { WatchdogConfig } from '../config/load.js';
import type { Engine } from '../engine/engine.js';
import type { HttpClient } from '../net/http.js';
import { describeFailure, linkLog } from './link.js';
import { deadline } from '../util/deadline.js';

export interface HeartbeatOptions {
  engine: Engine;
  config: () => WatchdogConfig;
  http: HttpClient;
  logger: Logger;
  now: () => number;
  /** Per ping; well under any sensible round, so a hanging target never delays the next ping. */
  timeoutMs?: number;
}

export interface HeartbeatStats {
  ok: number;
  error: number;
  /** Rounds that found the previous ping still going: no second one is stacked on it. */
  skipped: number;
}

export interface Heartbeat {
  stats: HeartbeatStats;
  stop(): Promise<void>;
}

export function startHeartbeat(opts: HeartbeatOptions): Heartbeat {
  const stats: HeartbeatStats = { ok: 0, error: 0, skipped: 0 };
  const link = linkLog(opts.logger, 'heartbeat', opts.now);
  const stopController = new AbortController();
  let inFlight: Promise<void> | undefined;

  const ping = async (target: { url: string; method?: 'GET' | 'POST' }): Promise<void> => {
    const method = target.method ?? 'GET';
    const { signal, done } = deadline(stopController.signal, opts.timeoutMs ?? 10_000);
    // Counts only: the body goes to an outside service and must carry nothing sensitive.
    const states = opts.engine.states();
    const body = method === 'POST' ? JSON.stringify({ source: 'stack-watchdog', probes: states.length, failing: states.filter((s) => s.current.status === 'failing').length }) : undefined;
    const headers: Record<string, string> = body ? { 'content-type': 'application/json' } : {};
    const failure = await describeFailure(() => opts.http.request(target.url, { method, headers, body, maxBytes: 64 * 1024, signal })).finally(done);
    if (stopController.signal.aborted) return;
    if (failure) {
      stats.error++;
      link.failed(failure.reason, failure.message, { url: target.url });
    } else {
      stats.ok++;
      link.ok({ url: target.url });
    }
  };

  const onRound = (): void => {
    const target = opts.config().alerting?.heartbeat;
    if (!target || stopController.signal.aborted) return;
    if (inFlight) {
      stats.skipped++;
      return;
    }
    inFlight = ping(target)
      .catch((err: unknown) => opts.logger.error({ err }, 'heartbeat failed unexpectedly'))
      .finally(() => (inFlight = undefined));
  };
  opts.engine.on('round', onRound);

  return {
    stats,
    async stop() {
      opts.engine.off('round', onRound);
      stopController.abort();
      await inFlight;
    },
  };
}
