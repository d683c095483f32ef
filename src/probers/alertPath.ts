// kind: alert_path — an alarm can reach a person: rule evaluation → Prometheus → Alertmanager → a receiver.
// Each part can be up and healthy while the path between them delivers nothing: Prometheus with no
// Alertmanager configured or reachable, notifications that error, a receiver that answers 500, a route
// that ends at a receiver whose integrations are all commented out (the MyStocks stack's published
// alertmanager.yml). The end-to-end proof is an always-firing heartbeat rule that the shipped rules
// define (WatchdogAlertPathHeartbeat): it must be at Alertmanager, and recently updated.
//
// Counters (notification errors) only mean something as growth, so each run keeps the readings in its
// private memory and the next run gets them back as ctx.memory: the engine keeps them with the probe,
// as container_state keeps its restart track; the decoded spec holds nothing that changes.
// Without an earlier reading, a counter that failed every time it counted (errors == sent) fails.
import { Type } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { Duration, HttpUrl } from '../core/fields.js';
import { formatDuration, formatSeconds } from '../util/format.js';
import { quoted, snippet } from '../util/text.js';
import { joinUrl } from '../util/url.js';
import { parseExposition, type Sample } from '../util/promText.js';
import { defineProber } from './define.js';
import type { Attempt, ProbeContext, ProbeOutcome } from './types.js';
import { asRecord, attempt, failed, failure, fetchJson, httpReasons, passed, success, type HttpReason } from './common.js';
import { notPrometheusHint, prometheusApi, prometheusDownHint, prometheusReasons } from './prometheusApi.js';

const defaults = { heartbeatAlert: 'WatchdogAlertPathHeartbeat', maxHeartbeatAge: '5m' };
/** The watchdog's own page: the alert whose route must end at someone. */
const defaultRouteLabels: Record<string, string> = { alertname: 'WatchdogProbeFailing', severity: 'critical' };

const amDownHint = 'Alertmanager does not answer: check its container (docker ps -a, docker logs mystocks-alertmanager) and ALERTMANAGER_URL.';

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
} as const;
type AlertPathReason = keyof typeof reasons;

/** The counter readings one run hands the next, by series key. */
const Readings = Type.Record(Type.String(), Type.Number());

