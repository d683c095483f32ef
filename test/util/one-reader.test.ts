// One reader per format: protobuf in src/util/protobuf.ts, the Prometheus text format in
// src/util/promText.ts, PromQL in src/util/promql.ts. `npm run deps` keeps the two libraries behind
// their modules (only protobuf.ts imports @bufbuild/protobuf, only promql.ts the PromQL grammar);
// this test looks for hand-written readers that need no library. It is a heuristic, and says so:
// each pattern is the shape one of the readers merged into those modules had (a varint loop, a
// regex that reads a sample line's value, a keyword list that tells metric names from PromQL
// words), checked to match the code it replaced; a new reader written another way would pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot as root, sourceFiles } from '../support/sources.js';

const owners = new Set(['src/util/protobuf.ts', 'src/util/promText.ts', 'src/util/promql.ts', 'test/util/one-reader.test.ts']);

const shapes: { what: string; owner: string; pattern: RegExp }[] = [
  // A base-128 varint by hand: the low seven bits of each byte.
  { what: 'a protobuf varint read or written by hand', owner: 'src/util/protobuf.ts', pattern: /&\s*0x7f(?![0-9a-f])/i },
  // A regex that captures the value after a sample's label block: `name{...} (\S+)`.
  { what: 'a sample value read from exposition text by regex', owner: 'src/util/promText.ts', pattern: /\\\\?\}\s*\(\\\\?[dS][+*]?\)/ },
  // A sample line found by its name as a prefix: line.startsWith(`${name}{`) or `${name} `.
  { what: 'a sample line found by name prefix', owner: 'src/util/promText.ts', pattern: /startsWith\(`\$\{\w+\}[{ ]`\)/ },
  // A metric name at the start of a line, followed by its labels or value.
  { what: 'a sample line matched by a metric-name regex', owner: 'src/util/promText.ts', pattern: /\^\(?\[a-zA-Z_:\]\[a-zA-Z0-9_:\]\*\)?\[\{ \]/ },
  // PromQL's keywords listed to tell them from metric names (the grammar knows them).
  { what: 'PromQL keywords listed to find metric names by regex', owner: 'src/util/promql.ts', pattern: /'group_left',\s*'group_right'/ },
];

test('no file of src/, test/ or bench/ reads protobuf, exposition text or PromQL by hand beside the one module for each', () => {
  const files = sourceFiles('src', 'test', 'bench');
  assert.ok(files.includes('src/probers/alertPath.ts') && files.length > 100, `the walk found the sources (${files.length} files)`);
  const found: string[] = [];
  for (const file of files) {
    if (owners.has(file)) continue;
    const text = readFileSync(join(root, file), 'utf8');
    for (const s of shapes) if (s.pattern.test(text)) found.push(`${file}: ${s.what} (use ${s.owner})`);
  }
  assert.deepEqual(found, []);
});

test('the shapes match the readers they replaced (so the check above can fail)', () => {
  const replaced = {
    varint: 'while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); }',
    standinVarint: 'result |= BigInt(b & 0x7f) << shift;',
    bench: 'runs: sum(/^watchdog_probe_runs_total\\{[^}]*\\} (\\S+)$/gm),',
    alertmanagerTest: 'new RegExp(`^alertmanager_alerts_received_total\\\\{status="${status}",version="v2"\\\\} (\\\\d+)`, \'m\')',
    scale: "for (const line of text.split('\\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += 1;",
    maintenanceTest: 'new RegExp(`^watchdog_probe_maintenance\\\\{probe="${probe}"\\\\} (\\\\d)$`, \'m\')',
    apiTest: "text.split('\\n').find((l) => l.startsWith(`${s} `));",
    dashboard: 'const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);',
    prometheusQuery: "const promqlWords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and']);",
  };
  for (const [where, code] of Object.entries(replaced)) {
    assert.ok(
      shapes.some((s) => s.pattern.test(code)),
      `no shape matches the former reader in ${where}: ${code}`,
    );
  }
});
