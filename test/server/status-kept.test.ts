// GET /status keeps each probe's rendered JSON and table cells between requests and redoes only
// the probes that changed. These tests check that the kept text follows every change a view shows:
// a new result, a threshold being counted, a late start, a reload that changes a probe's spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { touched } from '../../src/engine/result.js';
import { lookupAt } from '../../src/report/maintenance.js';
import { statusReport, statusReportJson, statusTable } from '../../src/report/view.js';
import type { Window } from '../../src/maintenance/windows.js';
import { jsonServer } from '../support/misbehaving.js';
import { engineFor } from '../support/engine.js';

const config = (url: string, severity: string) => `
probes:
  - { name: api, kind: http, url: "${url}/a", severity: ${severity}, failureThreshold: 2 }
  - { name: other, kind: http, url: "${url}/o" }
`;

test('the kept /status JSON and text follow every change of a probe, and equal a fresh rendering', async (t) => {
  let code = 200;
  const target = await jsonServer((req) => ({ status: req.path === '/a' ? code : 200, body: {} }));
  t.after(() => target.close());
  const { engine, close } = engineFor(config(target.url, 'critical'));
  t.after(close);
  const now = Date.now();
  /** The kept JSON must be the document a fresh rendering gives, field for field. */
  const same = () => {
    const kept = statusReportJson(engine.states(), now);
    assert.deepEqual(JSON.parse(kept.json), JSON.parse(JSON.stringify(statusReport(engine.states(), now))));
    assert.equal(kept.status, statusReport(engine.states(), now).status);
    return JSON.parse(kept.json) as { status: string; probes: { name: string; status: string; reason: string; severity: string; details?: Record<string, unknown> }[] };
  };
  const api = () => same().probes.find((p) => p.name === 'api')!;

  assert.equal(api().status, 'pending');
  await engine.runOnce();
  assert.equal(api().status, 'ok');
  assert.match(statusTable(engine.states(), now), /^api +http +OK /m);

  // One failure under failureThreshold 2: still ok, with the count in details; then failing.
  code = 500;
  await engine.runNow('api');
  assert.match(String(api().details?.flapping), /1 of 2 failures/);
  await engine.runNow('api');
  assert.equal(api().status, 'failing');
  assert.equal(api().reason, 'http_status');
  assert.equal(same().status, 'failing');
  assert.match(statusTable(engine.states(), now), /^api +http +FAIL +\S+ +http_status /m);
  assert.equal(same().probes.find((p) => p.name === 'other')!.status, 'ok', 'the other probe is unchanged');

  // A reload that changes only the spec (the severity) shows at the next request.
  engine.load(parseConfig([{ file: 'test.yaml', text: config(target.url, 'warning') }], {}));
  assert.equal(api().severity, 'warning');
  assert.equal(same().status, 'degraded');

  // A change made through touched() (as the scheduler records a late start) shows too.
  touched(engine.state('api')!).lagMs = 120_000;
  assert.equal(api().details?.late, true);
});

test('a maintenance window shows in the kept /status JSON when it opens and leaves it when it ends, with the probe unchanged', async (t) => {
  const target = await jsonServer(() => ({ status: 200, body: {} }));
  t.after(() => target.close());
  const { engine, close } = engineFor(config(target.url, 'critical'));
  t.after(close);
  await engine.runOnce();
  const now = Date.now();
  const window: Window = { id: 'm-0000abcd', source: 'api', reason: 'upgrade', startsAt: now - 1000, endsAt: now + 60_000, selector: { probes: ['api'], kinds: [], labels: {} } };
  let open: Window[] = [];
  const render = () => {
    const lookup = lookupAt({ active: () => open }, now);
    const kept = statusReportJson(engine.states(), now, undefined, lookup);
    assert.deepEqual(JSON.parse(kept.json), JSON.parse(JSON.stringify(statusReport(engine.states(), now, undefined, lookup))));
    return JSON.parse(kept.json) as { maintenance: { id: string }[]; probes: { name: string; maintenance?: { id: string } }[] };
  };
  assert.equal(render().probes.find((p) => p.name === 'api')!.maintenance, undefined);
  open = [window];
  const during = render();
  assert.equal(during.probes.find((p) => p.name === 'api')!.maintenance?.id, 'm-0000abcd');
  assert.equal(during.probes.find((p) => p.name === 'other')!.maintenance, undefined);
  assert.deepEqual(
    during.maintenance.map((w) => w.id),
    ['m-0000abcd'],
  );
  open = [];
  const after = render();
  assert.equal(after.probes.find((p) => p.name === 'api')!.maintenance, undefined, 'the kept JSON of before the window comes back');
  assert.deepEqual(after.maintenance, []);
});
