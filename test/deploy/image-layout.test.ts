// No image can be pulled on this machine, so the real base image (node:26-trixie-slim) is out of
// reach. This file checks the Dockerfile three ways:
// 1. its instructions, read from the file;
// 2. its runtime stage rebuilt as a folder (package files, `npm ci --omit=dev`, the compiled dist/
//    and probes/), started with the image's own CMD and ENV; its size and start time are printed;
// 3. with WATCHDOG_TEST_DOCKER_BUILD=1: a real `docker build` of the unchanged Dockerfile on the
//    local dockerd, FROM a stand-in base made of this machine's node and npm (BASE_IMAGE build
//    argument), offline (--network none, npm from a cache baked into the stand-in), then run until
//    Docker reports it healthy, and stopped. Opt-in because it takes 2.5-4 minutes here (the legacy
//    builder on vfs copies the whole root filesystem for every step), more than scripts/test.sh
//    gives one test file (--test-timeout bounds a whole file).
import { spawnSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dockerAvailable, TEST_LABEL, TEST_PID_LABEL } from '../support/docker.js';
import { freePort } from '../support/ports.js';
import { makeTempDir, onExit, startProcess, waitForHttpOk, type ManagedProcess } from '../support/process.js';

const root = resolve(import.meta.dirname, '../..');

