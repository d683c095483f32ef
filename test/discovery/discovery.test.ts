// Discovery against the real dockerd: containers carrying the compose project's labels get a
// container_state probe each while the daemon runs (no reload), lose it when removed (and leave
// /metrics), the ignore label and list leave containers out, written probes win, and a Docker that
// cannot be listed keeps the last set, saying so in /status and in a metric.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon } from '../../src/daemon.js';
import { discoveredSpecs, Discovery, probeName } from '../../src/discovery/discovery.js';
import { Engine } from '../../src/engine/engine.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { createDockerClient, DockerUnavailableError, type DockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { statusReport } from '../../src/report/view.js';
import { dockerAvailable, removeContainer, runContainer, stopContainer, uniqueName } from '../support/docker.js';
import { captureLogger, eventually, problemsOf } from '../support/engine.js';

const DOCKER_HOST = process.env.DOCKER_HOST || undefined;

before(async () => {
  assert.equal(await dockerAvailable(), true, 'dockerd + test image must be there (scripts/ensure-services.sh)');
});

/** Compose's labels, as `docker compose up` sets them. */
const compose = (project: string, service: string, number = 1) => ({
  'com.docker.compose.project': project,
  'com.docker.compose.service': service,
  'com.docker.compose.container-number': String(number),
});

interface StatusBody {
  status: string;
  probes: { name: string; kind: string; status: string; reason: string; message: string; discovered?: boolean; severity: string }[];
  discovery?: { status: string; message: string; probes: string[]; containers: number };
}

