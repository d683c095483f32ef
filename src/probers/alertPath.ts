// kind: alert_path — an alarm can reach a person: rule evaluation → Prometheus → Alertmanager → a receiver.
// Each part can be up and healthy while the path between them delivers nothing: Prometheus with no
// Alertmanager configured or reachable, notifications that error, a receiver that answers 500, a route
// that ends at a receiver whose integrations are all commented out (the MyStocks stack's published
// alertmanager.yml). The end-to-end proof is an always-firing heartbeat rule that the shipped rules
// define (WatchdogAlertPathHeartbeat): it must be at Alertmanager, and recently updated.
//
// Judged the way the components behave, so that a routine restart pages nobody and a real break is
// not hidden behind a long age limit (issue 19):
// - Prometheus re-sends a firing alert once its resend delay (--rules.alert.resend-delay, 1m by default)
//   has passed, at the next evaluation of the alert's group: one "period". The heartbeat is expected at
//   Alertmanager a period after Prometheus started or loaded its config (/api/v1/status/runtimeinfo) or
//   Alertmanager started (its `uptime`, src/probers/alertmanagerApi.ts), and from then on at most two periods old (one
//   lost send is not a break). Until then a missing or old heartbeat is not yet known: the outcome is
//   ok with reason `settling`, as Prometheus's own `for:` keeps an alert pending, not firing.
// - Notification errors count as a share of the attempts in a window of two periods, per Alertmanager
//   (Prometheus's side) and per integration (Alertmanager's side), as kube-prometheus's
//   PrometheusErrorSendingAlertsToSomeAlertmanagers does; never one failed send.
// - Counters only mean something as growth, so each run keeps the readings of the window in its private
//   memory and the next run gets them back as ctx.memory: the engine keeps them with the probe, as
//   container_state keeps its restart track. A run with no earlier reading whose Alertmanager has
//   failed notifications reads again, a second apart, for up to 8 s, so that a one-shot
//   `watchdog check` sees a receiver that fails now; counts since start fail only where every attempt failed.
import { setTimeout as sleep } from 'node:timers/promises';
import { Type, type Static } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { Duration, HttpUrl, parseDuration } from '../core/fields.js';
import { formatDuration, formatSeconds } from '../util/format.js';
import { count, quoted, snippet } from '../util/text.js';
import type { Sample } from '../util/promText.js';
import { defineProber } from './define.js';
import type { ProbeContext, ProbeOutcome } from './types.js';
import { asRecord, failed, httpReasons, metricsOf, passed } from './common.js';
import { notPrometheusHint, prometheusApi, prometheusDownHint, prometheusReasons } from './prometheusApi.js';
import { ALERTS_PATH, alertmanagerHints, alertmanagerStatus, alertsUrl, newestAlertUpdate, routeOf, statusWithout } from './alertmanagerApi.js';

const defaults = { heartbeatAlert: 'WatchdogAlertPathHeartbeat' };
/** The watchdog's own page: the alert whose route must end at someone. */
const defaultRouteLabels: Record<string, string> = { alertname: 'WatchdogProbeFailing', severity: 'critical' };

/**
 * Delivery time on top of Prometheus's schedule: the notifier's queue and post, Alertmanager's merge,
 * a run that reads a moment late. Three times the 5 s in which Prometheus re-discovers its
 * Alertmanagers after a reload, and a quarter of the default resend delay.
 */
const SLACK_MS = 15_000;
/** Prometheus's defaults (--rules.alert.resend-delay, evaluation_interval), for an answer that lacks them. */
const DEFAULT_RESEND_MS = 60_000;
const DEFAULT_EVALUATION_MS = 60_000;
/**
 * How long a run without an earlier reading watches Alertmanager's counters, a second at a time, for
 * failed requests to grow: it retries a failing request after 0.5 s, then ever longer, and gives a
 * notification up after its timeout (10 s at least), so 8 s shows two retries of a receiver that fails
 * now. It stops at the first answer: two more failures, or one success, and where the probe's timeout
 * ends sooner (probes/mystocks.yaml gives alert-path 15 s for this; the default 5 s leaves a second or two).
 */
const SECOND_READING_MS = 8000;
/** Prometheus's discovery hands over a new list of Alertmanagers at most every 5 s: a second look after that. */
const REDISCOVERY_MS = 6000;
/** What a run keeps for its remaining requests after such a pause; without it, it does not pause. */
const PAUSE_MARGIN_MS = 2000;
/** Delivery fails when more than this share of the attempts in a window failed: one lost send of two does not. */
const FAILING_SHARE = 0.5;
/** A window of two periods at a 1 s interval needs a few dozen readings; this only bounds a pathological config. */
const MAX_READINGS = 64;

