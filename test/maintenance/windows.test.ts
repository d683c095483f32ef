// When a config window is open: recurring ones read in their time zone (node-cron's matcher), one-off ones by instant.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigWindow } from '../../src/config/maintenance.js';
import { ConfigClock, covers } from '../../src/maintenance/windows.js';

const cron = (expr: string, timezone: string, minutes: number): ConfigWindow => ({
  name: 'w',
  reason: 'r',
  file: 'f.yaml',
  selector: { probes: [], kinds: [], labels: {} },
  schedule: { kind: 'cron', cron: expr, timezone, durationMs: minutes * 60_000 },
});
const at = (text: string) => Date.parse(text);

test('a recurring window is open from its cron start in its zone for its duration, winter and summer', (t) => {
  const clock = new ConfigClock(cron('0 3 * * *', 'Europe/Berlin', 30));
  t.after(() => clock.dispose());
  // Winter: 03:00 Berlin is 02:00 UTC.
  assert.equal(clock.open(at('2026-12-05T01:59:59Z')), undefined);
  assert.deepEqual([clock.open(at('2026-12-05T02:00:00Z'))?.id, clock.open(at('2026-12-05T02:29:59Z'))?.endsAt], ['w@2026-12-05T02:00:00.000Z', at('2026-12-05T02:30:00Z')]);
  assert.equal(clock.open(at('2026-12-05T02:30:00Z')), undefined);
  // Summer: 03:00 Berlin is 01:00 UTC.
  assert.equal(clock.open(at('2026-07-05T01:10:00Z'))?.startsAt, at('2026-07-05T01:00:00Z'));
  assert.equal(clock.open(at('2026-07-05T02:10:00Z')), undefined);
});

test('a recurring window longer than its period stays open across starts and ends after the last', (t) => {
  const clock = new ConfigClock(cron('*/10 * * * *', 'UTC', 15));
  t.after(() => clock.dispose());
  const w = clock.open(at('2026-12-05T10:12:00Z'));
  assert.deepEqual([w?.startsAt, w?.endsAt], [at('2026-12-05T10:10:00Z'), at('2026-12-05T10:25:00Z')]);
});

test('a one-off window is open in [start, end); selectors cover by name, kind or all labels', () => {
  const clock = new ConfigClock({ ...cron('* * * * *', 'UTC', 1), schedule: { kind: 'once', startMs: 1000, endMs: 2000 } });
  assert.deepEqual([clock.open(999), clock.open(1000)?.id, clock.open(2000)], [undefined, 'w', undefined]);
  assert.equal(clock.next(500)?.startsAt, 1000);
  const spec = { name: 'db', kind: 'tcp', labels: { team: 'data', tier: '1' } };
  assert.ok(covers({ probes: [], kinds: [], labels: {} }, spec));
  assert.ok(covers({ probes: ['db'], kinds: [], labels: {} }, spec));
  assert.ok(covers({ probes: ['web'], kinds: ['tcp'], labels: {} }, spec));
  assert.ok(covers({ probes: [], kinds: [], labels: { team: 'data' } }, spec));
  assert.ok(!covers({ probes: [], kinds: [], labels: { team: 'data', tier: '2' } }, spec));
  assert.ok(!covers({ probes: ['web'], kinds: ['http'], labels: {} }, spec));
});
