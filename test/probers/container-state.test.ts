// container_state against the real dockerd, through the real engine path (parseConfig → Engine.runOnce →
// createDockerClient), one real container per reason: exit 1, a restart loop, a kernel OOM kill, a failing
// HEALTHCHECK, no memory limit. What the kind remembers between runs travels through the engine
// (ctx.previous), which the OOM-after-restart case shows.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import type { ProbeResult } from '../../src/engine/result.js';
import { createDockerClient, type DockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { maskEnv } from '../../src/probers/containerState.js';
import { probeDetail, statusReport } from '../../src/report/view.js';
import { afterTrigger, dockerAvailable, pullTrigger, oomKilledContainer, removeContainer, runContainer, uniqueName, docker, waitForState } from '../support/docker.js';
import { runProber } from '../support/prober.js';

const DOCKER_HOST = process.env.DOCKER_HOST || undefined;
type ProbeDef = Record<string, unknown> & { name: string };

/** Counts the Engine calls the kind makes, on the real client. */
function countingDocker(): { docker: DockerClient; calls: string[] } {
  const real = createDockerClient({ dockerHost: DOCKER_HOST });
  const calls: string[] = [];
  return {
    calls,
    docker: {
      endpoint: real.endpoint,
      inspect: (c, s) => (calls.push('inspect'), real.inspect(c, s)),
      stats: (c, s) => (calls.push('stats'), real.stats(c, s)),
      list: (l, s) => (calls.push('list'), real.list(l, s)),
      logs: (c, n, s) => (calls.push('logs'), real.logs(c, n, s)),
    },
  };
}

function makeEngine(probes: ProbeDef[], docker?: DockerClient) {
  const lines: string[] = [];
  const engine = new Engine({
    http: createHttpClient({ userAgent: 'container-state-test' }),
    docker: docker ?? createDockerClient({ dockerHost: DOCKER_HOST }),
    logger: pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) }),
    now: Date.now,
  });
  engine.load(parseConfig([{ file: 'state.yaml', text: stringify({ probes: probes.map((p) => ({ kind: 'container_state', ...p })) }) }], {}));
  return {
    engine,
    logs: () => lines.join(''),
    async run(): Promise<Record<string, ProbeResult>> {
      const states = await engine.runOnce();
      return Object.fromEntries(states.map((s) => [s.spec.name, s.current]));
    },
  };
}

async function container(t: { after: (fn: () => Promise<void>) => void }, prefix: string, opts: Omit<Parameters<typeof runContainer>[0], 'name'> = {}): Promise<string> {
  const name = uniqueName(prefix);
  t.after(() => removeContainer(name));
  await runContainer({ name, ...opts });
  return name;
}

/** A main process that, once triggered (pullTrigger), allocates past a 16 MiB limit (no swap): the kernel OOM-kills it. */
const OOM_CMD = afterTrigger('x=$(busybox head -c 100000000 /dev/zero | busybox tr "\\0" a); sleep 600');
const OOM_LIMIT = ['--memory-swap', '16m'];

before(async () => {
  assert.equal(await dockerAvailable(), true, 'dockerd + test image must be there (scripts/ensure-services.sh)');
});

test('container_state: a running container is ok, value = restart count, one inspect per run', async (t) => {
  const name = await container(t, 'state-ok', { memory: '32m' });
  const counted = countingDocker();
  const e = makeEngine([{ name: 'c', container: name, requireLimit: true }], counted.docker);
  const r = (await e.run()).c!;
  assert.equal(r.status, 'ok', r.message);
  assert.equal(r.value, 0);
  assert.match(r.message, /is running \(up \d+s, restarted 0 times\)/);
  assert.deepEqual(counted.calls, ['inspect']);
});

test('container_state not_running: exit 1 gives the exit code; paused and created too', async (t) => {
  const exited = await container(t, 'state-exit', { cmd: ['sh', '-c', 'exit 1'] });
  await waitForState(exited, (i) => i.State.Status === 'exited', 'exited');
  const paused = await container(t, 'state-paused');
  await docker(['pause', paused]);
  const created = uniqueName('state-created');
  t.after(() => removeContainer(created));
  await docker(['create', '--name', created, '--network', 'none', '--label', 'watchdog-test=1', '--label', `watchdog-test.pid=${process.pid}`, 'watchdog-test/busybox:1', 'sleep', '600']);
  const r = await makeEngine([
    { name: 'exited', container: exited },
    { name: 'paused', container: paused },
    { name: 'created', container: created },
  ]).run();
  assert.equal(`${r.exited!.status}:${r.exited!.reason}`, 'failing:not_running');
  assert.match(r.exited!.message, /has exited \(exit code 1\)/);
  assert.match(r.exited!.hint!, /^Read why it stops: docker logs --tail 50/, 'exit 1 is not a SIGKILL: no word of the OOM killer');
  assert.equal(`${r.paused!.status}:${r.paused!.reason}`, 'failing:not_running');
  assert.match(r.paused!.message, /is paused/);
  assert.match(r.paused!.hint!, /docker unpause/);
  assert.equal(`${r.created!.status}:${r.created!.reason}`, 'failing:not_running');
  assert.match(r.created!.message, /created but never started/);
});