export const alertPathProber = defineProber({
  reasons,
  memory: Readings,
  fields: Type.Object({
    prometheus: HttpUrl,
    alertmanager: HttpUrl,
    /** The always-firing alert of the shipped rules; default WatchdogAlertPathHeartbeat. */
    heartbeatAlert: Type.Optional(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' })),
    /** How long ago Alertmanager may last have received the heartbeat; default 5m (Prometheus resends firing alerts every minute). */
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
      maxHeartbeatAgeMs: d.duration('maxHeartbeatAge', f.maxHeartbeatAge ?? defaults.maxHeartbeatAge),
      routeLabels,
      heartbeatFilter,
      heartbeatUrl: `${joinUrl(f.alertmanager, '/api/v2/alerts')}?${new URLSearchParams({ filter: heartbeatFilter }).toString()}`,
      routedAlert,
    };
  },
  async run(spec, ctx) {
    // A run that ends before reading the counters keeps nothing new: the engine holds on to the earlier readings.
    const counters: Counters = { previous: ctx.memory && new Map(Object.entries(ctx.memory)), current: undefined };
    const outcome = await judge(spec, ctx, counters);
    return counters.current ? { ...outcome, memory: Object.fromEntries(counters.current) } : outcome;
  },
});

/** What a run read from the counters, and what the run before it read (by series key). */
interface Counters {
  previous?: Map<string, number>;
  current?: Map<string, number>;
}

/** The decoded fields. */
interface AlertPathSettings {
  prometheus: string;
  alertmanager: string;
  heartbeatAlert: string;
  maxHeartbeatAgeMs: number;
  routeLabels: Record<string, string>;
  /** The Alertmanager filter that finds the heartbeat, and the URL that asks with it. */
  heartbeatFilter: string;
  heartbeatUrl: string;
  /** The routed alert as people read it: WatchdogProbeFailing{severity="critical"}. */
  routedAlert: string;
}

/** The run itself; `counters.current` is set once the counters are read. */
async function judge(spec: AlertPathSettings, ctx: ProbeContext, counters: Counters): Promise<ProbeOutcome<never, AlertPathReason, never>> {
  // 1. Prometheus knows an Alertmanager.
  const ams = await prometheusApi(ctx, spec.prometheus, '/api/v1/alertmanagers');
  if (!ams.ok) return ams.outcome;
  // Without the list, "no active Alertmanager" would be a guess: say that something else answered.
  if (!Array.isArray(asRecord(ams.value)?.activeAlertmanagers)) {
    return failed('invalid_response', `the answer of /api/v1/alertmanagers has no data.activeAlertmanagers list: ${snippet(JSON.stringify(ams.value))}`, notPrometheusHint);
  }
  const urls = (key: string) => {
    const list = asRecord(ams.value)?.[key];
    return Array.isArray(list) ? list.flatMap((a) => (typeof asRecord(a)?.url === 'string' ? [String(asRecord(a)?.url)] : [])) : [];
  };
  const active = urls('activeAlertmanagers');
  const dropped = urls('droppedAlertmanagers');
  if (!active.length) {
    return failed(
      'no_alertmanagers',
      `Prometheus has no active Alertmanager${dropped.length ? ` (dropped: ${quoted(dropped)})` : ' (none configured)'}, so its alerts reach nobody`,
      hints.no_alertmanagers,
      { value: 0, details: { activeAlertmanagers: active, droppedAlertmanagers: dropped } },
    );
  }

  // 2. Counters of both sides, compared with the previous run's.
  const promMetrics = await metricsOf(ctx, spec.prometheus, prometheusDownHint);
  if (!promMetrics.ok) return promMetrics.outcome;
  const amMetrics = await metricsOf(ctx, spec.alertmanager, amDownHint);
  if (!amMetrics.ok) return amMetrics.outcome;
  const previous = counters.previous;
  const current = new Map<string, number>();
  const growth = (metric: string, label: string, samples: Sample[], totalMetric?: string) =>
    samples
      .filter((s) => s.name === metric)
      .flatMap((s) => {
        const who = s.labels[label] ?? '';
        const key = `${metric}{${who}}`;
        current.set(key, s.value);
        const before = previous?.get(key);
        if (before !== undefined) return s.value > before ? [{ who, by: s.value - before, first: false }] : [];
        // No earlier reading: a count since start means something only where every attempt failed.
        const total = totalMetric === undefined ? s.value : samples.find((x) => x.name === totalMetric && (x.labels[label] ?? '') === who)?.value;
        return s.value > 0 && total !== undefined && s.value >= total ? [{ who, by: s.value, first: true }] : [];
      });
  const promErrors = [
    ...growth('prometheus_notifications_errors_total', 'alertmanager', promMetrics.value).map((e) => ({ ...e, what: 'failed sends' })),
    // Dropped alerts carry no Alertmanager label: they were dropped after sending to all of them failed.
    ...growth('prometheus_notifications_dropped_total', 'alertmanager', promMetrics.value).map((e) => ({ ...e, what: 'alerts dropped' })),
  ];
  const amFailures = growth('alertmanager_notifications_failed_total', 'integration', amMetrics.value, 'alertmanager_notifications_total');
  counters.current = current;
  const details: Record<string, unknown> = { activeAlertmanagers: active, droppedAlertmanagers: dropped };
  const described = (e: { by: number; first: boolean; what: string }) => `${e.by} ${e.what} ${e.first ? 'since Prometheus started' : 'since the last run'}`;
  const promFailing = (errors: typeof promErrors) => {
    const named = [...new Set(errors.flatMap((e) => (e.who ? [e.who] : [])))];
    const each = named.length ? named : active;
    return failed('notifications_failing', `Prometheus fails to send alerts to ${quoted(each)} (${errors.map(described).join('; ')})`, hints.prometheus_failing, {
      value: 0,
      details: { ...details, failingAlertmanagers: each },
    });
  };
  // Errors since the last run are news; errors since start only explain a heartbeat that is missing (below).
  const newErrors = promErrors.filter((e) => !e.first);
  if (newErrors.length) return promFailing(newErrors);

  // 3. The heartbeat is at Alertmanager, and fresh.
  const heartbeat = await heartbeatAt(ctx, spec.heartbeatUrl);
  if (!heartbeat.ok) return heartbeat.outcome;
  const filter = spec.heartbeatFilter;
  if ((heartbeat.value === undefined || ctx.now() - heartbeat.value > spec.maxHeartbeatAgeMs) && promErrors.length) return promFailing(promErrors);
  if (heartbeat.value === undefined) {
    const firing = await firingInPrometheus(ctx, spec.prometheus, spec.heartbeatAlert);
    if (!firing.ok) return firing.outcome;
    const where = firing.value
      ? `it fires in Prometheus, which sends to ${quoted(active)}`
      : `Prometheus has no firing ${spec.heartbeatAlert} either: the rule of deploy/prometheus/watchdog-rules.yml is not loaded`;
    return failed('not_delivered', `the heartbeat alert ${spec.heartbeatAlert} is not at Alertmanager (/api/v2/alerts?filter=${filter}): ${where}`, hints.not_delivered, {
      value: 0,
      details: { ...details, heartbeatFiringInPrometheus: firing.value },
    });
  }
  const ageMs = Math.max(0, ctx.now() - heartbeat.value);
  details.heartbeatAgeSeconds = Math.round(ageMs / 1000);
  if (ageMs > spec.maxHeartbeatAgeMs) {
    return failed(
      'not_delivered',
      `the heartbeat alert ${spec.heartbeatAlert} was last updated at Alertmanager ${formatSeconds(ageMs)} ago, longer than maxHeartbeatAge ${formatDuration(spec.maxHeartbeatAgeMs)}: Prometheus stopped delivering to it`,
      hints.not_delivered,
      { value: 0, details },
    );
  }

  // 4. The watchdog's own critical alert is routed to someone.
  const route = await routeOf(ctx, spec.alertmanager, spec.routeLabels);
  if (!route.ok) return route.outcome;
  const alert = spec.routedAlert;
  details.route = route.value.map((m) => ({ path: m.path, receiver: m.receiver, integrations: m.integrations }));
  if (route.value.every((m) => m.integrations.length === 0)) {
    return failed(
      'no_receiver',
      `${alert} takes ${route.value.map((m) => `${m.path} to receiver "${m.receiver}"`).join(' and ')}, and ${route.value.length > 1 ? 'none of these receivers has' : 'that receiver has'} no integration: nobody is told`,
      hints.no_receiver,
      { value: 0, details },
    );
  }

  // 5. Alertmanager's notifications succeed.
  if (amFailures.length) {
    return failed(
      'notifications_failing',
      `Alertmanager's notifications through ${amFailures.map((f) => `integration "${f.who}" (${f.first ? `all ${f.by} failed since Alertmanager started` : `${f.by} more failed since the last run`})`).join(', ')} fail`,
      hints.am_failing,
      { value: 0, details: { ...details, failingIntegrations: amFailures.map((f) => f.who) } },
    );
  }

  const receivers = route.value.map((m) => `"${m.receiver}" (${m.integrations.join(', ')})`).join(', ');
  return passed(`heartbeat delivered ${formatSeconds(ageMs)} ago; ${alert} routes to ${receivers}; no notification errors`, { value: 1, details });
}

// --- the counters, from each side's /metrics ------------------------------------------------

async function metricsOf(ctx: ProbeContext, base: string, hint: string): Promise<Attempt<Sample[], HttpReason>> {
  const url = joinUrl(base, '/metrics');
  const res = await attempt(() => ctx.http.request(url, { signal: ctx.signal, maxBytes: 8 * 1024 * 1024 }), hint);
  if (!res.ok) return res;
  if (res.value.status !== 200) return failure(failed('http_status', `${url} answered HTTP ${res.value.status}: ${snippet(res.value.body)}`, hint));
  const wanted = /^(prometheus_notifications_|alertmanager_notifications_)/;
  return success(
    parseExposition(res.value.body)
      .allSamples()
      .filter((s) => wanted.test(s.name)),
  );
}

// --- the heartbeat ----------------------------------------------------------------------------

/** The newest updatedAt (ms) of the heartbeat at Alertmanager, undefined when it is not there. */
async function heartbeatAt(ctx: ProbeContext, url: string): Promise<Attempt<number | undefined, HttpReason>> {
  const ans = await fetchJson(ctx, url, { hint: amDownHint });
  if (!ans.ok) return ans;
  if (!Array.isArray(ans.value.json))
    return failure(failed('invalid_response', `${url} answered without a list of alerts`, 'Check that the URL points at Alertmanager (port 9093) with no extra path.'));
  const times = ans.value.json.flatMap((a) => {
    const t = asRecord(a)?.updatedAt;
    const ms = typeof t === 'string' ? Date.parse(t) : Number.NaN;
    return Number.isNaN(ms) ? [] : [ms];
  });
  return success(times.length ? Math.max(...times) : undefined);
}

async function firingInPrometheus(ctx: ProbeContext, base: string, alertname: string): Promise<Attempt<boolean, AlertPathReason>> {
  const data = await prometheusApi(ctx, base, '/api/v1/alerts');
  if (!data.ok) return data;
  const alerts = asRecord(data.value)?.alerts;
  const firing = Array.isArray(alerts) && alerts.some((a) => asRecord(asRecord(a)?.labels)?.alertname === alertname && asRecord(a)?.state === 'firing');
  return success(firing);
}

// --- Alertmanager's routing tree --------------------------------------------------------------

interface Matcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

interface RouteMatch {
  /** How the alert got there, e.g. `route → routes[0] (alertname=~"Watchdog.*")`. */
  path: string;
  receiver: string;
  integrations: string[];
}

/** The routes (and their receivers) an alert with `labels` ends at in Alertmanager's running config. */
async function routeOf(ctx: ProbeContext, base: string, labels: Record<string, string>): Promise<Attempt<RouteMatch[], HttpReason>> {
  const url = joinUrl(base, '/api/v2/status');
  const ans = await fetchJson(ctx, url, { hint: amDownHint });
  if (!ans.ok) return ans;
  const original = asRecord(asRecord(ans.value.json)?.config)?.original;
  const invalid = (why: string) => failure<RouteMatch[], 'invalid_response'>(failed('invalid_response', `${url}: ${why}`, 'Check that the URL points at Alertmanager (port 9093) with no extra path.'));
  if (typeof original !== 'string') return invalid('no config.original in the answer');
  let config: Record<string, unknown> | undefined;
  try {
    config = asRecord(parseYaml(original) as unknown);
  } catch (err) {
    return invalid(`config.original is not YAML: ${snippet(String(err))}`);
  }
  const root = asRecord(config?.route);
  if (!root) return invalid('config.original has no route');
  const integrations = new Map<string, string[]>();
  for (const r of Array.isArray(config?.receivers) ? config.receivers : []) {
    const rec = asRecord(r);
    if (typeof rec?.name !== 'string') continue;
    integrations.set(
      rec.name,
      Object.entries(rec)
        .filter(([k, v]) => k.endsWith('_configs') && Array.isArray(v) && v.length > 0)
        .map(([k]) => k),
    );
  }
  const matches: RouteMatch[] = [];
  walk(root, labels, 'route', typeof root.receiver === 'string' ? root.receiver : '', (path, receiver) => matches.push({ path, receiver, integrations: integrations.get(receiver) ?? [] }));
  return success(matches);
}

/**
 * Alertmanager's routing: the first child that matches takes the alert (and the ones after it too
 * while the matching child has `continue: true`); a node no child takes is where the alert ends.
 */
function walk(node: Record<string, unknown>, labels: Record<string, string>, path: string, inherited: string, end: (path: string, receiver: string) => void): void {
  const receiver = typeof node.receiver === 'string' ? node.receiver : inherited;
  let taken = false;
  const children = Array.isArray(node.routes) ? node.routes : [];
  for (const [i, c] of children.entries()) {
    const child = asRecord(c);
    if (!child) continue;
    const matchers = matchersOf(child);
    if (!matchers.every((m) => matches(m, labels[m.name] ?? ''))) continue;
    taken = true;
    const desc = matchers.map((m) => `${m.name}${m.op}"${m.value}"`).join(',');
    walk(child, labels, `${path} → routes[${i}]${desc ? ` (${desc})` : ''}`, receiver, end);
    if (child.continue !== true) break;
  }
  if (!taken) end(path, receiver);
}

function matchersOf(route: Record<string, unknown>): Matcher[] {
  const out: Matcher[] = [];
  for (const [name, value] of Object.entries(asRecord(route.match) ?? {})) out.push({ name, op: '=', value: String(value) });
  for (const [name, value] of Object.entries(asRecord(route.match_re) ?? {})) out.push({ name, op: '=~', value: String(value) });
  for (const text of Array.isArray(route.matchers) ? route.matchers : []) if (typeof text === 'string') out.push(...parseMatchers(text));
  return out;
}

const matchOps: readonly Matcher['op'][] = ['=~', '!~', '!=', '='];

/** `a="b"`, `{a=~"x.*", c!=d}`: Alertmanager's matcher syntax (values quoted or bare). */
function parseMatchers(text: string): Matcher[] {
  const inner = text.trim().replace(/^\{/, '').replace(/\}$/, '');
  const out: Matcher[] = [];
  let i = 0;
  while (i < inner.length) {
    while (inner[i] === ',' || inner[i] === ' ') i++;
    if (i >= inner.length) break;
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*/.exec(inner.slice(i));
    const op = matchOps.find((o) => o === m?.[2]);
    if (!m || !op) break;
    i += m[0].length;
    let value = '';
    if (inner[i] === '"') {
      i++;
      while (i < inner.length && inner[i] !== '"') {
        if (inner[i] === '\\' && i + 1 < inner.length) {
          value += inner[i + 1] === 'n' ? '\n' : inner[i + 1];
          i += 2;
        } else value += inner[i++];
      }
      i++;
    } else {
      while (i < inner.length && inner[i] !== ',') value += inner[i++];
      value = value.trim();
    }
    out.push({ name: m[1]!, op, value });
  }
  return out;
}

function matches(m: Matcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return safeRegex(m.value)?.test(value) ?? false;
    case '!~':
      return !(safeRegex(m.value)?.test(value) ?? true);
  }
}

/** Alertmanager's regexes are anchored (Go RE2; the common subset reads the same in JavaScript). */
function safeRegex(source: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    return undefined;
  }
}
