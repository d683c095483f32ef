// The HTTP API against a listening daemon (real sockets, real undici client side via fetch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings } from '../../src/config/settings.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { parseExposition } from '../../src/util/promText.js';
import { closedPort, jsonServer } from '../support/misbehaving.js';
import { captureLogger, eventually } from '../support/engine.js';
import { waitFor } from '../support/wait.js';

async function daemonWith(yaml: string, env: Record<string, string> = {}): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-api-'));
  writeFileSync(join(dir, 'probes.yaml'), yaml);
  const settings = readSettings({ WATCHDOG_CONFIG: join(dir, 'probes.yaml'), WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', ...env });
  const d = await startDaemon(settings, { logger: captureLogger('warn').logger, processMetrics: false });
  await eventually(() => d.engine.ready, 'first results', 10_000);
  return d;
}

async function stack(t: { after: (fn: () => unknown) => void }, extraEnv: Record<string, string> = {}) {
  const up = await jsonServer(() => ({ status: 200, body: { status: 'success', data: { n: 3 } } }));
  const down = await closedPort();
  const d = await daemonWith(
    `
probes:
  - { name: api-up, kind: http, url: "${up.url}/x", assertions: [{ path: $.data.n, expect: "> 2" }] }
  - { name: api-down, kind: http, url: "${down.url}/", severity: warning, timeout: 1s }
  - { name: after-down, kind: tcp, address: "127.0.0.1:${down.port}", dependsOn: [api-down] }
`,
    { WATCHDOG_STACK: 'shop', ...extraEnv },
  );
  t.after(async () => {
    await d.stop();
    await up.close();
  });
  return { d, up, down };
}

test('GET /status: every probe with status, reason, message, hint, value, since, lastRun, durationMs', async (t) => {
  const { d } = await stack(t);
  const res = await fetch(`${d.url}/status`);
  // Only a warning probe fails: degraded, and still 200 so that curl -f passes.
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /application\/json/);
  const body = (await res.json()) as { status: string; generatedAt: string; probes: (Record<string, unknown> & { name: string })[] };
  assert.equal(body.status, 'degraded');
  assert.ok(!Number.isNaN(Date.parse(body.generatedAt)));
  const by = Object.fromEntries(body.probes.map((p) => [p.name, p]));
  assert.deepEqual(Object.keys(by['api-up'] ?? {}).sort(), ['durationMs', 'hint', 'kind', 'lastRun', 'message', 'name', 'reason', 'severity', 'since', 'status', 'value'].sort());
  assert.equal(by['api-up']!.status, 'ok');
  assert.equal(by['api-up']!.hint, null);
  assert.equal(by['api-down']!.status, 'failing');
  assert.equal(by['api-down']!.reason, 'connect');
  assert.match(String(by['api-down']!.hint), /Nothing accepts connections/);
  assert.equal(by['after-down']!.status, 'blocked');
});

test('GET /status answers 503 while a critical probe fails', async (t) => {
  const down = await closedPort();
  const d = await daemonWith(`probes: [{ name: critical-down, kind: tcp, address: "127.0.0.1:${down.port}" }]`);
  t.after(() => d.stop());
  const res = await fetch(`${d.url}/status`);
  assert.equal(res.status, 503);
  assert.equal(((await res.json()) as { status: string }).status, 'failing');
});

test('GET /status as text: an aligned table with hints, for a person at a terminal', async (t) => {
  const { d } = await stack(t);
  for (const res of [await fetch(`${d.url}/status?format=text`), await fetch(`${d.url}/status`, { headers: { accept: 'text/plain' } })]) {
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain/);
    const lines = (await res.text()).split('\n');
    assert.match(lines[0]!, /^CAUSES \(\d+\): fix these first$/);
    const cause = lines.findIndex((l) => l.startsWith('FAIL api-down: '));
    assert.match(lines[cause + 1]!, /^ {2}hint: Nothing accepts connections/, 'the hint beneath its cause');
    const header = lines.find((l) => l.startsWith('PROBE'))!;
    assert.match(header, /^PROBE\s+KIND\s+STATUS\s+SINCE\s+REASON\s+VALUE\s+LAST RUN\s+MESSAGE$/);
    const col = header.indexOf('STATUS');
    const row = lines.find((l) => l.startsWith('api-down'))!;
    assert.equal(row.slice(col, col + 4), 'FAIL', 'columns are aligned');
    assert.ok(lines.includes('overall: degraded'));
  }
});

