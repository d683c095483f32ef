// When a config window is open: recurring ones read in their time zone (croner), one-off ones by instant.
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

test('a recurring window is open from its cron start in its zone for its duration, winter and summer', () => {
  const clock = new ConfigClock(cron('0 3 * * *', 'Europe/Berlin', 30));
  // Winter: 03:00 Berlin is 02:00 UTC.
  assert.equal(clock.open(at('2026-12-05T01:59:59Z')), undefined);
  assert.deepEqual([clock.open(at('2026-12-05T02:00:00Z'))?.id, clock.open(at('2026-12-05T02:29:59Z'))?.endsAt], ['w@2026-12-05T02:00:00.000Z', at('2026-12-05T02:30:00Z')]);
  assert.equal(clock.open(at('2026-12-05T02:30:00Z')), undefined);
  // Summer: 03:00 Berlin is 01:00 UTC.
  assert.equal(clock.open(at('2026-07-05T01:10:00Z'))?.startsAt, at('2026-07-05T01:00:00Z'));
  assert.equal(clock.open(at('2026-07-05T02:10:00Z')), undefined);
});

test('a recurring window longer than its period stays open across starts and ends after the last', () => {
  const clock = new ConfigClock(cron('*/10 * * * *', 'UTC', 15));
  const w = clock.open(at('2026-12-05T10:12:00Z'));
  assert.deepEqual([w?.startsAt, w?.endsAt], [at('2026-12-05T10:10:00Z'), at('2026-12-05T10:25:00Z')]);
});

test('a 168h window: open all week from its start, the next start takes over; one hour shorter leaves a gap', () => {
  // Sundays 02:00 Berlin: 01:00 UTC in winter. 2026-12-06 is a Sunday.
  const week = new ConfigClock(cron('0 2 * * 0', 'Europe/Berlin', 168 * 60));
  const first = week.open(at('2026-12-06T01:00:00Z'));
  assert.deepEqual([first?.id, first?.endsAt], ['w@2026-12-06T01:00:00.000Z', at('2026-12-13T01:00:00Z')]);
  assert.equal(week.open(at('2026-12-13T00:59:59Z'))?.id, 'w@2026-12-06T01:00:00.000Z', 'the last second of the week');
  assert.equal(week.open(at('2026-12-13T01:00:00Z'))?.id, 'w@2026-12-13T01:00:00.000Z', 'the next start takes over at once');
  assert.equal(week.open(at('2026-12-05T12:00:00Z'))?.id, 'w@2026-11-29T01:00:00.000Z', 'a clock set back finds the earlier occurrence');
  const gap = new ConfigClock(cron('0 2 * * 0', 'Europe/Berlin', 167 * 60));
  assert.equal(gap.open(at('2026-12-13T00:00:00Z')), undefined);
  assert.equal(gap.open(at('2026-12-12T23:59:59Z'))?.endsAt, at('2026-12-13T00:00:00Z'));
});

test('next() counts from the injected clock, not the wall clock', () => {
  const clock = new ConfigClock(cron('0 3 * * *', 'Europe/Berlin', 30));
  // Years away from the wall clock both ways: a wall-clock answer would be today's or tomorrow's 03:00.
  assert.equal(clock.next(at('2031-06-10T12:00:00Z'))?.startsAt, at('2031-06-11T01:00:00Z'));
  assert.equal(clock.next(at('2019-01-10T12:00:00Z'))?.id, 'w@2019-01-11T02:00:00.000Z');
  // Strictly after: at a start, the next one is the following day's.
  assert.equal(clock.next(at('2031-06-11T01:00:00Z'))?.startsAt, at('2031-06-12T01:00:00Z'));
  assert.equal(clock.next(at('2031-06-11T01:00:00Z'))?.endsAt, at('2031-06-12T01:30:00Z'));
});

test("day-of-month and day-of-week both have to match, as in the probes' node-cron schedules", () => {
  // The first Sunday of the month, not "days 1-7 or any Sunday".
  const clock = new ConfigClock(cron('0 2 1-7 * 0', 'UTC', 60));
  assert.equal(clock.next(at('2026-01-01T00:00:00Z'))?.startsAt, at('2026-01-04T02:00:00Z'));
  assert.equal(clock.next(at('2026-01-04T03:00:00Z'))?.startsAt, at('2026-02-01T02:00:00Z'));
  assert.equal(clock.open(at('2026-01-11T02:30:00Z')), undefined, 'the second Sunday is not in the window');
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