/** Runs a program to completion; never throws for a non-zero exit. */
function run(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  const r = spawnSync(command, args, { cwd: opts.cwd, env: opts.env, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${command} ${args.join(' ')}: ${r.error.message}`);
  return { code: r.status, stdout: r.stdout, out: `${r.stdout}${r.stderr}` };
}
const docker = (...args: string[]) => run('docker', args, { timeoutMs: 120_000 });

/** The runtime stage's first COPY: the package files that `npm ci` installs from. */
function copyPackageFiles(dir: string): void {
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(root, f), join(dir, f));
}

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  body: Instruction[];
}

/** Instructions per stage; continuation lines joined, comments dropped. Enough for this Dockerfile. */
function parseDockerfile(text: string): { globalArgs: Instruction[]; stages: Stage[] } {
  const instructions = text
    .replace(/\s*\\\r?\n\s*/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const m = /^(\w+)\s+(.*)$/.exec(line);
      assert.ok(m, `Dockerfile: cannot read "${line}"`);
      return { op: m[1]!.toUpperCase(), args: m[2]! };
    });
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const [from, as, name] = ins.args.split(/\s+/);
      stages.push({ from: from!, name: as?.toUpperCase() === 'AS' ? name : undefined, body: [] });
    } else if (stages.length) stages.at(-1)!.body.push(ins);
    else globalArgs.push(ins);
  }
  return { globalArgs, stages };
}

const dockerfile = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const stage = (name: string) => {
  const s = dockerfile.stages.find((x) => x.name === name);
  assert.ok(s, `Dockerfile: no stage "${name}"`);
  return s;
};
const all = (s: Stage, op: string) => s.body.filter((i) => i.op === op).map((i) => i.args);
const one = (s: Stage, op: string) => {
  const found = all(s, op);
  assert.equal(found.length, 1, `Dockerfile stage ${s.name}: expected one ${op}, found ${found.length}`);
  return found[0]!;
};
/** `ENV A=1 B="x y"` lines of a stage as one object (a double-quoted value may hold spaces). */
const envOf = (s: Stage) => Object.fromEntries(all(s, 'ENV').flatMap((a) => [...a.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"(.*)"$/, '$1')] as [string, string])));
/** The JSON array at the end of an exec-form instruction (CMD, HEALTHCHECK ... CMD). */
const execForm = (args: string) => {
  const m = /(\[.*\])$/.exec(args);
  assert.ok(m, `not in exec form: ${args}`);
  return JSON.parse(m[1]!) as string[];
};

describe('Dockerfile', () => {
  it('builds in a stage with dev dependencies and runs from a second one with production ones only', () => {
    assert.deepEqual(
      dockerfile.stages.map((s) => s.name),
      ['build', 'runtime'],
    );
    const build = stage('build');
    const runtime = stage('runtime');
    assert.deepEqual(all(build, 'RUN'), ['npm ci --no-audit --no-fund', 'npm run build']);
    assert.deepEqual(all(runtime, 'RUN'), ['npm ci --omit=dev --no-audit --no-fund && npm cache clean --force', 'mkdir -p /var/lib/stack-watchdog && chown node:node /var/lib/stack-watchdog']);
    assert.deepEqual(all(runtime, 'COPY'), ['package.json package-lock.json ./', '--from=build /app/dist ./dist', 'probes ./probes']);
    assert.equal(one(runtime, 'WORKDIR'), '/app');
  });

  it('uses a current Node LTS slim image for both stages', () => {
    const arg = (name: string) => dockerfile.globalArgs.find((a) => a.op === 'ARG' && a.args.startsWith(`${name}=`))?.args.split('=', 2)[1];
    const major = Number(arg('NODE_VERSION'));
    // Even majors are the LTS lines; 20 reached its end in April 2026.
    assert.ok(major >= 24 && major % 2 === 0, `NODE_VERSION=${major}`);
    assert.equal(arg('BASE_IMAGE'), 'node:${NODE_VERSION}-trixie-slim');
    for (const s of dockerfile.stages) assert.equal(s.from, '${BASE_IMAGE}');
  });

  it('runs as node, exposes 9469, checks /healthz with node, stops on SIGTERM, ships probes as the config', () => {
    const runtime = stage('runtime');
    const ops = runtime.body.map((i) => i.op);
    assert.equal(one(runtime, 'USER'), 'node');
    // npm ci runs as root (it writes /app); everything after USER runs the app unprivileged.
    assert.ok(ops.lastIndexOf('RUN') < ops.indexOf('USER'), 'USER node comes after the last RUN');
    assert.equal(one(runtime, 'EXPOSE'), '9469');
    assert.equal(one(runtime, 'STOPSIGNAL'), 'SIGTERM');
    // The heap caps and malloc arenas the benches measured with (bench/proc.ts reads these very lines).
    assert.deepEqual(envOf(runtime), {
      NODE_ENV: 'production',
      WATCHDOG_CONFIG: '/app/probes',
      WATCHDOG_PORT: '9469',
      NODE_OPTIONS: '--max-old-space-size=96 --max-semi-space-size=4 --v8-pool-size=2',
      MALLOC_ARENA_MAX: '2',
    });
    const healthcheck = one(runtime, 'HEALTHCHECK');
    assert.match(healthcheck, /^--interval=30s --timeout=5s --start-period=20s --retries=3 CMD \[/);
    const probe = execForm(healthcheck);
    assert.deepEqual(probe.slice(0, 2), ['node', '-e']);
    assert.match(probe[2]!, /\/healthz/);
    assert.deepEqual(execForm(one(runtime, 'CMD')), ['node', '--enable-source-maps', 'dist/cli.js', 'run']);
  });

  it('carries the OCI labels', () => {
    const labels = all(stage('runtime'), 'LABEL').join(' ');
    const keys = [...labels.matchAll(/(org\.opencontainers\.image\.[a-z.]+)=/g)].map((m) => m[1]);
    assert.deepEqual(
      keys,
      ['title', 'description', 'licenses', 'version', 'revision', 'created', 'base.name'].map((k) => `org.opencontainers.image.${k}`),
    );
    assert.match(labels, /org\.opencontainers\.image\.licenses="Apache-2\.0"/);
  });

  it('.dockerignore lets in exactly what the COPY lines take from the build context', () => {
    const lines = readFileSync(join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    assert.equal(lines[0], '*', 'everything is excluded first, so nothing new slips in unnoticed');
    const allowed = lines
      .slice(1)
      .map((l) => l.replace(/^!/, ''))
      .sort();
    const copied = dockerfile.stages
      .flatMap((s) => all(s, 'COPY'))
      .filter((args) => !args.startsWith('--from='))
      .flatMap((args) => args.split(/\s+/).slice(0, -1));
    assert.deepEqual(allowed, [...new Set(copied)].sort());
  });
});

describe('the runtime stage, rebuilt as a folder and started as the image starts it', () => {
  const app = join(makeTempDir('image-layout'), 'app');
  const runtime = stage('runtime');
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }> };
  let target: { close(): void; url: string };
  let daemon: ManagedProcess;
  let port: number;
  let startMs: number;
  let readyMs: number;

  before(
    async () => {
      // What the runtime stage copies and runs, in its order.
      mkdirSync(app);
      copyPackageFiles(app);
      const npm = run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, timeoutMs: 170_000 });
      assert.equal(npm.code, 0, `npm ci --omit=dev failed:\n${npm.out}`);
      // The build stage's `npm run build` is tsc -p tsconfig.json; a type error stops the image build too.
      const tsc = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', join(app, 'dist')], { timeoutMs: 120_000 });
      assert.equal(tsc.code, 0, `tsc failed (the image build would too):\n${tsc.out}`);
      if (existsSync(join(root, 'probes'))) cpSync(join(root, 'probes'), join(app, 'probes'), { recursive: true });

      const server = createServer((_req, res) => res.end('ok'));
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      const address = server.address();
      assert.ok(address && typeof address === 'object');
      target = { close: () => server.close(), url: `http://127.0.0.1:${address.port}/` };

      const probeFile = join(app, '..', 'probe.yaml');
      writeFileSync(probeFile, `probes:\n  - name: local-http\n    kind: http\n    url: ${target.url}\n    interval: 5s\n    timeout: 2s\n`);
      port = await freePort();
      const [command, ...args] = execForm(one(runtime, 'CMD'));
      assert.equal(command, 'node');
      const t0 = performance.now();
      daemon = await startProcess({
        name: 'image-layout',
        command: process.execPath,
        args,
        cwd: app,
        // The image's ENV, with the config, port and host a test needs; nothing else from this shell.
        env: { ...envOf(runtime), PATH: process.env.PATH, HOME: app, WATCHDOG_CONFIG: probeFile, WATCHDOG_PORT: String(port), WATCHDOG_HOST: '127.0.0.1', WATCHDOG_STACK: 'image' },
      });
      const describeLog = () => daemon.logTail();
      await waitForHttpOk(`http://127.0.0.1:${port}/healthz`, { timeoutMs: 30_000, intervalMs: 10, abortIf: () => (daemon.isRunning() ? undefined : 'the daemon exited'), describe: describeLog });
      startMs = performance.now() - t0;
      await waitForHttpOk(`http://127.0.0.1:${port}/readyz`, { timeoutMs: 30_000, intervalMs: 10, describe: describeLog });
      readyMs = performance.now() - t0;
    },
    { timeout: 400_000 },
  );

  after(async () => {
    await daemon?.stop();
    target?.close();
  });

  it('answers /healthz and runs its probe with production dependencies only', async (t) => {
    const res = await fetch(`http://127.0.0.1:${port}/status/local-http`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; reason: string };
    assert.deepEqual({ status: body.status, reason: body.reason }, { status: 'ok', reason: 'ok' });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^watchdog_probe_success\{probe="local-http",kind="http",stack="image"\} 1$/m);
    assert.match(metrics, /^watchdog_build_info\{version="[^"]+",nodejs="[^"]+",stack="image"\} 1$/m);
    const line = `runtime stage: /healthz answered ${startMs.toFixed(0)} ms after spawn, /readyz (first probe result) after ${readyMs.toFixed(0)} ms`;
    t.diagnostic(line);
    console.log(`[image-layout] ${line}`);
  });

  it('holds no devDependency, and every production package', () => {
    const present = (path: string) => existsSync(join(app, path));
    const dev = Object.entries(lock.packages)
      .filter(([path, p]) => path && p.dev)
      .map(([path]) => path);
    assert.ok(dev.some((p) => p === 'node_modules/typescript') && dev.some((p) => p === 'node_modules/tsx'), 'the lockfile marks typescript and tsx as dev');
    assert.deepEqual(dev.filter(present), []);
    const needed = Object.entries(lock.packages)
      .filter(([path, p]) => path && !p.dev && !p.optional && !p.devOptional)
      .map(([path]) => path);
    assert.ok(needed.includes('node_modules/fastify'));
    assert.deepEqual(
      needed.filter((p) => !present(p)),
      [],
    );
  });

  it('has the layout the image has: dist/cli.js, package.json beside it, the default probes', () => {
    assert.ok(existsSync(join(app, 'dist/cli.js')));
    // settings.ts reads the version from ../../package.json relative to dist/config/.
    assert.ok(existsSync(join(app, 'package.json')));
    assert.ok(existsSync(join(root, 'probes')), 'probes/ is missing: the Dockerfile copies it, so `docker build` would fail');
    const validate = run(process.execPath, ['dist/cli.js', 'validate'], { cwd: app, env: { PATH: process.env.PATH, ...envOf(runtime), WATCHDOG_CONFIG: join(app, 'probes') } });
    assert.equal(validate.code, 0, `the shipped probes do not validate:\n${validate.out}`);
  });

  it('reports its size', (t) => {
    // Apparent bytes, as image layers count them; on disk, thousands of small files take more.
    const mib = (path: string, ...flags: string[]) => Number(run('du', ['-s', ...flags, path]).stdout.split('\t')[0]) / (flags.length ? 1024 * 1024 : 1024);
    const total = mib(app, '-b');
    const modules = mib(join(app, 'node_modules'), '-b');
    const dist = mib(join(app, 'dist'), '-b');
    assert.ok(total > 1 && modules > 1 && dist > 0.01, `sizes look wrong: ${total} ${modules} ${dist}`);
    const line = `runtime stage adds ${total.toFixed(1)} MiB (${mib(app).toFixed(1)} MiB on disk) to the base image: node_modules ${modules.toFixed(1)} MiB, dist ${dist.toFixed(2)} MiB with source maps`;
    t.diagnostic(line);
    console.log(`[image-layout] ${line}`);
  });

  it('the HEALTHCHECK command passes while the daemon runs, and SIGTERM stops it with exit 0', async () => {
    const healthcheck = execForm(one(runtime, 'HEALTHCHECK'));
    const check = () => run(process.execPath, healthcheck.slice(1), { timeoutMs: 10_000, env: { PATH: process.env.PATH, WATCHDOG_PORT: String(port) } }).code;
    assert.equal(check(), 0);
    const t0 = performance.now();
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
    assert.ok(performance.now() - t0 < 5000, 'stopped within 5 s');
    assert.equal(check(), 1);
  });
});

