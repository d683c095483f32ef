// The daemon in this test process on a port of 127.0.0.1, from a probe file written for the test:
// what the maintenance tests share. Stopping twice is allowed (tests that restart stop it themselves,
// and t.after stops it again; a second real stop would close a closed client).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon.js';
import { captureLogger } from './engine.js';

export async function startTestDaemon(t: TestContext, probeFile: string, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-daemon-'));
  writeFileSync(join(dir, 'probes.yaml'), probeFile);
  const log = captureLogger('info');
  const settings = readSettings({ WATCHDOG_CONFIG: join(dir, 'probes.yaml'), WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', ...env });
  const d = await startDaemon(settings, { logger: log.logger, processMetrics: false });
  let stopped: Promise<void> | undefined;
  const stop = d.stop.bind(d);
  d.stop = () => (stopped ??= stop());
  t.after(() => d.stop());
  return { d, log };
}
