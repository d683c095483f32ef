// `watchdog maintenance` as an operator runs it: the real CLI process against a running daemon.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon.js';
import { maintenanceCommand } from '../../src/maintenanceCli.js';
import { captureLogger, eventually } from '../support/engine.js';
import { closedPort, jsonServer } from '../support/misbehaving.js';
import { runWatchdogCli } from '../support/watchdog-process.js';

const watchdog = (args: string[], env: Record<string, string>) => runWatchdogCli(['maintenance', ...args], env);

test('watchdog maintenance start, list and end against a running daemon, with exit codes 0, 1, 2 and 3', async (t) => {
  const up = await jsonServer(() => ({ status: 200, body: {} }));
  t.after(() => up.close());
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-maint-cli-'));
  writeFileSync(
    join(dir, 'probes.yaml'),
    `
probes:
  - { name: web, kind: http, url: "${up.url}/" }
  - { name: db, kind: tcp, address: "127.0.0.1:${up.port}", labels: { team: db } }
`,
  );
  const settings = readSettings({ WATCHDOG_CONFIG: join(dir, 'probes.yaml'), WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_ADMIN_TOKEN: 'cli-token' });
  const d = await startDaemon(settings, { logger: captureLogger('warn').logger, processMetrics: false });
  t.after(() => d.stop());
  await eventually(() => d.engine.ready, 'first results');
  const env = { WATCHDOG_URL: d.url, WATCHDOG_ADMIN_TOKEN: 'cli-token' };

  const started = await watchdog(['start', '--duration', '30m', '--reason', 'db upgrade', '--label', 'team=db'], env);
  assert.equal(started.code, 0, started.stderr);
  const id = /^(m-[0-9a-f]{8}) {2}until \S+ {2}covers db$/m.exec(started.stdout)?.[1];
  assert.ok(id, started.stdout);
  const db = (await (await fetch(`${d.url}/status/db`)).json()) as { maintenance?: { id: string } };
  assert.equal(db.maintenance?.id, id);

  const listed = await watchdog(['list'], env);
  assert.equal(listed.code, 0);
  assert.match(listed.stdout, new RegExp(`^active:\\n${id}  .*  db  db upgrade$`, 'm'));

  assert.equal((await watchdog(['end', id], env)).code, 0);
  const again = await watchdog(['end', id], env);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /answered 404: no open maintenance window/);

  const wrongToken = await watchdog(['start', '--duration', '5m', '--reason', 'x'], { ...env, WATCHDOG_ADMIN_TOKEN: 'nope' });
  assert.equal(wrongToken.code, 1);
  assert.match(wrongToken.stderr, /401: missing or wrong bearer token/);
  const overCap = await watchdog(['start', '--duration', '25h', '--reason', 'x'], env);
  assert.equal(overCap.code, 1);
  assert.match(overCap.stderr, /duration: 25h is over the 24h cap/);

  const noDuration = await watchdog(['start', '--reason', 'x'], env);
  assert.equal(noDuration.code, 2);
  assert.match(noDuration.stderr, /start needs --duration/);

  const nobody = await closedPort();
  const unreachable = await watchdog(['list'], { ...env, WATCHDOG_URL: nobody.url });
  assert.equal(unreachable.code, 3);
  assert.match(unreachable.stderr, /cannot reach the daemon at http:\/\/127\.0\.0\.1:\d+/);
});

test('watchdog maintenance reads replies as the views they should be: anything else is exit 1 with what was wrong', async (t) => {
  // Not a watchdog: a server that answers 200 to everything, with a body the test picks per path.
  const replies: Record<string, string | object> = {
    'GET /maintenance': { active: [{ id: 'm-00000001', source: 'api', reason: 'x', startsAt: 'yesterday' }], upcoming: [] },
    'POST /maintenance': { ok: true },
    'DELETE /maintenance/m-1': '<html><body>Welcome to nginx!</body></html>',
  };
  const other = await jsonServer((req) => ({ status: 200, body: replies[`${req.method} ${req.path}`] ?? {} }));
  t.after(() => other.close());
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await maintenanceCommand(args, { WATCHDOG_URL: other.url, WATCHDOG_ADMIN_TOKEN: 't' }, { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, stdout: out.join(''), stderr: err.join('') };
  };

  const list = await run('list');
  assert.deepEqual([list.code, list.stdout], [1, '']);
  assert.match(list.stderr, new RegExp(`^watchdog maintenance: ${other.url}/maintenance answered 200 but not with the list of maintenance windows \\(/active/0/`));
  assert.match(list.stderr, /is http:\/\/127\.0\.0\.1:\d+ a stack-watchdog of this version\?\n$/);
  const start = await run('start', '--duration', '5m', '--reason', 'x');
  assert.deepEqual([start.code, start.stdout], [1, '']);
  assert.match(start.stderr, /answered 200 but not with a maintenance window \(\/\w+: /);
  const end = await run('end', 'm-1');
  assert.deepEqual([end.code, end.stdout], [1, '']);
  assert.match(end.stderr, /answered 200 but not with a maintenance window \(not JSON: "<html><body>Welcome to nginx!<\/body><\/html>"\)/);
});