const hints = {
  no_alertmanagers:
    'Prometheus sends alerts to no Alertmanager, so no rule can page anyone: add (or fix) the `alerting.alertmanagers` block of prometheus.yml, ' +
    'e.g. alerting: {alertmanagers: [{static_configs: [{targets: ["alertmanager:9093"]}]}]}, check it with `promtool check config prometheus.yml`, ' +
    'then reload: curl -X POST http://prometheus:9090/-/reload. Dropped Alertmanagers were discovered but removed by relabeling.',
  prometheus_failing:
    'Prometheus cannot hand its alerts to Alertmanager: check that the target in the `alerting.alertmanagers` block of prometheus.yml is the Alertmanager service and port (alertmanager:9093), ' +
    'that Alertmanager is up (docker ps -a), and read docker logs mystocks-prometheus | grep -i notifier for the error.',
  am_failing:
    'Alertmanager receives the alerts but its notifications through that integration fail: read docker logs mystocks-alertmanager | grep -i "notify" for the error ' +
    '(a receiver URL that answers 5xx, a wrong webhook or SMTP setting), fix the receiver in alertmanager.yml and check it with `amtool check-config alertmanager.yml`.',
  not_delivered:
    'The heartbeat rule fires in Prometheus but its alert does not reach this Alertmanager (or stopped arriving): check that deploy/prometheus/watchdog-rules.yml is loaded (rule group stack_watchdog), ' +
    'that the `alerting.alertmanagers` target of prometheus.yml is this Alertmanager, and docker logs mystocks-prometheus | grep -i notifier.',
  no_receiver:
    "The watchdog's critical alerts reach Alertmanager and are routed to receivers with no integration at all (every *_configs block missing or commented out), so nobody is told: " +
    'give that receiver a real integration (webhook_configs, email_configs, slack_configs, ...) or add the route of deploy/alertmanager/route-example.yml above the catch-all, ' +
    'then `amtool check-config alertmanager.yml` and reload: curl -X POST http://alertmanager:9093/-/reload.',
};

const reasons = {
  ...httpReasons,
  ...prometheusReasons,
  no_alertmanagers: hints.no_alertmanagers,
  notifications_failing: `${hints.prometheus_failing} Or, when Alertmanager's own integration fails: ${hints.am_failing}`,
  not_delivered: hints.not_delivered,
  no_receiver: hints.no_receiver,
  // An ok outcome's reason: its hint is never shown, but says what it means where reasons are listed.
  settling:
    'Not a failure: Prometheus or Alertmanager started or reloaded a moment ago, so the heartbeat, the list of Alertmanagers or the error counts are not yet known; ' +
    'the message says when they are judged. If it lasts, one of them keeps restarting: docker ps -a shows the restart counts.',
} as const;
type AlertPathReason = keyof typeof reasons;

/** Attempts, and those that failed. */
const Tally = Type.Object({ total: Type.Number(), failed: Type.Number() });
type Tally = Static<typeof Tally>;

/** One reading of both sides' counters. */
const Reading = Type.Object({
  at: Type.Number(),
  /** When each side started: its counters begin at zero then, so a reading from before is no base. */
  promStart: Type.Number(),
  amStart: Type.Number(),
  /** Per Alertmanager URL as Prometheus labels it: batches of alerts it tried to send, and those that failed. */
  sends: Type.Record(Type.String(), Tally),
  /** Alerts Prometheus dropped: no Alertmanager took them (or it had none). */
  dropped: Type.Number(),
  /** Per integration: Alertmanager's requests (retries included), and its notifications (each retried until its timeout). */
  requests: Type.Record(Type.String(), Tally),
  notifications: Type.Record(Type.String(), Tally),
});
type Reading = Static<typeof Reading>;

/** The readings one run hands the next (oldest first): the window's, and its base. */
const Readings = Type.Array(Reading);

