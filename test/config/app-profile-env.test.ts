// probes/mystocks.yaml as the MyStocks app really runs (on the host, calling itself mystocks-api,
// with its .env beside it): every value that names the app comes from the environment, so the
// shipped profile fits without editing, and sampler-env reads the app's env file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';

const text = readFileSync('probes/mystocks.yaml', 'utf8');
const load = (env: Record<string, string>) => parseConfig([{ file: 'probes/mystocks.yaml', text }], env).probes;

// Values no default of the profile holds, one per variable that names the app.
const APP_ENV = {
  APP_CONTAINER: 'app-container-from-env',
  APP_REQUESTS_METRIC: 'app_requests_from_env_total',
  TRACED_SERVICE: 'traced-service-from-env',
  APP_ENV_FILE: '/env-file/from-env.env',
  APP_JOB: 'app-job-from-env',
};

test('every value that names the app comes from the environment, none is written into a probe', () => {
  const probes = load(APP_ENV);
  // What a probe acts on (its decoded fields), not its description or hints, which are prose.
  const acted = JSON.stringify(probes.map((p) => ({ name: p.name, settings: p.settings })));
  for (const builtIn of ['mystocks-backend', 'mystocks_http_requests_total', 'mystocks-api']) {
    assert.ok(!acted.includes(builtIn), `"${builtIn}" is written into a probe instead of coming from a variable`);
  }
  // And each variable reaches the probes that are about the app.
  const settings = (name: string) => JSON.stringify(probes.find((p) => p.name === name)!.settings);
  assert.match(settings('container-backend'), /app-container-from-env/);
  assert.match(settings('sampler-env'), /app-container-from-env/);
  assert.match(settings('sampler-env'), /\/env-file\/from-env\.env/);
  for (const name of ['tempo-ingestion', 'span-rate', 'sampling-ratio']) assert.match(settings(name), /traced-service-from-env/, name);
  for (const name of ['app-requests', 'sampling-ratio']) assert.match(settings(name), /app_requests_from_env_total/, name);
  assert.equal((probes.find((p) => p.name === 'app-requests')!.settings as { job?: string }).job, 'app-job-from-env');
});

test('sampler-env reads APP_ENV_FILE when set, and is not blocked behind the app container', () => {
  const samplerEnv = (env: Record<string, string>) => load(env).find((p) => p.name === 'sampler-env')!;
  assert.equal((samplerEnv({}).settings as { envFile?: string }).envFile, undefined);
  assert.equal((samplerEnv({ APP_ENV_FILE: '/app/app.env' }).settings as { envFile?: string }).envFile, '/app/app.env');
  // An app on the host has no container: container-backend fails there, and sampler-env must still read the file.
  assert.deepEqual(samplerEnv({}).dependsOn, []);
});
