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
import { defineProber } from './define.js';
import { failed, passed } from './common.js';
import { alertmanagerHints as hints, alertmanagerReady, alertmanagerReasons, alertmanagerStatus, statusWithout } from './alertmanagerApi.js';

const defaultGrace = '2m';

export const alertmanagerStatusProber = defineProber({
  fields: Type.Object({
    alertmanager: HttpUrl,
    /** How long "settling" after start still counts as healthy; default 2m. */
    settlingGrace: Type.Optional(Duration),
  }),
  reasons: {
    ...alertmanagerReasons,
    not_ready: hints.not_ready,
    cluster_settling: hints.cluster_settling,
  },
  decode: (f, d) => ({ alertmanager: f.alertmanager, settlingGraceMs: d.duration('settlingGrace', f.settlingGrace ?? defaultGrace) }),
  async run(spec, ctx) {
    const ready = await alertmanagerReady(ctx, spec.alertmanager);
    if (!ready.ok) return ready.outcome;
    const ans = await alertmanagerStatus(ctx, spec.alertmanager);
    if (!ans.ok) return ans.outcome;
    const status = ans.value;
    const { clusterStatus: cluster, peers, startedAt } = status;
    if (cluster === undefined || startedAt === undefined) return statusWithout(status, 'cluster.status and uptime');
    const details = { clusterStatus: cluster, peers, startedAt: status.uptime, version: status.version };

    if (cluster === 'disabled') return passed('ready; clustering disabled (single node)', { value: 1, details });
    if (cluster === 'ready') return passed(`ready; cluster ready with ${peers} ${peers === 1 ? 'peer' : 'peers'}`, { value: peers, details });
    if (cluster === 'settling') {
      const graceMs = spec.settlingGraceMs;
      const settlingMs = Math.max(0, ctx.now() - startedAt);
      const since = `settling for ${formatSeconds(settlingMs)} since start (grace ${formatDuration(graceMs)}), ${peers} ${peers === 1 ? 'peer' : 'peers'}`;
      const extra = { value: peers, details: { ...details, settlingSeconds: Math.round(settlingMs / 1000) } };
      return settlingMs > graceMs ? failed('cluster_settling', `cluster still ${since}`, hints.cluster_settling, extra) : passed(`ready; cluster ${since}`, extra);
    }
    return failed('invalid_response', `${status.url} reports an unknown cluster.status "${snippet(cluster, 40)}" (expected ready, settling or disabled)`, hints.invalid, { details });
  },
});
