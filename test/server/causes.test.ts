// Root causes first (issue 20 §1): the failures of one fault read as one cause, with the probes that
// wait on it under it, in /status.causes, the text table and `watchdog check`. Real targets on
// 127.0.0.1; names that cannot resolve are 64-character labels under .invalid, refused by the
// resolver itself, so no query leaves the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { causesOf } from '../../src/report/causes.js';
import { CauseView, StatusReport, readView } from '../../src/report/schemas.js';
import { statusReport, statusReportJson, statusTable } from '../../src/report/view.js';
import { closedPort, jsonServer } from '../support/misbehaving.js';
import { engineFor } from '../support/engine.js';
import { runWatchdogCli } from '../support/watchdog-process.js';

const unresolvable = (name: string) => `${name}${'a'.repeat(64 - name.length)}.invalid`;
const PROM = unresolvable('prometheus');
const TEMPO = unresolvable('tempo');
const AM = unresolvable('alertmanager');

async function targets(t: { after: (fn: () => unknown) => void }) {
  const up = await jsonServer(() => ({ status: 200, body: {} }));
  const down = await closedPort();
  const other = await closedPort();
  t.after(() => up.close());
  return { up, down, other };
}

/** The DNS case in small: three stack names that do not resolve, probes behind them, Docker unreachable, and two unrelated faults. */
function config(up: { url: string; port: number }, down: { url: string; port: number }, other: { port: number }): string {
  return `
probes:
  - { name: prom-ready, kind: http, url: "http://${PROM}:9090/-/ready" }
  - { name: tempo-ready, kind: http, url: "http://${TEMPO}:3200/ready", severity: warning }
  - { name: am, kind: tcp, address: "${AM}:9093", severity: warning }
  - { name: q1, kind: http, url: "${up.url}/q1", dependsOn: [prom-ready] }
  - { name: q2, kind: http, url: "${up.url}/q2", dependsOn: [prom-ready] }
  - { name: q3, kind: http, url: "${up.url}/q3", dependsOn: [q1] }
  - { name: t1, kind: http, url: "${up.url}/t1", dependsOn: [tempo-ready] }
  - { name: box, kind: container_state, container: nothing, severity: warning }
  - { name: box-memory, kind: container_memory, container: nothing, severity: warning, dependsOn: [box] }
  - { name: after-box, kind: http, url: "${up.url}/b", dependsOn: [box] }
  - { name: down-http, kind: http, url: "${down.url}/x", severity: warning }
  - { name: down-tcp, kind: tcp, address: "127.0.0.1:${down.port}", severity: warning }
  - { name: elsewhere, kind: tcp, address: "127.0.0.1:${other.port}", severity: warning }
  - { name: fine, kind: http, url: "${up.url}/fine" }
`;
}

const env = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