export const alertPathProber = defineProber({
  reasons,
  memory: Readings,
  fields: Type.Object({
    prometheus: HttpUrl,
    alertmanager: HttpUrl,
    /** The always-firing alert of the shipped rules; default WatchdogAlertPathHeartbeat. */
    heartbeatAlert: Type.Optional(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' })),
    /** How long ago Alertmanager may last have received the heartbeat; default two of Prometheus's resend periods and 15 s (2m45s with its defaults). */
    maxHeartbeatAge: Type.Optional(Duration),
    /** Labels of the alert whose route must end at a receiver with an integration; default WatchdogProbeFailing, severity critical. */
    routeLabels: Type.Optional(Type.Record(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }), Type.String())),
  }),
  decode(f, d): AlertPathSettings {
    const heartbeatAlert = f.heartbeatAlert ?? defaults.heartbeatAlert;
    const routeLabels = f.routeLabels ?? defaultRouteLabels;
    // What depends on the fields only is built here once, not on every run.
    const heartbeatFilter = `alertname="${heartbeatAlert}"`;
    const routedAlert = `${routeLabels.alertname ?? 'alert'}{${Object.entries(routeLabels)
      .filter(([k]) => k !== 'alertname')
      .map(([k, v]) => `${k}="${v}"`)
      .join(',')}}`;
    return {
      prometheus: f.prometheus,
      alertmanager: f.alertmanager,
      heartbeatAlert,
      maxHeartbeatAgeMs: f.maxHeartbeatAge === undefined ? undefined : d.duration('maxHeartbeatAge', f.maxHeartbeatAge),
      routeLabels,
      heartbeatFilter,
      heartbeatUrl: alertsUrl(f.alertmanager, heartbeatFilter),
      routedAlert,
    };
  },
  async run(spec, ctx) {
    // A run that ends before reading the counters keeps nothing new: the engine holds on to the earlier readings.
    const { outcome, readings } = await judge(spec, ctx, ctx.memory ?? []);
    return readings ? { ...outcome, memory: readings } : outcome;
  },
});

/** The decoded fields. */
interface AlertPathSettings {
  prometheus: string;
  alertmanager: string;
  heartbeatAlert: string;
  /** Undefined: two of Prometheus's periods and the slack, read from Prometheus on every run. */
  maxHeartbeatAgeMs: number | undefined;
  routeLabels: Record<string, string>;
  /** The Alertmanager filter that finds the heartbeat, and the URL that asks with it. */
  heartbeatFilter: string;
  heartbeatUrl: string;
  /** The routed alert as people read it: WatchdogProbeFailing{severity="critical"}. */
  routedAlert: string;
}

type Outcome = ProbeOutcome<never, AlertPathReason, never>;

/** A run's verdict, and the readings the next run compares with (none new when this run read none). */
interface Judgement {
  outcome: Outcome;
  readings?: Reading[];
}