test('container_state restarting: --restart always on a command that exits', async (t) => {
  const name = await container(t, 'state-loop', { restart: 'always', cmd: ['sh', '-c', 'sleep 1; exit 3'] });
  const e = makeEngine([{ name: 'loop', container: name }]);
  const first = (await e.run()).loop!;
  await waitForState(name, (i) => i.RestartCount >= 2, 'two restarts');
  const second = (await e.run()).loop!;
  assert.equal(`${second.status}:${second.reason}`, 'failing:restarting', second.message);
  assert.ok(second.value! >= 2, 'the value is the restart count');
  assert.match(second.message, /keeps restarting: .*restarted \d+ times by its restart policy "always"/);
  // The second run compared with the first one's count, which the engine handed back.
  if (first.value! < second.value!) assert.match(second.message, /time\(s\) in the last \d/);
});

test('container_state restarting with exit code 137 and no OOM kill recorded: the hint names the SIGKILL senders, the OOM killer among them', async (t) => {
  // 137 without State.OOMKilled is what Docker shows for an OOM kill it did not record (and for docker
  // kill): the shell exits 137 itself, once triggered, and its restart policy starts it once more. It has
  // no memory limit, so only a host short of memory could have OOM-killed it, and the hint says so.
  const name = await container(t, 'state-kill', { restart: 'on-failure:1', cmd: afterTrigger('exit 137') });
  const e = makeEngine([{ name: 'kill', container: name }]);
  assert.equal((await e.run()).kill!.status, 'ok');
  await pullTrigger(name);
  const info = await waitForState(name, (i) => i.State.Status === 'exited' && i.RestartCount === 1, 'exited after one restart');
  assert.deepEqual([info.State.ExitCode, info.State.OOMKilled], [137, false]);
  const r = (await e.run()).kill!;
  assert.equal(`${r.status}:${r.reason}`, 'failing:restarting', r.message);
  assert.match(r.message, /last exit code 137\)/);
  assert.match(
    r.hint!,
    /^Exit code 137 is a SIGKILL: docker kill, a docker stop whose grace period ran out, or the kernel's OOM killer when the host ran short of memory \(it has no memory limit of its own\), .*dmesg \| grep -i 'out of memory'.* It crashes and its restart policy starts it again/,
  );
});

