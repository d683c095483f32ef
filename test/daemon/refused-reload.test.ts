// A refused config is refused once: the poll remembers what it refused and loads again only when the
// files change again (a broken file must not fill the log every poll).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon.js';
import { captureLogger, eventually } from '../support/engine.js';

for (const [what, broken] of [
  ['a config that does not parse', 'probes: [{ name: Bad Name, kind: tcp }]'],
  ['a file over the size cap', `probes: []\n#${'x'.repeat(5000)}\n`],
] as const) {
  test(`${what} is refused once, and the fixed file is loaded`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'watchdog-refused-'));
    const file = join(dir, 'probes.yaml');
    writeFileSync(file, 'probes: [{ name: one, kind: tcp, address: "127.0.0.1:1" }]\n');
    const { logger, lines } = captureLogger('info');
    const settings = readSettings({ WATCHDOG_CONFIG: file, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_CONFIG_POLL: '200ms', WATCHDOG_CONFIG_MAX_BYTES: '4096' });
    const d = await startDaemon(settings, { logger, processMetrics: false });
    t.after(() => d.stop());
    const refused = () => lines.filter((l) => l.msg === 'config reload refused; the previous config keeps running').length;
    writeFileSync(file, broken);
    await eventually(() => refused() === 1, 'the broken file is refused', 10_000);
    await sleep(1500);
    assert.equal(refused(), 1, 'not refused again at every poll');
    writeFileSync(file, 'probes: [{ name: two, kind: tcp, address: "127.0.0.1:1" }]\n');
    await eventually(() => d.engine.states().some((s) => s.spec.name === 'two'), 'the fixed file is loaded', 10_000);
  });
}