async function judge(spec: AlertPathSettings, ctx: ProbeContext, earlier: Reading[]): Promise<Judgement> {
  const stop = (outcome: Outcome): Judgement => ({ outcome });
  // First one request to each side: a service that is down, hangs or answers 50 MB is named by it, and
  // the run does not wait for (or hold) six such answers at once. Then the rest at once: one round trip.
  const [ams, amStatus] = await Promise.all([prometheusApi(ctx, spec.prometheus, '/api/v1/alertmanagers'), alertmanagerStatus(ctx, spec.alertmanager)]);
  if (!ams.ok) return stop(ams.outcome);
  if (!amStatus.ok) return stop(amStatus.outcome);
  const [runtime, flags, rules, promText, amText, heartbeat] = await Promise.all([
    prometheusApi(ctx, spec.prometheus, '/api/v1/status/runtimeinfo'),
    prometheusApi(ctx, spec.prometheus, '/api/v1/status/flags'),
    prometheusApi(ctx, spec.prometheus, '/api/v1/rules', { type: 'alert' }),
    metricsOf(ctx, spec.prometheus, prometheusDownHint, NOTIFICATION_METRICS),
    metricsOf(ctx, spec.alertmanager, alertmanagerHints.down, NOTIFICATION_METRICS),
    newestAlertUpdate(ctx, spec.heartbeatUrl),
  ]);

  // 1. Prometheus knows an Alertmanager.
  const listed = alertmanagersOf(ams.value);
  if (!listed) {
    // Without the list, "no active Alertmanager" would be a guess: say that something else answered.
    return stop(failed('invalid_response', `the answer of /api/v1/alertmanagers has no data.activeAlertmanagers list: ${snippet(JSON.stringify(ams.value))}`, notPrometheusHint));
  }
  if (!runtime.ok) return stop(runtime.outcome);
  if (!flags.ok) return stop(flags.outcome);
  if (!rules.ok) return stop(rules.outcome);
  if (!promText.ok) return stop(promText.outcome);
  const prom = prometheusFacts(runtime.value, flags.value, rules.value, spec.heartbeatAlert);
  if (!prom) return stop(failed('invalid_response', `the answer of /api/v1/status/runtimeinfo has no startTime: ${snippet(JSON.stringify(runtime.value))}`, notPrometheusHint));
  const amStart = amStatus.value.startedAt;
  if (amStart === undefined) return stop(statusWithout(amStatus.value, 'uptime'));
  if (!amText.ok) return stop(amText.outcome);
  if (!heartbeat.ok) return stop(heartbeat.outcome);

  const clock = clockOf(prom, amStart);
  const details: Record<string, unknown> = { activeAlertmanagers: listed.active, droppedAlertmanagers: listed.dropped };
  let active = listed.active;
  if (!active.length) {
    const none = await noAlertmanagers(ctx, spec.prometheus, prom, listed);
    if ('outcome' in none) return stop({ ...none.outcome, details: { ...details, ...none.outcome.details } });
    active = none.active;
    details.activeAlertmanagers = active;
  }

  // 2. Counters of both sides, with the earlier readings and, for a run that has none, a second one.
  let now = ctx.now();
  const first = readingOf(promText.value, amText.value, now, prom.startedAt, amStart);
  let readings = [...earlier.filter((r) => r.at < first.at), first];
  if (needsSecondReading(earlier, first)) {
    const second = await secondReading(ctx, spec, first);
    if (second) {
      now = second.at;
      readings = [...readings, second];
    }
  }
  const kept = keepReadings(readings, now, clock.windowMs);
  const done = (outcome: Outcome): Judgement => ({ outcome, readings: kept });
  const sends = judgeSends(readings, now, clock, prom);
  const dropped = droppedIn(readings, now, clock.windowMs);
  const integrations = judgeIntegrations(readings, now, clock);

  const promFailing = (errors: JudgedSeries[]) => {
    const named = errors.map((e) => e.who);
    const each = named.length ? named : active;
    const parts = [...errors.map((e) => `${e.failed} of ${count(e.total, 'send')} failed ${e.span}`), ...(dropped.count ? [`${count(dropped.count, 'alert')} dropped ${dropped.span}`] : [])];
    return done(
      failed('notifications_failing', `Prometheus fails to send alerts to ${quoted(each)} (${parts.join('; ')})`, hints.prometheus_failing, {
        value: 0,
        details: { ...details, failingAlertmanagers: each },
      }),
    );
  };
  const failingSends = sends.filter((s) => s.state === 'failing');
  if (failingSends.length) return promFailing(failingSends);

  // 3. The heartbeat is at Alertmanager, and fresh.
  const maxAgeMs = spec.maxHeartbeatAgeMs ?? clock.windowMs;
  const ageMs = heartbeat.value === undefined ? undefined : Math.max(0, now - heartbeat.value);
  if (ageMs === undefined || ageMs > maxAgeMs) {
    if (now < clock.settledAt && prom.heartbeatLoaded) {
      const where = ageMs === undefined ? 'is not at Alertmanager yet' : `was last updated at Alertmanager ${formatSeconds(ageMs)} ago`;
      const why = `${clock.event.what} ${formatSeconds(now - clock.event.at)} ago, and Prometheus re-sends a firing alert within ${formatDuration(clock.periodMs)} (resend delay ${formatDuration(clock.resendMs)} + evaluation interval ${formatDuration(clock.evaluationMs)})`;
      return done(settling(`the heartbeat alert ${spec.heartbeatAlert} ${where}`, why, clock.settledAt, now, details));
    }
    // Errors explain a heartbeat that is missing: they name the Alertmanager Prometheus cannot reach.
    const explaining = sends.filter((s) => s.failed > 0);
    if (explaining.length || dropped.count) return promFailing(explaining);
  }
  const filter = spec.heartbeatFilter;
  if (ageMs === undefined) {
    const where = prom.heartbeatFiring
      ? `it fires in Prometheus, which sends to ${quoted(active)}`
      : `Prometheus has no firing ${spec.heartbeatAlert} either: the rule of deploy/prometheus/watchdog-rules.yml is not loaded`;
    return done(
      failed('not_delivered', `the heartbeat alert ${spec.heartbeatAlert} is not at Alertmanager (${ALERTS_PATH}?filter=${filter}): ${where}`, hints.not_delivered, {
        value: 0,
        details: { ...details, heartbeatFiringInPrometheus: prom.heartbeatFiring },
      }),
    );
  }
  details.heartbeatAgeSeconds = Math.round(ageMs / 1000);
  if (ageMs > maxAgeMs) {
    return done(
      failed(
        'not_delivered',
        `the heartbeat alert ${spec.heartbeatAlert} was last updated at Alertmanager ${formatSeconds(ageMs)} ago, longer than maxHeartbeatAge ${formatDuration(maxAgeMs)}: Prometheus stopped delivering to it`,
        hints.not_delivered,
        { value: 0, details },
      ),
    );
  }

  // 4. The watchdog's own critical alert is routed to someone.
  const route = routeOf(amStatus.value, spec.routeLabels);
  if (!route.ok) return done(route.outcome);
  const alert = spec.routedAlert;
  details.route = route.value.map((m) => ({ path: m.path, receiver: m.receiver, integrations: m.integrations }));
  if (route.value.every((m) => m.integrations.length === 0)) {
    return done(
      failed(
        'no_receiver',
        `${alert} takes ${route.value.map((m) => `${m.path} to receiver "${m.receiver}"`).join(' and ')}, and ${route.value.length > 1 ? 'none of these receivers has' : 'that receiver has'} no integration: nobody is told`,
        hints.no_receiver,
        { value: 0, details },
      ),
    );
  }

  // 5. Alertmanager's notifications succeed.
  const failingIntegrations = integrations.filter((i) => i.state === 'failing');
  if (failingIntegrations.length) {
    return done(
      failed(
        'notifications_failing',
        `Alertmanager's notifications through ${failingIntegrations.map((f) => `integration "${f.who}" (${f.failed} of ${count(f.total, f.what)} failed ${f.span})`).join(', ')} fail`,
        hints.am_failing,
        { value: 0, details: { ...details, failingIntegrations: failingIntegrations.map((f) => f.who) } },
      ),
    );
  }

  // Errors that have not held long enough to judge: not yet known, unless they are gone by the next runs.
  const unsure = [
    ...sends.filter((s) => s.state === 'unsure').map((s) => ({ ...s, what: `sends to "${s.who}"` })),
    ...integrations.filter((i) => i.state === 'unsure').map((i) => ({ ...i, what: `${i.what}s through integration "${i.who}"` })),
  ];
  if (unsure.length) {
    const what = unsure.map((u) => `${u.failed} of ${u.total} ${u.what} failed ${u.span}`).join('; ');
    const why = `errors count once they have held for ${formatSeconds(clock.windowMs)} (two of Prometheus's resend periods and ${formatDuration(SLACK_MS)})`;
    return done(settling(what, why, Math.max(...unsure.map((u) => u.judgedAt)), now, details));
  }

  const receivers = route.value.map((m) => `"${m.receiver}" (${m.integrations.join(', ')})`).join(', ');
  return done(passed(`heartbeat delivered ${formatSeconds(ageMs)} ago; ${alert} routes to ${receivers}; no notification errors`, { value: 1, details }));
}

