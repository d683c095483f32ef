// docker-compose.override.yml merged onto a file shaped like the mystocks stack by Debian's real
// docker-compose (1.29, installed by scripts/ensure-services.sh), and by Compose v2 (`docker compose`,
// what the README uses) wherever it is installed. `config` only merges, validates and prints: nothing
// is pulled, built or started. The last test mounts the merged rule volumes into a real container on
// the local dockerd (busybox, --network none).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { docker, dockerAvailable, TEST_IMAGE, TEST_LABEL, TEST_PID_LABEL } from '../support/docker.js';
import { makeTempDir } from '../support/process.js';

const root = resolve(import.meta.dirname, '../..');
const fixtureDir = join(root, 'test/fixtures/compose');
const base = join(fixtureDir, 'docker-compose.yml');
const override = join(root, 'docker-compose.override.yml');

interface Service {
  build?: { context: string };
  container_name?: string;
  networks?: Record<string, unknown>;
  volumes?: string[];
  environment?: Record<string, string>;
  mem_limit?: string;
  deploy?: { resources?: { limits?: { memory?: string } } };
  restart?: string;
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number; start_period: string };
  group_add?: (string | number)[];
  ports?: unknown[];
  depends_on?: unknown;
}
interface Merged {
  services: Record<string, Service>;
  networks: Record<string, { name?: string }>;
}

/**
 * `docker-compose config` as an operator would run it next to the stack's file. The variables the
 * override reads come only from `env`, so a developer's own DOCKER_GID cannot change the result.
 */
function composeConfig(opts: { projectDir: string; files?: string[]; env?: Record<string, string>; v2?: boolean }) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(COMPOSE_|DOCKER_GID$|WATCHDOG_)/.test(k)) env[k] = v;
  const files = opts.files ?? [base, override];
  const args = ['--project-directory', opts.projectDir, ...files.flatMap((f) => ['-f', f]), 'config'];
  const [command, argv] = opts.v2 ? ['docker', ['compose', ...args]] : ['docker-compose', args];
  const r = spawnSync(command, argv, { encoding: 'utf8', timeout: 60_000, env: { ...env, ...opts.env } });
  if (r.error) throw new Error(`${command} could not run (scripts/ensure-services.sh installs docker-compose): ${r.error.message}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, merged: () => parse(r.stdout) as Merged };
}

/**
 * Compose v2 when `docker compose version` answers; else why not, as the skip message. Debian
 * bookworm packages only v1 (docker-compose 1.29); v2 comes with Docker's docker-compose-plugin or
 * Debian trixie's docker-compose 2.x.
 */
function composeV2(): { version: string } | { missing: string } {
  const r = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status === 0) return { version: r.stdout.trim() };
  const why = r.error ? r.error.message : (r.stderr.trim().split('\n')[0] ?? `exit ${r.status}`);
  return {
    missing: `Compose v2 is not installed here (\`docker compose version\`: ${why}); Debian bookworm ships only docker-compose 1.29, which the tests above run. Install docker-compose-plugin (Docker's apt repository) to run the merge on v2 too`,
  };
}

/**
 * v2 prints short forms long: volumes as {type, source, target, read_only}, ports as objects, sizes
 * in bytes. Back to the short forms v1 prints, so one set of expectations reads both.
 */
