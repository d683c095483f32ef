// tempo_storage (issue 17 §6): the folders Tempo's own /status/config names must lie on a mount of its
// container, read from the real dockerd's inspect; the Tempo side is the stand-in serving its config as
// Tempo does. MyStocks's case: traces under /tmp/tempo while the volume is mounted at /home/docker/tempo.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { readStatusConfig, writtenPaths } from '../../src/probers/tempoStorage.js';
import { dockerAvailable, removeContainer, runContainer, uniqueName } from '../support/docker.js';
import { statusServer } from '../support/misbehaving.js';
import { makeTempDir } from '../support/process.js';
import { runProber } from '../support/prober.js';
import { startTempoStandin, type TempoStandinOptions } from '../support/tempo-standin.js';

type After = { after(fn: () => Promise<void> | void): void };

async function tempo(t: After, opts: TempoStandinOptions = {}) {
  const standin = await startTempoStandin(opts);
  t.after(() => standin.stop());
  return standin;
}

async function container(t: After, prefix: string, mounts: string[]): Promise<string> {
  const name = uniqueName(prefix);
  t.after(() => removeContainer(name));
  await runContainer({ name, extraArgs: mounts });
  return name;
}

/** MyStocks's compose: the config file read-only, and its data volume at /home/docker/tempo. */
function mystocksMounts(): string[] {
  const dir = makeTempDir('tempo-storage');
  writeFileSync(join(dir, 'tempo-config.yaml'), 'server: { http_listen_port: 3200 }\n');
  return ['-v', `${join(dir, 'tempo-config.yaml')}:/etc/tempo-config.yaml:ro`, '-v', `${dir}:/home/docker/tempo`];
}

before(async () => {
  assert.equal(await dockerAvailable(), true, 'dockerd + test image must be there (scripts/ensure-services.sh)');
});

test('MyStocks: traces under /tmp/tempo, the volume at /home/docker/tempo → not_persistent naming the paths and the mounts', async (t) => {
  // tempo-config.yaml of chengjon/mystocks (2026-08-09): storage.trace.local.path /tmp/tempo/traces,
  // metrics_generator.storage.path /tmp/tempo/generator/wal, no wal path (Tempo's default /var/tempo/wal).
  const standin = await tempo(t, { storagePaths: { traces: '/tmp/tempo/traces', generatorWal: '/tmp/tempo/generator/wal' } });
  const name = await container(t, 'mystocks-tempo', mystocksMounts());
  const r = await runProber('tempo_storage', { name: 'tempo-storage', tempo: standin.url, container: name });
  assert.equal(`${r.status}:${r.reason}`, 'failing:not_persistent', r.message);
  assert.equal(
    r.message,
    `Tempo writes storage.trace.local.path /tmp/tempo/traces, storage.trace.wal.path /var/tempo/wal, metrics_generator.storage.path /tmp/tempo/generator/wal outside every volume of "${name}" (its mounts: /etc/tempo-config.yaml, /home/docker/tempo): in the container's writable layer, lost whenever the container is recreated`,
  );
  assert.equal(r.value, 3);
  assert.match(r.hint!, /"tempo-data:\/tmp\/tempo", "tempo-data:\/var\/tempo"/);
  assert.match(r.hint!, /under a folder that is mounted \(\/etc\/tempo-config\.yaml, \/home\/docker\/tempo\)/);
  assert.deepEqual(r.details!.notPersistent, ['/tmp/tempo/traces', '/var/tempo/wal', '/tmp/tempo/generator/wal']);
});

test('every path on a volume is ok; a deeper mount counts, a tmpfs does not, and a change of config is seen on the next run', async (t) => {
  const standin = await tempo(t);
  const volume = await container(t, 'tempo-vol', ['-v', '/var/tempo']);
  const ok = await runProber('tempo_storage', { name: 's', tempo: standin.url, container: volume });
  assert.equal(ok.status, 'ok', ok.message);
  assert.equal(ok.message, `Tempo's 3 storage paths lie on volumes of "${volume}": /var/tempo/traces on /var/tempo, /var/tempo/wal on /var/tempo, /var/tempo/generator/wal on /var/tempo`);

  // Only the WAL is mounted: the traces are not.
  const walOnly = await container(t, 'tempo-wal', ['-v', '/var/tempo/wal', '-v', '/var/tempo/generator']);
  const partial = await runProber('tempo_storage', { name: 's', tempo: standin.url, container: walOnly });
  assert.equal(partial.reason, 'not_persistent', partial.message);
  assert.deepEqual(partial.details!.notPersistent, ['/var/tempo/traces']);

  const tmpfs = await container(t, 'tempo-tmpfs', ['--tmpfs', '/var/tempo']);
  const memory = await runProber('tempo_storage', { name: 's', tempo: standin.url, container: tmpfs });
  assert.equal(memory.reason, 'not_persistent', memory.message);
  assert.match(memory.message, /\(its mounts: \/var\/tempo \(tmpfs\)\): in memory \(tmpfs\)/);

  standin.setStoragePaths({ traces: '/tmp/tempo/traces' });
  const moved = await runProber('tempo_storage', { name: 's', tempo: standin.url, container: volume });
  assert.deepEqual(moved.details!.notPersistent, ['/tmp/tempo/traces']);
});

test('not Tempo, or no such container: the reasons of the call that failed', async (t) => {
  const notTempo = await statusServer(200, '{"status":"ok"}\n');
  t.after(() => notTempo.close());
  const name = await container(t, 'tempo-none', []);
  const r = await runProber('tempo_storage', { name: 's', tempo: notTempo.url, container: name });
  assert.equal(`${r.status}:${r.reason}`, 'failing:invalid_response', r.message);

  const standin = await tempo(t);
  const gone = await runProber('tempo_storage', { name: 's', tempo: standin.url, container: uniqueName('never-created') });
  assert.equal(`${gone.status}:${gone.reason}`, 'failing:not_found', gone.message);
});

test("readStatusConfig/writtenPaths: Tempo's answer as it writes it; the local path only with the local backend; Tempo 3's live-store WAL", () => {
  const v2 = readStatusConfig('GET /status/config\n---\nstorage:\n  trace:\n    backend: s3\n    local:\n      path: /var/tempo/traces\n    wal:\n      path: /var/tempo/wal/\n');
  assert.deepEqual(writtenPaths(v2), [{ key: 'storage.trace.wal.path', path: '/var/tempo/wal' }]);
  const v3 = readStatusConfig(
    'GET /status/config\n---\nlive_store:\n  wal:\n    path: /var/tempo/live-store/traces\nstorage:\n  trace:\n    backend: local\n    local:\n      path: /var/tempo/blocks\n',
  );
  assert.deepEqual(
    writtenPaths(v3).map((p) => p.key),
    ['storage.trace.local.path', 'live_store.wal.path'],
  );
  assert.equal(readStatusConfig('GET /status/config\n{ not: [yaml'), undefined);
});
