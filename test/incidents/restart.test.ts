// Incidents outlive a restart: the real daemon process, stopped and started again on the same state dir.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { IncidentList, ProbeDetail } from '../../src/report/schemas.js';
import { jsonServer } from '../support/misbehaving.js';
import { waitFor } from '../support/wait.js';
import { startWatchdog, type RunningWatchdog } from '../support/watchdog-process.js';

async function incidents(w: RunningWatchdog): Promise<IncidentList['incidents']> {
  return ((await (await fetch(`${w.url}/incidents`)).json()) as IncidentList).incidents;
}

test('an incident open when the daemon stops is still open after it starts again on the same state dir, and ends at the first ok run', async (t) => {
  let healthy = false;
  const target = await jsonServer(() => ({ status: healthy ? 200 : 503, body: {} }));
  t.after(() => target.close());
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-incidents-restart-'));
  writeFileSync(join(dir, 'probes.yaml'), `probes:\n  - { name: api, kind: http, url: "${target.url}/", interval: 1s, timeout: 500ms }\n`);
  const env = { WATCHDOG_STATE_DIR: join(dir, 'state') };

  const first = await startWatchdog(dir, env);
  t.after(() => first.child.kill('SIGKILL'));
  const opened = await waitFor('an open incident of api', async () => (await incidents(first)).find((i) => i.open), { describe: () => first.logs.slice(-3) });
  assert.equal(opened.probe, 'api');
  assert.deepEqual(opened.reasons, ['http_status']);
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);

  const second = await startWatchdog(dir, env);
  t.after(() => second.child.kill('SIGKILL'));
  assert.ok(second.logs.some((l) => l.msg === 'incidents restored from the state file'));
  const kept = await incidents(second);
  assert.deepEqual(
    kept.map((i) => [i.start, i.end]),
    [[opened.start, null]],
    'the same incident, still open: nobody has seen api ok since',
  );
  healthy = true;
  const ended = await waitFor('the incident to end', async () => (await incidents(second)).find((i) => !i.open), { describe: () => second.logs.slice(-3) });
  assert.equal(ended.start, opened.start);
  const recovered = second.logs.find((l) => l.msg === 'probe recovered' || l.msg === 'probe ok');
  assert.ok(recovered, 'the daemon logged the first ok run');
  assert.ok(Date.parse(ended.end!) > Date.parse(opened.start));
  const detail = (await (await fetch(`${second.url}/status/api`)).json()) as ProbeDetail;
  assert.deepEqual(
    detail.incidents?.map((i) => i.end),
    [ended.end],
  );
  assert.ok(detail.availability!.hour! < 1 && detail.availability!.hour! > 0, JSON.stringify(detail.availability));
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);

  // A third start finds it ended: the end was written too.
  const third = await startWatchdog(dir, env);
  t.after(() => third.child.kill('SIGKILL'));
  assert.deepEqual(
    (await incidents(third)).map((i) => [i.start, i.end]),
    [[opened.start, ended.end]],
  );
  third.child.kill('SIGTERM');
  assert.equal(await third.exited, 0);
});