test('causes: the names that do not resolve are one root with everything behind them, Docker is another, the same refused port a third', async (t) => {
  const { up, down, other } = await targets(t);
  const { engine, close } = engineFor(config(up, down, other), { env });
  t.after(close);
  const states = await engine.runOnce();
  const causes = causesOf(states);
  const seen = JSON.stringify(causes, null, 1);
  for (const c of causes) assert.ok(readView(CauseView, c).ok, `a cause that does not match its schema: ${JSON.stringify(c)}`);

  assert.deepEqual(
    causes.map((c) => [c.probe, c.root, c.sameRoot, c.blocks]),
    [
      // Critical first; of the three names, prom-ready leads: most probes wait on it.
      ['prom-ready', 'dns', ['tempo-ready', 'am'], ['q1', 'q2', 'q3', 't1']],
      // Failing before blocked; more probes affected first.
      ['down-http', `connect@127.0.0.1:${down.port}`, ['down-tcp'], []],
      ['elsewhere', `connect@127.0.0.1:${other.port}`, [], []],
      ['box', 'docker', ['box-memory'], []],
    ],
    seen,
  );
  const dns = causes[0]!;
  assert.equal(dns.severity, 'critical');
  assert.equal(dns.status, 'failing');
  assert.deepEqual(
    dns.members.map((m) => [m.probe, m.reason, m.blocks]),
    [
      ['prom-ready', 'dns', ['q1', 'q2', 'q3']],
      ['tempo-ready', 'dns', ['t1']],
      ['am', 'dns', []],
    ],
    'each member with the probes that wait on it, q3 through q1',
  );
  assert.equal(dns.summary, `prom-ready, tempo-ready, am: cannot resolve ${PROM}, ${TEMPO}, ${AM}: 4 probes wait on them`);
  assert.match(dns.hint, /not on the stack's network/, 'several names that do not resolve: the hint is the network, not one service');
  const docker = causes[3]!;
  assert.equal(docker.status, 'blocked');
  assert.equal(docker.summary, 'box, box-memory: the Docker Engine is unreachable');
  assert.match(docker.hint, /DOCKER_HOST|socket|dockerd/);
  // A probe behind one that could not be judged still runs: Docker unreachable hides no HTTP API.
  const after = states.find((s) => s.spec.name === 'after-box')!;
  assert.equal(`${after.current.status}:${after.current.reason}`, 'ok:ok', JSON.stringify(after.current));
  assert.equal(causes[2]!.summary, `elsewhere: 127.0.0.1:${other.port} refused the connection (ECONNREFUSED)`);

  // /status carries them, in the kept JSON as in a fresh rendering, and the document still matches its schema.
  const now = Date.now();
  const report = statusReport(states, now);
  assert.ok(readView(StatusReport, report).ok);
  assert.deepEqual((JSON.parse(statusReportJson(states, now).json) as StatusReport).causes, causes);
});

test('one fault alone is one cause with no group; all ok is no cause at all', async (t) => {
  const { up, down } = await targets(t);
  const { engine, close } = engineFor(`
probes:
  - { name: db, kind: tcp, address: "127.0.0.1:${down.port}" }
  - { name: api, kind: http, url: "${up.url}/a" }
`);
  t.after(close);
  const causes = causesOf(await engine.runOnce());
  assert.deepEqual(
    causes.map((c) => [c.probe, c.sameRoot, c.blocks, c.summary]),
    [['db', [], [], `db: 127.0.0.1:${down.port} refused the connection (ECONNREFUSED)`]],
  );
  const { engine: healthy, close: closeHealthy } = engineFor(`probes: [{ name: api, kind: http, url: "${up.url}/a" }]`);
  t.after(closeHealthy);
  const states = await healthy.runOnce();
  assert.deepEqual(causesOf(states), []);
  assert.match(statusTable(states, Date.now()), /^PROBE /, 'no causes: the table comes first, as before');
});

test('the text table leads with the causes; the probes they account for repeat no hint', async (t) => {
  const { up, down, other } = await targets(t);
  const { engine, close } = engineFor(config(up, down, other), { env });
  t.after(close);
  const states = await engine.runOnce();
  const text = statusTable(states, Date.now(), { width: 100 });
  const lines = text.split('\n');
  assert.equal(lines[0], 'CAUSES (4): fix these first', text);
  assert.equal(lines[1], `FAIL prom-ready, tempo-ready, am: cannot resolve ${PROM}, ${TEMPO}, ${AM}: 4 probes wait on them`, text);
  assert.match(lines[2]!, /^ {2}hint: Several of the stack's host names do not resolve/, text);
  const waiting = lines.findIndex((l) => l.startsWith('  waiting: '));
  assert.equal(lines[waiting], '  waiting: q1, q2, q3, t1', 'the blocked probes: one line under their cause');
  assert.ok(waiting < lines.findIndex((l) => l.startsWith('FAIL down-http, down-tcp: ')), text);
  const header = lines.findIndex((l) => l.startsWith('PROBE '));
  assert.ok(header > waiting, text);
  // Every probe keeps its row; no row of a probe a cause accounts for is followed by a hint.
  const rows = lines.slice(header + 1).filter((l) => /^[a-z]/.test(l) && !l.startsWith('overall'));
  assert.deepEqual(
    rows.map((r) => r.split(/\s+/)[0]),
    states.map((s) => s.spec.name),
  );
  assert.ok(!lines.slice(header).some((l) => l.startsWith('  hint: ')), `no repeated hint under the rows:\n${text}`);
  assert.equal(text.match(/Fix "/g), null, 'no "Fix X first" per blocked probe');
});

test('watchdog check prints the causes first, then the table', async (t) => {
  const { up, down, other } = await targets(t);
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-causes-'));
  const file = join(dir, 'probes.yaml');
  writeFileSync(file, config(up, down, other));
  const out = await runWatchdogCli(['check', '--config', file], env, { timeoutMs: 60_000 });
  assert.equal(out.code, 1, out.stdout);
  assert.ok(out.stdout.startsWith('CAUSES (4): fix these first\nFAIL prom-ready, tempo-ready, am: '), out.stdout);
  assert.ok(out.stdout.indexOf('BLOCKED box, box-memory: the Docker Engine is unreachable') < out.stdout.indexOf('\nPROBE '), out.stdout);
  assert.match(out.stdout, /^after-box\s+http\s+OK/m);
});

test("the mystocks profile off the stack's network: one root for the four names, the nine Prometheus probes under prometheus-ready", async (t) => {
  const profile = readFileSync(join(import.meta.dirname, '..', '..', 'probes', 'mystocks.yaml'), 'utf8');
  const { engine, close } = engineFor(profile, {
    env: {
      ...env,
      PROMETHEUS_URL: `http://${PROM}:9090`,
      ALERTMANAGER_URL: `http://${AM}:9093`,
      TEMPO_URL: `http://${TEMPO}:3200`,
      TEMPO_OTLP_GRPC: `${TEMPO}:4317`,
      TEMPO_OTLP_HTTP: `http://${TEMPO}:4318`,
      WATCHDOG_ALERT_MODE: 'off',
    },
  });
  t.after(close);
  const states = await engine.runOnce();
  const causes = causesOf(states);
  const seen = JSON.stringify(causes, null, 1);
  const dns = causes[0]!;
  assert.equal(dns.root, 'dns', seen);
  assert.deepEqual([dns.probe, ...dns.sameRoot].sort(), ['alertmanager', 'otlp-grpc-port', 'prometheus-ready', 'tempo-ready'], seen);
  const prom = dns.members.find((m) => m.probe === 'prometheus-ready')!;
  assert.deepEqual([...prom.blocks].sort(), ['alert-path', 'app-requests', 'dashboards', 'dead-rules', 'rule-groups', 'sampling-ratio', 'span-rate', 'stack-config', 'tempo-metrics-target'], seen);
  assert.equal(dns.probe, 'prometheus-ready', 'the member most probes wait on leads');
  assert.match(dns.summary, new RegExp(`^prometheus-ready, .*: cannot resolve ${PROM}, .*: 13 probes wait on them$`));
  // The rest is Docker, one cause; nothing else is red.
  assert.deepEqual(
    causes.slice(1).map((c) => [c.root, c.probe, c.sameRoot.length]),
    [['docker', 'container-prometheus', 5]],
    seen,
  );
  const accounted = new Set(causes.flatMap((c) => [c.probe, ...c.sameRoot, ...c.blocks]));
  assert.deepEqual(
    states.filter((s) => s.current.status !== 'ok' && !accounted.has(s.spec.name)).map((s) => s.spec.name),
    [],
    'every probe that is not ok is under a cause',
  );
});