test('container_state oom_killed: a real kernel OOM kill, exit code 137', async (t) => {
  const { name, info } = await oomKilledContainer(() => container(t, 'state-oom', { memory: '16m', extraArgs: OOM_LIMIT, cmd: OOM_CMD }));
  assert.equal(info.State.OOMKilled, true, 'the kernel killed it for memory');
  const r = (await makeEngine([{ name: 'oom', container: name }]).run()).oom!;
  assert.equal(`${r.status}:${r.reason}`, 'failing:oom_killed', r.message);
  assert.match(r.message, /killed by the kernel's OOM killer at its 16MiB limit \(exit code 137, now exited\)/);
  assert.match(r.hint!, /deploy\.resources\.limits\.memory/);
});

test('container_state oom_killed stays red after the container was restarted: the engine keeps what the kind saw', async (t) => {
  // A real OOM kill with a restart policy: Docker restarts it once, and the restarted one is killed too.
  const { name } = await oomKilledContainer(() => container(t, 'state-oomloop', { memory: '16m', extraArgs: OOM_LIMIT, restart: 'on-failure:1', cmd: OOM_CMD }));
  const e = makeEngine([{ name: 'oom', container: name, window: '2m' }]);
  const first = (await e.run()).oom!;
  assert.equal(first.reason, 'oom_killed', first.message);
  // What the kind remembers is its own: kept by the engine, never shown in /status.
  assert.equal(first.details?.track, undefined, JSON.stringify(first.details));
  const memory = () => e.engine.states().find((s) => s.spec.name === 'oom')!.memory.value as { oomSeenAt: number };
  const seenAt = memory().oomSeenAt;
  assert.ok(seenAt > 0);

  // Newer Engines clear State.OOMKilled when the container starts again (20.10 keeps it); what the
  // previous run saw must be enough. A healthy running container, handed that previous outcome:
  const healthy = await container(t, 'state-oomafter', { memory: '32m' });
  const previous = { value: { restarts: [[Date.now() - 20_000, 0]], oomSeenAt: Date.now() - 20_000 } };
  const kept = await runProber('container_state', { name: 'c', container: healthy, window: '2m' }, { memory: previous });
  assert.equal(`${kept.status}:${kept.reason}`, 'failing:oom_killed', kept.message);
  assert.match(kept.message, /OOM killer at its 32MiB limit 20s ago; it was restarted since and runs again/);
  // Once the window has passed, it is ok again.
  const old = { value: { restarts: [], oomSeenAt: Date.now() - 3 * 60_000 } };
  assert.equal((await runProber('container_state', { name: 'c', container: healthy, window: '2m' }, { memory: old })).status, 'ok');

  // And through the engine itself: the second run carries the first run's sighting forward.
  const second = (await e.run()).oom!;
  assert.equal(second.reason, 'oom_killed', second.message);
  assert.ok(memory().oomSeenAt >= seenAt);
});

test('container_state unhealthy: the failing HEALTHCHECK output, cut short, no value of the env in it, anywhere', async (t) => {
  const secret = `tok-${Math.random().toString(36).slice(2)}-${'x'.repeat(8)}`;
  const name = await container(t, 'state-unhealthy', {
    env: { API_TOKEN: secret, MODE: 'prod' },
    extraArgs: [
      '--health-cmd',
      `echo "cannot reach db with token $API_TOKEN in mode $MODE"; ${'echo padding-padding-padding-padding; '.repeat(8)}false`,
      '--health-interval',
      '1s',
      '--health-retries',
      '1',
    ],
  });
  await waitForState(name, (i) => i.State.Health?.Status === 'unhealthy', 'unhealthy');
  const e = makeEngine([{ name: 'health', container: name }]);
  const r = (await e.run()).health!;
  assert.equal(`${r.status}:${r.reason}`, 'failing:unhealthy', r.message);
  assert.match(r.message, /HEALTHCHECK fails \(\d+ time\(s\) in a row; last exit code 1\): cannot reach db with token \*\*\* in mode \*\*\*/);
  assert.ok(String(r.details!.healthOutput).length <= 201, 'cut short');
  const everywhere = JSON.stringify([statusReport(e.engine.states(), Date.now()), e.engine.states().map(probeDetail)]) + e.logs();
  assert.ok(e.logs().includes('HEALTHCHECK fails'), 'the failure was logged');
  assert.doesNotMatch(everywhere, new RegExp(secret));
});

test('maskEnv: every long-enough env value, also one cut off at the end', () => {
  const env = ['A=supersecret', 'B=1', 'NOVALUE', 'C=abcdefgh'];
  assert.equal(maskEnv('x supersecret y 1 abcd', env), 'x *** y 1 ***');
  assert.equal(maskEnv('no env here', env), 'no env here');
});

test('container_state no_limit only with requireLimit: true', async (t) => {
  const name = await container(t, 'state-nolimit');
  const r = await makeEngine([
    { name: 'required', container: name, requireLimit: true },
    { name: 'optional', container: name },
  ]).run();
  assert.equal(`${r.required!.status}:${r.required!.reason}`, 'failing:no_limit');
  assert.match(r.required!.message, /has no memory limit/);
  assert.equal(r.optional!.status, 'ok');
});

test('container_state not_found, and docker_unavailable is blocked', async () => {
  const r = (await makeEngine([{ name: 'gone', container: uniqueName('never-created') }]).run()).gone!;
  assert.equal(`${r.status}:${r.reason}`, 'failing:not_found');
  const down = await runProber('container_state', { name: 'c', container: 'x' }, { dockerHost: 'unix:///nonexistent/docker.sock' });
  assert.equal(`${down.status}:${down.reason}`, 'blocked:docker_unavailable');
});

test('both container kinds judge a restart loop by one rule: a count that grew within the window, with the same window', async (t) => {
  // Exits 3 on its first start only (the marker survives the restart), then stays up: RestartCount 1.
  const name = await container(t, 'judge-once', { memory: '32m', restart: 'on-failure', cmd: ['sh', '-c', 'test -f /once || { touch /once; exit 3; }; exec sleep 600'] });
  const info = await waitForState(name, (i) => i.RestartCount === 1 && i.State.Status === 'running', 'running after one restart');
  // Up for 40 s: past the 30 s first-run rule, so only what an earlier run saw can tell a loop.
  const now = Date.parse(info.State.StartedAt) + 40_000;
  const judge = async (seenAt: number) => {
    const memory = () => ({ value: { restarts: [[seenAt, 0]] } });
    const probe = { container: name, window: '2m' };
    const state = await runProber('container_state', { name: 's', ...probe }, { now: () => now, memory: memory() });
    const mem = await runProber('container_memory', { name: 'm', ...probe }, { now: () => now, memory: memory() });
    return { state, mem };
  };

  // An earlier run, a minute ago, saw it at 0 restarts: a loop for both kinds.
  const within = await judge(now - 60_000);
  assert.equal(`${within.state.status}:${within.state.reason}`, 'failing:restarting', within.state.message);
  assert.equal(`${within.mem.status}:${within.mem.reason}`, 'failing:not_running', within.mem.message);
  assert.match(within.mem.message, /keeps restarting: restarted 1 time in the last 1m/);

  // The same sighting three minutes ago is outside the 2m window: fine for both.
  const outside = await judge(now - 3 * 60_000);
  assert.equal(`${outside.state.status}:${outside.state.reason}`, 'ok:ok', outside.state.message);
  assert.equal(`${outside.mem.status}:${outside.mem.reason}`, 'ok:ok', outside.mem.message);
});