// Both engines: on the main thread, and on the probe thread (WATCHDOG_PROBE_THREAD=worker), where discovered
// probes travel to the thread as plain fields (engine/thread.ts) and their results come back.
for (const probeThread of ['main', 'worker'] as const) {
  test(`discovery (WATCHDOG_PROBE_THREAD=${probeThread}): compose services get container_state probes while the daemon runs; removed ones leave /status and /metrics`, async (t) => {
    const project = `wdtest${process.pid}${probeThread[0]}x${Date.now().toString(36)}`;
    const n = {
      api1: uniqueName('api'),
      api2: uniqueName('api'),
      ignored: uniqueName('ignored'),
      listed: uniqueName('listed'),
      db: uniqueName('db'),
      cache: uniqueName('cache'),
      other: uniqueName('other'),
      worker: uniqueName('worker'),
    };
    t.after(() => Promise.all(Object.values(n).map(removeContainer)).then(() => undefined));
    await Promise.all([
      runContainer({ name: n.api1, memory: '32m', labels: compose(project, 'api', 1) }),
      runContainer({ name: n.api2, memory: '32m', labels: compose(project, 'api', 2) }),
      runContainer({ name: n.ignored, labels: { ...compose(project, 'debug-shell'), 'stack-watchdog.ignore': 'true' } }),
      runContainer({ name: n.listed, labels: compose(project, 'one-off') }),
      runContainer({ name: n.db, memory: '32m', labels: compose(project, 'db') }),
      // No limit, but a written container_memory probe judges its limit: no second limit verdict.
      runContainer({ name: n.cache, labels: compose(project, 'cache') }),
      // Another project: not ours.
      runContainer({ name: n.other, memory: '32m', labels: compose(`${project}other`, 'api') }),
    ]);

    const dir = mkdtempSync(join(tmpdir(), 'watchdog-discovery-'));
    const file = join(dir, 'probes.yaml');
    writeFileSync(
      file,
      `
discover:
  interval: 1s
  ignore: [one-off]
  probe: { interval: 1s, timeout: 900ms, requireLimit: true, severity: warning }
probes:
  - { name: written-db, kind: container_state, container: ${n.db}, interval: 1s, timeout: 900ms }
  - { name: cache-memory, kind: container_memory, container: ${n.cache}, interval: 1s, timeout: 900ms, severity: warning }
`,
    );
    // The default selector is the compose project from COMPOSE_PROJECT.
    const env = { WATCHDOG_CONFIG: file, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', COMPOSE_PROJECT: project, WATCHDOG_PROBE_THREAD: probeThread, ...(DOCKER_HOST ? { DOCKER_HOST } : {}) };
    const { logger, lines } = captureLogger('info');
    const d = await startDaemon(readSettings(env), { logger, processMetrics: false });
    t.after(() => d.stop());
    const status = async () => (await (await fetch(`${d.url}/status`)).json()) as StatusBody;
    const metrics = async () => (await fetch(`${d.url}/metrics`)).text();
    const probe = (body: StatusBody, name: string) => body.probes.find((p) => p.name === name);

    await eventually(() => d.engine.ready, 'first results', 15_000);
    let body = await status();
    assert.deepEqual(body.probes.map((p) => p.name).sort(), ['cache-memory', 'container-api', 'container-api-2', 'container-cache', 'written-db']);
    assert.equal(probe(body, 'container-api')!.discovered, true);
    assert.equal(probe(body, 'container-api')!.kind, 'container_state');
    assert.equal(probe(body, 'container-api')!.severity, 'warning', "the block's probe fields apply");
    assert.equal(probe(body, 'container-api')!.status, 'ok');
    assert.equal(probe(body, 'written-db')!.discovered, undefined);
    assert.equal(probe(body, 'container-cache')!.status, 'ok', "its limit is cache-memory's to judge");
    assert.equal(probe(body, 'cache-memory')!.reason, 'no_limit');
    assert.equal(body.discovery!.status, 'ok');
    // In the order of the containers' names (discoveredSpecs), which the names' counter decides ("-10" < "-9").
    const byContainer = [
      [n.api1, 'container-api'],
      [n.api2, 'container-api-2'],
      [n.cache, 'container-cache'],
    ].sort(([a], [b]) => a!.localeCompare(b!));
    assert.deepEqual(
      body.discovery!.probes,
      byContainer.map(([, probe]) => probe),
    );
    assert.equal(body.discovery!.containers, 6, "the project's six containers were listed; the ignore label, the ignore list and the written probe left three out");

    // A new service, while the daemon runs: within one discovery interval, no reload.
    await runContainer({ name: n.worker, labels: compose(project, 'worker') });
    await eventually(() => d.engine.state('container-worker')?.last !== undefined, 'container-worker discovered and run', 10_000);
    body = await status();
    assert.equal(`${probe(body, 'container-worker')!.status}:${probe(body, 'container-worker')!.reason}`, 'failing:no_limit');
    // No WATCHDOG_STACK: the stack is the project discovery lists (config/stack.ts).
    assert.deepEqual(d.stack, { name: project, source: 'discover labels' });
    assert.match(await metrics(), new RegExp(`watchdog_probe_success\\{probe="container-worker",kind="container_state",stack="${project}"\\} 0`));
    assert.match(await metrics(), new RegExp(`watchdog_discovery_up\\{stack="${project}"\\} 1`));
    assert.ok(lines.some((l) => l.msg === 'discovered probes changed' && JSON.stringify(l.added) === '["container-worker"]'));

    // A discovered probe judges like a written one: a stopped container is not_running.
    await stopContainer(n.api1);
    await eventually(() => d.engine.state('container-api')?.current.reason === 'not_running', 'container-api not_running', 10_000);

    // Removed: the probe goes, and its series leave /metrics.
    await removeContainer(n.worker);
    await eventually(() => d.engine.state('container-worker') === undefined, 'container-worker removed', 10_000);
    assert.equal(probe(await status(), 'container-worker'), undefined);
    assert.doesNotMatch(await metrics(), /container-worker/);
    assert.equal(lines.find((l) => l.msg === 'stack-watchdog started')?.probeThread, probeThread);
  });
}

test('discovery: a Docker that cannot be listed keeps the last set, and says so in /status and a metric', async (t) => {
  const project = `wdtest${process.pid}y${Date.now().toString(36)}`;
  const name = uniqueName('svc');
  t.after(() => removeContainer(name));
  await runContainer({ name, memory: '32m', labels: compose(project, 'svc') });
  const real = createDockerClient({ dockerHost: DOCKER_HOST });
  let broken = false;
  const docker: DockerClient = {
    endpoint: real.endpoint,
    inspect: (c, s) => real.inspect(c, s),
    stats: (c, s) => real.stats(c, s),
    logs: (c, n, s) => real.logs(c, n, s),
    list: (l, s) => (broken ? Promise.reject(new DockerUnavailableError(`nothing accepts connections at ${real.endpoint} (is dockerd running?)`, 'ECONNREFUSED')) : real.list(l, s)),
  };
  const engine = new Engine({ http: createHttpClient({ userAgent: 't' }), docker, logger: pino({ level: 'silent' }), now: Date.now });
  const config = parseConfig([{ file: 'd.yaml', text: `discover: { labels: { com.docker.compose.project: ${project} } }\nprobes: []\n` }], {});
  engine.load(config);
  const discovery = new Discovery({ engine, docker, logger: pino({ level: 'silent' }), now: Date.now });
  discovery.configure(config);
  await discovery.refresh();
  assert.deepEqual(
    engine.states().map((s) => s.spec.name),
    ['container-svc'],
  );
  const registry = createMetrics({ engine, discovery, version: 't', stack: 's', reloadStatus: () => ({ ok: true, at: 0 }), processMetrics: false });
  assert.match(await registry.metrics(), /watchdog_discovery_up\{stack="s"\} 1/);

  broken = true;
  await discovery.refresh();
  assert.deepEqual(
    engine.states().map((s) => s.spec.name),
    ['container-svc'],
    'the last set is kept',
  );
  const report = statusReport(engine.states(), Date.now(), discovery.current());
  assert.equal(report.discovery!.status, 'stale');
  assert.match(report.discovery!.message, /cannot list containers at .*: nothing accepts connections .*; keeping the 1 discovered probe\(s\) found at /);
  assert.match(await registry.metrics(), /watchdog_discovery_up\{stack="s"\} 0/);
  await engine.stop(100);

  // A one-shot check has no last set: none discovered, and it says why.
  const fresh = new Engine({ http: createHttpClient({ userAgent: 't' }), docker, logger: pino({ level: 'silent' }), now: Date.now });
  fresh.load(config);
  const once = new Discovery({ engine: fresh, docker, logger: pino({ level: 'silent' }), now: Date.now });
  once.configure(config);
  await once.refresh();
  assert.deepEqual(fresh.states(), []);
  assert.equal(once.current()!.status, 'pending');
});

test('watchdog check lists discovered probes like written ones', async (t) => {
  const project = `wdtest${process.pid}z${Date.now().toString(36)}`;
  const name = uniqueName('web');
  t.after(() => removeContainer(name));
  await runContainer({ name, labels: compose(project, 'web') });
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-discovery-'));
  writeFileSync(join(dir, 'p.yaml'), 'discover: { probe: { requireLimit: true } }\nprobes: []\n');
  const out = await new Promise<{ code: number; stdout: string }>((resolve) =>
    execFile(
      process.execPath,
      ['bin/watchdog.js', 'check', '--config', join(dir, 'p.yaml'), '--format', 'json'],
      { env: { PATH: process.env.PATH, COMPOSE_PROJECT: project, ...(DOCKER_HOST ? { DOCKER_HOST } : {}) }, timeout: 60_000 },
      (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout }),
    ),
  );
  assert.equal(out.code, 1, out.stdout);
  const body = JSON.parse(out.stdout) as StatusBody;
  assert.deepEqual(
    body.probes.map((p) => [p.name, p.reason, p.discovered]),
    [['container-web', 'no_limit', true]],
  );
  assert.equal(body.discovery!.status, 'ok');
});