test('GET /status/:probe has the recent history; an unknown probe is a JSON 404', async (t) => {
  const { d } = await stack(t);
  await d.engine.runNow('api-up');
  const res = await fetch(`${d.url}/status/api-up`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { history: { status: string; at: string }[]; dependsOn: string[]; intervalSeconds: number; file: string };
  assert.ok(body.history.length >= 2);
  assert.equal(body.history[0]!.status, 'ok');
  assert.equal(body.intervalSeconds, 30);
  assert.match(body.file, /probes\.yaml$/);
  const missing = await fetch(`${d.url}/status/no-such-probe`);
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { statusCode: 404, error: 'Not Found', message: 'no probe named "no-such-probe"' });
  const bad = await fetch(`${d.url}/status/Bad_Name`);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { message: string }).message, /params\/probe must match pattern/);
});

test('bad query parameters are refused with a clear 400', async (t) => {
  const { d } = await stack(t);
  const res = await fetch(`${d.url}/status?format=xml`);
  assert.equal(res.status, 400);
  const body = (await res.json()) as { message: string };
  assert.match(body.message, /querystring\/format/);
});

test('GET /metrics: the framework-owned series, no free text in labels', async (t) => {
  const { d } = await stack(t);
  const res = await fetch(`${d.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  for (const line of [
    'watchdog_probe_success{probe="api-up",kind="http",stack="shop"} 1',
    'watchdog_probe_success{probe="api-down",kind="http",stack="shop"} 0',
    'watchdog_probe_status{probe="api-down",kind="http",stack="shop",status="failing"} 1',
    'watchdog_probe_status{probe="api-down",kind="http",stack="shop",status="ok"} 0',
    'watchdog_probe_status{probe="after-down",kind="tcp",stack="shop",status="blocked"} 1',
    'watchdog_probe_value{probe="api-up",kind="http",stack="shop"} 200',
    'watchdog_probe_runs_total{probe="api-down",kind="http",stack="shop",result="failing"} 1',
    'watchdog_probe_failures_total{probe="api-down",kind="http",stack="shop",reason="connect"} 1',
    'watchdog_probe_info{probe="api-down",kind="http",stack="shop",severity="warning"} 1',
    'watchdog_probe_reason{probe="after-down",kind="tcp",stack="shop",reason="dependency_failed"} 1',
    'watchdog_config_last_reload_successful{stack="shop"} 1',
  ]) {
    assert.ok(text.includes(line), `missing: ${line}`);
  }
  assert.match(text, /^watchdog_probe_duration_seconds\{probe="api-up",kind="http",stack="shop"\} \d/m);
  assert.match(text, /^watchdog_probe_last_run_timestamp_seconds\{probe="api-up",kind="http",stack="shop"\} 1\d{9}/m);
  assert.match(text, /^watchdog_build_info\{version="\d+\.\d+\.\d+",nodejs="[\d.]+",stack="shop"\} 1$/m);
  // Every label value is a name or a short word: no spaces, no messages.
  for (const m of text.matchAll(/="([^"]*)"/g)) assert.doesNotMatch(m[1]!, /\s/, `free text in a label: ${m[1]}`);
  // Written as pieces past fastify (plugins/metrics.ts): the length it declares is the length it sends,
  // and HEAD gets the headers alone.
  assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(text), 'content-length is the body it sent');
  const head = await fetch(`${d.url}/metrics`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.match(head.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  assert.equal(await head.text(), '', 'HEAD /metrics has no body');
});

test('process metrics are exported by the daemon', async (t) => {
  const down = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-api-'));
  writeFileSync(join(dir, 'p.yaml'), `probes: [{ name: p, kind: tcp, address: "127.0.0.1:${down.port}", severity: warning }]`);
  const d = await startDaemon(readSettings({ WATCHDOG_CONFIG: dir, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_STACK: 'shop' }), { logger: captureLogger('warn').logger });
  t.after(() => d.stop());
  const text = await (await fetch(`${d.url}/metrics`)).text();
  // On their own registry (read at most once a second), with the stack as every other series.
  assert.match(text, /^process_resident_memory_bytes\{stack="shop"\} \d+/m);
  assert.match(text, /^nodejs_eventloop_lag_seconds\{stack="shop"\} /m);
});

test('/healthz and /readyz', async (t) => {
  const { d } = await stack(t);
  const h = await fetch(`${d.url}/healthz`);
  assert.equal(h.status, 200);
  assert.equal(((await h.json()) as { status: string }).status, 'ok');
  const r = await fetch(`${d.url}/readyz`);
  assert.equal(r.status, 200);
  await d.engine.stop(100);
  // A stopped scheduler no longer ticks: after the bound, /healthz says so.
  d.engine.lastTick = Date.now() - 10_000;
  const stale = await fetch(`${d.url}/healthz`);
  assert.equal(stale.status, 503);
  assert.match(((await stale.json()) as { detail: string }).detail, /last ticked 10s ago/);
});

test('/readyz is 503 with the pending probes listed before first results', async (t) => {
  const hang = await jsonServer(() => new Promise(() => {}));
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-api-'));
  writeFileSync(join(dir, 'p.yaml'), `probes: [{ name: slow-one, kind: http, url: "${hang.url}/", timeout: 3s }]`);
  const d = await startDaemon(readSettings({ WATCHDOG_CONFIG: dir, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1' }), { logger: captureLogger('warn').logger, processMetrics: false });
  t.after(async () => {
    await d.stop();
    await hang.close();
  });
  const r = await fetch(`${d.url}/readyz`);
  assert.equal(r.status, 503);
  assert.deepEqual(((await r.json()) as { pending: string[] }).pending, ['slow-one']);
});

test('POST /probes/:probe/run: 403 without a configured token, 401 with a wrong one, 200 with the right one', async (t) => {
  const noToken = await stack(t);
  const forbidden = await fetch(`${noToken.d.url}/probes/api-up/run`, { method: 'POST' });
  assert.equal(forbidden.status, 403);
  assert.match(((await forbidden.json()) as { message: string }).message, /WATCHDOG_ADMIN_TOKEN/);

  const { d } = await stack(t, { WATCHDOG_ADMIN_TOKEN: 'let-me-in' });
  const before = d.engine.state('api-up')!.runs.get('ok')!;
  const wrong = await fetch(`${d.url}/probes/api-up/run`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
  const missing = await fetch(`${d.url}/probes/nope/run`, { method: 'POST', headers: { authorization: 'Bearer let-me-in' } });
  assert.equal(missing.status, 404);
  const ok = await fetch(`${d.url}/probes/api-up/run`, { method: 'POST', headers: { authorization: 'Bearer let-me-in' } });
  assert.equal(ok.status, 200);
  const body = (await ok.json()) as { name: string; status: string; history: unknown[] };
  assert.equal(body.name, 'api-up');
  assert.equal(body.status, 'ok');
  assert.equal(d.engine.state('api-up')!.runs.get('ok'), before + 1);
});

test('GET /openapi.json documents every route with its schemas', async (t) => {
  const { d } = await stack(t);
  const doc = (await (await fetch(`${d.url}/openapi.json`)).json()) as {
    openapi: string;
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    components: { schemas: Record<string, unknown> };
  };
  assert.equal(doc.openapi, '3.0.3');
  assert.deepEqual(
    Object.keys(doc.paths).sort(),
    ['/', '/-/healthy', '/-/ready', '/-/reload', '/healthz', '/incidents', '/maintenance', '/maintenance/{id}', '/metrics', '/probes/{probe}/run', '/readyz', '/status', '/status/{probe}'].sort(),
  );
  assert.ok(doc.paths['/status']!.get!.responses['503']);
  assert.ok(doc.components.schemas.ProbeView);
  // The maintenance routes carry their request and answer schemas.
  const post = doc.paths['/maintenance']!.post as unknown as {
    requestBody?: { content: Record<string, { schema: { required?: string[] } }> };
    responses: Record<string, { content: Record<string, { schema: { properties?: Record<string, unknown> } }> }>;
  };
  assert.deepEqual(post.requestBody?.content['application/json']?.schema.required, ['duration', 'reason']);
  assert.ok(post.responses['201']?.content['application/json']?.schema.properties?.until);
  assert.ok(doc.paths['/maintenance/{id}']!.delete!.responses['404']);
  assert.doesNotMatch(JSON.stringify(doc), /"\$ref":"[A-Za-z]+#"/, 'fastify refs are rewritten to OpenAPI refs');
});

test('unknown routes are a JSON 404', async (t) => {
  const { d } = await stack(t);
  const res = await fetch(`${d.url}/nope`);
  assert.equal(res.status, 404);
  assert.match(((await res.json()) as { message: string }).message, /no route GET \/nope/);
});

test("GET /metrics: a probe's value and extra samples follow the status /status shows, not the last raw run", async (t) => {
  // A stand-in for Tempo's search API whose answer the test switches: a fresh trace, then three stale ones.
  let traces = [{ traceID: 'fresh', startMs: Date.now() }];
  const tempo = await jsonServer((req) =>
    req.path === '/api/search' ? { status: 200, body: { traces: traces.map((x) => ({ traceID: x.traceID, startTimeUnixNano: `${x.startMs}000000` })) } } : { status: 404, body: {} },
  );
  const d = await daemonWith(`probes: [{ name: traces, kind: tempo_search, tempo: "${tempo.url}", service: shop, maxAge: 5m, failureThreshold: 3 }]`, { WATCHDOG_STACK: 'shop' });
  t.after(async () => {
    await d.stop();
    await tempo.close();
  });
  const read = async () => {
    const status = ((await (await fetch(`${d.url}/status`)).json()) as { probes: { status: string; value: number | null }[] }).probes[0]!;
    const metrics = parseExposition(await (await fetch(`${d.url}/metrics`)).text());
    const series = (name: string, labels: Record<string, string>) => {
      const value = metrics.value(name, labels);
      assert.ok(value !== undefined, `missing: ${name}${JSON.stringify(labels)}`);
      return value;
    };
    return {
      status,
      value: series('watchdog_probe_value', { probe: 'traces', kind: 'tempo_search', stack: 'shop' }),
      age: series('watchdog_tempo_newest_trace_age_seconds', { probe: 'traces', service: 'shop', stack: 'shop' }),
      lastRun: series('watchdog_probe_last_run_timestamp_seconds', { probe: 'traces', kind: 'tempo_search', stack: 'shop' }),
    };
  };

  const first = await read();
  assert.equal(first.status.status, 'ok');
  assert.equal(first.status.value, 1);
  assert.equal(first.value, 1);
  assert.ok(first.age < 60, `age ${first.age}`);

  const staleMs = Date.now() - 10 * 60_000;
  traces = ['a', 'b', 'c'].map((traceID) => ({ traceID, startMs: staleMs }));
  const raw = await d.engine.runNow('traces');
  // The run itself failed (3 stale traces), but one failure is below the threshold of three.
  assert.equal(raw!.status, 'failing');
  assert.equal(raw!.value, 3);
  // The counts and times of a probe whose status did not change may show up to BLOCK_MAX_AGE_MS
  // after the run, when the last scrape was that recent (src/metrics/probeFamilies.ts).
  let lastRun: number | undefined;
  const damped = await waitFor(
    '/metrics to show the last run',
    async () => {
      const seen = await read();
      lastRun = seen.lastRun;
      return seen.lastRun === raw!.at / 1000 && seen;
    },
    { timeoutMs: 10_000, describe: () => ({ lastRun, runAt: raw!.at / 1000 }) },
  );
  assert.equal(damped.status.status, 'ok');
  assert.equal(damped.status.value, 1);
  assert.equal(damped.value, damped.status.value, '/metrics has the value /status shows');
  assert.ok(damped.age < 60, `the age sample is the one behind the ok status, not the stale run's: ${damped.age}`);
  // Runs are described by the last run, whatever the status.
  assert.equal(damped.lastRun, raw!.at / 1000);

  await d.engine.runNow('traces');
  await d.engine.runNow('traces');
  const failing = await read();
  assert.equal(failing.status.status, 'failing');
  assert.equal(failing.status.value, 3);
  assert.equal(failing.value, 3);
  assert.ok(failing.age >= 600 && failing.age < 700, `age ${failing.age}`);
});
