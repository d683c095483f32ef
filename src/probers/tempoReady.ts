// kind: tempo_ready — Tempo's /ready and the query-frontend's /api/echo. When Tempo is not ready,
// /status/services (where the build serves it) names the module that is not Running, which is what
// an operator needs to know first and what /ready's own "Some services are not Running" omits.
import { Type } from '@sinclair/typebox';
import { HttpUrl } from '../core/fields.js';
import { deadline } from '../util/deadline.js';
import { snippet } from '../util/text.js';
import { joinUrl } from '../util/url.js';
import { defineProber } from './define.js';
import type { ProbeContext } from './types.js';
import { failed, passed } from './common.js';
import { notTempoHint, tempoRequest } from './tempoApi.js';

interface ModuleRow {
  name: string;
  state: string;
  failure: string;
}

export const tempoReadyProber = defineProber({
  fields: Type.Object({
    /** Tempo's HTTP API, e.g. http://tempo:3200. */
    tempo: HttpUrl,
  }),
  decode: (f) => ({ tempo: f.tempo }),
  async run(spec, ctx) {
    const readyUrl = joinUrl(spec.tempo, '/ready');
    const answer = await tempoRequest(ctx, readyUrl);
    if (!answer.ok) return answer.outcome;
    const ready = answer.value;
    const readyText = ready.body.trim();
    if (ready.status !== 200) {
      const modules = await notRunning(ctx, spec.tempo);
      const named = modules.map((m) => `${m.name} is ${m.state}${m.failure ? ` (${m.failure})` : ''}`);
      const message = `Tempo is not ready (HTTP ${ready.status}): ${snippet(readyText, 200)}${named.length ? `; ${named.join(', ')}` : ''}`;
      const [first] = modules;
      const hint = first
        ? `Read why ${modules.map((m) => m.name).join(', ')} stopped: docker logs mystocks-tempo | grep -i "${first.name}". Usual causes: a storage path Tempo cannot write (storage.trace.local.path, /tmp/tempo/traces permissions), a bad key in tempo-config.yaml, or the memberlist ring not forming; restart Tempo once fixed.`
        : 'Tempo is starting (the ingester waits ingester.lifecycler.min_ready_duration, 15s by default, before it reports ready) or a module is failing: if this lasts beyond a minute, docker logs mystocks-tempo names the module.';
      return failed('not_ready', message, hint, { details: { httpStatus: ready.status, tempoMessage: readyText, notRunning: modules } });
    }
    if (readyText !== 'ready') {
      return failed('invalid_response', `${readyUrl} answered HTTP 200 "${snippet(readyText)}", not "ready"`, notTempoHint);
    }

    const echoUrl = joinUrl(spec.tempo, '/api/echo');
    const echoed = await tempoRequest(ctx, echoUrl);
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

/** Modules /status/services lists as anything but Running; empty when the page is not served. */
async function notRunning(ctx: ProbeContext, base: string): Promise<ModuleRow[]> {
  // Half the time left at most: a status page that hangs must not turn not_ready into a timeout.
  const half = deadline(ctx.signal, (ctx.deadline - ctx.now()) / 2);
  const res = await tempoRequest(ctx, joinUrl(base, '/status/services'), {}, half.signal).finally(half.done);
  if (!res.ok || res.value.status !== 200) return [];
  return parseServicesTable(res.value.body).filter((m) => m.state !== 'Running');
}

/**
 * The go-pretty table Tempo prints: `| SERVICE NAME | STATUS | FAILURE CASE |` then one row per
 * module, between `+---+` rules.
 */
export function parseServicesTable(text: string): ModuleRow[] {
  const rows: ModuleRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) continue;
    const [name = '', state = '', failure = ''] = line.split('|').slice(1, -1).map((c) => c.trim());
    if (!name || name === 'SERVICE NAME') continue;
    rows.push({ name, state, failure });
  }
  return rows;
}
