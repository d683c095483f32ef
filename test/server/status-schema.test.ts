// GET /status sends JSON it joined from each probe's kept text, past fastify's serializer (see
// src/server/plugins/status.ts). This holds a real daemon's reply to its StatusReport schema: every
// field of the right type (TypeBox's compiler), and no field the schema does not declare (what a
// serializer would have dropped), with ok, failing, blocked, maintenance probes and discovery's state in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon.js';
import { readView, StatusReport, ProbeDetail, MaintenanceList } from '../../src/report/schemas.js';
import { captureLogger, eventually } from '../support/engine.js';
import { closedPort, jsonServer } from '../support/misbehaving.js';
import { farDailyWindow } from '../support/time.js';

const TOKEN = 'status-schema';

/** The reply read as its schema says, and nothing more: Value.Clean drops what the schema does not declare. */
function holdsTo<T extends Parameters<typeof Value.Clean>[0]>(schema: T, body: unknown, what: string) {
  const read = readView(schema, body);
  assert.ok(read.ok, `${what}: ${read.ok ? '' : read.problem}\n${JSON.stringify(body)}`);
  assert.deepEqual(Value.Clean(schema, structuredClone(body)), body, `${what}: a field the schema does not declare`);
}

test('GET /status holds to its StatusReport schema with every status, a maintenance window and discovery in it', async (t) => {
  const up = await jsonServer(() => ({ status: 200, body: { n: 3 } }));
  const down = await closedPort();
  const noDocker = await closedPort();
  t.after(() => up.close());
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-status-schema-'));
  const now = Date.now();
  const nightly = farDailyWindow(now);
  writeFileSync(
    join(dir, 'probes.yaml'),
    `
discover: { docker: "tcp://127.0.0.1:${noDocker.port}", interval: 1m }
maintenance:
  windows:
    - { name: now, reason: schema test, start: "${new Date(now - 60_000).toISOString()}", duration: 1h, probes: [in-window] }
    - { name: nightly, reason: upcoming, cron: "${nightly.cron}", timezone: ${nightly.timezone}, duration: 30m, probes: [api-up] }
probes:
  - { name: api-up, kind: http, url: "${up.url}/x", assertions: [{ path: $.n, expect: "> 2" }] }
  - { name: api-down, kind: http, url: "${down.url}/", timeout: 1s }
  - { name: after-down, kind: tcp, address: "127.0.0.1:${down.port}", dependsOn: [api-down] }
  - { name: in-window, kind: tcp, address: "127.0.0.1:${down.port}", severity: warning, labels: { team: db } }
`,
  );
  const settings = readSettings({ WATCHDOG_CONFIG: join(dir, 'probes.yaml'), WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_ADMIN_TOKEN: TOKEN });
  const d = await startDaemon(settings, { logger: captureLogger('error').logger, processMetrics: false });
  t.after(() => d.stop());
  await eventually(() => d.engine.ready, 'first results');
  await eventually(() => d.discovery.current()?.lastAttempt != null, 'a first discovery attempt');
  // An API window too, so /status lists two open windows of both sources.
  const opened = await fetch(`${d.url}/maintenance`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ duration: '10m', reason: 'api window', labels: { team: 'db' } }),
  });
  assert.equal(opened.status, 201, await opened.text());

  const res = await fetch(`${d.url}/status`);
  const body = (await res.json()) as StatusReport;
  assert.equal(res.status, 503);
  const by = Object.fromEntries(body.probes.map((p) => [p.name, p]));
  // The reply has what the test claims to check.
  assert.deepEqual(Object.fromEntries(Object.entries(by).map(([name, p]) => [name, p.status])), { 'api-up': 'ok', 'api-down': 'failing', 'after-down': 'blocked', 'in-window': 'failing' });
  assert.ok(by['in-window']!.maintenance, 'the probe in a window says so');
  assert.equal(by['api-up']!.maintenance, undefined);
  assert.deepEqual(body.maintenance?.map((w) => w.source).sort(), ['api', 'config']);
  // Never listed: pending, with the attempt's time and its error.
  assert.deepEqual([body.discovery?.status, body.discovery?.lastSuccess, typeof body.discovery?.lastAttempt], ['pending', null, 'string']);
  assert.match(body.discovery?.message ?? '', /cannot list containers/);
  holdsTo(StatusReport, body, 'GET /status');

  // The routes fastify serialises hold to theirs too (a check that the test's own reading is sound).
  holdsTo(ProbeDetail, await (await fetch(`${d.url}/status/after-down`)).json(), 'GET /status/after-down');
  holdsTo(MaintenanceList, await (await fetch(`${d.url}/maintenance`)).json(), 'GET /maintenance');
});

test('the check behind it refuses a report with a wrong type or an undeclared field', () => {
  const report = {
    status: 'ok',
    generatedAt: '2026-12-05T10:00:00.000Z',
    causes: [],
    probes: [{ name: 'a', kind: 'tcp', severity: 'critical', status: 'ok', reason: 'ok', message: 'm', hint: null, value: 1, since: '2026-12-05T10:00:00.000Z', lastRun: null, durationMs: 3 }],
  };
  holdsTo(StatusReport, report, 'a good report');
  const wrongType = structuredClone(report);
  (wrongType.probes[0] as Record<string, unknown>).since = 'yesterday';
  assert.deepEqual(readView(StatusReport, wrongType), { ok: false, problem: "/probes/0/since: Expected string to match 'date-time' format" });
  const extra = structuredClone(report);
  (extra.probes[0] as Record<string, unknown>).track = { restarts: 3 };
  assert.throws(() => holdsTo(StatusReport, extra, 'extra'), /a field the schema does not declare/);
});
