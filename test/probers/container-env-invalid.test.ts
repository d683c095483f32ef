// container_env's env_invalid (issue 17, item 7): a sampler the OpenTelemetry SDK does not know, or a
// ratio that is not a probability, named with the nearest valid value and what the SDK does instead,
// ahead of env_mismatch. Real env files and a real container on the real dockerd.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { samplerProblems } from '../../src/probers/containerEnv.js';
import { dockerAvailable, removeContainer, runContainer, uniqueName } from '../support/docker.js';
import { problemsOf } from '../support/engine.js';
import { runProber } from '../support/prober.js';

const SAMPLER = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' };
const dir = mkdtempSync(join(tmpdir(), 'env-invalid-'));
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
  assert.deepEqual(samplerProblems(new Map([['OTEL_TRACES_SAMPLER', 'always_on'], ['OTEL_TRACES_SAMPLER_ARG', 'x']])), []);
  assert.deepEqual(samplerProblems(new Map([['OTEL_TRACES_SAMPLER', 'parentbased_jaeger_remote'], ['OTEL_TRACES_SAMPLER_ARG', 'endpoint=http://localhost:14250,pollingIntervalMs=5000']])), []);
  assert.deepEqual(samplerProblems(new Map([['OTEL_TRACES_SAMPLER', 'parentbased_traceidratio'], ['OTEL_TRACES_SAMPLER_ARG', '0']])), []);
  assert.deepEqual(samplerProblems(new Map([['OTEL_TRACES_SAMPLER', ''], ['OTEL_TRACES_SAMPLER_ARG', 'x']])), []);
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
