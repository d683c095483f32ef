// The direct line to Alertmanager: when Prometheus is down no rule fires, so the watchdog posts its
// failing critical probes to Alertmanager itself (postAlerts of src/probers/alertmanagerApi.ts).
//
// The sender keeps the desired state (which alerts should be firing, which must be resolved) and
// posts the whole of it on every attempt. Alertmanager merges alerts by label set, so a repeated post
// is harmless, two replicas posting the same alert make one, and whatever changed during an outage
// (a probe that recovered meanwhile) goes out with the first post that gets through.
import type { Logger } from 'pino';
import { DEFAULT_RESOLVE_TIMEOUT_MS } from '../config/alerting.js';
import type { WatchdogConfig } from '../config/load.js';
import type { ProbeState } from '../engine/result.js';
import type { HttpClient } from '../net/http.js';
import { alertsUrl, postAlerts, type PostableAlert } from '../probers/alertmanagerApi.js';
import { deadline } from '../util/deadline.js';
import { iso } from '../util/format.js';
import { systemTimers, type Timer, type Timers } from '../util/timers.js';
import { joinUrl } from '../util/url.js';
import { describeFailure, linkLog } from './link.js';

/** The same alertname as the Prometheus rule, so one Alertmanager route serves both paths. */
export const ALERT_NAME = 'WatchdogProbeFailing';
/** Renewals per resolveTimeout: three can be lost before Alertmanager lets an alert lapse. */
const RENEWALS_PER_TIMEOUT = 4;
/** Resolutions waiting for delivery; far above any real probe count, it only caps a pathological reload loop. */
const MAX_RESOLVING = 1000;

/** The direct path's settings after defaults; undefined when it is off or not configured. */
export interface DirectSettings {
  /** Every Alertmanager (each node of a cluster): each gets every post. */
  urls: string[];
  mode: 'fallback' | 'always';
  /** The probes whose failure means Prometheus cannot alert (itself, or the alert path); empty in fallback when none exists. */
  guards: string[];
  resolveTimeoutMs: number;
}

export function directSettings(config: WatchdogConfig): DirectSettings | undefined {
  const am = config.alerting?.alertmanager;
  if (!am || am.mode === 'off') return undefined;
  return { urls: am.url, mode: am.mode, guards: am.guardProbes, resolveTimeoutMs: am.resolveTimeoutMs };
}

/** Whether the watchdog should alert directly now: always, or while a guard says Prometheus cannot alert. */
export function engaged(settings: DirectSettings, guards: readonly (ProbeState | undefined)[]): boolean {
  if (settings.mode === 'always') return true;
  // Blocked counts: the guard's own dependency (Prometheus's port, say) is failing.
  return guards.some((guard) => guard?.current.status === 'failing' || guard?.current.status === 'blocked');
}

export interface AlertContext {
  /** Who sent it, for people: an annotation, never a label (replicas must produce the same label set). */
  instance?: string;
  /**
   * The stack's name: a label, so that several stacks' alerts stay apart in one Alertmanager. Every
   * replica of a stack has the same, so replicas still make one alert.
   */
  stack?: string;
  /** The watchdog's URL as people reach it; alerts link to its /status/<probe>. */
  externalUrl?: string;
}

/**
 * The alerts that should be firing now, by probe: every failing critical probe, and a failing guard
 * whatever its severity, because Prometheus being down is the outage this path exists for. The
 * guard is a probe like the others, so it is one alert, not two. Nothing while not engaged.
 */
export function firingAlerts(
  states: readonly ProbeState[],
  settings: DirectSettings,
  ctx: AlertContext,
  inMaintenance: (s: ProbeState) => boolean = () => false,
): Map<string, Omit<PostableAlert, 'endsAt'>> {
  const out = new Map<string, Omit<PostableAlert, 'endsAt'>>();
  const guards = states.filter((s) => settings.guards.includes(s.spec.name));
  if (!engaged(settings, guards)) return out;
  for (const s of states) {
    const isGuard = settings.guards.includes(s.spec.name);
    if (s.current.status !== 'failing' || (s.spec.severity !== 'critical' && !isGuard)) continue;
    // In a maintenance window the probe still runs and shows its status; it only pages nobody.
    if (inMaintenance(s)) continue;
    out.set(s.spec.name, toAlert(s, isGuard, ctx));
  }
  return out;
}

