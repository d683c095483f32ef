// kind: span_metrics_path — can span metrics get from Tempo's metrics-generator into Prometheus at all?
// A query for traces_spanmetrics_calls_total only says "absent"; the path has four places to break,
// each read from the component's own API, in the order data flows:
//   1. the metrics-generator module runs (Tempo's /status/services table);
//   2. the tenant has a processor enabled (Tempo's /status/overrides/<tenant>, JSON when asked for:
//      its runtime_overrides is YAML of the tenant's overrides, metrics_generator.processors unset
//      means the generator makes nothing);
//   3. Prometheus accepts remote write (/api/v1/status/flags, web.enable-remote-write-receiver);
//   4. the generator's remote-write queue delivers (Tempo's /metrics: the queue manager of
//      prometheus/storage/remote, registered by modules/generator/storage under a `tenant` label, so
//      prometheus_remote_storage_samples_total{remote_name,url,tenant} and its _failed_total,
//      _retried_total and _pending siblings).
// Step 4 needs counter growth, so two readings: the previous run's (private memory) or, on a first or
// one-off run, a second reading after a short pause. The queue manager counts every send attempt in
// samples_total (retries included), a refused write (4xx: a 404 from a Prometheus without the receiver)
// in samples_failed_total, and a retried one (connection refused, 5xx, 429) in samples_retried_total:
// what got through is total - failed - retried.
import { setTimeout as sleep } from 'node:timers/promises';
import { Type, type Static } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { Duration, HttpUrl } from '../core/fields.js';
import { formatDuration } from '../util/format.js';
import { parseExposition } from '../util/promText.js';
import { capped, snippet } from '../util/text.js';
import { joinUrl } from '../util/url.js';
import { defineProber } from './define.js';
import type { Attempt, ProbeContext } from './types.js';
import { asRecord, failed, failure, passed, success } from './common.js';
import { notPrometheusHint, prometheusApi, prometheusReasons } from './prometheusApi.js';
import { notTempoHint, tempoReasons, tempoRequest, tempoText, tenantHeaders, type TempoReason } from './tempoApi.js';

const GENERATOR = 'metrics-generator';
const RW = 'prometheus_remote_storage_samples';

/** Cumulative queue-manager counters of one remote-write endpoint, as read at `atMs`. */
const Reading = Type.Object({
  atMs: Type.Number(),
  /** url -> [samples_total, samples_failed_total, samples_retried_total, samples_pending] */
  queues: Type.Record(Type.String(), Type.Tuple([Type.Number(), Type.Number(), Type.Number(), Type.Number()])),
});
type Reading = Static<typeof Reading>;

const receiverHint =
  "Prometheus runs without its remote-write receiver, so every write of Tempo's metrics-generator to /api/v1/write is answered 404 and dropped. " +
  "Add '--web.enable-remote-write-receiver' to the prometheus service's command: list in the compose file (config/monitoring-stack/docker-compose.yml, next to '--web.enable-lifecycle'), " +
  'then docker compose up -d prometheus.';

const noProcessorsHint =
  "Tempo's metrics-generator runs but no processor is enabled for the tenant, so it generates no span metrics. Enable them in Tempo's config: " +
  'overrides: { defaults: { metrics_generator: { processors: [service-graphs, span-metrics] } } } (Tempo 2.3+; older releases: overrides.metrics_generator_processors), ' +
  'then restart Tempo (docker compose restart tempo) and check curl -H "Accept: application/json" http://tempo:3200/status/overrides/single-tenant.';

