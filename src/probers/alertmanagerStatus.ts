// kind: alertmanager_status — Alertmanager is ready and its cluster is in a state that sends notifications.
// https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml (alertmanagerStatus, clusterStatus)
// cluster.status is "ready", "settling" or "disabled". A single node runs with clustering off and
// reports "disabled", which is healthy. "settling" is normal for a while after start; a cluster whose
// peers cannot gossip stays there. How long it has settled is read from `uptime` (the process start
// time Alertmanager reports), so the probe keeps no memory between runs and a restart of either side
// changes nothing. Both clocks are the same host's in compose; a skewed clock would shift the grace.
import { Type } from '@sinclair/typebox';
import { Duration, HttpUrl } from '../core/fields.js';
import { formatDuration, formatSeconds } from '../util/format.js';
import { snippet } from '../util/text.js';
import { joinUrl } from '../util/url.js';
import { defineProber } from './define.js';
import { attempt, failed, fetchJson, httpReasons, passed } from './common.js';

interface Status {
  cluster?: { status?: unknown; peers?: unknown; name?: string };
  uptime?: unknown;
  versionInfo?: { version?: string };
}

const defaultGrace = '2m';

const hints = {
  down: 'Alertmanager does not answer: check its container (docker ps -a, docker logs mystocks-alertmanager); an error in alertmanager.yml stops it at start (`amtool check-config alertmanager.yml`), and ALERTMANAGER_URL must name the compose service and port 9093.',
  not_ready:
    'Alertmanager runs but is not ready yet: it is still loading its configuration or data. Read docker logs mystocks-alertmanager; `amtool check-config alertmanager.yml` shows configuration errors.',
  cluster_settling:
    'The Alertmanager cluster has not settled, so its peers cannot gossip: check the --cluster.peer addresses and that port 9094 (TCP and UDP) is reachable between the Alertmanagers (docker logs mystocks-alertmanager shows the memberlist errors). ' +
    'A single Alertmanager should run with clustering off: --cluster.listen-address= (empty).',
  invalid: "Something other than Alertmanager's v2 API answered: check that the URL points at Alertmanager (port 9093) with no extra path.",
};

export const alertmanagerStatusProber = defineProber({
  fields: Type.Object({
    alertmanager: HttpUrl,
    /** How long "settling" after start still counts as healthy; default 2m. */
    settlingGrace: Type.Optional(Duration),
  }),
  reasons: {
    ...httpReasons,
    connect: hints.down,
    timeout: hints.down,
    reset: hints.down,
    dns: hints.down,
    http_status: hints.down,
    invalid_response: hints.invalid,
    not_ready: hints.not_ready,
    cluster_settling: hints.cluster_settling,
  },
  decode: (f, d) => ({ alertmanager: f.alertmanager, settlingGraceMs: d.duration('settlingGrace', f.settlingGrace ?? defaultGrace) }),
  async run(spec, ctx) {
    const readyUrl = joinUrl(spec.alertmanager, '/-/ready');
    const answer = await attempt(() => ctx.http.request(readyUrl, { signal: ctx.signal, maxBytes: 64 * 1024 }), hints.down);
    if (!answer.ok) return answer.outcome;
    const ready = answer.value;
    if (ready.status !== 200) return failed('not_ready', `${readyUrl} answered HTTP ${ready.status}: ${snippet(ready.body)}`, hints.not_ready, { details: { httpStatus: ready.status } });

    const statusUrl = joinUrl(spec.alertmanager, '/api/v2/status');
    const ans = await fetchJson(ctx, statusUrl, { hint: hints.down });
    if (!ans.ok) return ans.outcome;
    const status = ans.value.json as Status | null;
    const cluster = status?.cluster?.status;
    const peers = Array.isArray(status?.cluster?.peers) ? status.cluster.peers.length : 0;
    const startedAt = typeof status?.uptime === 'string' ? Date.parse(status.uptime) : Number.NaN;
    if (typeof cluster !== 'string' || Number.isNaN(startedAt)) {
      return failed('invalid_response', `${statusUrl} answered without cluster.status and uptime: ${snippet(JSON.stringify(status))}`, hints.invalid);
    }
    const details = { clusterStatus: cluster, peers, startedAt: status?.uptime, version: status?.versionInfo?.version };

    if (cluster === 'disabled') return passed('ready; clustering disabled (single node)', { value: 1, details });
    if (cluster === 'ready') return passed(`ready; cluster ready with ${peers} ${peers === 1 ? 'peer' : 'peers'}`, { value: peers, details });
    if (cluster === 'settling') {
      const graceMs = spec.settlingGraceMs;
      const settlingMs = Math.max(0, ctx.now() - startedAt);
      const since = `settling for ${formatSeconds(settlingMs)} since start (grace ${formatDuration(graceMs)}), ${peers} ${peers === 1 ? 'peer' : 'peers'}`;
      const extra = { value: peers, details: { ...details, settlingSeconds: Math.round(settlingMs / 1000) } };
      return settlingMs > graceMs ? failed('cluster_settling', `cluster still ${since}`, hints.cluster_settling, extra) : passed(`ready; cluster ${since}`, extra);
    }
    return failed('invalid_response', `${statusUrl} reports an unknown cluster.status "${snippet(cluster, 40)}" (expected ready, settling or disabled)`, hints.invalid, { details });
  },
});