function toAlert(s: ProbeState, isGuard: boolean, ctx: AlertContext): Omit<PostableAlert, 'endsAt'> {
  const { spec, current } = s;
  const ofStack = ctx.stack ? ` of stack ${ctx.stack}` : '';
  const annotations: Record<string, string> = {
    summary: isGuard
      ? `Prometheus cannot alert: probe ${spec.name}${ofStack} is failing (${current.reason}); the watchdog is alerting Alertmanager directly`
      : `Probe ${spec.name}${ofStack} is failing: ${current.reason}`,
    description: current.message,
    reason: current.reason,
    source: 'stack-watchdog-direct',
  };
  if (current.hint) annotations.hint = current.hint;
  if (ctx.instance) annotations.watchdog = ctx.instance;
  const alert: Omit<PostableAlert, 'endsAt'> = {
    // Only what every replica agrees on: anything per process would split one alert into two.
    labels: { alertname: ALERT_NAME, probe: spec.name, severity: spec.severity, ...(ctx.stack ? { stack: ctx.stack } : {}) },
    annotations,
    startsAt: iso(s.since),
  };
  if (ctx.externalUrl) alert.generatorURL = joinUrl(ctx.externalUrl, `/status/${encodeURIComponent(spec.name)}`);
  return alert;
}

interface Tracked {
  alert: Omit<PostableAlert, 'endsAt'>;
  /**
   * firing: renewed on every post. handedOver: still failing, but Prometheus alerts again (fallback):
   * not renewed, left to run out at `endsAt`. resolving: recovered or removed; posted with
   * endsAt = resolvedAt until a post gets through.
   */
  state: 'firing' | 'handedOver' | 'resolving';
  /** The latest endsAt a post carried while firing: after it, Alertmanager has ended the alert itself. */
  endsAt: number;
  resolvedAt?: number;
}

export interface SenderOptions {
  states: () => readonly ProbeState[];
  config: () => WatchdogConfig;
  http: HttpClient;
  logger: Logger;
  now: () => number;
  context?: AlertContext;
  /** Backoff while Alertmanager is unreachable: baseMs doubling up to maxMs, jittered. */
  retry?: { baseMs?: number; maxMs?: number };
  requestTimeoutMs?: number;
  /** How long changes are gathered into one post. */
  debounceMs?: number;
  random?: () => number;
  /** Whether the probe is in a maintenance window now (src/maintenance): no new alert is posted for it. */
  inMaintenance?: (s: ProbeState) => boolean;
  /** What the debounce, renewal and retry timers run on (beside `now`). */
  timers?: Timers;
}

export interface SenderStats {
  posts: { ok: number; error: number };
  tracked(): { firing: number; handedOver: number; resolving: number };
}

/**
 * Posts the desired alerts: soon after a probe's status changes (`trigger`), every
 * resolveTimeout/4 on a timer of its own (renewal), and on a backoff schedule while posts fail.
 * The timer, not the engine's `round` event, drives renewal: a round lasts as long as the slowest
 * probe's interval (a probe on an hourly cron makes hourly rounds), which could let alerts lapse.
 */
export class AlertmanagerSender {
  readonly stats: SenderStats;
  private tracked = new Map<string, Tracked>();
  /** The Alertmanagers `tracked` describes: another list starts from nothing. */
  private trackedUrls?: string;
  private wasEngaged = false;
  private inFlight?: Promise<boolean>;
  private again = false;
  private failures = 0;
  private debounceTimer?: Timer;
  private renewTimer?: Timer;
  private retryTimer?: Timer;
  private readonly timers: Timers;
  private stopped = false;
  private readonly stopController = new AbortController();
  /** One per node: each says once when it went down and came back. */
  private readonly links = new Map<string, ReturnType<typeof linkLog>>();
  private readonly posts = { ok: 0, error: 0 };

  constructor(private readonly opts: SenderOptions) {
    this.timers = opts.timers ?? systemTimers;
    this.stats = {
      posts: this.posts,
      tracked: () => {
        const counts = { firing: 0, handedOver: 0, resolving: 0 };
        for (const t of this.tracked.values()) counts[t.state]++;
        return counts;
      },
    };
  }