export const spanMetricsPathProber = defineProber({
  fields: Type.Object({
    /** Tempo's HTTP API, e.g. http://tempo:3200. */
    tempo: HttpUrl,
    /** The Prometheus the generator writes to; leave out to skip the receiver check. */
    prometheus: Type.Optional(HttpUrl),
    /** The tenant whose overrides and queues are read (Tempo without multitenancy: single-tenant). */
    tenant: Type.Optional(Type.String({ minLength: 1 })),
    /** How long a first run waits between its two counter readings (default 2s, at most half the timeout). */
    pause: Type.Optional(Duration),
  }),
  reasons: {
    // Reasons both helper sets have keep Tempo's hints (most calls go to Tempo); a failed call to
    // Prometheus carries Prometheus's hint in its outcome.
    ...prometheusReasons,
    ...tempoReasons,
    generator_off:
      "Tempo's metrics-generator module is not running, so no span metrics are made: in Tempo 2.x run target: all (or add metrics-generator to the targets) with a metrics_generator: block " +
      '(storage.path and storage.remote_write); docker logs mystocks-tempo | grep -i generator says why it stopped.',
    no_processors: noProcessorsHint,
    receiver_disabled: receiverHint,
    remote_write_failing:
      "The metrics-generator's remote write gets nothing through: check metrics_generator.storage.remote_write[].url (http://prometheus:9090/api/v1/write), that Prometheus is up and reachable from Tempo, " +
      'and docker logs mystocks-tempo | grep -i "remote" for the errors.',
  },
  memory: Reading,
  decode: (f, d, common) => ({
    tempo: f.tempo,
    prometheus: f.prometheus,
    tenant: f.tenant ?? 'single-tenant',
    headers: tenantHeaders(f.tenant),
    pauseMs: Math.min(f.pause === undefined ? 2000 : d.duration('pause', f.pause), common.timeoutMs / 2),
  }),
  async run(spec, ctx) {
    const services = await tempoText(ctx, joinUrl(spec.tempo, '/status/services'), spec.headers);
    if (!services.ok) return services.outcome;
    // An answer without a single module row is not Tempo's table (a proxy, another service): that is not
    // a generator that is off.
    if (serviceRows(services.value).length === 0) {
      return failed('invalid_response', `${joinUrl(spec.tempo, '/status/services')} answered without Tempo's table of modules: ${snippet(services.value.trim(), 120)}`, notTempoHint);
    }
    const state = moduleState(services.value, GENERATOR);
    if (state !== 'Running') {
      const seen = state === undefined ? `is not among Tempo's services (${capped(moduleNames(services.value), ', ', 12)})` : `is ${state}`;
      return failed('generator_off', `Tempo's ${GENERATOR} ${seen}: nothing makes span metrics`, undefined, { details: { generator: state ?? 'absent' } });
    }

    const found = await processors(ctx, spec.tempo, spec.tenant, spec.headers);
    if (!found.ok) return found.outcome;
    const receiver = spec.prometheus ? await receiverEnabled(ctx, spec.prometheus) : success(undefined);
    if (!receiver.ok) return receiver.outcome;
    const receiverOff = receiver.value === false;
    const alsoReceiver = receiverOff ? ` Also, Prometheus at ${spec.prometheus} runs without --web.enable-remote-write-receiver: ${receiverHint}` : '';
    const details: Record<string, unknown> = { generator: 'Running', processors: found.value.list ?? 'unknown', ...(spec.prometheus ? { remoteWriteReceiver: receiver.value ?? 'unknown' } : {}) };
    if (found.value.list !== undefined && found.value.list.length === 0) {
      return failed(
        'no_processors',
        `no metrics-generator processor is enabled for tenant "${spec.tenant}" (${found.value.from}): the generator makes no span metrics`,
        noProcessorsHint + alsoReceiver,
        { details },
      );
    }
    if (receiverOff) {
      return failed('receiver_disabled', `Prometheus at ${spec.prometheus} says web.enable-remote-write-receiver is false: it answers the generator's remote writes with 404`, undefined, { details });
    }

    // Two readings of the queues: the last run's, or one taken now and another after a short pause.
    let before = ctx.memory;
    let now = await queues(ctx, spec.tempo, spec.headers);
    if (!now.ok) return now.outcome;
    const cumulative = judge(undefined, now.value);
    if (!before && !cumulative.failing) {
      before = now.value;
      const left = ctx.deadline - ctx.now();
      await sleep(Math.max(0, Math.min(spec.pauseMs, left / 2)), undefined, { signal: ctx.signal }).catch(() => undefined);
      now = await queues(ctx, spec.tempo, spec.headers);
      if (!now.ok) return now.outcome;
    }
    const verdict = cumulative.failing ? cumulative : judge(before, now.value);
    const extra = { details: { ...details, ...verdict.details }, memory: now.value, value: verdict.delivered };
    if (verdict.failing) return failed('remote_write_failing', verdict.message, undefined, extra);
    return passed(verdict.message, extra);
  },
});