/** "Not yet known": ok, so that nothing pages, with the reason and the time from which it is judged. */
function settling(what: string, why: string, judgedAt: number, now: number, details: Record<string, unknown>): Outcome {
  const inMs = Math.max(0, judgedAt - now);
  return {
    status: 'ok',
    reason: 'settling',
    message: `not yet known: ${what}; ${why}, so it is judged in ${formatSeconds(inMs)}`,
    value: null,
    details: { ...details, judgedInSeconds: Math.round(inMs / 1000) },
  };
}

/** Waits `ms` when the run's deadline leaves room for it and the requests after it; false when it does not. */
async function pause(ctx: ProbeContext, ms: number): Promise<boolean> {
  if (ctx.deadline - ctx.now() < ms + PAUSE_MARGIN_MS) return false;
  try {
    await sleep(ms, undefined, { signal: ctx.signal });
    return true;
  } catch {
    return false;
  }
}

// --- when Prometheus and Alertmanager started, and how often Prometheus re-sends -----------------

interface PrometheusFacts {
  startedAt: number;
  /** When it last loaded its config: at start (after replaying its WAL) and at every successful reload. */
  configAt: number;
  resendMs: number;
  /** The heartbeat group's evaluation interval (the longest of all groups when the heartbeat has none). */
  evaluationMs: number;
  /** Whether the heartbeat rule is loaded at all: a missing rule is no transient, waiting does not bring it. */
  heartbeatLoaded: boolean;
  heartbeatFiring: boolean;
}

/** Undefined when the runtime information has no start time: something other than Prometheus answered. */
function prometheusFacts(runtime: unknown, flags: unknown, rules: unknown, heartbeatAlert: string): PrometheusFacts | undefined {
  const info = asRecord(runtime);
  const startedAt = typeof info?.startTime === 'string' ? Date.parse(info.startTime) : Number.NaN;
  if (Number.isNaN(startedAt)) return undefined;
  const configAt = typeof info?.lastConfigTime === 'string' ? Date.parse(info.lastConfigTime) : Number.NaN;
  const resend = asRecord(flags)?.['rules.alert.resend-delay'];
  const resendMs = typeof resend === 'string' ? parseDuration(resend) : undefined;
  let evaluationMs: number | undefined;
  let longest = 0;
  let heartbeatLoaded = false;
  let heartbeatFiring = false;
  const groups = asRecord(rules)?.groups;
  for (const g of Array.isArray(groups) ? groups : []) {
    const group = asRecord(g);
    const interval = typeof group?.interval === 'number' ? group.interval * 1000 : 0;
    longest = Math.max(longest, interval);
    for (const r of Array.isArray(group?.rules) ? group.rules : []) {
      if (asRecord(r)?.name !== heartbeatAlert) continue;
      evaluationMs = interval || undefined;
      heartbeatLoaded = true;
      heartbeatFiring ||= asRecord(r)?.state === 'firing';
    }
  }
  return {
    startedAt,
    configAt: Number.isNaN(configAt) ? startedAt : configAt,
    resendMs: resendMs?.ok ? resendMs.value : DEFAULT_RESEND_MS,
    evaluationMs: evaluationMs ?? (longest || DEFAULT_EVALUATION_MS),
    heartbeatLoaded,
    heartbeatFiring,
  };
}

