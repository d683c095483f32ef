// The daemon renders each probe once per change for every view together (src/report/rendered.ts):
// GET /status, the text table, the page and /metrics join the kept pieces. A maintenance window
// opens and ends without the probe changing, so these tests check that the views follow the window
// anyway, and that what is joined is what a fresh rendering of the same state gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { Window } from '../../src/maintenance/windows.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { lookupAt } from '../../src/report/maintenance.js';
import { statusPage } from '../../src/report/page.js';
import { ProbeRenderings } from '../../src/report/rendered.js';
import type { MaintenanceList } from '../../src/report/schemas.js';
import { statusReport } from '../../src/report/view.js';
import { jsonServer } from '../support/misbehaving.js';
import { captureLogger } from '../support/engine.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'rendered-token';

/** Two probes that run once and then not for an hour, so only a window can change what the views show. */
async function watchdog(t: { after: (fn: () => unknown) => void }): Promise<Daemon> {
  const up = await jsonServer(() => ({ status: 200, body: {} }));
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-rendered-'));
  writeFileSync(
    join(dir, 'probes.yaml'),
    `
probes:
  - { name: api, kind: http, url: "${up.url}/a", interval: 1h }
  - { name: other, kind: http, url: "${up.url}/o", interval: 1h }
`,
  );
  const settings = readSettings({ WATCHDOG_CONFIG: join(dir, 'probes.yaml'), WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_ADMIN_TOKEN: TOKEN, WATCHDOG_STACK: 'shop' });
  const d = await startDaemon(settings, { logger: captureLogger('warn').logger, processMetrics: false });
  t.after(async () => {
    await d.stop();
    await up.close();
  });
  await waitFor('both probes ok', () => d.engine.states().every((s) => s.current.status === 'ok'), {
    timeoutMs: 10_000,
    describe: () => d.engine.states().map((s) => `${s.spec.name}: ${s.current.status}`),
  });
  return d;
}

interface Views {
  status: { generatedAt: string; probes: { name: string; maintenance?: { id: string } }[] };
  page: string;
  text: string;
  metrics: string;
}

async function views(d: Daemon): Promise<Views> {
  const get = async (path: string, accept = '*/*') => {
    const res = await fetch(`${d.url}${path}`, { headers: { accept } });
    assert.equal(res.status, 200, `GET ${path}`);
    return res.text();
  };
  return {
    status: JSON.parse(await get('/status')) as Views['status'],
    page: await get('/', 'text/html'),
    text: await get('/status?format=text'),
    metrics: await get('/metrics'),
  };
}

/** The open windows as the daemon lists them, back as the Window values its views were rendered with. */
async function openWindows(d: Daemon): Promise<Window[]> {
  const res = await fetch(`${d.url}/maintenance`);
  const list = (await res.json()) as MaintenanceList;
  return list.active.map((w) => ({
    id: w.id,
    source: w.source,
    reason: w.reason,
    startsAt: Date.parse(w.startsAt),
    endsAt: Date.parse(w.until),
    selector: { probes: w.probes, kinds: w.kinds, labels: w.labels },
  }));
}

/** The page as a fresh rendering (no kept pieces) gives it at the moment the served page says it was made. */
async function freshPage(d: Daemon, served: string): Promise<string> {
  const asOf = /As of <time datetime="([^"]+)">/.exec(served)?.[1];
  assert.ok(asOf, 'the page says when it was made');
  const now = Date.parse(asOf);
  const windows = await openWindows(d);
  return statusPage(d.engine.states(), now, lookupAt({ active: () => windows }, now), new ProbeRenderings(), d.app.watchdog.incidents);
}

/** /status as a fresh rendering gives it at the moment the served one says it was made. */
async function freshStatus(d: Daemon, served: Views['status']): Promise<unknown> {
  const now = Date.parse(served.generatedAt);
  const windows = await openWindows(d);
  return JSON.parse(JSON.stringify(statusReport(d.engine.states(), now, d.discovery?.current(), lookupAt({ active: () => windows }, now))));
}

/** The per-probe families of an exposition kept with each probe's rendering (watchdog_probe_maintenance is written apart, at every scrape). */
function probeSeries(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('watchdog_probe_') && !l.startsWith('watchdog_probe_maintenance'));
}

