// A failing container's last log lines in the container kinds' messages (issue 17 §5), and no_limit on a
// container made by Compose v1 (§4), against the real dockerd: the logs come from Docker's own logs
// endpoint, stdout and stderr in their multiplexed frames (and a TTY container's raw stream).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createDockerClient, demultiplex, DockerUnavailableError, LOG_BYTES, type DockerClient } from '../../src/net/docker.js';
import { findSignature, logSignatures } from '../../src/probers/dockerLogsApi.js';
import { docker, dockerAvailable, removeContainer, runContainer, TEST_IMAGE, uniqueName, waitForState } from '../support/docker.js';
import { runProber } from '../support/prober.js';

const DOCKER_HOST = process.env.DOCKER_HOST || undefined;
/** Tempo 3's own words for a Tempo 2 config (yaml's strict decoding of app.Config), as it logs them at start. */
const TEMPO3_REFUSAL = 'failed parsing config: failed to parse configFile /etc/tempo-config.yaml: yaml: unmarshal errors:\n  line 13: field ingester not found in type app.Config';
/** The image MyStocks's compose runs; here a tag of the busybox test image. */
const TEMPO_IMAGE = 'grafana/tempo:latest';

async function container(t: { after: (fn: () => Promise<void>) => void }, prefix: string, opts: Omit<Parameters<typeof runContainer>[0], 'name'> = {}): Promise<string> {
  const name = uniqueName(prefix);
  t.after(() => removeContainer(name));
  await runContainer({ name, ...opts });
  return name;
}

