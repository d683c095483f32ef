// kind: tempo_ready — Tempo's /ready and the query-frontend's /api/echo. When Tempo is not ready,
// /status/services (where the build serves it) names the module that is not Running, which is what
// an operator needs to know first and what /ready's own "Some services are not Running" omits.
// After one module fails Tempo stops all the others, so the Failed one is named first. Tempo 3 has
// no ingester (live-store, backend-scheduler, backend-worker instead): hints fit the modules listed.
import { Type } from '@sinclair/typebox';
import { HttpUrl } from '../core/fields.js';
import { deadline } from '../util/deadline.js';
import { snippet } from '../util/text.js';
import { joinUrl } from '../util/url.js';
import { defineProber } from './define.js';
import type { ProbeContext } from './types.js';
import { failed, passed } from './common.js';
import { notTempoHint, recentStore, tempoMajor, tempoReasons, tempoRequest, tenantHeaders } from './tempoApi.js';

interface ModuleRow {
  name: string;
  state: string;
  failure: string;
}

export const tempoReadyProber = defineProber({
  fields: Type.Object({
    /** Tempo's HTTP API, e.g. http://tempo:3200. */
    tempo: HttpUrl,
    /** X-Scope-OrgID, for a multi-tenant Tempo. */
    tenant: Type.Optional(Type.String({ minLength: 1 })),
  }),
  reasons: {
    ...tempoReasons,
    not_ready:
      'Tempo is starting (its ingester or live-store joining the ring) or a module is failing: if this lasts beyond a minute, docker logs mystocks-tempo names the module (the message lists those not Running).',
  },
  decode: (f) => ({ tempo: f.tempo, headers: tenantHeaders(f.tenant) }),
  async run(spec, ctx) {
    const readyUrl = joinUrl(spec.tempo, '/ready');
    const answer = await tempoRequest(ctx, readyUrl, { headers: spec.headers });
    if (!answer.ok) return answer.outcome;
    const ready = answer.value;
    const readyText = ready.body.trim();
    if (ready.status !== 200) {
      const { all, modules } = await notRunning(ctx, spec.tempo, spec.headers);
      // The module table says which Tempo this is; without it (not served), buildinfo may.
      const major = all.length ? (all.some((m) => m.name === 'live-store' || m.name === 'backend-scheduler') ? 3 : 2) : await askMajor(ctx, spec.tempo, spec.headers);
      const tempo3 = major !== undefined && major >= 3;
      const { ring } = recentStore(major);
      const named = modules.map((m) => `${m.name} is ${m.state}${m.failure ? ` (${m.failure})` : ''}`);
      const stopping = /application is stopping/i.test(readyText);
      const message = `Tempo is ${stopping ? 'shutting down' : 'not ready'} (HTTP ${ready.status}): ${snippet(readyText, 200)}${named.length ? `; ${named.join(', ')}` : ''}`;
      const [first] = modules;
      let hint: string;
      if (first) {
        const cause = first.state === 'Failed' ? `${first.name} failed${first.failure ? ` (${first.failure})` : ''} and Tempo stopped the others` : `${modules.map((m) => m.name).join(', ')} stopped`;
        hint =
          `${cause}: docker logs mystocks-tempo | grep -i "${first.name}". Usual causes: a storage path Tempo cannot write (storage.trace.local.path, /var/tempo or /tmp/tempo permissions), a bad key in tempo-config.yaml, or the memberlist ring not forming (GET ${ring} on Tempo's HTTP port); restart Tempo once fixed.` +
          (tempo3 ? ' This is Tempo 3: it has no ingester or compactor, and a Tempo 2 config (an ingester: or compactor: block) stops it at start with "failed to parse configFile" in its logs.' : '');
      } else if (stopping) {
        hint =
          'Tempo is shutting down (a docker stop, a restart, or a module failed and Tempo stops them all): docker compose ps and docker logs mystocks-tempo say which; if it restarts in a loop, the log line before "stopping" names the module.';
      } else if (tempo3) {
        hint = `Tempo 3 is starting (the live-store joins its ring: GET ${ring}) or a module is failing: if this lasts beyond a minute, docker logs mystocks-tempo names the module.`;
      } else if (major === 2) {
        hint =
          'Tempo is starting (the ingester waits ingester.lifecycler.min_ready_duration, 15s by default, before it reports ready) or a module is failing: if this lasts beyond a minute, docker logs mystocks-tempo names the module.';
      } else {
        hint = `Tempo is starting (the ingester of Tempo 2 waits ingester.lifecycler.min_ready_duration, 15s by default; the live-store of Tempo 3 joins its ring) or a module is failing: GET ${ring} shows the ring; if this lasts beyond a minute, docker logs mystocks-tempo names the module.`;
      }
      return failed('not_ready', message, hint, { details: { httpStatus: ready.status, tempoMessage: readyText, notRunning: modules, tempoMajor: major } });
    }
    if (readyText !== 'ready') {
      return failed('invalid_response', `${readyUrl} answered HTTP 200 "${snippet(readyText)}", not "ready"`, notTempoHint);
    }

    const echoUrl = joinUrl(spec.tempo, '/api/echo');
    const echoed = await tempoRequest(ctx, echoUrl, { headers: spec.headers });
    if (!echoed.ok) return echoed.outcome;
    const echo = echoed.value;
    if (echo.status !== 200 || echo.body.trim() !== 'echo') {
      return failed(
        echo.status === 200 ? 'invalid_response' : 'http_status',
        `${echoUrl} answered HTTP ${echo.status}: ${snippet(echo.body)} (expected 200 "echo")`,
        '/api/echo is served by the query-frontend: point the URL at a monolithic Tempo or at the query-frontend (port 3200), and check its logs (docker logs mystocks-tempo | grep -i frontend).',
        { details: { httpStatus: echo.status } },
      );
    }
    return passed('Tempo is ready and its query-frontend answers');
  },
});

/**
 * Every module /status/services lists, and those not Running with the Failed ones first (the
 * cause; the others are Stopping because of it); empty when the page is not served.
 */
async function notRunning(ctx: ProbeContext, base: string, headers: Record<string, string>): Promise<{ all: ModuleRow[]; modules: ModuleRow[] }> {
  // Half the time left at most: a status page that hangs must not turn not_ready into a timeout.
  const half = deadline(ctx.signal, (ctx.deadline - ctx.now()) / 2);
  const res = await tempoRequest(ctx, joinUrl(base, '/status/services'), { headers }, half.signal).finally(half.done);
  if (!res.ok || res.value.status !== 200) return { all: [], modules: [] };
  const all = parseServicesTable(res.value.body);
  const down = all.filter((m) => m.state !== 'Running');
  return { all, modules: [...down.filter((m) => m.state === 'Failed'), ...down.filter((m) => m.state !== 'Failed')] };
}

/** Tempo's major version from buildinfo, in half the time left: a hanging answer must not turn not_ready into a timeout. */
async function askMajor(ctx: ProbeContext, base: string, headers: Record<string, string>): Promise<number | undefined> {
  const half = deadline(ctx.signal, (ctx.deadline - ctx.now()) / 2);
  return tempoMajor(ctx, base, headers, half.signal).finally(half.done);
}

/**
 * The go-pretty table Tempo prints: `| SERVICE NAME | STATUS | FAILURE CASE |` then one row per
 * module, between `+---+` rules.
 */
export function parseServicesTable(text: string): ModuleRow[] {
  const rows: ModuleRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) continue;
    const [name = '', state = '', failure = ''] = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (!name || name === 'SERVICE NAME') continue;
    rows.push({ name, state, failure });
  }
  return rows;
}
