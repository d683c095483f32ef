// The Engine calls a container probe run may make (issue 12's budget): one inspect, and for
// container_memory one one-shot stats call (a streaming or two-sample stats call would hold the run for
// ~2 s and cost dockerd a second sample). Counted by a proxy in front of the real dockerd.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { dockerAvailable, runContainer, removeContainer, uniqueName } from '../support/docker.js';
import { startCountingProxy, type Counts } from '../support/docker-proxy.js';
import { makeTempDir } from '../support/process.js';
import { runProber } from '../support/prober.js';

const DOCKER_HOST = process.env.DOCKER_HOST || undefined;
const REAL_SOCKET = DOCKER_HOST?.startsWith('unix://') ? DOCKER_HOST.slice('unix://'.length) : '/var/run/docker.sock';

/** Calls between two readings, as "type target" → count. */
function callsBetween(before: Counts, after: Counts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [type, byTarget] of after) {
    for (const [target, n] of byTarget) {
      const d = n - (before.get(type)?.get(target) ?? 0);
      if (d > 0) out[`${type} ${target}`.trim()] = d;
    }
  }
  return out;
}

test('a container probe run makes one inspect, and container_memory one one-shot stats call, nothing else', async (t) => {
  // The test command starts dockerd (scripts/ensure-services.sh): its absence is a failure, not a skip.
  if (!(await dockerAvailable())) assert.fail('dockerd or the test image is missing: run scripts/ensure-services.sh');
  const name = uniqueName('budget');
  await runContainer({ name, memory: '16m' });
  t.after(() => removeContainer(name));
  const proxy = await startCountingProxy(join(makeTempDir('budget'), 'docker.sock'), REAL_SOCKET);
  t.after(() => proxy.close());
  const dockerHost = `unix://${proxy.socketPath}`;

  for (const [kind, fields, expected] of [
    ['container_state', { requireLimit: true }, { [`inspect ${name}`]: 1 }],
    ['container_memory', { expectLimit: '16m' }, { [`inspect ${name}`]: 1, [`stats one-shot ${name}`]: 1 }],
  ] as const) {
    // Twice: a second run must not add calls (no cache warming, no version negotiation later on).
    for (const run of [1, 2]) {
      const before = proxy.counts();
      const result = await runProber(kind, { name: `${kind}-budget`, container: name, ...fields }, { dockerHost });
      assert.equal(result.status, 'ok', `${kind} run ${run}: ${result.reason} ${result.message}`);
      assert.deepEqual(callsBetween(before, proxy.counts()), expected, `${kind} run ${run}: Engine calls`);
    }
  }
});
