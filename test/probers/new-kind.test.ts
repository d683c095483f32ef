// The promise of src/probers/types.ts, kept by a test: a new kind is one file in src/probers/ plus
// its line in the registry (an import and an entry), and nothing else changes. The test copies src/,
// adds a throwaway kind that publishes a gauge of its own, type-checks the copy with the project's
// compiler settings, and runs the copy as a daemon: the kind is validated by the loader, run by the
// engine, shown in /status and exported in /metrics. A change that makes a kind need a second place
// (a metrics list, a loader switch, an engine branch) fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { jsonServer } from '../support/misbehaving.js';
import { eventually } from '../support/engine.js';

const root = resolve(import.meta.dirname, '../..');

const kindFile = `// kind: throwaway — reads a number from a JSON endpoint and publishes it as a gauge of its own.
import { Type } from '@sinclair/typebox';
import { Duration, HttpUrl } from '../core/fields.js';
import { defineProber } from './define.js';
import { attempt, failed, passed, transportReasons } from './common.js';

const GAUGE = 'watchdog_throwaway_reading';

export const throwawayProber = defineProber({
  gauges: { [GAUGE]: { help: 'The number a throwaway probe read.', labelNames: ['probe'] } },
  reasons: { ...transportReasons, too_low: 'Raise it.' },
  fields: Type.Object({ url: HttpUrl, settle: Type.Optional(Duration), atLeast: Type.Integer() }),
  decode: (f, d) => ({ url: f.url, settleMs: d.duration('settle', f.settle ?? '1s'), atLeast: f.atLeast }),
  check: (spec) => (spec.settleMs < spec.timeoutMs ? [] : [{ field: 'settle', message: 'must be shorter than the timeout' }]),
  async run(spec, ctx) {
    const res = await attempt(() => ctx.http.request(spec.url, { signal: ctx.signal }));
    if (!res.ok) return res.outcome;
    const reading = Number(JSON.parse(res.value.body).n);
    const samples = [{ metric: GAUGE, labels: { probe: spec.name }, value: reading }];
    if (reading < spec.atLeast) return failed('too_low', \`read \${reading}, expected at least \${spec.atLeast}\`, undefined, { value: reading, samples });
    return passed(\`read \${reading} after settling \${spec.settleMs}ms\`, { value: reading, samples });
  },
});
`;

