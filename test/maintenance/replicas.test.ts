// Maintenance windows shared by two replicas through a two-node Alertmanager cluster's silences
// (issue 21 §1): two daemons in this process, each with its own config file and state folder, so
// nothing but Alertmanager carries a window from one to the other.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Daemon } from '../../src/daemon.js';
import { startAlertmanagerCluster, type AlertmanagerHandle } from '../support/alertmanager.js';
import { startTestDaemon } from '../support/daemon.js';
import { jsonServer } from '../support/misbehaving.js';
import { stays, waitFor } from '../support/wait.js';

const TOKEN = 'replica-token';

async function replica(t: TestContext, nodes: AlertmanagerHandle[], target: string, stateDir: string) {
  const { d, log } = await startTestDaemon(
    t,
    `
alerting:
  alertmanager: { url: [${nodes.map((n) => `"${n.url}"`).join(', ')}], mode: always, resolveTimeout: 4s }
maintenance:
  silence: true
probes:
  - { name: api, kind: http, url: "${target}/", interval: 1s, timeout: 500ms }
`,
    { WATCHDOG_ADMIN_TOKEN: TOKEN, WATCHDOG_STATE_DIR: stateDir },
  );
  return { d, log, count: (msg: string, id?: string) => log.lines.filter((l) => l.msg === msg && (id === undefined || l.id === id)).length };
}

const active = async (d: Daemon) => ((await (await fetch(`${d.url}/maintenance`)).json()) as { active: { id: string }[] }).active.map((w) => w.id);

test('a window opened on replica A holds on B (B posts nothing), survives both restarting, and ends once when B ends it', { timeout: 180_000 }, async (t) => {
  const nodes = await startAlertmanagerCluster();
  for (const n of nodes) t.after(() => n.stop());
  let healthy = true;
  const target = await jsonServer(() => ({ status: healthy ? 200 : 503, body: {} }));
  t.after(() => target.close());
  const dirs = [mkdtempSync(join(tmpdir(), 'watchdog-state-a-')), mkdtempSync(join(tmpdir(), 'watchdog-state-b-'))];
  let a = await replica(t, nodes, target.url, dirs[0]!);
  let b = await replica(t, nodes, target.url, dirs[1]!);

  const res = await fetch(`${a.d.url}/maintenance`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ duration: '10m', reason: 'database upgrade', probes: ['api'] }),
  });
  assert.equal(res.status, 201);
  const { id } = (await res.json()) as { id: string };
  // B reads it back from the silence A made (a sync every 5 s).
  await waitFor("B to take up A's window", async () => (await active(b.d)).includes(id), { timeoutMs: 20_000, describe: () => b.log.lines.filter((l) => String(l.msg).startsWith('maintenance')) });
  assert.equal(b.count('alertmanager silence created for the maintenance window'), 0, 'B adopts the silence, it makes none of its own');

  // The probe fails: neither replica posts it (each would log 'direct alert firing' first).
  healthy = false;
  for (const r of [a, b]) await waitFor('the probe failing', async () => ((await (await fetch(`${r.d.url}/status/api`)).json()) as { status: string }).status === 'failing', { timeoutMs: 15_000 });
  // The direct path posts within 50 ms of a status change and renews every second (resolveTimeout/4):
  // three seconds hold several chances to post.
  const posting = () => a.count('direct alert firing') + b.count('direct alert firing') > 0;
  await stays('a replica posting the probe in the window', posting, Date.now() + 3000);

  // Both restart; B with an empty state folder, so only Alertmanager can tell it about the window.
  await Promise.all([a.d.stop(), b.d.stop()]);
  dirs[1] = mkdtempSync(join(tmpdir(), 'watchdog-state-b2-'));
  a = await replica(t, nodes, target.url, dirs[0]!);
  b = await replica(t, nodes, target.url, dirs[1]);
  assert.deepEqual(await active(a.d), [id]);
  assert.deepEqual(await active(b.d), [id], 'read from the silences at start, before the first tick');
  await waitFor(
    'both probes failing again',
    async () => (await Promise.all([a, b].map(async (r) => ((await (await fetch(`${r.d.url}/status/api`)).json()) as { status: string }).status))).every((s) => s === 'failing'),
    { timeoutMs: 15_000 },
  );
  await stays('a restarted replica posting the probe in the window', posting, Date.now() + 3000);

  // B ends it: its silence is expired, and A ends the window at its next sync, once.
  const del = await fetch(`${b.d.url}/maintenance/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(del.status, 200);
  await waitFor('A to end the window', async () => !(await active(a.d)).includes(id), { timeoutMs: 20_000 });
  assert.equal(a.count('maintenance window ended', id), 1);
  assert.equal(a.count('alertmanager silence expired with the maintenance window', id), 0, 'B expired it; A has nothing to expire');
  // Ended, the probe pages again: from both replicas, one alert in Alertmanager.
  await waitFor('both replicas posting the probe again', () => a.count('direct alert firing') > 0 && b.count('direct alert firing') > 0, { timeoutMs: 20_000 });
});
