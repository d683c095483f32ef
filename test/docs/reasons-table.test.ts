// The README's reasons per kind are the kinds' declarations: a reason added, renamed or dropped in a
// kind's file fails here until `npm run docs:reasons` rewrites the table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { probers } from '../../src/probers/index.js';
import { readmePath, reasonsTable, withTable } from '../support/reasons-table.js';

test("the README's table of reasons is the one the kinds declare", () => {
  const readme = readFileSync(readmePath, 'utf8');
  assert.equal(readme, withTable(readme), 'README.md differs from the declared reasons: run npm run docs:reasons');
});

test('the table lists every kind, and every declared reason of each, by name', () => {
  const table = reasonsTable();
  for (const [kind, prober] of Object.entries(probers)) {
    const row = table.split('\n').find((l) => l.startsWith(`| \`${kind}\` |`));
    assert.ok(row, `no row for kind ${kind}`);
    for (const reason of Object.keys(prober.reasons)) {
      assert.ok(table.includes(`\`${reason}\``), `reason ${reason} of ${kind} is not in the table`);
    }
  }
});
