// The shared reading of the stack's folder (src/probers/stackDirApi.ts) that stack_config and dashboards
// use: the layout and the profile's overrides, STACK_DIR missing (blocked, one line, not failing),
// patterns, absent and oversized files. Real files in a temporary folder.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeStackDir, listStackFiles, MAX_STACK_FILE_BYTES, openStackDir, parseStackYaml, readStackFile, stackName } from '../../src/probers/stackDirApi.js';
import type { Decoder } from '../../src/probers/types.js';

const dir = mkdtempSync(join(tmpdir(), 'stack-dir-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A Decoder that keeps the problems (only `problem` is used by decodeStackDir). */
function decoder(): Decoder & { problems: string[] } {
  const problems: string[] = [];
  return {
    problems,
    problem: (field, message) => problems.push(`${field}: ${message}`),
    take: (_f, r, p) => (r.ok ? r.value : p),
    duration: () => Number.NaN,
    expectation: () => ({ all: [], text: '' }),
  };
}

test('the MyStocks layout under STACK_DIR, each path overridable, relative to it or absolute', () => {
  const d = decoder();
  const stack = decodeStackDir(d, '/stack/', { rules: 'prometheus/rules/*.yaml', prometheusConfig: '/etc/prom/prometheus.yml' }, ['prometheusConfig', 'rules', 'alertmanagerConfig', 'tempoConfig']);
  assert.deepEqual(d.problems, []);
  assert.deepEqual(stack, {
    dir: '/stack',
    paths: {
      prometheusConfig: '/etc/prom/prometheus.yml',
      rules: '/stack/prometheus/rules/*.yaml',
      alertmanagerConfig: '/stack/config/alertmanager.yml',
      tempoConfig: '/stack/config/tempo-config.yaml',
    },
  });
  assert.equal(stackName(stack, '/stack/config/rules/a.yml'), 'config/rules/a.yml');
  assert.equal(stackName(stack, '/etc/prom/prometheus.yml'), '/etc/prom/prometheus.yml');
});

test('an override the kind does not read, a pattern in a folder or for a single file, a relative STACK_DIR: each a problem naming the field', () => {
  const d = decoder();
  decodeStackDir(d, 'stack', { dashboards: 'x/*.json', rules: 'a/*/b.yml', tempoConfig: 'tempo-*.yaml' }, ['rules', 'tempoConfig']);
  assert.deepEqual(d.problems, [
    'stackDir: "stack" is not an absolute path: give the folder as the watchdog sees it, e.g. /stack',
    'files.dashboards: this kind does not read dashboards; it reads rules, tempoConfig',
    'files.rules: "a/*/b.yml": a * may only stand in the file name (config/rules/*.yml), not in a folder',
    'files.tempoConfig: "tempo-*.yaml": tempoConfig is one file, not a pattern',
  ]);
});

test('a missing STACK_DIR is blocked with stack_dir_missing in one line, not failing; a present one opens', async () => {
  const missing = decodeStackDir(decoder(), join(dir, 'not-mounted'), undefined, ['rules']);
  const off = await openStackDir(missing, 'stack-config');
  assert.equal(off.ok, false);
  if (off.ok) return;
  assert.equal(off.outcome.status, 'blocked');
  assert.equal(off.outcome.reason, 'stack_dir_missing');
  assert.match(off.outcome.message, /^STACK_DIR \S+not-mounted does not exist, so probe "stack-config" checks nothing/);
  assert.doesNotMatch(off.outcome.message, /\n/);
  assert.equal((await openStackDir(decodeStackDir(decoder(), dir, undefined, ['rules']), 'stack-config')).ok, true);

  writeFileSync(join(dir, 'a-file'), '');
  const notFolder = await openStackDir(decodeStackDir(decoder(), join(dir, 'a-file'), undefined, ['rules']), 'stack-config');
  assert.equal(!notFolder.ok && notFolder.outcome.status, 'failing', 'a STACK_DIR that is a file is a mistake, not an absent mount');
});

test('a pattern lists its folder in name order (none when the folder is absent); a file reads with its mtime, absent reads undefined, oversized is unreadable', async () => {
  mkdirSync(join(dir, 'rules'));
  for (const n of ['b.yml', 'a.yml', '.hidden.yml', 'c.yaml']) writeFileSync(join(dir, 'rules', n), 'groups: []\n');
  assert.deepEqual(await listStackFiles(join(dir, 'rules', '*.yml'), 'p'), { ok: true, value: [join(dir, 'rules', 'a.yml'), join(dir, 'rules', 'b.yml')] });
  assert.deepEqual(await listStackFiles(join(dir, 'nowhere', '*.yml'), 'p'), { ok: true, value: [] });

  const read = await readStackFile(join(dir, 'rules', 'a.yml'), 'p');
  assert.ok(read.ok && read.value);
  assert.equal(read.value.text, 'groups: []\n');
  assert.ok(read.value.mtimeMs > 0);
  assert.deepEqual(await readStackFile(join(dir, 'absent.yml'), 'p'), { ok: true, value: undefined });

  writeFileSync(join(dir, 'big.json'), 'x'.repeat(MAX_STACK_FILE_BYTES + 1));
  const big = await readStackFile(join(dir, 'big.json'), 'dashboards');
  assert.equal(big.ok, false);
  if (!big.ok) assert.match(big.outcome.message, /^probe "dashboards" cannot read \S+big.json: it holds 2097153 bytes, more than 2MiB/);
});

test('YAML: the document, or the first error with its line', () => {
  assert.deepEqual(parseStackYaml('groups:\n  - name: a\n'), { ok: true, value: { groups: [{ name: 'a' }] } });
  const bad = parseStackYaml('groups:\n  - name: a\n   rules: [\n');
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.error, /^line \d+: /);
});