  start(): void {
    this.armRenewal();
    this.trigger();
  }

  /** Something changed: post soon, unless a retry is already scheduled (it will carry the change). */
  trigger(): void {
    if (this.stopped || this.retryTimer || this.debounceTimer) return;
    this.debounceTimer = this.timers.setTimeout(() => {
      this.debounceTimer = undefined;
      void this.run();
    }, this.opts.debounceMs ?? 50);
    this.debounceTimer.unref();
  }

  /** Posts now, skipping any wait; true when Alertmanager has the current state (or there was nothing to send). */
  flush(): Promise<boolean> {
    this.timers.clear(this.retryTimer);
    this.retryTimer = undefined;
    this.timers.clear(this.debounceTimer);
    this.debounceTimer = undefined;
    return this.run();
  }

  /**
   * Stops posting. Firing alerts are deliberately not resolved: a watchdog that stops knows nothing
   * about the failures it saw, so they run out at their endsAt unless a replica keeps renewing them.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.debounceTimer, this.renewTimer, this.retryTimer]) this.timers.clear(t);
    this.stopController.abort();
    await this.inFlight;
  }

  private armRenewal(): void {
    if (this.stopped) return;
    const settings = directSettings(this.opts.config());
    const every = Math.max(250, (settings?.resolveTimeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS) / RENEWALS_PER_TIMEOUT);
    this.renewTimer = this.timers.setTimeout(() => {
      if (!this.retryTimer) void this.run();
      this.armRenewal();
    }, every);
    this.renewTimer.unref();
  }

  private run(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      let ok: boolean;
      do {
        this.again = false;
        ok = await this.attempt().catch((err: unknown) => {
          // A bug must not take the daemon down with it, nor stop the renewals.
          this.opts.logger.error({ err }, 'alertmanager sender failed unexpectedly');
          return false;
        });
      } while (ok && this.again && !this.stopped);
      return ok;
    })().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async attempt(): Promise<boolean> {
    const settings = directSettings(this.opts.config());
    const key = settings?.urls.join(' ');
    if (key !== this.trackedUrls) {
      // Off, or other Alertmanagers: what we sent before runs out there at its endsAt.
      this.tracked.clear();
      this.trackedUrls = key;
    }
    if (!settings) return true;
    const { payload, resolutions } = this.desired(settings);
    if (!payload.length) return true;

    // Every node gets every post, as Prometheus sends them: the nodes of a cluster share silences and
    // who notified whom, not alerts. A node that fails is logged and does not hold back the others.
    const { signal, done } = deadline(this.stopController.signal, this.opts.requestTimeoutMs ?? 10_000);
    const failures = await Promise.all(settings.urls.map((base) => describeFailure(() => postAlerts(this.opts.http, base, payload, signal)))).finally(done);
    if (this.stopped) return false;
    for (const [i, base] of settings.urls.entries()) {
      const failure = failures[i];
      const link = this.linkOf(base);
      const fields = { url: alertsUrl(base), alerts: payload.length };
      if (failure) link.failed(failure.reason, failure.message, fields);
      else link.ok(fields);
      this.posts[failure ? 'error' : 'ok']++;
    }
    if (failures.every(Boolean)) {
      this.failures++;
      this.scheduleRetry();
      return false;
    }
    this.failures = 0;
    // Only resolutions that were in this post are done, and only once every node has them: a node that
    // missed one would go on firing it until its endsAt (renewals and later posts carry it until then).
    if (failures.some(Boolean)) return true;
    for (const [name, t] of resolutions) if (this.tracked.get(name) === t) this.tracked.delete(name);
    return true;
  }

  private linkOf(base: string): ReturnType<typeof linkLog> {
    let link = this.links.get(base);
    if (!link) this.links.set(base, (link = linkLog(this.opts.logger, 'alertmanager', this.opts.now)));
    return link;
  }

  /** Brings `tracked` up to date with the probes and returns what to post. */
  private desired(settings: DirectSettings): { payload: PostableAlert[]; resolutions: [string, Tracked][] } {
    const now = this.opts.now();
    const states = this.opts.states();
    const byName = new Map(states.map((s) => [s.spec.name, s]));
    const isEngaged = engaged(
      settings,
      settings.guards.map((g) => byName.get(g)),
    );
    this.logEngagement(settings, isEngaged);
    const inMaintenance = this.opts.inMaintenance ?? (() => false);
    const firing = firingAlerts(states, settings, this.opts.context ?? {}, inMaintenance);
    const endsAt = now + settings.resolveTimeoutMs;

    for (const [name, alert] of firing) {
      if (this.tracked.get(name)?.state !== 'firing') this.opts.logger.info({ probe: name, reason: alert.annotations.reason }, 'direct alert firing');
      this.tracked.set(name, { alert, state: 'firing', endsAt });
    }
    for (const [name, t] of this.tracked) {
      if (firing.has(name)) continue;
      const state = byName.get(name);
      if (t.state !== 'resolving') {
        if (state?.current.status === 'failing' && inMaintenance(state)) {
          // A window opened over a firing alert: not renewed, so Alertmanager ends it at its endsAt
          // (at most resolveTimeout); resolving it would tell people "resolved" while it still fails.
          if (t.state === 'firing') this.opts.logger.info({ probe: name, until: iso(t.endsAt) }, 'direct alert not renewed: the probe is in a maintenance window; it runs out');
          t.state = 'handedOver';
        } else if (!isEngaged && state?.current.status === 'failing') {
          // Prometheus alerts again, but its rule needs its `for:` to fire. Renewing would keep
          // the alert alive on our word; resolving would page "resolved" and then "firing" again.
          if (t.state === 'firing') this.opts.logger.info({ probe: name, until: iso(t.endsAt) }, 'direct alert handed over to Prometheus; it runs out unless the probe recovers first');
          t.state = 'handedOver';
        } else {
          t.state = 'resolving';
          // When the probe recovered, not when we noticed: also right after an outage.
          t.resolvedAt = Math.max(state && state.current.status !== 'failing' ? state.since : now, Date.parse(t.alert.startsAt) + 1);
          this.opts.logger.info({ probe: name, status: state?.current.status ?? 'removed' }, 'direct alert resolved');
        }
      }
      // Past its last endsAt Alertmanager has ended the alert on its own: nothing left to say.
      if (t.endsAt <= now) this.tracked.delete(name);
    }
    this.capResolving();

    const payload: PostableAlert[] = [];
    const resolutions: [string, Tracked][] = [];
    for (const [name, t] of this.tracked) {
      if (t.state === 'firing') payload.push({ ...t.alert, endsAt: iso(t.endsAt) });
      else if (t.state === 'resolving') {
        payload.push({ ...t.alert, endsAt: iso(t.resolvedAt!) });
        resolutions.push([name, t]);
      }
    }
    return { payload, resolutions };
  }

