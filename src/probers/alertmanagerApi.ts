// Alertmanager's HTTP API, spoken here and nowhere else: its readiness and status (uptime, cluster, the
// running config and the route an alert takes through it), its alerts and its silences, and the hints
// that name its container and port. The kinds (alert_path, alertmanager_status) read it through this
// module, the direct alert path (src/alerting/) posts alerts through it and maintenance
// (src/maintenance/) makes and expires silences through it, so a change of Alertmanager's API or of
// the stack's Alertmanager container is one edit. `npm run deps` lets src/alerting/ and
// src/maintenance/ import this file (and no other prober).
// https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml
import { parse as parseYaml } from 'yaml';
import type { HttpClient, HttpResponse } from '../net/http.js';
import { snippet } from '../util/text.js';
import { joinUrl } from '../util/url.js';
import type { Attempt, ProbeContext } from './types.js';
import { asRecord, attempt, failed, failure, fetchJson, success, systemReasons, type HttpReason, type TransportReason } from './common.js';

const STATUS_PATH = '/api/v2/status';
/** Where alerts are listed and posted; exported for messages that tell people where to look. */
export const ALERTS_PATH = '/api/v2/alerts';
/** Answers are small (a status, a silence id); a cap keeps a wrong URL from streaming megabytes. */
const SMALL_ANSWER = 64 * 1024;

const downHint =
  'Alertmanager does not answer: check its container (docker ps -a, docker logs mystocks-alertmanager); an error in alertmanager.yml stops it at start (`amtool check-config alertmanager.yml`), and ALERTMANAGER_URL must name the compose service and port 9093.';
const invalidHint = "Something other than Alertmanager's v2 API answered: check that the URL points at Alertmanager (port 9093) with no extra path.";

/** The hints that name Alertmanager's container, port and config: one text per meaning. */
export const alertmanagerHints = {
  down: downHint,
  invalid: invalidHint,
  not_ready:
    'Alertmanager runs but is not ready yet: it is still loading its configuration or data. Read docker logs mystocks-alertmanager; `amtool check-config alertmanager.yml` shows configuration errors.',
  cluster_settling:
    'The Alertmanager cluster has not settled, so its peers cannot gossip: check the --cluster.peer addresses and that port 9094 (TCP and UDP) is reachable between the Alertmanagers (docker logs mystocks-alertmanager shows the memberlist errors). ' +
    'A single Alertmanager should run with clustering off: --cluster.listen-address= (empty).',
} as const;

/**
 * What a call into Alertmanager's API may fail with: every kind that reads Alertmanager declares these.
 * A name that does not resolve also gets the down hint: it says that ALERTMANAGER_URL must name the compose service.
 */
export const alertmanagerReasons = systemReasons({ down: downHint, dns: downHint, invalid: invalidHint });
export type AlertmanagerReason = HttpReason;

// --- readiness and status -----------------------------------------------------------------------

/** Whether /-/ready answers 200: Alertmanager has loaded its configuration and data. */
export async function alertmanagerReady(ctx: ProbeContext, base: string): Promise<Attempt<void, TransportReason | 'not_ready'>> {
  const url = joinUrl(base, '/-/ready');
  const answer = await attempt(() => ctx.http.request(url, { signal: ctx.signal, maxBytes: SMALL_ANSWER }), downHint);
  if (!answer.ok) return answer;
  const { status, body } = answer.value;
  if (status !== 200) return failure(failed('not_ready', `${url} answered HTTP ${status}: ${snippet(body)}`, alertmanagerHints.not_ready, { details: { httpStatus: status } }));
  return success(undefined);
}

/** /api/v2/status as read: what the callers judge, each field left undefined where the answer lacks it. */
export interface AlertmanagerStatus {
  url: string;
  /** The answer itself, for messages that quote it and for the running config. */
  json: unknown;
  /** cluster.status: "ready", "settling" or "disabled" (a single node with clustering off). */
  clusterStatus?: string;
  peers: number;
  /** `uptime` as Alertmanager writes it: despite its name, the time the process started. */
  uptime?: string;
  /** `uptime` in ms since the epoch. */
  startedAt?: number;
  version?: string;
}

