// Two watchdog processes against a real two-node Alertmanager cluster on loopback (issue 21 §1): both
// post the same direct alert to both nodes (alerting.alertmanager.url as a list), and the cluster's
// notification log turns that into one notification per repeat interval, from whichever node is alive.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { startAlertmanagerCluster } from '../support/alertmanager.js';
import { webhook } from '../support/alert-route.js';
import { closedPort } from '../support/misbehaving.js';
import { startWatchdog, type RunningWatchdog } from '../support/watchdog-process.js';
import { stays, waitFor } from '../support/wait.js';

/*
 * The cluster's timings, short so the test runs in about a minute, and chosen so that deduplication
 * does not depend on luck. Both nodes get each post at the same moment, so their groups flush on the
 * same group_interval ticks. At a tick the first node (by position in the peer list) looks in the
 * notification log and sends at once; the second waits PEER_TIMEOUT, then looks in the log, which the
 * first node's entry reaches by gossip (every 200 ms) long before that. Alertmanager 0.25 judges the
 * repeat interval by the time of that look, not of the tick, so at a repeat either node may be the
 * first to find the interval over: the other one's look then comes PEER_TIMEOUT or
 * GROUP_INTERVAL - PEER_TIMEOUT later, both 2 s here, time enough for the gossip. With a peer timeout
 * over the group interval (1s/2s, tried first) the looks fell within gossip time of each other and
 * the repeat came twice.
 */
const GROUP_INTERVAL_S = 4;
const PEER_TIMEOUT_S = 2;
const REPEAT_S = 12;
/**
 * After a notification, a duplicate from the other node would come at its next look: within one
 * group_interval (PEER_TIMEOUT or GROUP_INTERVAL - PEER_TIMEOUT later); 3 s more covers a loaded 2-core
 * machine. It stays under REPEAT, so the next repeat cannot land in it.
 */
const QUIET_MS = (GROUP_INTERVAL_S + 3) * 1000;

interface Notification {
  externalURL: string;
  status: string;
  groupLabels: Record<string, string>;
}

async function watchdog(t: TestContext, configText: string): Promise<RunningWatchdog> {
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-replica-'));
  writeFileSync(join(dir, 'probes.yaml'), configText);
  const w = await startWatchdog(dir, { WATCHDOG_STATE_DIR: join(dir, 'state') });
  t.after(async () => {
    w.child.kill('SIGTERM');
    await w.exited;
  });
  return w;
}

test('two watchdogs, a two-node Alertmanager cluster: one notification per repeat interval; with one node killed the other delivers', { timeout: 240_000 }, async (t) => {
  const hook = await webhook(t);
  const started = Date.now();
  const nodes = await startAlertmanagerCluster({
    peerTimeout: `${PEER_TIMEOUT_S}s`,
    config: {
      route: { receiver: 'hook', group_by: ['alertname', 'probe'], group_wait: '1s', group_interval: `${GROUP_INTERVAL_S}s`, repeat_interval: `${REPEAT_S}s` },
      receivers: [{ name: 'hook', webhook_configs: [{ url: hook.url, send_resolved: false }] }],
    },
  });
  for (const n of nodes) t.after(() => n.stop());

  // Prometheus is down (its readiness probe finds a closed port), and a critical probe fails.
  const prometheus = await closedPort();
  const app = await closedPort();
  const config = `alerting:
  alertmanager:
    url: [${nodes.map((n) => `"${n.url}"`).join(', ')}]
    # Renewed every 5 s (a quarter of it): the replicas find the killed node within seconds.
    resolveTimeout: 20s
probes:
  - { name: prometheus-ready, kind: tcp, address: "${prometheus.hostPort}", interval: 2s, timeout: 1s }
  - { name: app, kind: tcp, address: "${app.hostPort}", interval: 2s, timeout: 1s, severity: critical }
`;
  const replicas = [await watchdog(t, config), await watchdog(t, config)];

  // group_by alertname and probe: the guard's alert (Prometheus down) is a group of its own; this counts the app's.
  const notifications = () => hook.received.filter((r) => (r.json as Notification).groupLabels.probe === 'app').map((r) => ({ ...(r.json as Notification), at: r.at }));
  const seen = () => ({
    notifications: hook.received.map(
      (r) => `${(r.json as Notification).status} for ${(r.json as Notification).groupLabels.probe} from ${(r.json as Notification).externalURL} at +${r.at - started} ms`,
    ),
    nodes: nodes.map((n) => `${n.url} running=${n.isRunning()}`),
  });
  const waitForCount = (count: number, what: string, timeoutMs: number) => waitFor(what, () => notifications().length >= count, { timeoutMs, intervalMs: 100, describe: seen });
  // Both replicas have posted to both nodes: the alert is each node's own (alerts are not gossiped).
  for (const node of nodes)
    await waitFor(
      `the app alert on ${node.url}`,
      async () => {
        const alerts = (await (await fetch(`${node.url}/api/v2/alerts?filter=${encodeURIComponent('probe="app"')}`)).json()) as unknown[];
        return alerts.length === 1;
      },
      { timeoutMs: 20_000, describe: seen },
    );
  await waitFor('both replicas posting', () => replicas.every((w) => w.logs.some((l) => l.msg === 'direct alert firing' && l.probe === 'app')), { timeoutMs: 20_000 });

  await waitForCount(1, 'the first notification', 20_000);
  await stays('a second notification for two watchdogs and two nodes', () => notifications().length > 1, notifications()[0]!.at + QUIET_MS, { describe: seen });

  // The next repeat: again exactly one.
  await waitForCount(2, 'the repeat notification', (REPEAT_S + PEER_TIMEOUT_S + 10) * 1000);
  assert.ok(notifications()[1]!.at - notifications()[0]!.at >= (REPEAT_S - 1) * 1000, `the repeat after the repeat interval: ${JSON.stringify(seen())}`);
  await stays('a second notification in one repeat interval', () => notifications().length > 2, notifications()[1]!.at + QUIET_MS, { describe: seen });

  // The node that sent it dies: the other one delivers the next repeat (its notification log has the
  // last one, gossiped, so it waits out the repeat interval rather than paging again at once).
  const sender = notifications().at(-1)!.externalURL;
  const killed = nodes.find((n) => n.url === sender);
  assert.ok(killed, `a notification names its node: ${sender}`);
  await killed.stop();
  const survivor = nodes.find((n) => n !== killed)!;
  // memberlist needs a few probe intervals to declare the node dead; until then the survivor waits its position's PEER_TIMEOUT too.
  await waitForCount(3, 'a notification from the surviving node', (REPEAT_S + 2 * PEER_TIMEOUT_S + 15) * 1000);
  assert.equal(notifications()[2]!.externalURL, survivor.url, JSON.stringify(seen()));
  // The replicas log the dead node once and go on posting to the other.
  await waitFor('the replicas to notice the dead node', () => replicas.every((w) => w.logs.some((l) => l.msg === 'alertmanager unreachable' && String(l.url).startsWith(killed.url))), {
    timeoutMs: 30_000,
    describe: () => replicas.map((w) => w.logs.filter((l) => String(l.msg).startsWith('alertmanager')).map((l) => `${String(l.msg)} ${String(l.url)}`)),
  });
});