test('discover block: checked like a written probe, once across files; probe names from compose labels', () => {
  const problems = problemsOf(() =>
    parseConfig(
      [
        { file: 'a.yaml', text: 'discover: { interval: 0.5s, probe: { window: forever, container: x, severity: loud } }\nprobes: []\n' },
        { file: 'b.yaml', text: 'discover: {}\nprobes: []\n' },
      ],
      {},
    ),
  );
  assert.deepEqual(
    problems.sort(),
    [
      'a.yaml: discover.interval: 0.5s is shorter than the 1s minimum',
      'a.yaml: discover.probe.container: set by discovery for each container; leave it out',
      'a.yaml: discover.probe.severity: must be one of "critical", "warning", got "loud"',
      'b.yaml: discover: already set in a.yaml; give it in one file only',
    ].sort(),
  );
  assert.deepEqual(
    problemsOf(() => parseConfig([{ file: 'a.yaml', text: 'discover: { probe: { dependsOn: [nope] } }\nprobes: []\n' }], {})),
    ['a.yaml: discover.probe.dependsOn: no probe is named "nope"'],
  );
  assert.equal(probeName('tempo', 1), 'container-tempo');
  assert.equal(probeName('Tempo_Ingester', 3), 'container-tempo-ingester-3');
  assert.equal(probeName('mystocks-backend-1', Number.NaN), 'container-mystocks-backend-1');
  assert.equal(probeName('x'.repeat(80), 2).length, 64);
});