export async function alertmanagerStatus(ctx: ProbeContext, base: string): Promise<Attempt<AlertmanagerStatus, AlertmanagerReason>> {
  const url = joinUrl(base, STATUS_PATH);
  const ans = await fetchJson(ctx, url, { hint: downHint });
  if (!ans.ok) return ans;
  const json = ans.value.json;
  const status = asRecord(json);
  const cluster = asRecord(status?.cluster);
  const uptime = typeof status?.uptime === 'string' ? status.uptime : undefined;
  const startedAt = uptime === undefined ? Number.NaN : Date.parse(uptime);
  const version = asRecord(status?.versionInfo)?.version;
  return success({
    url,
    json,
    clusterStatus: typeof cluster?.status === 'string' ? cluster.status : undefined,
    peers: Array.isArray(cluster?.peers) ? cluster.peers.length : 0,
    uptime,
    startedAt: Number.isNaN(startedAt) ? undefined : startedAt,
    version: typeof version === 'string' ? version : undefined,
  });
}

/** The answer lacks what the caller needs (`what`): something other than Alertmanager answered. */
export function statusWithout(status: AlertmanagerStatus, what: string) {
  return failed('invalid_response', `${status.url} answered without ${what}: ${snippet(JSON.stringify(status.json))}`, invalidHint);
}

// --- alerts -------------------------------------------------------------------------------------

/** One alert as Alertmanager's API v2 takes it. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** The alerts URL, optionally with a filter (`alertname="X"`, Alertmanager's matcher syntax). */
export function alertsUrl(base: string, filter?: string): string {
  const url = joinUrl(base, ALERTS_PATH);
  return filter === undefined ? url : `${url}?${new URLSearchParams({ filter }).toString()}`;
}

/** The newest updatedAt (ms) of the alerts listed at `url` (see alertsUrl), undefined when none is there. */
export async function newestAlertUpdate(ctx: ProbeContext, url: string): Promise<Attempt<number | undefined, AlertmanagerReason>> {
  const ans = await fetchJson(ctx, url, { hint: downHint });
  if (!ans.ok) return ans;
  if (!Array.isArray(ans.value.json)) return failure(failed('invalid_response', `${url} answered without a list of alerts`, invalidHint));
  const times = ans.value.json.flatMap((a) => {
    const t = asRecord(a)?.updatedAt;
    const ms = typeof t === 'string' ? Date.parse(t) : Number.NaN;
    return Number.isNaN(ms) ? [] : [ms];
  });
  return success(times.length ? Math.max(...times) : undefined);
}

/**
 * Posts alerts (Alertmanager merges them by label set, so a repeated post is harmless). The answer is
 * returned as it came, whatever its status; a transport failure throws TransportError, as the client does.
 */
export function postAlerts(http: HttpClient, base: string, alerts: PostableAlert[], signal: AbortSignal): Promise<HttpResponse> {
  return http.request(alertsUrl(base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts), maxBytes: SMALL_ANSWER, signal });
}

// --- silences -----------------------------------------------------------------------------------