/** Rows of the go-pretty table of /status/services: `| name | State | failure |`. */
function serviceRows(table: string): [string, string][] {
  const rows: [string, string][] = [];
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length >= 4 && cells[1] && cells[1] !== 'SERVICE NAME') rows.push([cells[1], cells[2] ?? '']);
  }
  return rows;
}

function moduleState(table: string, module: string): string | undefined {
  return serviceRows(table).find(([name]) => name === module)?.[1];
}

function moduleNames(table: string): string[] {
  return serviceRows(table).map(([name]) => name);
}

/**
 * The tenant's enabled processors from /status/overrides/<tenant> (JSON with Accept: application/json):
 * user-configurable overrides win over runtime ones when they set processors. `list` undefined: this
 * Tempo does not say (an old release without the page), so the check is skipped rather than guessed.
 */
async function processors(ctx: ProbeContext, base: string, tenant: string, headers: Record<string, string>): Promise<Attempt<{ list?: string[]; from: string }, TempoReason>> {
  const url = joinUrl(base, `/status/overrides/${encodeURIComponent(tenant)}`);
  const res = await tempoRequest(ctx, url, { headers: { accept: 'application/json', ...headers } });
  if (!res.ok) return res;
  const page = res.value.status === 200 ? asRecord(safeJson(res.value.body)) : undefined;
  if (!page) return success({ from: url });
  const fromYaml = (text: unknown): string[] | undefined => {
    if (typeof text !== 'string') return undefined;
    let doc: Record<string, unknown> | undefined;
    try {
      doc = asRecord(parseYaml(text));
    } catch {
      return undefined;
    }
    // Tempo 2.3+ overrides: metrics_generator.processors; the legacy flat form: metrics_generator_processors.
    const list = asRecord(doc?.metrics_generator)?.processors ?? doc?.metrics_generator_processors;
    return Array.isArray(list) ? list.map(String) : undefined;
  };
  const user = fromYaml(page.user_configurable_overrides);
  if (user?.length) return success({ list: user, from: 'user-configurable overrides' });
  const source = typeof page.using_default_or_wildcard_runtime_overrides === 'string' ? page.using_default_or_wildcard_runtime_overrides : 'runtime overrides';
  if (typeof page.runtime_overrides !== 'string') return success({ from: url });
  return success({ list: fromYaml(page.runtime_overrides) ?? [], from: `runtime overrides from ${source}` });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Whether Prometheus accepts remote write: the flag web.enable-remote-write-receiver (2.33+), or the
 * feature flag that preceded it (2.25-2.32). Undefined when neither is listed: not guessed.
 */
async function receiverEnabled(ctx: ProbeContext, base: string): Promise<Attempt<boolean | undefined, keyof typeof prometheusReasons>> {
  const flags = await prometheusApi(ctx, base, '/api/v1/status/flags');
  if (!flags.ok) return flags;
  const data = asRecord(flags.value);
  if (!data) return failure(failed('invalid_response', `the answer of ${joinUrl(base, '/api/v1/status/flags')} has no object of flags in data`, notPrometheusHint));
  const feature = typeof data['enable-feature'] === 'string' ? data['enable-feature'] : '';
  if (feature.split(',').includes('remote-write-receiver')) return success(true);
  const flag = data['web.enable-remote-write-receiver'];
  return success(flag === 'true' ? true : flag === 'false' ? false : undefined);
}

/** The generator's remote-write queues on Tempo's /metrics, summed per url (over tenants and remote names). */
async function queues(ctx: ProbeContext, base: string, headers: Record<string, string>): Promise<Attempt<Reading, TempoReason>> {
  const text = await tempoText(ctx, joinUrl(base, '/metrics'), headers);
  if (!text.ok) return text;
  const exp = parseExposition(text.value);
  const out: Reading['queues'] = {};
  const add = (name: string, i: 0 | 1 | 2 | 3): void => {
    for (const s of exp.samples(name)) {
      const url = s.labels.url ?? '';
      const q = (out[url] ??= [0, 0, 0, 0]);
      q[i] += s.value;
    }
  };
  add(`${RW}_total`, 0);
  add(`${RW}_failed_total`, 1);
  add(`${RW}_retried_total`, 2);
  add(`${RW}_pending`, 3);
  return success({ atMs: ctx.now(), queues: out });
}

interface Verdict {
  failing: boolean;
  message: string;
  /** Samples that got through between the readings (or since Tempo started), all queues together. */
  delivered: number;
  details: Record<string, unknown>;
}

/**
 * What the queues did between two readings (`before` undefined: since Tempo started). Failing when a
 * queue delivered nothing while it refused or retried samples, or still holds samples it retried.
 */
function judge(before: Reading | undefined, now: Reading): Verdict {
  const urls = Object.keys(now.queues);
  const since = before ? `in the last ${formatDuration(now.atMs - before.atMs)}` : 'since Tempo started';
  if (urls.length === 0) {
    return {
      failing: false,
      delivered: 0,
      message: "the metrics-generator has not remote-written yet (Tempo's /metrics has no prometheus_remote_storage_samples_total): no span has reached it since Tempo started",
      details: { queues: 0 },
    };
  }
  let delivered = 0;
  const broken: string[] = [];
  const perUrl: Record<string, unknown> = {};
  for (const url of urls) {
    const [total, failedN, retried, pending] = now.queues[url]!;
    const old = before?.queues[url];
    // A counter that went down means Tempo restarted: count from zero.
    const base = old && old[0] <= total && old[1] <= failedN && old[2] <= retried ? old : [0, 0, 0, 0];
    const d = { sent: total - base[0]!, failed: failedN - base[1]!, retried: retried - base[2]! };
    const through = Math.max(0, d.sent - d.failed - d.retried);
    delivered += through;
    perUrl[url] = { attempted: d.sent, failed: d.failed, retried: d.retried, delivered: through, pending };
    if (through === 0 && (d.failed > 0 || d.retried > 0 || (pending > 0 && retried > 0))) {
      const why =
        d.failed > 0 && d.retried === 0
          ? `${d.failed} sample(s) refused (samples_failed_total: the receiver answered 4xx, e.g. 404 from a Prometheus without --web.enable-remote-write-receiver)`
          : `${d.retried} sample(s) retried (samples_retried_total: connection refused, 5xx or 429)${d.failed > 0 ? ` and ${d.failed} refused` : ''}, ${pending} pending`;
      broken.push(`${url || '(no url label)'}: ${why}`);
    }
  }
  const details = { queues: perUrl, countedFrom: before ? 'previous run' : 'Tempo start' };
  if (broken.length) return { failing: true, delivered, message: `the metrics-generator's remote write delivered nothing ${since}: ${broken.join('; ')}`, details };
  if (delivered === 0) return { failing: false, delivered, message: `the metrics-generator's remote write sent nothing ${since} and failed nothing (no spans to count meanwhile?)`, details };
  return { failing: false, delivered, message: `the metrics-generator's remote write delivered ${delivered} sample(s) ${since}`, details };
}
