// Defect 3 of issue 12: config edits the folder watch cannot see (a ConfigMap's ..data symlink swap,
// the folder deleted and recreated) are picked up, and /metrics says which config runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon.js';
import { captureLogger, eventually } from '../support/engine.js';

const probe = (name: string) => `probes: [{ name: ${name}, kind: tcp, address: "127.0.0.1:1", interval: 1h, timeout: 1s }]\n`;

/** A folder laid out as Kubernetes mounts a ConfigMap: probes.yaml -> ..data/probes.yaml, ..data -> ..<version>. */
function configMap(dir: string, version: string, text: string): void {
  mkdirSync(join(dir, `..${version}`));
  writeFileSync(join(dir, `..${version}`, 'probes.yaml'), text);
  symlinkSync(`..${version}`, join(dir, '..data_tmp'));
  // The atomic switch: rename over the old link.
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
}

async function metric(url: string, name: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

test('a ConfigMap symlink swap and a deleted and recreated folder are reloaded; the config hash is exported', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'watchdog-watch-'));
  const dir = join(root, 'probes');
  mkdirSync(dir);
  configMap(dir, 'v1', probe('first'));
  symlinkSync('..data/probes.yaml', join(dir, 'probes.yaml'));
  const d = await startDaemon(readSettings({ WATCHDOG_CONFIG: dir, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_CONFIG_POLL: '500ms', WATCHDOG_STACK: 'cm' }), {
    logger: captureLogger('warn').logger,
    processMetrics: false,
  });
  t.after(() => d.stop());
  await eventually(() => d.engine.ready, 'first result');
  const [hash1] = await metric(d.url, 'watchdog_config_info');
  assert.match(hash1!, /^watchdog_config_info\{hash="[0-9a-f]{12}",stack="cm"\} 1$/);

  configMap(dir, 'v2', probe('second'));
  await eventually(() => d.engine.state('second') !== undefined, 'the swapped config is loaded', 5000);
  const [hash2] = await metric(d.url, 'watchdog_config_info');
  assert.notEqual(hash2, hash1);
  assert.deepEqual(await metric(d.url, 'watchdog_config_last_reload_successful'), ['watchdog_config_last_reload_successful{stack="cm"} 1']);

  rmSync(dir, { recursive: true });
  // Polled over HTTP, as Prometheus would see it.
  let failed: string[] = [];
  for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
    failed = await metric(d.url, 'watchdog_config_last_reload_successful');
    if (failed[0]?.endsWith(' 0')) break;
  }
  assert.deepEqual(failed, ['watchdog_config_last_reload_successful{stack="cm"} 0'], 'the deleted folder shows as a failed reload');
  assert.ok(d.engine.state('second'), 'the previous config keeps running');

  mkdirSync(dir);
  writeFileSync(join(dir, 'probes.yaml'), probe('third'));
  await eventually(() => d.engine.state('third') !== undefined, 'the recreated folder is loaded', 5000);
  assert.deepEqual(await metric(d.url, 'watchdog_config_last_reload_successful'), ['watchdog_config_last_reload_successful{stack="cm"} 1']);
  const [loaded] = await metric(d.url, 'watchdog_config_loaded_timestamp_seconds');
  assert.ok(Math.abs(Number(loaded!.split(' ')[1]) - Date.now() / 1000) < 10, loaded);
});