function shortVolume(v: string | { source?: string; target: string; read_only?: boolean }): string {
  return typeof v === 'string' ? v : `${v.source}:${v.target}:${v.read_only ? 'ro' : 'rw'}`;
}
function bytes(size: string | number | undefined): number | undefined {
  if (size === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(String(size));
  if (!m) return NaN;
  return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
}

/** The CMD array of the Dockerfile's HEALTHCHECK (exec form). */
function imageHealthcheck(): string[] {
  const m = /^HEALTHCHECK [^\n]*\\\n\s*CMD (\[.*\])$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  assert.ok(m, 'Dockerfile: HEALTHCHECK ... CMD [...] (exec form, on the continuation line)');
  return JSON.parse(m[1]!) as string[];
}

test('the merge keeps the stack as it was and adds the watchdog to its network', () => {
  const r = composeConfig({ projectDir: fixtureDir, env: { WATCHDOG_DIR: root } });
  assert.equal(r.code, 0, r.stderr);
  const { services, networks } = r.merged();
  assert.deepEqual(Object.keys(services).sort(), ['alertmanager', 'backend', 'grafana', 'prometheus', 'tempo', 'watchdog']);
  assert.deepEqual(Object.fromEntries(Object.entries(services).map(([name, s]) => [name, s.container_name])), {
    alertmanager: 'mystocks-alertmanager',
    backend: 'mystocks-backend',
    grafana: 'mystocks-grafana',
    prometheus: 'mystocks-prometheus',
    tempo: 'mystocks-tempo',
    watchdog: 'mystocks-watchdog',
  });
  assert.equal(services.prometheus!.deploy?.resources?.limits?.memory, '2G');
  assert.equal(services.tempo!.deploy?.resources?.limits?.memory, '1G');
  assert.equal(networks['mystocks-monitoring']?.name, 'mystocks-monitoring');
  for (const [name, s] of Object.entries(services)) assert.deepEqual(Object.keys(s.networks ?? {}), ['mystocks-monitoring'], name);
});

test('the watchdog service: built here, socket and probes read-only, endpoints by service name, limits, healthcheck', () => {
  const r = composeConfig({ projectDir: fixtureDir, env: { WATCHDOG_DIR: root } });
  assert.equal(r.code, 0, r.stderr);
  const w = r.merged().services.watchdog!;
  assert.equal(w.build?.context, root);
  // docker-compose 1.29 prints a service's volumes in no fixed order. The stack's own folder (the
  // project folder, where the override sits) is mounted read-only at STACK_DIR for stack-config and dashboards.
  assert.deepEqual(
    [...(w.volumes ?? [])].sort(),
    [`${root}/probes:/app/probes:ro`, '/var/run/docker.sock:/var/run/docker.sock:ro', 'watchdog-state:/var/lib/stack-watchdog:rw', `${fixtureDir}:/stack:ro`].sort(),
  );
  assert.deepEqual(w.environment, {
    WATCHDOG_CONFIG: '/app/probes',
    WATCHDOG_PORT: '9469',
    WATCHDOG_LOG_LEVEL: 'info',
    WATCHDOG_ADMIN_TOKEN: '',
    WATCHDOG_STATE_DIR: '/var/lib/stack-watchdog',
    DOCKER_HOST: 'unix:///var/run/docker.sock',
    PROMETHEUS_URL: 'http://prometheus:9090',
    TEMPO_URL: 'http://tempo:3200',
    TEMPO_OTLP_GRPC: 'tempo:4317',
    TEMPO_OTLP_HTTP: 'http://tempo:4318',
    ALERTMANAGER_URL: 'http://alertmanager:9093',
    TRACED_SERVICE: 'mystocks-backend',
    PROMETHEUS_CONTAINER: 'mystocks-prometheus',
    TEMPO_CONTAINER: 'mystocks-tempo',
    APP_CONTAINER: 'mystocks-backend',
    STACK_DIR: '/stack',
  });
  assert.equal(w.mem_limit, '256m');
  assert.equal(w.restart, 'unless-stopped');
  assert.deepEqual(w.group_add, ['999']);
  assert.deepEqual(w.ports, ['127.0.0.1:9469:9469/tcp']);
  // Nothing may wait on Prometheus or Alertmanager: their outage is what the watchdog reports.
  assert.equal(w.depends_on, undefined);
  const hc = w.healthcheck!;
  assert.deepEqual({ interval: hc.interval, timeout: hc.timeout, retries: hc.retries, start_period: hc.start_period }, { interval: '30s', timeout: '5s', retries: 3, start_period: '20s' });
  assert.deepEqual(hc.test, ['CMD', ...imageHealthcheck()]);
  assert.match(hc.test.join(' '), /\/healthz/);
});

test("the watchdog rules land in Prometheus's rule folder, next to the stack's own mounts", () => {
  const r = composeConfig({ projectDir: fixtureDir, env: { WATCHDOG_DIR: root } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    [...(r.merged().services.prometheus!.volumes ?? [])].sort(),
    [
      `${fixtureDir}/config/prometheus.yml:/etc/prometheus/prometheus.yml:ro`,
      `${fixtureDir}/config/rules:/etc/prometheus/rules:rw`,
      `${root}/deploy/prometheus/watchdog-rules.yml:/etc/prometheus/rules/watchdog-rules.yml:ro`,
      `${root}/deploy/prometheus/watchdog-recording-rules.yml:/etc/prometheus/rules/watchdog-recording-rules.yml:ro`,
      'prometheus-data:/prometheus:rw',
    ].sort(),
  );
});

test('DOCKER_GID, WATCHDOG_ADMIN_TOKEN and a relative WATCHDOG_DIR come from the environment', () => {
  const r = composeConfig({ projectDir: fixtureDir, env: { WATCHDOG_DIR: '../../..', DOCKER_GID: '988', WATCHDOG_ADMIN_TOKEN: 's3cret', WATCHDOG_LOG_LEVEL: 'debug' } });
  assert.equal(r.code, 0, r.stderr);
  const w = r.merged().services.watchdog!;
  assert.deepEqual(w.group_add, ['988']);
  assert.equal(w.environment?.WATCHDOG_ADMIN_TOKEN, 's3cret');
  assert.equal(w.environment?.WATCHDOG_LOG_LEVEL, 'debug');
  // Relative to the stack's folder, as compose resolves every relative path of every file.
  assert.equal(w.build?.context, root);
  assert.ok(w.volumes?.includes(`${root}/probes:/app/probes:ro`), String(w.volumes));
});

test('run from the checkout itself, WATCHDOG_DIR defaults to "."', () => {
  const r = composeConfig({ projectDir: root });
  assert.equal(r.code, 0, r.stderr);
  const { services } = r.merged();
  assert.equal(services.watchdog!.build?.context, root);
  assert.ok(services.prometheus!.volumes?.includes(`${root}/deploy/prometheus/watchdog-rules.yml:/etc/prometheus/rules/watchdog-rules.yml:ro`));
});

test("the commented env-file example: uncommented, it mounts the app's .env read-only and names it; without APP_DOTENV compose refuses", () => {
  const dir = makeTempDir('compose');
  const enabled = join(dir, 'docker-compose.override.yml');
  const text = readFileSync(override, 'utf8');
  const uncommented = text
    .replace('# - ${APP_DOTENV:?', '- ${APP_DOTENV:?')
    .replace('# APP_ENV_FILE: /app/app.env', 'APP_ENV_FILE: /app/app.env')
    .replace('# APP_IN_COMPOSE: "false"', 'APP_IN_COMPOSE: "false"');
  assert.notEqual(uncommented, text);
  writeFileSync(enabled, uncommented);
  const r = composeConfig({ projectDir: fixtureDir, files: [base, enabled], env: { WATCHDOG_DIR: root, APP_DOTENV: '/srv/mystocks/backend/.env' } });
  assert.equal(r.code, 0, r.stderr);
  const w = r.merged().services.watchdog!;
  assert.ok(w.volumes?.includes('/srv/mystocks/backend/.env:/app/app.env:ro'), String(w.volumes));
  assert.equal(w.environment?.APP_ENV_FILE, '/app/app.env');
  assert.equal(w.environment?.APP_IN_COMPOSE, 'false', 'container-backend is switched off for an app on the host');
  // Unset, Docker would create a directory where the file should be: compose stops first.
  const unset = composeConfig({ projectDir: fixtureDir, files: [base, enabled], env: { WATCHDOG_DIR: root } });
  assert.notEqual(unset.code, 0, unset.stdout);
  assert.match(unset.stderr, /set APP_DOTENV to the path of the app's \.env on the host/);
});

test('docker-compose refuses an override with a misspelt key (the merge check can fail)', () => {
  const dir = makeTempDir('compose');
  const broken = join(dir, 'docker-compose.override.yml');
  writeFileSync(broken, readFileSync(override, 'utf8').replace('mem_limit: 256m', 'mem_limt: 256m'));
  const r = composeConfig({ projectDir: fixtureDir, files: [base, broken], env: { WATCHDOG_DIR: root } });
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /mem_limt/);
});

test('the merged rule mounts work on a real dockerd, and the read-only caveat in the override is true', async () => {
  // The test command starts dockerd (scripts/ensure-services.sh): its absence is a failure, not a skip.
  if (!(await dockerAvailable())) assert.fail('dockerd or the test image is missing: run scripts/ensure-services.sh');
  // A stack folder of its own: Docker creates the mount point inside the stack's rules folder.
  const stack = makeTempDir('stack');
  cpSync(base, join(stack, 'docker-compose.yml'));
  mkdirSync(join(stack, 'config/rules'), { recursive: true });
  writeFileSync(join(stack, 'config/rules/tracing-business-alerts.yml'), 'groups: []\n');
  const r = composeConfig({ projectDir: stack, files: [join(stack, 'docker-compose.yml'), override], env: { WATCHDOG_DIR: root } });
  assert.equal(r.code, 0, r.stderr);
  // Sorted only to compare: Docker itself mounts the folder before the file inside it, in any order.
  const ruleMounts = r
    .merged()
    .services.prometheus!.volumes!.filter((v) => v.includes(':/etc/prometheus/rules'))
    .sort();
  assert.deepEqual(
    ruleMounts,
    [
      `${stack}/config/rules:/etc/prometheus/rules:rw`,
      `${root}/deploy/prometheus/watchdog-rules.yml:/etc/prometheus/rules/watchdog-rules.yml:ro`,
      `${root}/deploy/prometheus/watchdog-recording-rules.yml:/etc/prometheus/rules/watchdog-recording-rules.yml:ro`,
    ].sort(),
  );

  const listRules = (mounts: string[]) =>
    docker([
      'run',
      '--rm',
      '--network',
      'none',
      '--label',
      `${TEST_LABEL}=1`,
      '--label',
      `${TEST_PID_LABEL}=${process.pid}`,
      ...mounts.flatMap((m) => ['-v', m]),
      TEST_IMAGE,
      'sh',
      '-c',
      'ls /etc/prometheus/rules && cat /etc/prometheus/rules/watchdog-rules.yml',
    ]);
  const rules = readFileSync(join(root, 'deploy/prometheus/watchdog-rules.yml'), 'utf8');
  assert.equal((await listRules(ruleMounts)).stdout, `tracing-business-alerts.yml\nwatchdog-recording-rules.yml\nwatchdog-rules.yml\n${rules}`);

  // With the stack's folder read-only, Docker cannot create the mount point: the override's comment
  // says to create it once on the host. The run above already left it there, so start afresh.
  const readOnly = makeTempDir('stack-ro');
  mkdirSync(join(readOnly, 'rules'));
  const fileMount = ruleMounts.find((m) => m.includes('/watchdog-rules.yml:/etc/prometheus/rules/'))!;
  const roMounts = [`${readOnly}/rules:/etc/prometheus/rules:ro`, fileMount];
  await assert.rejects(listRules(roMounts), /read-only file system/);
  writeFileSync(join(readOnly, 'rules/watchdog-rules.yml'), '');
  assert.equal((await listRules(roMounts)).stdout, `watchdog-rules.yml\n${rules}`);
});

test('Compose v2 (`docker compose`, as the README runs it) merges the override the same way', (t) => {
  const v2 = composeV2();
  if ('missing' in v2) {
    t.skip(v2.missing);
    return;
  }
  t.diagnostic(`docker compose ${v2.version}`);
  const r = composeConfig({ projectDir: fixtureDir, env: { WATCHDOG_DIR: root, DOCKER_GID: '988' }, v2: true });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /obsolete|version/i, 'the override has no `version:` key to warn about');
  const { services, networks } = r.merged();
  assert.deepEqual(Object.keys(services).sort(), ['alertmanager', 'backend', 'grafana', 'prometheus', 'tempo', 'watchdog']);
  assert.equal(services.watchdog!.container_name, 'mystocks-watchdog');
  assert.equal(networks['mystocks-monitoring']?.name, 'mystocks-monitoring');
  for (const [name, svc] of Object.entries(services)) assert.deepEqual(Object.keys(svc.networks ?? {}), ['mystocks-monitoring'], name);
  assert.equal(bytes(services.prometheus!.deploy?.resources?.limits?.memory), 2 * 1024 ** 3);
  const w = services.watchdog!;
  assert.equal(w.build?.context, root);
  assert.equal(bytes(w.mem_limit), 256 * 1024 ** 2);
  assert.deepEqual(w.group_add?.map(String), ['988']);
  assert.equal(w.environment?.PROMETHEUS_URL, 'http://prometheus:9090');
  assert.deepEqual(w.healthcheck?.test, ['CMD', ...imageHealthcheck()]);
  const volumes = (list: Service['volumes']) => (list ?? []).map((v) => shortVolume(v as Parameters<typeof shortVolume>[0]));
  assert.deepEqual(volumes(w.volumes).sort(), [`${root}/probes:/app/probes:ro`, '/var/run/docker.sock:/var/run/docker.sock:ro', `${fixtureDir}:/stack:ro`].sort());
  assert.ok(volumes(services.prometheus!.volumes).includes(`${root}/deploy/prometheus/watchdog-rules.yml:/etc/prometheus/rules/watchdog-rules.yml:ro`), JSON.stringify(services.prometheus!.volumes));
  const broken = join(makeTempDir('compose-v2'), 'docker-compose.override.yml');
  writeFileSync(broken, readFileSync(override, 'utf8').replace('mem_limit: 256m', 'mem_limt: 256m'));
  const refused = composeConfig({ projectDir: fixtureDir, files: [base, broken], env: { WATCHDOG_DIR: root }, v2: true });
  assert.notEqual(refused.code, 0, refused.stdout);
  assert.match(refused.stderr, /mem_limt/);
});