interface Clock {
  resendMs: number;
  evaluationMs: number;
  /** How long Prometheus takes at most to re-send a firing alert: its resend delay, then the next evaluation. */
  periodMs: number;
  /** The counters' window and the heartbeat's default age limit: two periods and the slack, so one lost send is not a break. */
  windowMs: number;
  /** The latest start or config load of either side. */
  event: { what: string; at: number };
  /** Until then a missing or old heartbeat is not yet known. */
  settledAt: number;
}

function clockOf(prom: PrometheusFacts, amStart: number): Clock {
  const periodMs = prom.resendMs + prom.evaluationMs;
  const events = [
    { what: 'Prometheus started', at: prom.startedAt },
    // lastConfigTime has whole seconds, and the load at start comes after the WAL replay: a later one is a reload.
    ...(prom.configAt > prom.startedAt + 2000 ? [{ what: 'Prometheus loaded its config', at: prom.configAt }] : []),
    { what: 'Alertmanager started', at: amStart },
  ];
  const event = events.reduce((a, b) => (b.at > a.at ? b : a));
  return { resendMs: prom.resendMs, evaluationMs: prom.evaluationMs, periodMs, windowMs: 2 * periodMs + SLACK_MS, event, settledAt: event.at + periodMs + SLACK_MS };
}

// --- Prometheus's Alertmanagers ------------------------------------------------------------------

interface Listed {
  active: string[];
  dropped: string[];
}

/** The URLs of /api/v1/alertmanagers, or undefined when the answer has no list of active ones. */
function alertmanagersOf(data: unknown): Listed | undefined {
  const list = (key: string) => {
    const l = asRecord(data)?.[key];
    return Array.isArray(l) ? l.flatMap((a) => (typeof asRecord(a)?.url === 'string' ? [String(asRecord(a)?.url)] : [])) : undefined;
  };
  const active = list('activeAlertmanagers');
  return active && { active, dropped: list('droppedAlertmanagers') ?? [] };
}

/**
 * An empty list of active Alertmanagers. After every reload Prometheus lists none until its discovery
 * runs again (up to 5 s): not yet known shortly after a load, and read again 6 s later otherwise
 * (a failed reload re-applies the list too, without a new lastConfigTime). None configured at all, or
 * all dropped by relabeling, is no transient and fails at once.
 */
async function noAlertmanagers(ctx: ProbeContext, base: string, prom: PrometheusFacts, listed: Listed): Promise<{ outcome: Outcome } | { active: string[] }> {
  const fail = (why: string) => ({ outcome: failed('no_alertmanagers', `Prometheus has no active Alertmanager (${why}), so its alerts reach nobody`, hints.no_alertmanagers, { value: 0 }) });
  if (listed.dropped.length) return fail(`dropped: ${quoted(listed.dropped)}`);
  const config = await prometheusApi(ctx, base, '/api/v1/status/config');
  if (!config.ok) return config;
  if (!configuresAlertmanagers(asRecord(config.value)?.yaml)) return fail('none configured');
  const loadedMs = ctx.now() - Math.max(prom.startedAt, prom.configAt);
  if (loadedMs < SLACK_MS) {
    const why = `Prometheus loaded its config ${formatSeconds(loadedMs)} ago and discovers its Alertmanagers within 5s`;
    return { outcome: settling('Prometheus lists no active Alertmanager yet', why, Math.max(prom.startedAt, prom.configAt) + SLACK_MS, ctx.now(), {}) };
  }
  if (await pause(ctx, REDISCOVERY_MS)) {
    const again = await prometheusApi(ctx, base, '/api/v1/alertmanagers');
    if (!again.ok) return again;
    const active = alertmanagersOf(again.value)?.active ?? [];
    if (active.length) return { active };
  }
  return fail('alerting.alertmanagers is configured, none discovered');
}

/** Whether prometheus.yml as loaded (/api/v1/status/config) has an `alerting.alertmanagers` entry. */
function configuresAlertmanagers(yaml: unknown): boolean {
  // When it cannot tell, it counts as configured: the grace and the second look judge then.
  if (typeof yaml !== 'string') return true;
  let config: unknown;
  try {
    config = parseYaml(yaml);
  } catch {
    return true;
  }
  const ams = asRecord(asRecord(config)?.alerting)?.alertmanagers;
  return Array.isArray(ams) && ams.length > 0;
}

// --- counters: readings, kept between runs, judged over a window -------------------------------