  private capResolving(): void {
    const resolving = [...this.tracked].filter(([, t]) => t.state === 'resolving');
    for (const [name] of resolving.slice(0, Math.max(0, resolving.length - MAX_RESOLVING))) this.tracked.delete(name);
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const base = this.opts.retry?.baseMs ?? 1000;
    const max = this.opts.retry?.maxMs ?? 30_000;
    const ceiling = Math.min(max, base * 2 ** Math.min(this.failures - 1, 30));
    // Half fixed, half random: replicas that lost Alertmanager together do not retry in step.
    const delay = ceiling / 2 + (this.opts.random ?? Math.random)() * (ceiling / 2);
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = undefined;
      void this.run();
    }, delay);
    this.retryTimer.unref();
  }

  private logEngagement(settings: DirectSettings, isEngaged: boolean): void {
    if (settings.mode !== 'fallback' || isEngaged === this.wasEngaged) return;
    this.wasEngaged = isEngaged;
    if (isEngaged) this.opts.logger.warn({ guards: settings.guards }, 'Prometheus cannot alert (its guard probe is failing): alerting Alertmanager directly');
    else this.opts.logger.info({ guards: settings.guards }, 'guard probe recovered: Prometheus alerts again; direct alerts of probes still failing are handed over');
  }
}
