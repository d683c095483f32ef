// Alertmanager's API is spoken in src/probers/alertmanagerApi.ts only. `npm run deps` keeps who may
// import that module; what a file's text says is beyond it, so this test looks for Alertmanager's
// API paths written as strings anywhere else in src/. A heuristic, and it says so: each pattern is
// the shape a path had in the code moved into the module (checked below), so a path written another
// way would pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot as root, sourceFiles } from '../support/sources.js';

const room = 'src/probers/alertmanagerApi.ts';

/** A string literal that starts with one of Alertmanager's v2 API paths (Tempo's /api/v2/search is not one). */
const apiPath = /['"`]\/api\/v2\/(alerts|silences?|status|receivers)\b/;

test("no file of src/ but the Alertmanager module writes Alertmanager's API paths", () => {
  const files = sourceFiles('src');
  assert.ok(files.includes(room) && files.length > 50, `the walk found the sources (${files.length} files)`);
  assert.match(readFileSync(join(root, room), 'utf8'), apiPath, 'the module itself holds the paths');
  const found = files.filter((f) => f !== room && apiPath.test(readFileSync(join(root, f), 'utf8')));
  assert.deepEqual(found, [], `use ${room}`);
});

test('the pattern matches the calls that were moved into the module (so the check above can fail)', () => {
  const moved = {
    alertingPost: "const url = joinUrl(settings.url, '/api/v2/alerts');",
    maintenanceCreate: "const res = await this.opts.http.request(joinUrl(url, '/api/v2/silences'), {",
    maintenanceExpire: 'joinUrl(url, `/api/v2/silence/${encodeURIComponent(silenceId)}`)',
    alertPathStatus: "fetchJson(ctx, joinUrl(spec.alertmanager, '/api/v2/status'), { hint: amDownHint })",
    statusKind: "const statusUrl = joinUrl(spec.alertmanager, '/api/v2/status');",
  };
  for (const [where, code] of Object.entries(moved)) assert.match(code, apiPath, `the pattern misses the former call in ${where}`);
  assert.doesNotMatch("const TAG_VALUES_V2 = '/api/v2/search/tag/resource.service.name/values';", apiPath, "Tempo's v2 search is not Alertmanager's");
});