function readingOf(prom: Sample[], am: Sample[], at: number, promStart: number, amStart: number): Reading {
  // Prometheus 2.x counts errors per batch and sent per alert; every attempt is one latency observation, so
  // errors / attempts is the share of failed batches. The sent counter stands in where there is no latency.
  const sent = tallies(prom, 'alertmanager', 'prometheus_notifications_sent_total', 'prometheus_notifications_errors_total');
  const batches = tallies(prom, 'alertmanager', 'prometheus_notifications_latency_seconds_count', 'prometheus_notifications_errors_total');
  return {
    at,
    promStart,
    amStart,
    sends: Object.fromEntries(Object.entries(sent).map(([who, t]) => [who, batches[who]?.total ? batches[who] : t])),
    dropped: prom.find((s) => s.name === 'prometheus_notifications_dropped_total')?.value ?? 0,
    requests: tallies(am, 'integration', 'alertmanager_notification_requests_total', 'alertmanager_notification_requests_failed_total'),
    notifications: tallies(am, 'integration', 'alertmanager_notifications_total', 'alertmanager_notifications_failed_total'),
  };
}

function tallies(samples: Sample[], label: string, totalName: string, failedName: string): Record<string, Tally> {
  const out = new Map<string, Tally>();
  for (const s of samples) {
    const who = s.labels[label];
    if (who === undefined || (s.name !== totalName && s.name !== failedName)) continue;
    const t = out.get(who) ?? { total: 0, failed: 0 };
    if (s.name === totalName) t.total = s.value;
    else t.failed = s.value;
    out.set(who, t);
  }
  return Object.fromEntries(out);
}

/** What the next run needs: the readings of the window, and the newest one before it (the window's base). */
function keepReadings(readings: Reading[], now: number, windowMs: number): Reading[] {
  const base = baseIndex(readings, now - windowMs);
  return readings.slice(Math.max(0, base)).slice(-MAX_READINGS);
}

/** Readings a second apart until an integration shows two more failed requests or a successful one (or SECOND_READING_MS); the last one. */
async function secondReading(ctx: ProbeContext, spec: AlertPathSettings, first: Reading): Promise<Reading | undefined> {
  let last: Reading | undefined;
  while (ctx.now() - first.at < SECOND_READING_MS && (await pause(ctx, 1000))) {
    const [prom, am] = await Promise.all([metricsOf(ctx, spec.prometheus, prometheusDownHint, NOTIFICATION_METRICS), metricsOf(ctx, spec.alertmanager, alertmanagerHints.down, NOTIFICATION_METRICS)]);
    if (!prom.ok || !am.ok) break;
    last = readingOf(prom.value, am.value, ctx.now(), first.promStart, first.amStart);
    const grown = Object.entries(last.requests).map(([who, t]) => since(t, first.requests[who]));
    if (grown.some((g) => g.failed >= 2 || g.total > g.failed)) break;
  }
  return last;
}

/** A run with no earlier reading of this Alertmanager, which has failed notifications to judge: growth needs two readings. */
function needsSecondReading(earlier: Reading[], first: Reading): boolean {
  if (earlier.some((r) => r.amStart === first.amStart)) return false;
  return [...Object.values(first.requests), ...Object.values(first.notifications)].some((t) => t.failed > 0);
}

interface JudgedSeries {
  who: string;
  failed: number;
  total: number;
  /** "in the last 19s", "since Alertmanager started". */
  span: string;
  /**
   * failing: most attempts of a window that has held failed, the latest ones too, or every one since
   * counting began. unsure: so far, but not held yet. fine: otherwise (`failed` may still be above 0).
   */
  state: 'failing' | 'unsure' | 'fine';
  /** For unsure: when the window will have held. */
  judgedAt: number;
}

interface SeriesRules {
  /** Counting began here: the process's start, or a config load that may have added the series. */
  countingSince: number;
  /** Every attempt since counting began failing holds once a resend period has passed since then: each alert's re-send failed too. */
  settleMs: number;
  startedAs: string;
  /** Attempts that must all have failed since counting began. */
  minAll: number;
  /** Alertmanager retries a failing request: every request of a short window failing, two at least, has held. */
  retriesHold: boolean;
}

const zero: Tally = { total: 0, failed: 0 };

/** The newest reading taken by `t` (a window's base), or -1. Readings are oldest first. */
function baseIndex(points: readonly { at: number }[], t: number): number {
  for (let i = points.length - 1; i >= 0; i--) if (points[i]!.at <= t) return i;
  return -1;
}

/** `a` since `b`; a counter that went down was reset (its series recreated), so it counts from zero. */
function since(a: Tally, b: Tally | undefined): Tally {
  const base = b && b.total <= a.total && b.failed <= a.failed ? b : zero;
  return { total: a.total - base.total, failed: a.failed - base.failed };
}

