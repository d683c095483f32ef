// defineProber's guards: a kind reports every problem of a probe at once, a sample of a gauge the
// kind did not declare is a bug that shows (not a series that silently vanishes), and two kinds
// cannot declare one gauge two ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { runProbe } from '../../src/engine/runner.js';
import { kindGauges } from '../../src/metrics/registry.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { defineProber } from '../../src/probers/define.js';
import { probers } from '../../src/probers/index.js';
import type { CommonSpec, ProbeOutcome, ProbeSpec } from '../../src/probers/types.js';
import { problemsOf } from '../support/engine.js';

const common: CommonSpec = { name: 'p', kind: 'test_kind', severity: 'critical', intervalMs: 30_000, timeoutMs: 1000, dependsOn: [], failureThreshold: 1, successThreshold: 1, file: 'test' };

/** A kind whose run returns `outcome` as is: how a kind with a bug in its samples would behave. */
function kindReturning(outcome: ProbeOutcome) {
  return defineProber({
    gauges: { watchdog_test_level: { help: 'A level.', labelNames: ['probe'] } },
    reasons: {},
    fields: Type.Object({}),
    decode: () => ({}),
    // The cast is the point: it stands for a kind whose sample names are computed at run time.
    run: async () => outcome as ProbeOutcome<'watchdog_test_level', never>,
  });
}

async function runOnce(spec: ProbeSpec) {
  const http = createHttpClient({ userAgent: 'define-test' });
  try {
    return await runProbe(spec, { http, docker: createDockerClient({}), logger: pino({ level: 'silent' }), now: Date.now });
  } finally {
    await http.close();
  }
}

function bound(kind: ReturnType<typeof defineProber>): ProbeSpec {
  const b = kind.bind({}, common);
  assert.ok(b.ok, 'the kind has no fields to refuse');
  return b.spec;
}

test('a declared sample passes through; an undeclared one, or one with other labels, is an internal error naming it', async () => {
  const good = await runOnce(bound(kindReturning({ status: 'ok', reason: 'ok', message: 'fine', samples: [{ metric: 'watchdog_test_level', labels: { probe: 'p' }, value: 3 }] })));
  assert.equal(good.status, 'ok');
  assert.deepEqual(good.samples, [{ metric: 'watchdog_test_level', labels: { probe: 'p' }, value: 3 }]);

  const undeclared = await runOnce(bound(kindReturning({ status: 'ok', reason: 'ok', message: 'fine', samples: [{ metric: 'watchdog_test_other', labels: { probe: 'p' }, value: 3 }] })));
  assert.equal(undeclared.status, 'failing');
  assert.equal(undeclared.reason, 'error');
  assert.match(undeclared.message, /^internal error: kind test_kind published a sample of watchdog_test_other, which it does not declare in its gauges$/);

  const relabelled = await runOnce(bound(kindReturning({ status: 'ok', reason: 'ok', message: 'fine', samples: [{ metric: 'watchdog_test_level', labels: { container: 'x' }, value: 3 }] })));
  assert.equal(relabelled.reason, 'error');
  assert.match(relabelled.message, /published watchdog_test_level with labels \{container\}, not the declared \{probe\}/);
});

test('the registered kinds declare their gauges consistently, and a conflicting declaration is refused', () => {
  const all = kindGauges(probers);
  assert.deepEqual([...all.keys()].sort(), ['watchdog_container_memory_limit_bytes', 'watchdog_container_memory_usage_bytes', 'watchdog_tempo_newest_trace_age_seconds']);
  const a = { gauges: { watchdog_x: { help: 'X.', labelNames: ['probe'] } } };
  assert.equal(kindGauges({ a, b: a }).size, 1, 'the same declaration twice is one gauge');
  assert.throws(() => kindGauges({ a, b: { gauges: { watchdog_x: { help: 'X.', labelNames: ['container'] } } } }), /kinds a and b declare gauge watchdog_x differently/);
  assert.throws(() => kindGauges({ a: { gauges: { 'process_x-y': { help: 'X.', labelNames: [] } } } }), /names start with watchdog_/);
});

test("every problem of a probe is reported at once: the kind's decode and then its cross-field check", () => {
  const file = (probe: Record<string, unknown>) => [
    { file: 'all.yaml', text: JSON.stringify({ probes: [{ name: 'search', kind: 'tempo_search', tempo: 'http://tempo:3200', service: 'app', ...probe }] }) },
  ];
  assert.deepEqual(
    problemsOf(() => parseConfig(file({ window: 'a while', maxAge: 'soon', tags: { 'service.name': 'x', 'bad key': 'y' } }), {})),
    [
      'all.yaml: probe "search": tags: service.name is set by the service field; remove it from tags',
      'all.yaml: probe "search": tags: "bad key" is not a tag name (no spaces, "=" or quotes)',
      'all.yaml: probe "search": window: expected a duration such as "500ms", "30s", "5m" or "1h", got "a while"',
      'all.yaml: probe "search": maxAge: expected a duration such as "500ms", "30s", "5m" or "1h", got "soon"',
    ],
  );
  assert.deepEqual(
    problemsOf(() => parseConfig(file({ window: '5m', maxAge: '10m', minTraces: 5, limit: 2 }), {})),
    [
      'all.yaml: probe "search": maxAge: 10m is longer than the window (5m): a trace that old is never searched for; widen window or shorten maxAge',
      'all.yaml: probe "search": limit: 2 is below minTraces (5): the search could never return enough traces',
    ],
  );
});

test("the engine's own fields report every problem too, not the first", () => {
  const problems = problemsOf(() =>
    parseConfig([{ file: 'c.yaml', text: JSON.stringify({ probes: [{ name: 'p', kind: 'tcp', address: '127.0.0.1:1', interval: '500ms', schedule: '* * * * *' }] }) }], {}),
  );
  assert.deepEqual(problems, ['c.yaml: probe "p": interval: 500ms is shorter than the 1s minimum', 'c.yaml: probe "p": schedule: give either interval or schedule, not both']);
});