/** Polls the real `docker logs` until `text` is there: the probe must have something to read. */
async function logged(name: string, text: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { stdout, stderr } = await docker(['logs', name]);
    if ((stdout + stderr).includes(text)) return;
    if (Date.now() > deadline) assert.fail(`${name}: "${text}" not logged within 30 s; log: ${stdout}${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  assert.equal(await dockerAvailable(), true, 'dockerd + test image must be there (scripts/ensure-services.sh)');
});

test("Tempo 3 refusing a Tempo 2 config, restarting in a loop: both container kinds quote the log line and name the fix, with the env's secret masked", async (t) => {
  await docker(['tag', TEST_IMAGE, TEMPO_IMAGE]);
  const secret = `s3cr3t-${Math.random().toString(36).slice(2)}`;
  // runContainer runs the test image by its own name: this one runs under the name MyStocks's compose uses.
  const tempo = uniqueName('mystocks-tempo');
  t.after(() => removeContainer(tempo));
  await docker([
    'run',
    '-d',
    '--name',
    tempo,
    '--network',
    'none',
    '--restart',
    'always',
    '--label',
    'watchdog-test=1',
    '--label',
    `watchdog-test.pid=${process.pid}`,
    '-e',
    `S3_SECRET_KEY=${secret}`,
    '--entrypoint',
    'sh',
    TEMPO_IMAGE,
    '-c',
    `echo "level=info msg=starting key=$S3_SECRET_KEY"; echo "${TEMPO3_REFUSAL}" >&2; sleep 1; exit 1`,
  ]);
  await waitForState(tempo, (i) => i.RestartCount >= 1, 'restarted once');
  await logged(tempo, 'field ingester not found');

  const state = await runProber('container_state', { name: 'container-tempo', container: tempo });
  assert.equal(`${state.status}:${state.reason}`, 'failing:restarting', state.message);
  assert.match(state.message, /keeps restarting: .*; last log lines: .*"line 13: field ingester not found in type app\.Config"/);
  assert.match(state.hint!, /Tempo 3 refuses the Tempo 2 config/);
  assert.match(state.hint!, /grafana\/tempo:2\.\d/);
  assert.match(state.hint!, /tempo-cli migrate config/);
  assert.equal(state.details!.logSignature, 'tempo3_refuses_v2_config');

  const memory = await runProber('container_memory', { name: 'tempo-memory', container: tempo });
  assert.equal(`${memory.status}:${memory.reason}`, 'failing:not_running', memory.message);
  assert.match(memory.message, /last log lines: .*field ingester not found in type app\.Config/);
  assert.match(memory.hint!, /tempo-cli migrate config/);

  for (const r of [state, memory]) assert.doesNotMatch(JSON.stringify(r), new RegExp(secret), "the environment's secret is masked");
});

test('an exited container and an unhealthy one quote their last lines; paused, created and OOM-killed ones do not ask', async (t) => {
  const exited = await container(t, 'logs-exit', { cmd: ['sh', '-c', 'echo one; echo two; echo "three: cannot open /data/db: no such file"; exit 2'] });
  await waitForState(exited, (i) => i.State.Status === 'exited', 'exited');
  const r = await runProber('container_state', { name: 'c', container: exited });
  assert.equal(`${r.status}:${r.reason}`, 'failing:not_running', r.message);
  assert.equal(r.message, `"${exited}" has exited (exit code 2); last log lines: "one" | "two" | "three: cannot open /data/db: no such file"`);
  assert.deepEqual(r.details!.lastLogLines, ['one', 'two', 'three: cannot open /data/db: no such file']);
  // No signature: the generic hint stays.
  assert.match(r.hint!, /docker logs --tail 50/);

  const unhealthy = await container(t, 'logs-unhealthy', {
    cmd: ['sh', '-c', 'echo "listening on :8080" >&2; echo "db: connection refused" >&2; exec sleep 600'],
    extraArgs: ['--health-cmd', 'false', '--health-interval', '1s', '--health-retries', '1'],
  });
  await waitForState(unhealthy, (i) => i.State.Health?.Status === 'unhealthy', 'unhealthy');
  const u = await runProber('container_state', { name: 'c', container: unhealthy });
  assert.equal(`${u.status}:${u.reason}`, 'failing:unhealthy', u.message);
  assert.match(u.message, /; last log lines: "listening on :8080" \| "db: connection refused"$/);

  // A paused container did not fail: no log lines, message as before.
  const paused = await container(t, 'logs-paused', { cmd: ['sh', '-c', 'echo hello; exec sleep 600'] });
  await docker(['pause', paused]);
  const p = await runProber('container_state', { name: 'c', container: paused });
  assert.equal(p.message, `"${paused}" is paused`);
});

test('a huge log line is cut short, a TTY container is read raw, and an Engine that cannot be asked for logs changes no verdict', async (t) => {
  const huge = await container(t, 'logs-huge', { cmd: ['sh', '-c', `busybox head -c ${3 * LOG_BYTES} /dev/zero | busybox tr "\\0" x; echo; echo last; exit 1`] });
  await waitForState(huge, (i) => i.State.Status === 'exited', 'exited');
  const r = await runProber('container_state', { name: 'c', container: huge });
  assert.equal(r.reason, 'not_running');
  assert.ok(r.message.length < 700, `message of ${r.message.length} characters`);
  assert.match(r.message, /"x{199}…"/);
  assert.match(r.message, /"last"/);

  const tty = await container(t, 'logs-tty', { extraArgs: ['-t'], cmd: ['sh', '-c', 'echo "from a tty"; exit 4'] });
  await waitForState(tty, (i) => i.State.Status === 'exited', 'exited');
  const client = createDockerClient({ dockerHost: DOCKER_HOST });
  assert.match(await client.logs(tty, 5, AbortSignal.timeout(10_000)), /^from a tty\r?\n$/);
  const tr = await runProber('container_state', { name: 'c', container: tty });
  assert.equal(tr.message, `"${tty}" has exited (exit code 4); last log lines: "from a tty"`);

  // inspect answers, logs do not: the verdict and its message are those of inspect alone.
  const real = createDockerClient({ dockerHost: DOCKER_HOST });
  const failingLogs: DockerClient = {
    endpoint: real.endpoint,
    inspect: (c, s) => real.inspect(c, s),
    stats: (c, s) => real.stats(c, s),
    list: (l, s) => real.list(l, s),
    logs: () => Promise.reject(new DockerUnavailableError(`${real.endpoint} answered HTTP 403: logs not allowed`, undefined, 403)),
  };
  const nologs = await runProber('container_state', { name: 'c', container: tty }, { docker: failingLogs });
  assert.equal(nologs.message, `"${tty}" has exited (exit code 4)`);
});

test("demultiplex: Docker's stream frames in the order written; a raw body as it is", () => {
  const frame = (stream: number, text: string) => {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  };
  assert.equal(demultiplex(Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')])).toString(), 'out 1\nerr 1\nout 2\n');
  assert.equal(demultiplex(Buffer.from('plain text\n')).toString(), 'plain text\n');
  assert.equal(demultiplex(Buffer.alloc(0)).toString(), '');
  // A frame cut short by the size cap keeps what arrived.
  assert.equal(demultiplex(frame(1, 'abcdef').subarray(0, 11)).toString(), 'abc');
});

test('log signatures: each row matches the line its program writes, and none matches an ordinary line', () => {
  const examples: Record<string, string> = {
    tempo3_refuses_v2_config: '  line 13: field ingester not found in type app.Config',
    address_in_use: 'level=error msg="error running tempo" err="listen tcp :3200: bind: address already in use"',
    prometheus_config_invalid:
      'ts=2026-08-09 level=error msg="Error loading config (--config.file=/etc/prometheus/prometheus.yml)" err="error loading config from \\"/etc/prometheus/prometheus.yml\\": parsing YAML file"',
    permission_denied: 'err="mkdir /var/tempo/wal: permission denied"',
  };
  assert.deepEqual(logSignatures.map((s) => s.id).sort(), Object.keys(examples).sort(), 'every row has its example');
  for (const [id, line] of Object.entries(examples)) assert.equal(findSignature(['starting', line, 'exiting'], 'x')?.signature.id, id, line);
  assert.equal(findSignature(['  line 20: field compactor not found in type app.Config'], 'x')?.signature.id, 'tempo3_refuses_v2_config');
  assert.equal(findSignature(['level=info msg="Tempo started"', 'ingester ready'], 'x'), undefined);
  // The container's name goes into a hint that names it.
  assert.match(findSignature(['open /data: permission denied'], 'mystocks-tempo')!.hint, /docker inspect -f '\{\{\.Config\.User\}\}' mystocks-tempo/);
});

test('no_limit on a container made by Compose v1 says that Compose v1 ignores deploy.resources and how to fix it; Compose v2 keeps the usual hint', async (t) => {
  const v1 = await container(t, 'compose-v1', { labels: { 'com.docker.compose.project': 'mystocks', 'com.docker.compose.service': 'tempo', 'com.docker.compose.version': '1.29.2' } });
  const v2 = await container(t, 'compose-v2', { labels: { 'com.docker.compose.project': 'mystocks', 'com.docker.compose.service': 'tempo', 'com.docker.compose.version': '2.27.0' } });

  const state = await runProber('container_state', { name: 'c', container: v1, requireLimit: true });
  assert.equal(`${state.status}:${state.reason}`, 'failing:no_limit', state.message);
  assert.match(state.message, /created by Compose v1 \(docker-compose 1\.29\.2\), which ignores deploy\.resources without --compatibility/);
  assert.match(state.hint!, /Compose v2 \(docker compose up -d <service>\)/);
  assert.match(state.hint!, /docker-compose --compatibility up -d/);
  assert.match(state.hint!, /mem_limit: <size>/);

  const memory = await runProber('container_memory', { name: 'm', container: v1, expectLimit: '1G' });
  assert.equal(`${memory.status}:${memory.reason}`, 'failing:no_limit', memory.message);
  assert.match(memory.message, /Compose v1 \(docker-compose 1\.29\.2\)/);
  assert.match(memory.hint!, /--compatibility/);
  assert.match(memory.hint!, /mem_limit: 1G/);

  const modern = await runProber('container_memory', { name: 'm', container: v2, expectLimit: '1G' });
  assert.equal(modern.reason, 'no_limit');
  assert.doesNotMatch(`${modern.message} ${modern.hint}`, /Compose v1|--compatibility/);
  assert.match(modern.hint!, /^Set deploy\.resources\.limits\.memory to 1G/);
});
