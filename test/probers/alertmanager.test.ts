// alertmanager_status against a real Alertmanager 0.25, through the engine path (parseConfig + Engine):
// a single node (clustering off, "disabled"), a clustered node held in "settling", stopped and
// restarted, and small HTTP servers for the answers a real Alertmanager does not give on demand.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.js';
import { engineFor } from '../support/engine.js';
import { runProber } from '../support/prober.js';
import { invalidJson, jsonServer, statusServer } from '../support/misbehaving.js';
import { freePort } from '../support/ports.js';
import { makeTempDir, startProcess } from '../support/process.js';

let am: AlertmanagerHandle;

before(async () => {
  am = await startAlertmanager();
});
after(() => am?.stop());

const name = 'alertmanager';
const probeFile = (fields: Record<string, unknown>) => JSON.stringify({ probes: [{ name, kind: 'alertmanager_status', ...fields }] });

const runOnce = (fields: Record<string, unknown>, deps: Parameters<typeof runProber>[2] = {}) => runProber('alertmanager_status', { name, ...fields }, deps);

test('a single node with clustering off ("disabled") is healthy: ok, value 1', async () => {
  const r = await runOnce({ alertmanager: am.url });
  assert.equal(r.status, 'ok');
  assert.equal(r.message, 'ready; clustering disabled (single node)');
  assert.equal(r.value, 1);
  assert.equal(r.details?.clusterStatus, 'disabled');
  assert.equal(r.details?.version, '0.25.0');
});

test('stopped: connect with the Alertmanager hint; started again: ok', async () => {
  await am.stop();
  const down = await runOnce({ alertmanager: am.url });
  assert.equal(down.status, 'failing');
  assert.equal(down.reason, 'connect');
  assert.match(down.hint!, /^Alertmanager does not answer: check its container/);

  await am.start();
  const back = await runOnce({ alertmanager: am.url });
  assert.equal(back.reason, 'ok');
});

/** A clustered Alertmanager gossiping on loopback only; it settles over 10 gossip intervals. */
async function startClustered(t: TestContext, gossipInterval: string): Promise<string> {
  const dir = makeTempDir('alertmanager-cluster');
  const config = join(dir, 'am.yml');
  writeFileSync(config, JSON.stringify({ route: { receiver: 'blackhole' }, receivers: [{ name: 'blackhole' }] }));
  const [webPort, clusterPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${webPort}`;
  const proc = await startProcess({
    name: 'alertmanager-cluster',
    command: 'prometheus-alertmanager',
    args: [
      `--config.file=${config}`,
      `--web.listen-address=127.0.0.1:${webPort}`,
      `--cluster.listen-address=127.0.0.1:${clusterPort}`,
      `--cluster.advertise-address=127.0.0.1:${clusterPort}`,
      `--cluster.gossip-interval=${gossipInterval}`,
      '--cluster.settle-timeout=1h',
      `--storage.path=${dir}`,
    ],
    cwd: dir,
    logFile: join(dir, 'alertmanager.log'),
    readyUrl: `${url}/-/ready`,
  });
  t.after(() => proc.stop());
  return url;
}

test('a clustered node that has settled: ok, value = peers', async (t) => {
  const url = await startClustered(t, '200ms');
  const deadline = Date.now() + 30_000;
  let r = await runOnce({ alertmanager: url });
  while (r.details?.clusterStatus === 'settling' && Date.now() < deadline) {
    await sleep(500);
    r = await runOnce({ alertmanager: url });
  }
  assert.equal(r.status, 'ok');
  assert.equal(r.message, 'ready; cluster ready with 1 peer');
  assert.equal(r.value, 1);
});

test('a clustered node that cannot settle: ok within the grace, cluster_settling after it', async (t) => {
  // At 1m per gossip it reports "settling" for 10 minutes, like a node whose peers never answer.
  const url = await startClustered(t, '1m');

  const within = await runOnce({ alertmanager: url, settlingGrace: '1m' });
  assert.equal(within.status, 'ok');
  assert.match(within.message, /^ready; cluster settling for \d+s since start \(grace 1m\), 1 peer$/);
  assert.equal(within.value, 1);

  // 1.5 s later by the probe's clock (injected), not by a sleep: past the 1 s grace however busy the machine.
  const late = await runOnce({ alertmanager: url, settlingGrace: '1s' }, { now: () => Date.now() + 1500 });
  assert.equal(late.status, 'failing');
  assert.equal(late.reason, 'cluster_settling');
  assert.match(late.message, /^cluster still settling for \d+s since start \(grace 1s\), 1 peer$/);
  assert.match(late.hint!, /--cluster\.peer/);
  assert.match(late.hint!, /--cluster\.listen-address= \(empty\)/);
  assert.equal(late.value, 1);
  assert.ok((late.details?.settlingSeconds as number) >= 1);
});

test('/-/ready not 200: not_ready', async (t) => {
  const unready = await statusServer(503);
  t.after(() => unready.close());
  const r = await runOnce({ alertmanager: unready.url });
  assert.equal(r.reason, 'not_ready');
  assert.equal(r.message, `${unready.url}/-/ready answered HTTP 503: 503 Service Unavailable`);
  assert.match(r.hint!, /amtool check-config/);
});

test('a status that is not JSON, lacks cluster.status, or names an unknown state: invalid_response', async (t) => {
  const garbage = await invalidJson();
  t.after(() => garbage.close());
  const notJson = await runOnce({ alertmanager: garbage.url });
  assert.equal(notJson.reason, 'invalid_response');
  assert.equal(notJson.message, `${garbage.url}/api/v2/status answered HTTP 200 with a body that is not JSON: {"status": "success", "data": [`);

  const v1 = await jsonServer(() => ({ status: 200, body: { status: 'success', data: {} } }));
  t.after(() => v1.close());
  const shapeless = await runOnce({ alertmanager: v1.url });
  assert.equal(shapeless.reason, 'invalid_response');
  assert.equal(shapeless.message, `${v1.url}/api/v2/status answered without cluster.status and uptime: {"status":"success","data":{}}`);

  const odd = await jsonServer(() => ({ status: 200, body: { cluster: { status: 'degraded', peers: [] }, uptime: new Date().toISOString() } }));
  t.after(() => odd.close());
  const unknown = await runOnce({ alertmanager: odd.url });
  assert.equal(unknown.reason, 'invalid_response');
  assert.equal(unknown.message, `${odd.url}/api/v2/status reports an unknown cluster.status "degraded" (expected ready, settling or disabled)`);
});

test('bad configs are refused with exact messages', () => {
  const refused = (fields: Record<string, unknown>, problem: string) => assert.throws(() => engineFor(probeFile(fields)), { problems: [`test.yaml: probe "${name}": ${problem}`] });
  refused({ alertmanager: am.url, settlingGrace: 'soon' }, 'settlingGrace: expected a duration such as "500ms", "30s", "5m" or "1h", got "soon"');
  refused({ alertmanager: 'alertmanager:9093' }, 'alertmanager: expected an http:// or https:// URL, got "alertmanager:9093"');
  refused({}, 'alertmanager: required field is missing');
});
