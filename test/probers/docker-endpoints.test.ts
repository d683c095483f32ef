// Two Docker Engines on two sockets: a container probe or a discover block that names its own Engine
// (`docker: unix:///...`) inspects and lists there, not on DOCKER_HOST's. The second dockerd is
// test/support/docker.ts's startSecondDockerd (STACK.md's recipe, --bridge=none), stopped by its pid.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { Discovery } from '../../src/discovery/discovery.js';
import { Engine } from '../../src/engine/engine.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { dockerAvailable, startSecondDockerd, TEST_IMAGE, uniqueName, type SecondDockerd } from '../support/docker.js';
import { problemsOf } from '../support/engine.js';

const DOCKER_HOST = process.env.DOCKER_HOST || undefined;
let second: SecondDockerd | undefined;
let socket = '';
const d2 = (args: string[]) => second!.d2(args);

before(async () => {
  assert.equal(await dockerAvailable(), true, 'dockerd + test image must be there (scripts/ensure-services.sh)');
  second = await startSecondDockerd();
  socket = second.socket;
});

after(() => second?.close());

test("a probe with its own docker: endpoint inspects there; without it, DOCKER_HOST's Engine does not know the container", async () => {
  const name = uniqueName('on-d2');
  await d2([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'none',
    '--memory',
    '32m',
    '-e',
    'ROLE=remote',
    '--label',
    'com.docker.compose.project=remote',
    '--label',
    'com.docker.compose.service=api',
    TEST_IMAGE,
    'sleep',
    '600',
  ]);
  const at = `unix://${socket}`;
  const config = parseConfig(
    [
      {
        file: 'two.yaml',
        text: stringify({
          discover: { docker: at, host: 'h2', labels: { 'com.docker.compose.project': 'remote' } },
          probes: [
            { name: 'remote-state', kind: 'container_state', container: name, docker: at },
            { name: 'remote-memory', kind: 'container_memory', container: name, docker: at, expectLimit: '32m' },
            { name: 'remote-env', kind: 'container_env', container: name, docker: at, expect: { ROLE: 'remote' } },
            { name: 'local-state', kind: 'container_state', container: name },
          ],
        }),
      },
    ],
    {},
  );
  const engine = new Engine({ http: createHttpClient({ userAgent: 't' }), docker: createDockerClient({ dockerHost: DOCKER_HOST }), logger: pino({ level: 'silent' }), now: Date.now });
  engine.load(config);
  const discovery = new Discovery({ engine, docker: createDockerClient({ dockerHost: DOCKER_HOST }), logger: pino({ level: 'silent' }), now: Date.now });
  discovery.configure(config);
  await discovery.refresh();
  const states = await engine.runOnce();
  const by = Object.fromEntries(states.map((s) => [s.spec.name, `${s.current.status}:${s.current.reason}`]));
  // The written remote-state names the container, so discovery on h2 adds nothing for it.
  assert.deepEqual(by, { 'remote-state': 'ok:ok', 'remote-memory': 'ok:ok', 'remote-env': 'ok:ok', 'local-state': 'failing:not_found' });
  assert.match(states.find((s) => s.spec.name === 'local-state')!.current.message, new RegExp(`no container named "${name}" on unix://`));
  assert.equal(discovery.current()!.endpoint, at);
  assert.equal(discovery.current()!.containers, 1);

  // A second container of the remote project, no probe names it: discovered with the host's short name.
  const other = uniqueName('on-d2');
  await d2(['run', '-d', '--name', other, '--network', 'none', '--label', 'com.docker.compose.project=remote', '--label', 'com.docker.compose.service=worker', TEST_IMAGE, 'sleep', '600']);
  await discovery.refresh();
  const again = Object.fromEntries((await engine.runOnce()).map((s) => [s.spec.name, `${s.current.status}:${s.current.reason}`]));
  assert.equal(again['container-h2-worker'], 'ok:ok');
  await engine.stop(100);
});

test('docker endpoints are checked at load', () => {
  const problems = problemsOf(() =>
    parseConfig(
      [
        { file: 'a.yaml', text: stringify({ discover: { docker: 'ssh://me@host' }, probes: [] }) },
        {
          file: 'bad.yaml',
          text: stringify({
            discover: { probe: { docker: 'unix:///x' } },
            probes: [
              { name: 'tls', kind: 'container_state', container: 'x', docker: { host: 'tcp://127.0.0.1:2376', ca: '/nonexistent/ca.pem', cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' } },
            ],
          }),
        },
      ],
      {},
    ),
  );
  assert.deepEqual(
    problems.sort(),
    [
      'bad.yaml: discover.probe.docker: give the Engine as discover.docker, which the listing uses too',
      'a.yaml: discover.docker: expected unix:///path/to/docker.sock, tcp://host:port, or {host: tcp://host:2376, ca, cert, key} (PEM files), got "ssh://***@host"',
      'bad.yaml: probe "tls": docker.ca: cannot read /nonexistent/ca.pem: ENOENT',
      'bad.yaml: probe "tls": docker.cert: cannot read /nonexistent/cert.pem: ENOENT',
      'bad.yaml: probe "tls": docker.key: cannot read /nonexistent/key.pem: ENOENT',
    ].sort(),
  );
});

test('a discover.docker whose TLS files cannot be read is refused under its own name, discover.docker', () => {
  const problems = problemsOf(() =>
    parseConfig(
      [
        {
          file: 'd.yaml',
          text: stringify({ discover: { docker: { host: 'tcp://127.0.0.1:2376', ca: '/nonexistent/ca.pem', cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' } }, probes: [] }),
        },
      ],
      {},
    ),
  );
  assert.deepEqual(problems.sort(), [
    'd.yaml: discover.docker.ca: cannot read /nonexistent/ca.pem: ENOENT',
    'd.yaml: discover.docker.cert: cannot read /nonexistent/cert.pem: ENOENT',
    'd.yaml: discover.docker.key: cannot read /nonexistent/key.pem: ENOENT',
  ]);
});
