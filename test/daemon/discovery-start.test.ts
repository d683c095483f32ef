// The daemon's start lists the containers once: the listing that makes discovered probes exist before
// the first round is also the discovery timer's first, not followed by a second one straight away.
// The Engine is a node:http server on 127.0.0.1 that counts the listings (GET /containers/json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon.js';
import { captureLogger } from '../support/engine.js';
import { jsonServer } from '../support/misbehaving.js';
import { ManualTime } from '../support/time.js';
import { waitFor } from '../support/wait.js';

test('starting the daemon lists the containers once, then every discover.interval', async (t) => {
  const listings: string[] = [];
  const engine = await jsonServer((req) => {
    if (req.path.endsWith('/containers/json')) listings.push(req.path);
    return { status: 200, body: [] };
  });
  t.after(() => engine.close());
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-discovery-'));
  const file = join(dir, 'probes.yaml');
  writeFileSync(file, `discover: { docker: "${engine.url.replace('http://', 'tcp://')}", interval: 3s }\nprobes: []\n`);
  // The daemon's timers move by hand: "an interval later" is 3 s of its time, however slow the machine.
  const time = new ManualTime();
  const d = await startDaemon(readSettings({ WATCHDOG_CONFIG: file, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1' }), { logger: captureLogger('warn').logger, processMetrics: false, timers: time });
  t.after(() => d.stop());
  assert.equal(listings.length, 1, 'listed before the first round');
  await time.advance(1500);
  assert.equal(listings.length, 1, `no second listing right after start: ${listings.length}`);
  await time.advance(1500);
  // The listing the interval started is a real request: waited for, bounded.
  await waitFor('the listing an interval after start', () => listings.length >= 2, { describe: () => listings });
  assert.equal(listings.length, 2, 'the next one an interval later');
});