/** One series over its readings (oldest first, the newest now; `tally` undefined where it did not exist yet). */
function judgeSeries(points: { at: number; tally?: Tally }[], now: number, windowMs: number, rules: SeriesRules): Omit<JudgedSeries, 'who'> {
  const current = points.at(-1)?.tally ?? zero;
  const allFailed = current.total >= rules.minAll && current.failed >= current.total;
  if (allFailed && now - rules.countingSince >= rules.settleMs) return { ...current, span: rules.startedAs, state: 'failing', judgedAt: now };
  const heldFrom = baseIndex(points, now - windowMs);
  const from = Math.max(0, heldFrom);
  const d = since(current, points[from]?.tally);
  if (points.length >= 2 && (d.total > 0 || d.failed > 0)) {
    // A notification counts when it starts and fails when Alertmanager gives up on it.
    const total = Math.max(d.total, d.failed);
    const span = `in the last ${formatSeconds(now - points[from]!.at)}`;
    let latest: Tally | undefined;
    for (let i = points.length - 1; i > from && !latest; i--) {
      const p = since(points[i]!.tally ?? zero, points[i - 1]!.tally);
      if (p.total > 0 || p.failed > 0) latest = p;
    }
    const failing = d.failed / total > FAILING_SHARE && (latest?.failed ?? 0) > 0;
    const judged = { failed: d.failed, total, span, judgedAt: points[0]!.at + windowMs };
    if (!failing) return { ...judged, state: 'fine' };
    if (heldFrom >= 0 || (rules.retriesHold && d.failed >= 2 && d.failed >= d.total)) return { ...judged, state: 'failing' };
    return { ...judged, state: 'unsure' };
  }
  return { ...current, span: rules.startedAs, state: allFailed ? 'unsure' : 'fine', judgedAt: rules.countingSince + rules.settleMs };
}

/** Prometheus's sends, per Alertmanager, over the readings of this Prometheus process. */
function judgeSends(readings: Reading[], now: number, clock: Clock, prom: PrometheusFacts): JudgedSeries[] {
  const points = readings.filter((r) => r.promStart === prom.startedAt);
  const current = points.at(-1);
  if (!current) return [];
  const reloaded = prom.configAt > prom.startedAt + 2000;
  const rules: SeriesRules = {
    countingSince: Math.max(prom.startedAt, prom.configAt),
    settleMs: clock.periodMs + SLACK_MS,
    startedAs: reloaded ? 'since Prometheus loaded its config' : 'since Prometheus started',
    minAll: 2,
    retriesHold: false,
  };
  return Object.keys(current.sends).map((who) => ({
    who,
    ...judgeSeries(
      points.map((p) => ({ at: p.at, tally: p.sends[who] })),
      now,
      clock.windowMs,
      rules,
    ),
  }));
}

/** Alertmanager's integrations: failing when its requests or its notifications fail. */
function judgeIntegrations(readings: Reading[], now: number, clock: Clock): (JudgedSeries & { what: 'request' | 'notification' })[] {
  const current = readings.at(-1);
  if (!current) return [];
  const points = readings.filter((r) => r.amStart === current.amStart);
  const windowMs = clock.windowMs;
  const base = { countingSince: current.amStart, settleMs: clock.periodMs + SLACK_MS, startedAs: 'since Alertmanager started', retriesHold: true };
  const order = { failing: 0, unsure: 1, fine: 2 };
  const names = [...new Set([...Object.keys(current.requests), ...Object.keys(current.notifications)])];
  const judged = (who: string, what: 'request' | 'notification', minAll: number) => {
    const counter = what === 'request' ? 'requests' : 'notifications';
    return {
      who,
      what,
      ...judgeSeries(
        points.map((p) => ({ at: p.at, tally: p[counter][who] })),
        now,
        windowMs,
        { ...base, minAll },
      ),
    };
  };
  return names.map((who) => {
    const requests = judged(who, 'request', 2);
    const notifications = judged(who, 'notification', 1);
    return order[notifications.state] < order[requests.state] ? notifications : requests;
  });
}

/** Alerts Prometheus dropped in the window (since it started, with a single reading). */
function droppedIn(readings: Reading[], now: number, windowMs: number): { count: number; span: string } {
  const current = readings.at(-1);
  const points = readings.filter((r) => r.promStart === current?.promStart);
  if (!current || points.length < 2) return { count: current?.dropped ?? 0, span: 'since Prometheus started' };
  const base = points[Math.max(0, baseIndex(points, now - windowMs))]!;
  return { count: Math.max(0, current.dropped - base.dropped), span: `in the last ${formatSeconds(now - base.at)}` };
}

// --- the counters, from each side's /metrics ------------------------------------------------

const NOTIFICATION_METRICS = /^(prometheus_notifications_|alertmanager_notification)/;
