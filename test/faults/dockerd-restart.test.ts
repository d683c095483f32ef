// The fault suite (issue 12): dockerd stopped and restarted while `watchdog run` watches a container on
// it. The Engine is a second dockerd of this test's own (test/support/docker.ts), never the machine's
// shared one: stopped with SIGTERM (a clean shutdown, its socket removed) and then with SIGKILL (a crash,
// its socket file left behind with nobody listening), and started again on the same data-root each time.
// Throughout: the container probes say blocked/docker_unavailable naming the socket, /healthz, /status
// and /metrics answer, nothing reaches stderr, and everything is ok again without restarting the watchdog.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { dockerAvailable, startSecondDockerd, TEST_IMAGE, uniqueName } from '../support/docker.js';
import { assertAnswering, assertQuietStderr, startWatchdog, waitForStatus, type RunningWatchdog } from '../support/watchdog-process.js';

interface StatusBody {
  probes: { name: string; status: string; reason: string; discovered?: boolean }[];
  discovery?: { status: string; message: string; probes: string[] };
}

async function status(w: RunningWatchdog): Promise<StatusBody> {
  const res = await fetch(`${w.url}/status`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as StatusBody;
}

/** Polls /status until `ok` holds for it (generous: the machine may be loaded). */
async function waitForBody(w: RunningWatchdog, ok: (b: StatusBody) => boolean, what: string, ms = 30_000): Promise<StatusBody> {
  const until = Date.now() + ms;
  let last: StatusBody | undefined;
  while (Date.now() < until) {
    last = await status(w);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} not reached within ${ms} ms: ${JSON.stringify(last)}`);
}

const WATCHED = ['box-state', 'box-memory', 'container-h2-worker'];

test('the watched Engine stopped (SIGTERM, then SIGKILL) and restarted mid-run: blocked docker_unavailable naming the socket, then ok without a restart', { timeout: 240_000 }, async (t) => {
  if (!(await dockerAvailable())) assert.fail('dockerd is not running: run scripts/ensure-services.sh');
  const d2 = await startSecondDockerd();
  t.after(() => d2.close());
  const box = uniqueName('d2-box');
  const worker = uniqueName('d2-worker');
  // --restart always: the Engine starts them again when it comes back. --stop-timeout 1: busybox sleep
  // as PID 1 ignores SIGTERM, and dockerd's shutdown would otherwise wait 10 s for each.
  const runOpts = ['-d', '--network', 'none', '--restart', 'always', '--stop-timeout', '1', '--memory', '32m', '--label', 'com.docker.compose.project=d2proj'];
  await d2.d2(['run', ...runOpts, '--name', box, '--label', 'com.docker.compose.service=box', TEST_IMAGE, 'sleep', '600']);
  await d2.d2(['run', ...runOpts, '--name', worker, '--label', 'com.docker.compose.service=worker', TEST_IMAGE, 'sleep', '600']);

  const dir = mkdtempSync(join(tmpdir(), 'watchdog-dockerd-restart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'probes.yaml');
  const on = { docker: d2.host, interval: '1s', timeout: '900ms' };
  writeFileSync(
    file,
    stringify({
      discover: { docker: d2.host, host: 'h2', interval: '1s', labels: { 'com.docker.compose.project': 'd2proj' }, probe: { interval: '1s', timeout: '900ms' } },
      probes: [
        { name: 'box-state', kind: 'container_state', container: box, ...on },
        { name: 'box-memory', kind: 'container_memory', container: box, expectLimit: '32m', ...on },
      ],
    }),
  );
  const w = await startWatchdog(file);
  t.after(async () => {
    w.child.kill('SIGKILL');
    await w.exited;
  });

  for (const probe of WATCHED) await waitForStatus(w, probe, /^ok:/, 'before the outage', 30_000);
  await assertAnswering(w);

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const stoppedAt = Date.now();
    await d2.stop(signal);
    // SIGTERM removes the socket (ENOENT); SIGKILL leaves it with nobody listening (ECONNREFUSED).
    const cause = signal === 'SIGTERM' ? /no Docker socket at/ : /nothing accepts connections at/;
    for (const probe of WATCHED) {
      // A run in flight when dockerd died reads "closed without an answer" first: true then, and blocked
      // too. The state that holds once dockerd is gone is the one named here, so wait for that one.
      const got = await waitForStatus(w, probe, new RegExp(`^blocked:docker_unavailable .*${cause.source}`), `dockerd ${signal}`, 15_000);
      assert.ok(got.includes(`unix://${d2.socket}`), `${probe} names the socket: ${got}`);
    }
    // Interval 1 s + timeout 0.9 s, plus the round already in flight and a loaded machine's margin.
    console.log(`# ${signal}: every probe blocked ${Date.now() - stoppedAt} ms after the signal (dockerd's own shutdown included)`);
    await assertAnswering(w);
    // Discovery keeps its set while the Engine cannot be listed: the discovered probe stays and says why.
    const during = await waitForBody(w, (b) => b.discovery?.status === 'stale', `discovery stale after ${signal}`, 15_000);
    assert.deepEqual(during.discovery!.probes, ['container-h2-worker']);
    assert.match(during.discovery!.message, new RegExp(`cannot list containers at unix://${d2.socket}: .*keeping the 1 discovered probe`));
    assert.equal(during.probes.find((p) => p.name === 'container-h2-worker')?.discovered, true);

    await d2.start();
    // The containers come back by their restart policy, on the same data-root, with the same ids.
    for (const probe of WATCHED) await waitForStatus(w, probe, /^ok:/, `dockerd started again after ${signal}`, 45_000);
    await waitForBody(w, (b) => b.discovery?.status === 'ok', `discovery ok after ${signal}`, 15_000);
    await assertAnswering(w);
    assertQuietStderr(w);
  }

  // Discovered probes were never dropped and re-added across both outages: one change, the first listing.
  const changes = w.logs.filter((l) => l.msg === 'discovered probes changed');
  assert.deepEqual(
    changes.map((l) => l.added),
    [['container-h2-worker']],
  );
  assert.equal(w.logs.filter((l) => l.msg === 'discovery cannot reach Docker; keeping the last set').length, 2, 'one warning per outage');
  assertQuietStderr(w);
});
