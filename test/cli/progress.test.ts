// `watchdog check` on a real terminal: a pseudo-terminal from util-linux's `script`, so isTTY is
// true for both streams as it is for a person; and the same check piped, as in a pipeline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonServer } from '../support/misbehaving.js';

const bin = join(import.meta.dirname, '..', '..', 'bin', 'watchdog.js');
const haveScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const noPty = haveScript ? false : 'util-linux `script` is missing (apt-get install util-linux): no pseudo-terminal to run the CLI on';

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { PATH: process.env.PATH, ...env }, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** The CLI on a pseudo-terminal; its stdout and stderr both arrive, interleaved, on `stdout`. */
function onTerminal(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const command = [process.execPath, bin, ...args].map(quote).join(' ');
  return run('script', ['-qefc', command, '/dev/null'], { TERM: 'xterm', ...env });
}

const piped = (args: string[], env: Record<string, string> = {}) => run(process.execPath, [bin, ...args], env);

/** One quick probe and one whose target takes 3 s to answer: long enough for the progress line. */
async function slowConfig(t: { after: (fn: () => unknown) => void }): Promise<string> {
  const quick = await jsonServer(() => ({ status: 200, body: {} }));
  const slow = await jsonServer(async () => {
    await new Promise((r) => setTimeout(r, 3000));
    return { status: 200, body: {} };
  });
  t.after(() => Promise.all([quick.close(), slow.close()]));
  const dir = mkdtempSync(join(tmpdir(), 'watchdog-progress-'));
  const file = join(dir, 'probes.yaml');
  writeFileSync(
    file,
    `probes:
  - { name: quick, kind: http, url: "${quick.url}/" }
  - { name: tempo-ingestion, kind: http, url: "${slow.url}/", timeout: 10s, interval: 30s }
`,
  );
  return file;
}

test('a long check on a terminal shows progress on stderr, rewritten in place and cleared before the table', { skip: noPty }, async (t) => {
  const file = await slowConfig(t);
  const { code, stdout } = await onTerminal(['check', '-c', file]);
  assert.equal(code, 0, stdout);
  const progress = stdout.lastIndexOf('1/2 probes done, waiting on tempo-ingestion');
  assert.ok(progress >= 0, `a progress line: ${JSON.stringify(stdout)}`);
  assert.ok(stdout.includes('\r\u001b[K1/2 probes done'), 'rewritten in place');
  const table = stdout.indexOf('PROBE');
  assert.ok(table > progress, 'the table comes after the progress');
  const between = stdout.slice(progress, table);
  assert.ok(between.endsWith('\r\u001b[K'), `the line is cleared before the table: ${JSON.stringify(between)}`);
  assert.ok(stdout.includes('\u001b[32mOK'), 'the status words are coloured on a terminal');
});

test('NO_COLOR on a terminal: no colour, the progress still shows', { skip: noPty }, async (t) => {
  const file = await slowConfig(t);
  const { code, stdout } = await onTerminal(['check', '-c', file], { NO_COLOR: '1' });
  assert.equal(code, 0, stdout);
  const sgr = stdout
    .split('\u001b[')
    .slice(1)
    .filter((p) => /^[0-9;]*m/.test(p));
  assert.deepEqual(sgr, [], `no colour codes: ${JSON.stringify(stdout)}`);
  assert.match(stdout, /probes done/);
});

test('a long check piped prints nothing but the table: no progress, no escape codes', async (t) => {
  const file = await slowConfig(t);
  const { code, stdout, stderr } = await piped(['check', '-c', file]);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '');
  assert.ok(!stdout.includes('\u001b'), JSON.stringify(stdout));
  assert.match(stdout, /^tempo-ingestion\s+http\s+OK/m);
});