test('a maintenance window opening and ending re-renders the probes it covers in /status, the page and the text view; /metrics keeps its lines', async (t) => {
  const d = await watchdog(t);
  const versions = () => d.engine.states().map((s) => `${s.spec.name}@${s.version}`);
  const before = await views(d);
  const seen = versions();
  assert.deepEqual(
    before.status.probes.map((p) => p.maintenance),
    [undefined, undefined],
  );
  assert.doesNotMatch(before.page, /data-maintenance=/);
  assert.deepEqual(before.status, await freshStatus(d, before.status));
  assert.equal(before.page, await freshPage(d, before.page));

  const opened = await fetch(`${d.url}/maintenance`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ duration: '1h', reason: 'upgrading <api>', probes: ['api'] }),
  });
  assert.equal(opened.status, 201);
  const { id } = (await opened.json()) as { id: string };

  const during = await views(d);
  assert.deepEqual(versions(), seen, 'no probe ran or changed: only the window can have changed the views');
  assert.equal(during.status.probes.find((p) => p.name === 'api')?.maintenance?.id, id);
  assert.equal(during.status.probes.find((p) => p.name === 'other')?.maintenance, undefined);
  assert.deepEqual(during.status, await freshStatus(d, during.status));
  assert.match(during.page, new RegExp(`id="probe-api" data-probe="api" data-status="ok" data-maintenance="${id}"`));
  assert.match(during.page, /until <time[^>]*>[^<]*<\/time> \(m-[0-9a-f]+\): upgrading &#60;api&#62;; pages nobody/);
  assert.doesNotMatch(during.page, /data-probe="other"[^>]*data-maintenance/);
  assert.equal(during.page, await freshPage(d, during.page));
  assert.match(during.text, new RegExp(`^maintenance ${id}: api until `, 'm'));
  assert.match(during.metrics, /^watchdog_probe_maintenance\{probe="api",stack="shop"\} 1$/m);
  assert.deepEqual(probeSeries(during.metrics), probeSeries(before.metrics), 'a window prints nothing in the per-probe lines');

  const closed = await fetch(`${d.url}/maintenance/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(closed.status, 200);
  const after = await views(d);
  assert.deepEqual(versions(), seen);
  assert.deepEqual(
    after.status.probes.map((p) => p.maintenance),
    [undefined, undefined],
    'the window left the JSON with the probe unchanged',
  );
  assert.doesNotMatch(after.page, /data-maintenance=|MAINTENANCE/);
  assert.deepEqual(after.status, await freshStatus(d, after.status));
  assert.equal(after.page, await freshPage(d, after.page));
  assert.doesNotMatch(after.text, /^maintenance /m);
  assert.match(after.metrics, /^watchdog_probe_maintenance\{probe="api",stack="shop"\} 0$/m);
});

test("the daemon's /metrics joins the lines kept with the other views: the same series a registry of its own writes", async (t) => {
  const d = await watchdog(t);
  const served = await (await fetch(`${d.url}/metrics`)).text();
  const own = createMetrics({ engine: d.engine, version: 'test', stack: d.stack.name, reloadStatus: () => ({ ok: true, at: 0 }), processMetrics: false });
  assert.deepEqual(probeSeries(served), probeSeries(await own.metrics()));
  assert.ok(probeSeries(served).some((l) => l.startsWith('watchdog_probe_success{probe="api",kind="http",stack="shop"} 1')));
  // A run changes the kept lines of that probe, and /metrics shows the new ones: a run that leaves the
  // status as it was shows within BLOCK_MAX_AGE_MS of the last scrape (src/metrics/probeFamilies.ts),
  // in both registries alike.
  await d.engine.runNow('api');
  const secondRun = /^watchdog_probe_runs_total\{probe="api",kind="http",stack="shop",result="ok"\} 2$/m;
  let next = '';
  let ownText = '';
  await waitFor(
    'both registries to show the second run',
    async () => {
      next = await (await fetch(`${d.url}/metrics`)).text();
      ownText = await own.metrics();
      return secondRun.test(next) && secondRun.test(ownText);
    },
    { describe: () => ({ served: probeSeries(next).filter((l) => l.startsWith('watchdog_probe_runs_total')), own: probeSeries(ownText).filter((l) => l.startsWith('watchdog_probe_runs_total')) }) },
  );
  assert.deepEqual(probeSeries(next), probeSeries(ownText));
});