/** A silence's matcher as the API takes it. */
export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface PostableSilence {
  matchers: SilenceMatcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

/** Matches alerts whose `label` is one of `values` (every value: any non-empty one). */
export function labelIn(label: string, values: string[] | 'any'): SilenceMatcher {
  return { name: label, value: values === 'any' ? '.+' : values.map(escapeRegex).join('|'), isRegex: true, isEqual: true };
}

/**
 * Creates a silence and returns its id; throws an Error that says why it did not. `bases` are the nodes
 * of one cluster (or one Alertmanager): silences are gossiped between them, so the first node that
 * takes it is enough and the next is tried only when one fails.
 */
export function createSilence(http: HttpClient, bases: string[], silence: PostableSilence, signal: AbortSignal): Promise<string> {
  return onFirstNode(bases, async (base) => {
    const res = await http.request(joinUrl(base, '/api/v2/silences'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(silence),
      maxBytes: SMALL_ANSWER,
      signal,
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    const silenceId = (JSON.parse(res.body) as { silenceID?: string }).silenceID;
    if (!silenceId) throw new Error('the answer names no silenceID');
    return silenceId;
  });
}

/** Expires a silence now, on the first node that takes it (see createSilence); throws an Error that says why it did not. */
export function expireSilence(http: HttpClient, bases: string[], silenceId: string, signal: AbortSignal): Promise<void> {
  return onFirstNode(bases, async (base) => {
    const res = await http.request(joinUrl(base, `/api/v2/silence/${encodeURIComponent(silenceId)}`), { method: 'DELETE', maxBytes: SMALL_ANSWER, signal });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
  });
}

/** A silence as Alertmanager lists it: what maintenance needs to recognise its own. */
export interface Silence {
  id: string;
  /** active, pending or expired */
  state: string;
  createdBy: string;
  comment: string;
  startsAt: number;
  endsAt: number;
  /** The value of its `stack="..."` equality matcher, if it has one (a watchdog's window names its stack). */
  stack?: string;
}

/** Every silence the cluster holds (from the first node that answers); throws an Error that says why not. */
export function listSilences(http: HttpClient, bases: string[], signal: AbortSignal): Promise<Silence[]> {
  return onFirstNode(bases, async (base) => {
    // Silences are few (people make them by hand); the cap is for a wrong URL, not a big cluster.
    const res = await http.request(joinUrl(base, '/api/v2/silences'), { maxBytes: 4 * 1024 * 1024, signal });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    const list = JSON.parse(res.body) as unknown;
    if (!Array.isArray(list)) throw new Error('the answer is not a list of silences');
    return list.flatMap((item) => {
      const r = asRecord(item);
      const state = asRecord(r?.status)?.state;
      const startsAt = typeof r?.startsAt === 'string' ? Date.parse(r.startsAt) : Number.NaN;
      const endsAt = typeof r?.endsAt === 'string' ? Date.parse(r.endsAt) : Number.NaN;
      if (typeof r?.id !== 'string' || typeof state !== 'string' || Number.isNaN(startsAt) || Number.isNaN(endsAt)) return [];
      const stack = (Array.isArray(r.matchers) ? r.matchers.map(asRecord) : []).find((m) => m?.name === 'stack' && m.isRegex === false && m.isEqual !== false)?.value;
      return [
        {
          id: r.id,
          state,
          createdBy: typeof r.createdBy === 'string' ? r.createdBy : '',
          comment: typeof r.comment === 'string' ? r.comment : '',
          startsAt,
          endsAt,
          ...(typeof stack === 'string' ? { stack } : {}),
        },
      ];
    });
  });
}

/** `call` on each node in turn until one succeeds; the error names every node's failure. */
async function onFirstNode<T>(bases: string[], call: (base: string) => Promise<T>): Promise<T> {
  const failures: string[] = [];
  for (const base of bases) {
    try {
      return await call(base);
    } catch (err) {
      failures.push(bases.length > 1 ? `${base}: ${(err as Error).message}` : (err as Error).message);
    }
  }
  throw new Error(failures.join('; ') || 'no Alertmanager URL');
}

/** Alertmanager's regexes are Go RE2, anchored: a name is matched literally once its metacharacters are escaped. */
function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// --- routing: where an alert ends in the running config ----------------------------------------

interface RouteMatcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface RouteMatch {
  /** How the alert got there, e.g. `route → routes[0] (alertname=~"Watchdog.*")`. */
  path: string;
  receiver: string;
  integrations: string[];
}

/** The routes (and their receivers) an alert with `labels` ends at in Alertmanager's running config (`config.original` of its status). */
export function routeOf(status: AlertmanagerStatus, labels: Record<string, string>): Attempt<RouteMatch[], 'invalid_response'> {
  const original = asRecord(asRecord(status.json)?.config)?.original;
  const invalid = (why: string) => failure<RouteMatch[], 'invalid_response'>(failed('invalid_response', `${status.url}: ${why}`, invalidHint));
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

function matchersOf(route: Record<string, unknown>): RouteMatcher[] {
  const out: RouteMatcher[] = [];
  for (const [name, value] of Object.entries(asRecord(route.match) ?? {})) out.push({ name, op: '=', value: String(value) });
  for (const [name, value] of Object.entries(asRecord(route.match_re) ?? {})) out.push({ name, op: '=~', value: String(value) });
  for (const text of Array.isArray(route.matchers) ? route.matchers : []) if (typeof text === 'string') out.push(...parseMatchers(text));
  return out;
}

const matchOps: readonly RouteMatcher['op'][] = ['=~', '!~', '!=', '='];

/** `a="b"`, `{a=~"x.*", c!=d}`: Alertmanager's matcher syntax (values quoted or bare). */
function parseMatchers(text: string): RouteMatcher[] {
  const inner = text.trim().replace(/^\{/, '').replace(/\}$/, '');
  const out: RouteMatcher[] = [];
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

function matches(m: RouteMatcher, value: string): boolean {
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
