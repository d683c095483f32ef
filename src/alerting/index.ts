// The watchdog's own ways to reach people, besides Prometheus scraping it: the direct line to
// Alertmanager and the heartbeat. Both read the config through a getter, so a reload applies
// without restarting them, and neither can throw into the engine.
import { Counter, Gauge, type Registry } from 'prom-client';
import { AlertmanagerSender, type SenderOptions, type SenderStats } from './alertmanager.js';
import { startHeartbeat, type HeartbeatOptions, type HeartbeatStats } from './heartbeat.js';

export interface AlertingOptions extends Omit<HeartbeatOptions, 'timeoutMs'> {
  /** Who is sending (e.g. the host name): an annotation on direct alerts, never a label. */
  instance?: string;
  /** The stack's name (config/stack.ts): a label of every direct alert, the same on every replica of the stack. */
  stack?: string;
  /** The watchdog's URL as people reach it; direct alerts link to its /status/<probe>. */
  externalUrl?: string;
  /** Where the counters below go (the daemon's private registry); none in most tests. */
  registry?: Registry;
  /** Test knobs; the defaults suit production. */
  tuning?: Pick<SenderOptions, 'retry' | 'requestTimeoutMs' | 'debounceMs' | 'random'> & { heartbeatTimeoutMs?: number };
  /** Whether a probe is in a maintenance window now: the direct path posts no new alert for it. */
  inMaintenance?: SenderOptions['inMaintenance'];
  /** What the direct path's debounce, renewal and retry timers run on (beside `now`). */
  timers?: SenderOptions['timers'];
}

export interface Alerting {
  /** Posts the current alerts now; true when Alertmanager has them (or there was nothing to send). */
  flush(): Promise<boolean>;
  stop(): Promise<void>;
  stats: { alertmanager: SenderStats; heartbeat: HeartbeatStats };
}

export function startAlerting(opts: AlertingOptions): Alerting {
  const logger = opts.logger.child({ component: 'alerting' });
  const sender = new AlertmanagerSender({
    ...opts.tuning,
    states: () => opts.engine.states(),
    config: opts.config,
    http: opts.http,
    logger,
    now: opts.now,
    context: { instance: opts.instance, stack: opts.stack, externalUrl: opts.externalUrl },
    inMaintenance: opts.inMaintenance,
    timers: opts.timers,
  });
  // Only status changes need a prompt post; everything else is renewal, which has its own timer.
  const onResult = (_state: unknown, _raw: unknown, changed: boolean): void => {
    if (changed) sender.trigger();
  };
  opts.engine.on('result', onResult);
  sender.start();
  const heartbeat = startHeartbeat({ engine: opts.engine, config: opts.config, http: opts.http, logger, now: opts.now, timeoutMs: opts.tuning?.heartbeatTimeoutMs });
  const stats = { alertmanager: sender.stats, heartbeat: heartbeat.stats };
  if (opts.registry) registerMetrics(opts.registry, stats);

  return {
    stats,
    flush: () => sender.flush(),
    async stop() {
      opts.engine.off('result', onResult);
      await Promise.all([sender.stop(), heartbeat.stop()]);
    },
  };
}

function registerMetrics(registry: Registry, stats: Alerting['stats']): void {
  new Counter({
    name: 'watchdog_alertmanager_posts_total',
    help: 'Posts of the direct alerts to Alertmanager, by result (error: unreachable or not 2xx).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'ok' }, stats.alertmanager.posts.ok);
      this.inc({ result: 'error' }, stats.alertmanager.posts.error);
    },
  });
  new Gauge({
    name: 'watchdog_alertmanager_direct_alerts',
    help: 'Alerts the direct path keeps: firing (renewed), handed_over (left to Prometheus, running out), resolving (resolution not yet delivered).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const t = stats.alertmanager.tracked();
      this.set({ state: 'firing' }, t.firing);
      this.set({ state: 'handed_over' }, t.handedOver);
      this.set({ state: 'resolving' }, t.resolving);
    },
  });
  new Counter({
    name: 'watchdog_heartbeat_pings_total',
    help: 'Heartbeat pings after complete rounds, by result (skipped: the previous ping was still going).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ result: 'ok' }, stats.heartbeat.ok);
      this.inc({ result: 'error' }, stats.heartbeat.error);
      this.inc({ result: 'skipped' }, stats.heartbeat.skipped);
    },
  });
}