/** src/ copied beside node_modules (so its imports resolve), with the kind added by one file and one registry line. */
function copyWithNewKind(): { dir: string; indexDiff: string[] } {
  const dir = join(root, '.test-tmp', `new-kind-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, 'src'), join(dir, 'src'), { recursive: true });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  cpSync(join(root, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  writeFileSync(join(dir, 'src/probers/throwaway.ts'), kindFile);
  const indexPath = join(dir, 'src/probers/index.ts');
  const before = readFileSync(indexPath, 'utf8').split('\n');
  // The registry line, as a contributor writes it: the import with the others, the entry in the map.
  const lastImport = before.map((l) => l.startsWith('import ')).lastIndexOf(true);
  const mapEnd = before.findIndex((l, i) => i > lastImport && l === '};');
  const after = [
    ...before.slice(0, lastImport + 1),
    "import { throwawayProber } from './throwaway.js';",
    ...before.slice(lastImport + 1, mapEnd),
    '  throwaway: throwawayProber,',
    ...before.slice(mapEnd),
  ];
  writeFileSync(indexPath, after.join('\n'));
  return { dir, indexDiff: after.filter((l) => !before.includes(l)) };
}

test('a new kind is one file plus its registry line: validated, run, in /status and in /metrics', async (t) => {
  const { dir, indexDiff } = copyWithNewKind();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(indexDiff, ["import { throwawayProber } from './throwaway.js';", '  throwaway: throwawayProber,']);

  // The kind's types hold from its fields to run(): the copy compiles with the project's settings.
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--noEmit'], { cwd: dir }).catch((err: Error & { stdout?: string }) => {
    assert.fail(`the copy with the new kind does not type-check:\n${err.stdout ?? err.message}`);
  });

  const load = (await import(pathToFileURL(join(dir, 'src/config/load.ts')).href)) as typeof import('../../src/config/load.js');
  const settingsModule = (await import(pathToFileURL(join(dir, 'src/config/settings.ts')).href)) as typeof import('../../src/config/settings.js');
  const daemonModule = (await import(pathToFileURL(join(dir, 'src/daemon.ts')).href)) as typeof import('../../src/daemon.js');

  // Validated by the loader: the schema's and the kind's own decode and check problems, all at once.
  const problems = (() => {
    try {
      load.parseConfig(
        [
          {
            file: 'new.yaml',
            text:
              'probes:\n  - { name: bad, kind: throwaway, url: "ftp://x", atLeast: 1 }\n  - { name: worse, kind: throwaway, url: "http://x", settle: soon, atLeast: 1 }\n  - { name: slow, kind: throwaway, url: "http://x", settle: 9s, atLeast: 1 }\n' +
              '  - { name: typo, kind: throwaway, url: "http://x", atLeast: 1, hints: { to_low: "Page the owner.", too_low: "Fine." } }\n',
          },
        ],
        {},
      );
    } catch (err) {
      return (err as InstanceType<typeof load.ConfigError>).problems;
    }
    return [];
  })();
  assert.deepEqual(problems, [
    'new.yaml: probe "bad": url: expected an http:// or https:// URL, got "ftp://x"',
    'new.yaml: probe "worse": settle: expected a duration such as "500ms", "30s", "5m" or "1h", got "soon"',
    'new.yaml: probe "slow": settle: must be shorter than the timeout',
    // Its declared reasons are what a probe's hints: may extend: a misspelt key names the nearest one.
    'new.yaml: probe "typo": hints.to_low: "to_low" is not a reason of kind throwaway; did you mean "too_low"? (its reasons: timeout, connect, reset, dns, body_too_large, protocol, too_low, dependency_failed, error)',
  ]);

  const target = await jsonServer(() => ({ status: 200, body: { n: 42 } }));
  t.after(() => target.close());
  const probesDir = join(dir, 'probes');
  mkdirSync(probesDir);
  writeFileSync(
    join(probesDir, 'new.yaml'),
    `probes:\n  - { name: reading, kind: throwaway, url: "${target.url}/n", settle: 250ms, atLeast: 40 }\n  - { name: too-low, kind: throwaway, url: "${target.url}/n", atLeast: 100, severity: warning }\n`,
  );
  const settings = settingsModule.readSettings({ WATCHDOG_CONFIG: probesDir, WATCHDOG_PORT: '0', WATCHDOG_HOST: '127.0.0.1', WATCHDOG_STACK: 'kinds' });
  const daemon = await daemonModule.startDaemon(settings, { logger: pino({ level: 'silent' }), processMetrics: false });
  t.after(() => daemon.stop());
  await eventually(() => daemon.engine.ready, 'both throwaway probes to have a result');

  const status = (await (await fetch(`${daemon.url}/status`)).json()) as { probes: { name: string; kind: string; status: string; reason: string; message: string; value: number }[] };
  assert.deepEqual(
    status.probes.map((p) => [p.name, p.kind, p.status, p.reason, p.message, p.value]),
    [
      ['reading', 'throwaway', 'ok', 'ok', 'read 42 after settling 250ms', 42],
      ['too-low', 'throwaway', 'failing', 'too_low', 'read 42, expected at least 100', 42],
    ],
  );
  // A failure the kind gave no hint of its own shows the hint its reason was declared with.
  const tooLow = (await (await fetch(`${daemon.url}/status/too-low`)).json()) as { hint?: string };
  assert.equal(tooLow.hint, 'Raise it.');
  const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
  assert.match(metrics, /^# HELP watchdog_throwaway_reading The number a throwaway probe read\.$/m);
  assert.match(metrics, /^watchdog_throwaway_reading\{probe="reading",stack="kinds"\} 42$/m);
  assert.match(metrics, /^watchdog_throwaway_reading\{probe="too-low",stack="kinds"\} 42$/m);
  assert.match(metrics, /^watchdog_probe_failures_total\{probe="too-low",kind="throwaway",stack="kinds",reason="too_low"\} 1$/m);
});