/**
 * An image with what node:*-slim provides to this Dockerfile: node and npm in /usr/local, /bin/sh,
 * /usr/bin/env, and a `node` user with uid 1000. npm is set offline with a filled cache, so that
 * the build needs no network at all.
 */
function buildStandinBase(dir: string, tag: string): void {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'usr/bin', 'usr/local/bin', 'usr/local/lib/node_modules', 'etc', 'tmp', 'root', 'home/node', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, d), { recursive: true });
  cpSync(process.execPath, join(rootfs, 'usr/local/bin/node'));
  const libs = [...run('ldd', [process.execPath]).stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
  assert.ok(libs.length > 0, 'ldd found no libraries for node');
  for (const lib of libs) cpSync(lib, join(rootfs, lib), { dereference: true });
  const globalModules = run('npm', ['root', '-g']).stdout.trim();
  cpSync(join(globalModules, 'npm'), join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true, dereference: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
  // Only the static busybox works in a rootfs without its libc set up for it.
  cpSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  symlinkSync('busybox', join(rootfs, 'bin/sh'));
  symlinkSync('/bin/busybox', join(rootfs, 'usr/bin/env'));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
  chownSync(join(rootfs, 'home/node'), 1000, 1000);
  // Every package of the lockfile, dev ones included, fetched once here by the ordinary npm client.
  const scratch = join(dir, 'scratch');
  mkdirSync(scratch);
  copyPackageFiles(scratch);
  const fill = run('npm', ['ci', '--cache', join(rootfs, 'root/.npm'), '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: scratch, timeoutMs: 170_000 });
  assert.equal(fill.code, 0, fill.out);
  const tarball = join(dir, 'rootfs.tar');
  const tar = run('tar', ['-C', rootfs, '-cf', tarball, '.'], { timeoutMs: 120_000 });
  assert.equal(tar.code, 0, tar.out);
  const imported = docker('import', '--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', '--change', 'ENV npm_config_offline=true', '--change', `LABEL ${TEST_LABEL}=1`, tarball, tag);
  assert.equal(imported.code, 0, imported.out);
}

/** Removes `base` and every image built on it, leaves first (removing a leaf takes its untagged parents). */
function removeImageTree(base: string): void {
  const baseId = docker('image', 'inspect', '-f', '{{.Id}}', base).stdout.trim();
  if (!baseId) return;
  const ids = docker('image', 'ls', '-a', '-q', '--no-trunc').stdout.split('\n').filter(Boolean);
  const parentOf = new Map(
    docker('image', 'inspect', '-f', '{{.Id}} {{.Parent}}', ...ids)
      .stdout.split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
  const depth = (id: string): number => {
    let d = 0;
    for (let p: string | undefined = id; p; p = parentOf.get(p), d++) if (p === baseId) return d;
    return -1;
  };
  const tree = ids
    .map((id) => ({ id, d: depth(id) }))
    .filter((x) => x.d > 0)
    .sort((a, b) => b.d - a.d);
  for (const { id } of tree) docker('image', 'rm', id);
  docker('image', 'rm', base);
}

// The build stage installs every devDependency (the compiler with the lint and browser-test tools):
// 340 s on a quiet machine before those tools came, so the bounds leave room for twice that.
describe('docker build of the Dockerfile on a stand-in base, then docker run', { timeout: 1_500_000 }, () => {
  const work = makeTempDir('image-build');
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  const base = `watchdog-test/node-standin:${suffix}`;
  const image = `watchdog-test/stack-watchdog:${suffix}`;
  const container = `watchdog-image-${suffix}`;
  const wanted = process.env.WATCHDOG_TEST_DOCKER_BUILD === '1';
  let available = false;
  let built: { code: number | null; out: string } | undefined;
  let buildSeconds = 0;
  let forgetCleanUp = () => {};
  const cleanUp = () => {
    docker('rm', '-f', '-v', container);
    removeImageTree(base);
  };
  const skipReason = () => (!wanted ? 'set WATCHDOG_TEST_DOCKER_BUILD=1 to build the image (2.5-4 min)' : 'dockerd or the test image is missing: run scripts/ensure-services.sh');

  before(
    async () => {
      available = wanted && (await dockerAvailable());
      if (!available) return;
      // Synchronous, so it also runs when the runner kills this file at its timeout: the vfs layers
      // of one build take about a gigabyte.
      forgetCleanUp = onExit(cleanUp);
      buildStandinBase(work, base);
      const t0 = performance.now();
      // The legacy builder: BuildKit needs buildx, which Debian's docker.io 20.10 lacks. --force-rm: a
      // failed step leaves no container behind.
      built = run('docker', ['build', '--network', 'none', '--force-rm', '--build-arg', `BASE_IMAGE=${base}`, '-t', image, root], {
        env: { ...process.env, DOCKER_BUILDKIT: '0' },
        timeoutMs: 1_080_000,
      });
      buildSeconds = (performance.now() - t0) / 1000;
    },
    { timeout: 900_000 },
  );

  after(() => {
    if (!available) return;
    cleanUp();
    forgetCleanUp();
  });

  it('builds, and the image is configured as the Dockerfile says', (t) => {
    if (!available) return t.skip(skipReason());
    assert.equal(built?.code, 0, built?.out);
    const config = JSON.parse(docker('image', 'inspect', '-f', '{{json .Config}}', image).stdout) as {
      User: string;
      ExposedPorts: Record<string, object>;
      StopSignal: string;
      WorkingDir: string;
      Cmd: string[];
      Env: string[];
      Healthcheck: { Test: string[] };
      Labels: Record<string, string>;
    };
    assert.equal(config.User, 'node');
    assert.deepEqual(Object.keys(config.ExposedPorts), ['9469/tcp']);
    assert.equal(config.StopSignal, 'SIGTERM');
    assert.equal(config.WorkingDir, '/app');
    assert.deepEqual(config.Cmd, ['node', '--enable-source-maps', 'dist/cli.js', 'run']);
    assert.ok(config.Env.includes('WATCHDOG_CONFIG=/app/probes') && config.Env.includes('NODE_ENV=production'), String(config.Env));
    assert.deepEqual(config.Healthcheck.Test, ['CMD', ...execForm(one(stage('runtime'), 'HEALTHCHECK'))]);
    assert.equal(config.Labels['org.opencontainers.image.title'], 'stack-watchdog');
    assert.equal(config.Labels['org.opencontainers.image.base.name'], base);
    const size = (ref: string) => Number(docker('image', 'inspect', '-f', '{{.Size}}', ref).stdout) / 1024 / 1024;
    const line = `docker build took ${buildSeconds.toFixed(0)} s here (vfs storage, no layer cache); the image adds ${(size(image) - size(base)).toFixed(1)} MiB to its base`;
    t.diagnostic(line);
    console.log(`[image-build] ${line}`);
  });

  it('runs as node from the shipped probes, turns healthy, and stops on SIGTERM with exit 0 as PID 1', async (t) => {
    if (!available) return t.skip(skipReason());
    assert.equal(built?.code, 0, 'the build failed (see the test above)');
    // --network none: the shipped probes' targets (prometheus:9090, ...) resolve to nothing, and no
    // traffic leaves the container. A 1 s health interval instead of 30 s, same health command.
    const started = docker('run', '-d', '--name', container, '--network', 'none', '--label', `${TEST_LABEL}=1`, '--label', `${TEST_PID_LABEL}=${process.pid}`, '--health-interval=1s', image);
    assert.equal(started.code, 0, started.out);
    const t0 = performance.now();
    let health = '';
    while (performance.now() - t0 < 60_000) {
      health = docker('inspect', '-f', '{{if .State.Running}}{{.State.Health.Status}}{{else}}exited {{.State.ExitCode}}{{end}}', container).stdout.trim();
      if (health === 'healthy' || health.startsWith('exited')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(health, 'healthy', docker('logs', '--tail', '30', container).out);
    const healthyMs = performance.now() - t0;
    const inside = docker(
      'exec',
      container,
      'node',
      '-e',
      `fetch('http://127.0.0.1:9469/status').then(r=>r.json()).then(s=>console.log(JSON.stringify({uid:process.getuid(),pid1:require('fs').readFileSync('/proc/1/cmdline','utf8').split('\\0')[0],probes:s.probes.length,stateDir:(()=>{try{require('fs').accessSync('/var/lib/stack-watchdog',require('fs').constants.W_OK);return 'writable'}catch(e){return e.code}})()})))`,
    );
    assert.equal(inside.code, 0, inside.out);
    const seen = JSON.parse(inside.stdout) as { uid: number; pid1: string; probes: number; stateDir: string };
    assert.deepEqual({ uid: seen.uid, pid1: seen.pid1, stateDir: seen.stateDir }, { uid: 1000, pid1: 'node', stateDir: 'writable' });
    assert.ok(seen.probes > 0, 'the shipped probes are loaded');

    const s0 = performance.now();
    const stopped = docker('stop', '-t', '10', container);
    assert.equal(stopped.code, 0, stopped.out);
    const stopMs = performance.now() - s0;
    assert.equal(docker('inspect', '-f', '{{.State.ExitCode}}', container).stdout.trim(), '0', docker('logs', '--tail', '30', container).out);
    assert.ok(stopMs < 6000, `docker stop took ${stopMs.toFixed(0)} ms: SIGTERM was not handled, Docker had to SIGKILL`);
    const line = `container healthy ${(healthyMs / 1000).toFixed(1)} s after docker run (1 s health interval), ${seen.probes} shipped probes loaded; docker stop took ${stopMs.toFixed(0)} ms, exit 0`;
    t.diagnostic(line);
    console.log(`[image-build] ${line}`);
  });
});
