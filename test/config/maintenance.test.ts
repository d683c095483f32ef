// The maintenance block as an operator writes it: what is accepted, and each refusal naming file and field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { problemsOf } from '../support/engine.js';

const probes = `
probes:
  - { name: db, kind: tcp, address: "127.0.0.1:5432", labels: { team: data } }
  - { name: web, kind: http, url: "http://127.0.0.1:8080/" }
`;
const load = (maintenance: string, extra = '') => parseConfig([{ file: 'probes.yaml', text: `${extra}\nmaintenance:\n${maintenance}\n${probes}` }], {});

test('recurring and one-off windows decode with their selectors, zone and end', () => {
  const config = load(`  maxDuration: 2h
  windows:
    - { name: backup, reason: nightly backup, cron: "30 2 * * *", timezone: Europe/Berlin, duration: 45m, labels: { team: data } }
    - { name: upgrade, reason: upgrade, start: "2026-12-05T10:00:00+01:00", duration: 1h30m, kinds: [http] }
    - { name: move, reason: move, start: "2026-12-06T10:00:00Z", end: "2026-12-06T12:00:00Z", probes: [db] }`);
  const m = config.maintenance!;
  assert.equal(m.maxApiDurationMs, 2 * 3_600_000);
  assert.equal(m.silenceUrls, undefined);
  assert.deepEqual(m.windows[0]!.schedule, { kind: 'cron', cron: '30 2 * * *', timezone: 'Europe/Berlin', durationMs: 45 * 60_000 });
  assert.deepEqual(m.windows[0]!.selector, { probes: [], kinds: [], labels: { team: 'data' } });
  assert.deepEqual(m.windows[1]!.schedule, { kind: 'once', startMs: Date.parse('2026-12-05T09:00:00Z'), endMs: Date.parse('2026-12-05T10:30:00Z') });
  assert.deepEqual(m.windows[2]!.schedule, { kind: 'once', startMs: Date.parse('2026-12-06T10:00:00Z'), endMs: Date.parse('2026-12-06T12:00:00Z') });
  assert.deepEqual(config.probes[0]!.labels, { team: 'data' });
});

test('bad windows are refused with the file and the field', () => {
  const problems = problemsOf(() =>
    load(`  silence: true
  maxDuration: 200h
  windows:
    - { name: a, reason: r, cron: "0 2 * * *", timezone: Mars/Olympus, duration: 1h }
    - { name: b, reason: r, cron: "0 0 2 * * *", duration: 1h }
    - { name: c, reason: r, cron: "not cron", duration: 1h }
    - { name: d, reason: r, cron: "0 2 * * *", duration: 169h }
    - { name: e, reason: r, start: "2026-12-05T10:00:00Z", end: "2026-12-05T09:00:00Z" }
    - { name: f, reason: r, start: "2026-12-05 10:00", duration: 1h }
    - { name: g, reason: r, start: "2026-12-05T10:00:00Z" }
    - { name: h, reason: r, cron: "0 2 * * *" }
    - { name: i, reason: r, start: "2026-12-05T10:00:00Z", duration: 1h, probes: [nope], kinds: [grpc] }
    - { name: a, reason: r, cron: "0 2 * * *", start: "2026-12-05T10:00:00Z", duration: 1h }`),
  );
  assert.deepEqual(problems, [
    'probes.yaml: maintenance.maxDuration: 200h is over the 168h cap (at most 168h)',
    'probes.yaml: maintenance.silence: silences go to alerting.alertmanager.url, which is not set',
    'probes.yaml: maintenance.windows[0].timezone: unknown time zone "Mars/Olympus" (an IANA name such as Europe/Berlin or UTC)',
    'probes.yaml: maintenance.windows[1].cron: "0 0 2 * * *" is not a 5-field cron expression (minute hour day-of-month month day-of-week)',
    'probes.yaml: maintenance.windows[2].cron: "not cron" is not a 5-field cron expression (minute hour day-of-month month day-of-week)',
    'probes.yaml: maintenance.windows[3].duration: 169h is over the 168h cap (at most 168h)',
    'probes.yaml: maintenance.windows[4].end: 2026-12-05T09:00:00Z is not after start (2026-12-05T10:00:00Z)',
    'probes.yaml: maintenance.windows[5].start: expected a time with its offset such as 2026-12-05T10:00:00Z, got "2026-12-05 10:00"',
    'probes.yaml: maintenance.windows[6].end: give either end or duration',
    'probes.yaml: maintenance.windows[7].duration: a recurring window needs a duration, e.g. "30m"',
    'probes.yaml: maintenance.windows[8].probes[0]: no probe is named "nope"',
    `probes.yaml: maintenance.windows[8].kinds[0]: unknown kind "grpc" (one of ${problems
      .find((p) => p.includes('"grpc"'))!
      .split('(one of ')[1]!
      .slice(0, -1)})`,
    'probes.yaml: maintenance.windows[9].name: duplicate window name "a"',
    'probes.yaml: maintenance.windows[9].cron: give either cron (a recurring window) or start (a one-off window)',
  ]);
});

test('schema errors in the block name the field; the block is allowed in one file only', () => {
  assert.deepEqual(
    problemsOf(() => load('  windows:\n    - { name: a, reson: r, cron: "0 2 * * *", duration: 1h }')),
    ['probes.yaml: maintenance.windows[0].reason: required field is missing', 'probes.yaml: maintenance.windows[0].reson: unknown field; did you mean "reason"?'],
  );
  const twice = problemsOf(() =>
    parseConfig(
      [
        { file: 'a.yaml', text: 'maintenance: { windows: [] }\nprobes: []' },
        { file: 'b.yaml', text: `maintenance: { windows: [] }\n${probes}` },
      ],
      {},
    ),
  );
  assert.deepEqual(twice, ['b.yaml: maintenance: already set in a.yaml; give it in one file only']);
});
