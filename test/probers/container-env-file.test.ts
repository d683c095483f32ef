// container_env with an env file (the app's .env, mounted read-only into the watchdog): dotenv
// syntax, only the expected keys read out, the app on the host (no container) judged by its file,
// files that cannot be read, sampler values the OpenTelemetry SDK would ignore (env_invalid), and no other value of the file in any view, log or `watchdog check`.
// Real files in a temporary folder, the real dockerd for the container side.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { pickDotenv, samplerProblems } from '../../src/probers/containerEnv.js';
import { probeDetail, statusReport, statusTable } from '../../src/report/view.js';
import { dockerAvailable, removeContainer, runContainer, uniqueName } from '../support/docker.js';
import { problemsOf } from '../support/engine.js';
import { traversableByOthers } from '../support/process.js';
import { runProber } from '../support/prober.js';
import { runWatchdogCli } from '../support/watchdog-process.js';

const SAMPLER = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' };
const dir = mkdtempSync(join(tmpdir(), 'env-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function envFile(text: string): string {
  const path = join(dir, `app-${++files}.env`);
  writeFileSync(path, text);
  return path;
}

const probe = (fields: Record<string, unknown>) => ({ name: 'sampler-env', kind: 'container_env', expect: SAMPLER, ...fields });

before(async () => {
  assert.equal(await dockerAvailable(), true, 'dockerd + test image must be there (scripts/ensure-services.sh)');
});

test('dotenv syntax: comments, export, quotes and multi-line values; only the wanted keys come out', () => {
  const text = [
    '# MyStocks backend',
    'export OTEL_TRACES_SAMPLER=parentbased_traceidratio',
    'OTEL_TRACES_SAMPLER_ARG="0.1" # ten percent',
    "SINGLE='a # not a comment'",
    'BACK=`x`',
    // A PEM key in double quotes spans lines; one of its lines looks like an entry of its own.
    'PRIVATE_KEY="-----BEGIN KEY-----',
    'OTEL_SERVICE_NAME=from-inside-a-quoted-value',
    '-----END KEY-----"',
    '   SPACED  =  hello world   # trailing comment',
    'EMPTY=',
    'DUP=first',
    'DUP=second',
  ].join('\n');
  const picked = pickDotenv(text, new Set(['OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG', 'SINGLE', 'BACK', 'OTEL_SERVICE_NAME', 'SPACED', 'EMPTY', 'DUP', 'MISSING']));
  assert.deepEqual(Object.fromEntries(picked), {
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.1',
    SINGLE: 'a # not a comment',
    BACK: 'x',
    SPACED: 'hello world',
    EMPTY: '',
    DUP: 'second',
  });
  // What was not asked for is not in the answer, whatever the file holds.
  assert.deepEqual([...pickDotenv(text, new Set(['OTEL_TRACES_SAMPLER_ARG'])).keys()], ['OTEL_TRACES_SAMPLER_ARG']);
});

test('an env file alone (the app runs on the host): right, unset and wrong values', async () => {
  const good = await runProber('container_env', probe({ envFile: envFile('export OTEL_TRACES_SAMPLER=parentbased_traceidratio\nOTEL_TRACES_SAMPLER_ARG="0.1"\n') }));
  assert.equal(good.status, 'ok', good.message);
  assert.match(good.message, /^\/\S+\/app-\d+\.env has the 2 expected variable\(s\)$/);
  assert.equal(good.value, 0);

  const path = envFile("# the guide's 10%, typed wrong\nOTEL_TRACES_SAMPLER_ARG=0.01\nDB_PASSWORD=hunter2\n");
  const wrong = await runProber('container_env', probe({ envFile: path }));
  assert.equal(wrong.status, 'failing');
  assert.equal(wrong.reason, 'env_mismatch');
  assert.equal(wrong.message, `2 of 2 variable(s) differ in ${path}: OTEL_TRACES_SAMPLER is unset, expected "parentbased_traceidratio"; OTEL_TRACES_SAMPLER_ARG is "0.01", expected "0.1"`);
  assert.deepEqual(wrong.details, {
    envFile: path,
    expected: SAMPLER,
    envFileActual: { OTEL_TRACES_SAMPLER: null, OTEL_TRACES_SAMPLER_ARG: '0.01' },
    mismatched: ['OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'],
  });
  assert.equal(
    wrong.hint,
    `The OTEL_* sampler variables are read by the application's OpenTelemetry SDK, not by Tempo: they belong to the app. Set them in ${path} (the app's .env, on the host where the app runs), then restart the app: it reads the file once, at start. A variable exported in the app's own process environment (its shell, a systemd Environment=) usually wins over the file and is not visible here; sampling-ratio measures the ratio actually applied.`,
  );
  assert.equal(wrong.value, 2);
});

test('env file and container: an absent container leaves the file as the source; a present one must agree', async (t) => {
  const file = envFile('OTEL_TRACES_SAMPLER=parentbased_traceidratio\nOTEL_TRACES_SAMPLER_ARG=0.1\n');
  const missing = uniqueName('no-such-app');
  const onHost = await runProber('container_env', probe({ envFile: file, container: missing }));
  assert.equal(onHost.status, 'ok', onHost.message);
  assert.equal(onHost.message, `${file} has the 2 expected variable(s) (no container "${missing}": the app runs outside Docker, so the env file is its source)`);
  assert.equal(onHost.details?.containerAbsent, true);

  // Without an env file the missing container is the finding, and the hint names the way out.
  const noFile = await runProber('container_env', probe({ container: missing }));
  assert.equal(noFile.reason, 'not_found');
  assert.match(noFile.hint!, /If the app runs on the host rather than in a container, give this probe envFile: the app's \.env mounted read-only \(APP_ENV_FILE in probes\/mystocks\.yaml\)\.$/);

  const name = uniqueName('env-file-app');
  t.after(() => removeContainer(name));
  await runContainer({ name, env: { ...SAMPLER, OTEL_TRACES_SAMPLER_ARG: '1.0' } });
  const both = await runProber('container_env', probe({ envFile: file, container: name }));
  assert.equal(both.reason, 'env_mismatch');
  assert.equal(both.message, `1 of 2 variable(s) differ in "${name}": OTEL_TRACES_SAMPLER_ARG is "1.0", expected "0.1"`);
  assert.deepEqual(both.details?.actual, { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.0' });
  assert.deepEqual(both.details?.envFileActual, SAMPLER);
  assert.match(both.hint!, /Set them in the environment: \(or env_file:\) of the compose service that runs/);

  const agreeing = uniqueName('env-file-app-ok');
  t.after(() => removeContainer(agreeing));
  await runContainer({ name: agreeing, env: SAMPLER });
  const ok = await runProber('container_env', probe({ envFile: file, container: agreeing }));
  assert.equal(ok.status, 'ok', ok.message);
  assert.equal(ok.message, `${file} and "${agreeing}" have the 2 expected variable(s)`);
});

test('an env file that cannot be read names the file and the probe, with the fix for its cause', async () => {
  const cases: [string, string, RegExp][] = [
    [join(dir, 'not-mounted.env'), 'no such file (ENOENT)', /^Mount the app's \.env into the watchdog read-only/],
    // What Docker leaves when a bind mount's host file does not exist: an empty directory.
    [(mkdirSync(join(dir, 'made-by-docker.env')), join(dir, 'made-by-docker.env')), 'it is a directory (EISDIR)', /Docker creates an empty directory in its place/],
    ['/dev/null', 'it is not a regular file', /not a regular file/],
    [envFile('X'.repeat(1024 * 1024 + 1)), 'it holds 1048577 bytes, more than 1MiB (an env file is a few KiB)', /not an env file/],
  ];
  for (const [path, why, hint] of cases) {
    const r = await runProber('container_env', probe({ envFile: path, container: 'never-asked' }));
    assert.equal(r.status, 'failing', path);
    assert.equal(r.reason, 'env_file_unreadable');
    assert.equal(r.message, `probe "sampler-env" cannot read the env file ${path}: ${why}`);
    assert.match(r.hint!, hint);
    assert.equal(r.details?.envFile, path);
  }
});

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const asNobody = process.getuid?.() !== 0 ? 'needs root to run a child as nobody' : !traversableByOthers(join(REPO, 'node_modules')) ? 'the checkout is not readable by nobody' : false;

test("an env file the watchdog's user may not read → env_file_unreadable with the group_add way out (`watchdog check` as nobody)", { skip: asNobody }, async () => {
  // Root reads any file, so the denial is real only for another user: the CLI runs as nobody.
  const shared = mkdtempSync(join(tmpdir(), 'env-file-nobody-'));
  try {
    chmodSync(shared, 0o755);
    const secretFile = join(shared, 'app.env');
    writeFileSync(secretFile, 'OTEL_TRACES_SAMPLER_ARG=0.1\n', { mode: 0o600 });
    const configFile = join(shared, 'probes.yaml');
    writeFileSync(configFile, stringify({ probes: [probe({ envFile: secretFile })] }), { mode: 0o644 });
    const out = await new Promise<string>((resolve) =>
      execFile(
        process.execPath,
        ['bin/watchdog.js', 'check', '--format', 'json', '--config', configFile],
        { cwd: REPO, uid: 65534, gid: 65534, env: { PATH: process.env.PATH, HOME: shared }, timeout: 60_000 },
        (_err, stdout, stderr) => resolve(stdout || stderr),
      ),
    );
    const r = (JSON.parse(out) as { probes: { reason: string; message: string; hint: string }[] }).probes[0]!;
    assert.equal(r.reason, 'env_file_unreadable', out);
    assert.equal(r.message, `probe "sampler-env" cannot read the env file ${secretFile}: permission denied (EACCES)`);
    assert.match(r.hint, /may not read the file: give it read access .* group_add: that group id in the watchdog's service/);
  } finally {
    rmSync(shared, { recursive: true, force: true });
  }
});

test('config: container, envFile or both; an empty envFile is none', () => {
  const config = (p: Record<string, unknown>) => parseConfig([{ file: 'env.yaml', text: stringify({ probes: [p] }) }], {});
  assert.deepEqual(
    problemsOf(() => config(probe({}))),
    ['env.yaml: probe "sampler-env": container: give container (the app\'s container), envFile (the app\'s .env as mounted into the watchdog), or both'],
  );
  assert.deepEqual(
    problemsOf(() => config(probe({ envFile: '' }))),
    ['env.yaml: probe "sampler-env": container: give container (the app\'s container), envFile (the app\'s .env as mounted into the watchdog), or both'],
  );
  assert.equal((config(probe({ container: 'app', envFile: '' })).probes[0]!.settings as { envFile?: string }).envFile, undefined);
  assert.equal((config(probe({ envFile: 'relative/app.env' })).probes[0]!.settings as { envFile?: string }).envFile, join(process.cwd(), 'relative/app.env'));
});

test('no other value of the env file reaches /status, a log line or `watchdog check`, whatever the outcome', async () => {
  const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;
  const token = `tok-${randomBytes(8).toString('hex')}`;
  const pem = `pem-${randomBytes(8).toString('hex')}`;
  const guess = `guess-${randomBytes(8).toString('hex')}`;
  const path = envFile(
    [
      'OTEL_TRACES_SAMPLER=parentbased_traceidratio',
      'OTEL_TRACES_SAMPLER_ARG=0.5',
      `DB_PASSWORD=${secret}`,
      `export API_TOKEN='${token}'`,
      `PRIVATE_KEY="-----BEGIN-----`,
      `${pem}`,
      `-----END-----"`,
    ].join('\n'),
  );
  const probes = [
    { name: 'env-file-wrong', kind: 'container_env', envFile: path, expect: SAMPLER },
    { name: 'env-file-ok', kind: 'container_env', envFile: path, expect: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' } },
    // Naming a secret key shows neither its value nor the configured one.
    { name: 'env-file-secret', kind: 'container_env', envFile: path, expect: { DB_PASSWORD: guess } },
  ];
  const configText = stringify({ probes });
  const lines: string[] = [];
  const engine = new Engine({
    http: createHttpClient({ userAgent: 'env-file-test' }),
    docker: createDockerClient({}),
    logger: pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) }),
    now: Date.now,
  });
  engine.load(parseConfig([{ file: 'env.yaml', text: configText }], {}));
  await engine.runOnce();
  const states = await engine.runOnce();
  const byName = Object.fromEntries(states.map((s) => [s.spec.name, s.current]));
  assert.equal(byName['env-file-wrong']!.reason, 'env_mismatch');
  assert.equal(byName['env-file-ok']!.status, 'ok');
  assert.equal(byName['env-file-secret']!.message, `1 of 1 variable(s) differ in ${path}: DB_PASSWORD is set to another value, expected the configured value`);
  assert.deepEqual(byName['env-file-secret']!.details!.envFileActual, { DB_PASSWORD: '(hidden)' });

  const configFile = join(dir, 'env-probes.yaml');
  writeFileSync(configFile, configText);
  const checked = await runWatchdogCli(['check', '--config', configFile], { WATCHDOG_LOG_LEVEL: 'trace' }, { timeoutMs: 60_000 });
  const cli = { code: checked.code, out: checked.stdout + checked.stderr };
  const json = await runWatchdogCli(['check', '--format', 'json', '--config', configFile], {}, { timeoutMs: 60_000 });
  const cliJson = json.stdout + json.stderr;
  assert.equal(cli.code, 1, cli.out);
  const shown = [
    lines.join(''),
    JSON.stringify(statusReport(states, Date.now())),
    JSON.stringify(states.map(probeDetail)),
    JSON.stringify(states.map((s) => [s.current, s.last, s.history, s.failures])),
    statusTable(states, Date.now()),
    cli.out,
    cliJson,
  ];
  for (const text of shown) {
    for (const value of [secret, token, pem, guess]) assert.ok(!text.includes(value), `a value of the env file leaked: ${value.split('-')[0]}`);
  }
  // The views did show the probes' findings, so the absence above means something.
  assert.match(cli.out, /env-file-wrong/);
  assert.match(cliJson, /OTEL_TRACES_SAMPLER_ARG is \\"0\.5\\"/);
  assert.match(lines.join(''), /"msg":"probe failing"/);
});

// env_invalid (issue 17, item 7): a sampler the OpenTelemetry SDK does not know, or a ratio that is not a
// probability, named with the nearest valid value and what the SDK does instead, ahead of env_mismatch.
test("the newer ops guide's parentbased_traceid_ratio in the app's .env is env_invalid: nearest value, and the SDK's 100% fallback", async () => {
  const r = await runProber('container_env', probe({ envFile: envFile('OTEL_TRACES_SAMPLER=parentbased_traceid_ratio\nOTEL_TRACES_SAMPLER_ARG=0.1\n') }));
  assert.equal(r.status, 'failing');
  assert.equal(r.reason, 'env_invalid');
  assert.match(r.message, /^OTEL_TRACES_SAMPLER="parentbased_traceid_ratio" is not a sampler of the OpenTelemetry SDK \(nearest: parentbased_traceidratio\) in \/.*app-\d+\.env$/);
  assert.match(r.hint ?? '', /^Set OTEL_TRACES_SAMPLER=parentbased_traceidratio in \/.*\.env and restart the app\./);
  assert.match(r.hint ?? '', /uses its default parentbased_always_on: every trace is sampled \(100%\)/);
  assert.equal(r.value, 1);
  assert.deepEqual(r.details?.invalid, [{ key: 'OTEL_TRACES_SAMPLER', source: r.details?.envFile, nearest: 'parentbased_traceidratio' }]);
});

test("a ratio that is not a number, in a real container's environment, is env_invalid: the SDK then samples everything", async (t) => {
  const name = uniqueName('env-invalid');
  t.after(() => removeContainer(name));
  await runContainer({ name, env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '10%' } });
  const r = await runProber('container_env', probe({ container: name }));
  assert.equal(r.reason, 'env_invalid');
  assert.equal(r.message, `OTEL_TRACES_SAMPLER_ARG="10%" is not a probability (a number in [0, 1], e.g. "0.1") for parentbased_traceidratio in "${name}"`);
  assert.match(r.hint ?? '', new RegExp(`^Set OTEL_TRACES_SAMPLER_ARG=0\\.1 in the environment of the compose service that runs "${name}" and recreate it`));
  assert.match(r.hint ?? '', /samples with ratio 1\.0: every trace \(100%\)/);
});

test('a ratio above 1 is env_invalid with the clamped value; a sampler differing only in case is not invalid', async () => {
  const above = await runProber('container_env', probe({ envFile: envFile('OTEL_TRACES_SAMPLER=traceidratio\nOTEL_TRACES_SAMPLER_ARG=10\n') }));
  assert.equal(above.reason, 'env_invalid');
  assert.match(above.hint ?? '', /^Set OTEL_TRACES_SAMPLER_ARG=1 in/);
  // Valid but not what the guide wants: the ordinary mismatch.
  const cased = await runProber('container_env', probe({ envFile: envFile('OTEL_TRACES_SAMPLER=ParentBased_TraceIdRatio\nOTEL_TRACES_SAMPLER_ARG=0.1\n') }));
  assert.equal(cased.reason, 'env_mismatch');
});

test('env_invalid comes before env_mismatch, and still names the other differing variable', async () => {
  const r = await runProber('container_env', probe({ envFile: envFile('OTEL_TRACES_SAMPLER=parentbased_traceid_ratio\nOTEL_TRACES_SAMPLER_ARG=0.5\n') }));
  assert.equal(r.reason, 'env_invalid');
  assert.match(r.message, /\. Also differing: OTEL_TRACES_SAMPLER_ARG is "0\.5", expected "0\.1"$/);
  assert.deepEqual(r.details?.mismatched, ['OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG']);
});

test('valid values: always_on with any argument, jaeger_remote with its key=value argument, are not judged invalid', () => {
  const valid: [string, string][] = [
    ['always_on', 'x'],
    ['parentbased_jaeger_remote', 'endpoint=http://localhost:14250,pollingIntervalMs=5000'],
    ['parentbased_traceidratio', '0'],
    ['', 'x'],
  ];
  for (const [sampler, arg] of valid) {
    const env = new Map([
      ['OTEL_TRACES_SAMPLER', sampler],
      ['OTEL_TRACES_SAMPLER_ARG', arg],
    ]);
    assert.deepEqual(samplerProblems(env), [], `${sampler} ${arg}`);
  }
});

test('an expectation the SDK would ignore is refused at load, naming file, probe, field and the nearest value', () => {
  const load = () =>
    parseConfig(
      [{ file: 'probes/app.yaml', text: JSON.stringify({ probes: [{ name: 'sampler-env', kind: 'container_env', container: 'app', expect: { OTEL_TRACES_SAMPLER: 'parentbased_traceid_ratio' } }] }) }],
      {},
    );
  assert.deepEqual(problemsOf(load), [
    'probes/app.yaml: probe "sampler-env": expect.OTEL_TRACES_SAMPLER: OTEL_TRACES_SAMPLER="parentbased_traceid_ratio" is not a sampler of the OpenTelemetry SDK (nearest: parentbased_traceidratio): expect OTEL_TRACES_SAMPLER=parentbased_traceidratio',
  ]);
});
