// Proves each test-support helper against the real programs, so a failure in a
// feature test can be blamed on the feature, not on the harness.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAlertmanager } from './alertmanager.js';
import { dockerAvailable, inspectContainer, removeAllTestContainers, removeContainer, runContainer, stopContainer, uniqueName } from './docker.js';
import { freePort } from './ports.js';
import { startProcess } from './process.js';
import { startWatchdog } from './watchdog-process.js';
import { encodeWriteRequest, exporterScrapeConfig, query, remoteWrite, snappyBlockEncode, startExporter, startPrometheus, waitForQuery } from './prometheus.js';

test('freePort returns a bindable loopback port', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve) => srv.close(() => resolve()));
});

test('freePort draws below the kernel ephemeral range, and never hands a port out twice', async () => {
  // An outgoing connection takes its source port from the ephemeral range: a port drawn there can be
  // taken between freePort's check and the daemon's bind (CI run K).
  const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
  assert.equal(new Set(ports).size, ports.length, `a port was handed out twice: ${ports.join(' ')}`);
  for (const port of ports) assert.ok(port >= 20_000 && port < ephemeralLow!, `${port} is not in [20000, ${ephemeralLow})`);
});

test('startProcess: readiness failure reports the log tail; stop() kills', async (t) => {
  // A program that exits at once must fail fast with its own output in the error.
  await assert.rejects(
    startProcess({
      name: 'dies',
      command: 'sh',
      args: ['-c', 'echo boom-marker; exit 3'],
      readyUrl: `http://127.0.0.1:${await freePort()}/`,
      readyTimeoutMs: 10_000,
    }),
    (err: Error) => /exited \(exit code 3/.test(err.message) && err.message.includes('boom-marker'),
  );

  // sh ignoring TERM: stop() must escalate to SIGKILL after the grace period.
  const p = await startProcess({
    name: 'stubborn',
    command: 'sh',
    args: ['-c', "trap '' TERM; echo armed; while :; do sleep 0.1; done"],
  });
  t.after(() => p.stop());
  // Wait until the trap is set, else SIGTERM can land first and end it "gracefully".
  for (let i = 0; i < 100 && !p.logTail().includes('armed'); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(p.logTail().includes('armed'), 'stub never printed "armed"');
  assert.equal(p.isRunning(), true);
  const started = Date.now();
  await p.stop(500);
  assert.equal(p.isRunning(), false);
  const { signal } = await p.exited;
  assert.equal(signal, 'SIGKILL');
  assert.ok(Date.now() - started < 5_000);
});

test('snappy literal encoding: header, tags and 64 KiB chunking', () => {
  assert.deepEqual([...snappyBlockEncode(Buffer.from('abc'))], [3, 2 << 2, 97, 98, 99]);
  const big = Buffer.alloc(70_000, 1);
  const enc = snappyBlockEncode(big);
  // varint(70000) = 3 bytes, then [61<<2, 0xff, 0xff] + 65536 bytes, then [61<<2, lo, hi] + 4464 bytes
  assert.deepEqual([...enc.subarray(0, 6)], [0xf0, 0xa2, 0x04, 61 << 2, 0xff, 0xff]);
  assert.equal(enc.length, 3 + 3 + 65536 + 3 + 4464);
  // Protobuf: one series, one label, one sample.
  const pb = encodeWriteRequest([{ labels: { __name__: 'x' }, samples: [{ value: 1, timestampMs: 1 }] }]);
  assert.equal(pb[0], 0x0a); // field 1, length-delimited
});

test('prometheus: remote-written counter gives rate > 0', async (t) => {
  const prom = await startPrometheus();
  t.after(() => prom.stop());

  const now = Date.now();
  await remoteWrite(prom.url, [
    {
      labels: { __name__: 'harness_requests_total', job: 'harness', instance: 'a' },
      samples: [
        { value: 10, timestampMs: now - 20_000 },
        { value: 50, timestampMs: now - 1_000 },
      ],
    },
  ]);
  const result = await waitForQuery(prom.url, 'rate(harness_requests_total{job="harness"}[1m]) > 0', (r) => r.length === 1, 15_000);
  assert.equal(result[0]?.metric.instance, 'a');
  assert.ok(Number(result[0]?.value?.[1]) > 0);
});

test('prometheus: rule files load (at start and via writeRuleFile + reload)', async (t) => {
  const prom = await startPrometheus({
    ruleFiles: {
      'first.yml': ['groups:', '  - name: harness-first', '    rules:', '      - record: harness:one', '        expr: vector(1)'].join('\n'),
    },
  });
  t.after(() => prom.stop());

  const ruleGroups = async () => {
    const res = await fetch(`${prom.url}/api/v1/rules`);
    const body = (await res.json()) as { data: { groups: { name: string; rules: { name: string }[] }[] } };
    return body.data.groups;
  };
  assert.deepEqual(
    (await ruleGroups()).map((g) => g.name),
    ['harness-first'],
  );

  prom.writeRuleFile('second.yml', ['groups:', '  - name: harness-second', '    rules:', '      - alert: HarnessAlwaysFiring', '        expr: vector(1)'].join('\n'));
  await prom.reload();
  const groups = await ruleGroups();
  assert.deepEqual(groups.map((g) => g.name).sort(), ['harness-first', 'harness-second']);
  assert.equal(groups.find((g) => g.name === 'harness-second')?.rules[0]?.name, 'HarnessAlwaysFiring');

  // The recording rule actually evaluates (evaluation_interval 1s).
  await waitForQuery(prom.url, 'harness:one', (r) => r.length === 1 && r[0]?.value?.[1] === '1', 15_000);

  // A broken rule file makes reload() throw with Prometheus's reason.
  prom.writeRuleFile('broken.yml', 'groups: [ {name: x, rules: [ {record: "r", expr: "sum("} ] } ]');
  await assert.rejects(prom.reload(), /reload failed/);
});

test('prometheus: scrapes a startExporter target (up == 1)', async (t) => {
  let n = 0;
  const exporter = await startExporter(() => `# TYPE harness_value gauge\nharness_value ${++n}\n`);
  t.after(() => exporter.close());
  const prom = await startPrometheus({ scrapeConfigs: [exporterScrapeConfig('harness-exporter', exporter.hostPort)] });
  t.after(() => prom.stop());

  await waitForQuery(prom.url, 'up{job="harness-exporter"} == 1', (r) => r.length === 1, 20_000);
  const values = await query(prom.url, 'harness_value{job="harness-exporter"}');
  assert.equal(values[0]?.metric.instance, exporter.hostPort);
  assert.ok(exporter.scrapes() >= 1);
});

test('alertmanager: cluster disabled, accepts alerts, stop/start keeps port', async (t) => {
  const am = await startAlertmanager();
  t.after(() => am.stop());

  const status = (await (await fetch(`${am.url}/api/v2/status`)).json()) as { cluster: { status: string } };
  assert.equal(status.cluster.status, 'disabled');

  const post = await fetch(`${am.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify([{ labels: { alertname: 'HarnessTest', severity: 'none' } }]),
  });
  assert.equal(post.status, 200);
  const alerts = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as { labels: Record<string, string> }[];
  assert.ok(alerts.some((a) => a.labels.alertname === 'HarnessTest'));

  await am.stop();
  assert.equal(am.isRunning(), false);
  await assert.rejects(fetch(`${am.url}/-/ready`, { signal: AbortSignal.timeout(2_000) }));

  const portBefore = am.port;
  await am.start();
  assert.equal(am.isRunning(), true);
  assert.equal(am.port, portBefore);
  assert.equal((await fetch(`${am.url}/-/ready`)).status, 200);
});

test('docker: container with --memory 32m and env shows up in docker inspect', async (t) => {
  assert.equal(await dockerAvailable(), true, 'dockerd + test image must be there (scripts/ensure-services.sh)');
  const name = uniqueName('harness');
  t.after(() => removeContainer(name));

  const { id } = await runContainer({ name, memory: '32m', env: { OTEL_TRACES_SAMPLER: 'always_on' } });
  assert.match(id, /^[0-9a-f]{64}$/);
  const info = await inspectContainer(name);
  assert.equal(info.HostConfig.Memory, 33554432);
  assert.equal(info.HostConfig.NetworkMode, 'none');
  assert.ok(info.Config.Env?.includes('OTEL_TRACES_SAMPLER=always_on'), `Config.Env: ${JSON.stringify(info.Config.Env)}`);
  assert.equal(info.Config.Labels?.['watchdog-test'], '1');
  assert.equal(info.State.Running, true);

  await stopContainer(name);
  assert.equal((await inspectContainer(name)).State.Running, false);

  await removeContainer(name);
  await assert.rejects(inspectContainer(name), /no such/i);
  await removeContainer(name); // idempotent
});

test("docker: removeAllTestContainers removes only this process's containers", async (t) => {
  const a = uniqueName('harness-a');
  const b = uniqueName('harness-b');
  t.after(async () => {
    await removeContainer(a);
    await removeContainer(b);
  });
  await runContainer({ name: a });
  await runContainer({ name: b });
  assert.ok((await removeAllTestContainers()) >= 2);
  await assert.rejects(inspectContainer(a), /no such/i);
  await assert.rejects(inspectContainer(b), /no such/i);
});

test('startWatchdog starts the daemon again on another port when its port was taken, three times at most', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-port-race-'));
  writeFileSync(join(dir, 'probes.yaml'), 'probes: []\n');
  // A port another program holds, as when one took it between freePort's check and the daemon's bind.
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => taken.close());
  const takenPort = (taken.address() as AddressInfo).port;

  const handed: number[] = [];
  const takenFirst = async () => {
    const port = handed.length === 0 ? takenPort : await freePort();
    handed.push(port);
    return port;
  };
  const w = await startWatchdog(dir, {}, { pickPort: takenFirst });
  t.after(() => w.child.kill('SIGKILL'));
  assert.equal(handed.length, 2, `ports handed out: ${handed.join(' ')}`);
  assert.equal(w.url, `http://127.0.0.1:${handed[1]}`);
  assert.equal((await fetch(`${w.url}/healthz`)).status, 200);

  let starts = 0;
  await assert.rejects(
    startWatchdog(
      dir,
      {},
      {
        pickPort: async () => {
          starts++;
          return takenPort;
        },
      },
    ),
    (err: Error) => /start 3\b/.test(err.message) && /EADDRINUSE/.test(err.message),
  );
  assert.equal(starts, 3);
});