test('discover.probe is decoded under its own names: each problem names the block and the field', () => {
  const problems = (probe: string) => problemsOf(() => parseConfig([{ file: 'a.yaml', text: `discover: { probe: ${probe} }\nprobes: []\n` }], {}));
  assert.deepEqual(problems('{ interval: 1s, timeout: 2s, hints: { no_limt: x } }'), [
    'a.yaml: discover.probe.timeout: 2s is not shorter than the interval (1s)',
    'a.yaml: discover.probe.hints.no_limt: "no_limt" is not a reason of kind container_state; did you mean "no_limit"? (its reasons: docker_unavailable, not_found, timeout, oom_killed, restarting, not_running, unhealthy, no_limit, dependency_failed, error)',
  ]);
  assert.deepEqual(problems('{ window: forever }'), ['a.yaml: discover.probe.window: expected a duration such as "500ms", "30s", "5m" or "1h", got "forever"']);
  // The fields discovery sets are not offered as guesses: the block's own fields are.
  assert.deepEqual(problems('{ windw: 5m }'), ['a.yaml: discover.probe.windw: unknown field; did you mean "window"?']);
  assert.deepEqual(problems('{ requireLimit: yes }'), ['a.yaml: discover.probe.requireLimit: expected boolean, got "yes"']);
});

test("a container's limit has one judge: a written container_memory probe, else the discovered probe when requireLimit asks", () => {
  const containers = ['cache', 'web'].map((service, i) => ({ Id: `${i}`.repeat(64), Names: [`/p-${service}-1`], Labels: compose('p', service) }));
  const written = parseConfig([{ file: 'w.yaml', text: 'probes: [{ name: cache-memory, kind: container_memory, container: p-cache-1 }]\n' }], {}).probes;
  const limitChecks = (block: string) => {
    const config = parseConfig([{ file: 'd.yaml', text: `discover: { probe: ${block} }\nprobes: []\n` }], {}).discover!;
    return Object.fromEntries(discoveredSpecs(config, written, containers).map((m) => [m.spec.name, (m.spec.settings as { requireLimit: boolean }).requireLimit]));
  };
  assert.deepEqual(limitChecks('{ requireLimit: true }'), { 'container-cache': false, 'container-web': true });
  assert.deepEqual(limitChecks('{}'), { 'container-cache': false, 'container-web': false });
});
