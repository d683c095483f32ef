// Defect 4 of issue 12: run-now racing a reload that removes the probe, and many run-now calls at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon.js';
import { hangAfterAccept } from '../support/misbehaving.js';
import { captureLogger, eventually } from '../support/engine.js';

async function slowDaemon(t: { after: (fn: () => unknown) => void }) {
  const hang = await hangAfterAccept();
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-runnow-'));
  const file = join(dir, 'probes.yaml');
  writeFileSync(
    file,
    `probes:
  - { name: slow, kind: http, url: "${hang.url}/", interval: 1h, timeout: 1s }
  - { name: other, kind: tcp, address: "127.0.0.1:1", interval: 1h, timeout: 1s }
`,
  );
  const d = await startDaemon(readSettings({ WATCHDOG_CONFIG: file, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_ADMIN_TOKEN: 'adm' }), {
    logger: captureLogger('warn').logger,
    processMetrics: false,
  });
  t.after(async () => {
    await d.stop();
    await hang.close();
  });
  await eventually(() => d.engine.ready, 'first results');
  const run = (probe: string) => fetch(`${d.url}/probes/${probe}/run`, { method: 'POST', headers: { authorization: 'Bearer adm' }, signal: AbortSignal.timeout(5000) });
  return { d, file, run };
}

test('run-now calls racing a reload that removes the probe answer a JSON 404, none hangs, no listener is left', async (t) => {
  const { d, file, run } = await slowDaemon(t);
  // Alerting listens for results; run-now must add nothing to that.
  const listeners = d.engine.listenerCount('result');
  // Counts the run-now calls that reached the engine, so the test waits for the second one to be there.
  let reached = 0;
  const runNow = d.engine.runNow.bind(d.engine);
  d.engine.runNow = (name) => (reached++, runNow(name));
  const first = run('slow');
  await eventually(() => d.engine.state('slow')?.running === true, 'the run-now started');
  const second = run('slow');
  await eventually(
    () => reached === 2,
    'the second request reached the engine and waits there',
    10_000,
    () => ({ reached, running: d.engine.state('slow')?.running }),
  );
  writeFileSync(file, 'probes: [{ name: other, kind: tcp, address: "127.0.0.1:1", interval: 1h, timeout: 1s }]\n');
  assert.equal(await d.reload(), true);
  for (const res of await Promise.all([first, second])) {
    assert.equal(res.status, 404, await res.clone().text());
    const body = (await res.json()) as { statusCode: number; message: string };
    assert.equal(body.statusCode, 404);
    assert.match(body.message, /slow/);
  }
  assert.equal(d.engine.listenerCount('result'), listeners, 'no listener left behind');
});

test('twenty concurrent run-now calls of one probe share its run without MaxListenersExceededWarning', async (t) => {
  const { d, run } = await slowDaemon(t);
  const listeners = d.engine.listenerCount('result');
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const answers = await Promise.all(Array.from({ length: 20 }, () => run('slow')));
  for (const res of answers) {
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { reason: string }).reason, 'timeout');
  }
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    warnings.filter((w) => w === 'MaxListenersExceededWarning'),
    [],
  );
  assert.equal(d.engine.listenerCount('result'), listeners);
});
