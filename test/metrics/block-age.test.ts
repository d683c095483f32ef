// How old /metrics numbers may be: a block of probes whose counts and times moved is rewritten at most
// once per BLOCK_MAX_AGE_MS when scrapes come back to back (issue 21 §3), but a change of status, reason
// or definition shows at the very next scrape, with the rest of its block brought up to date.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import { BLOCK_MAX_AGE_MS, keptPerVersion, probeExposition, probeLines } from '../../src/metrics/probeFamilies.js';
import { kindGauges, stackLabels } from '../../src/metrics/registry.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { probers } from '../../src/probers/index.js';
import { parseExposition } from '../../src/util/promText.js';
import { jsonServer } from '../support/misbehaving.js';

test('/metrics blocks: counts may lag by at most BLOCK_MAX_AGE_MS between close scrapes; status, reason and definition never do', async (t) => {
  let n = 3;
  let code = 200;
  const target = await jsonServer(() => ({ status: code, body: { n } }));
  const http = createHttpClient({ userAgent: 'block-age-test' });
  t.after(async () => {
    await http.close();
    await target.close();
  });
  // Two probes in one block (a block holds 8): what one probe's change does to its neighbour shows too.
  const config = (severity: string) =>
    parseConfig(
      [
        {
          file: 'm.yaml',
          text: JSON.stringify({
            probes: [
              { name: 'api', kind: 'http', url: `${target.url}/n`, severity, assertions: [{ path: '$.n', expect: '> 2' }] },
              { name: 'other', kind: 'http', url: `${target.url}/n` },
            ],
          }),
        },
      ],
      {},
    );
  const engine = new Engine({ http, docker: createDockerClient({}), logger: pino({ level: 'silent' }), now: Date.now });
  engine.load(config('critical'));
  const gauges = kindGauges(probers);
  let clock = 0;
  const parts = probeExposition(
    () => engine.states(),
    gauges,
    keptPerVersion(probeLines(gauges, stackLabels('s'))),
    () => clock,
  );
  const scrape = (): string => {
    const out: Buffer[] = [];
    parts(out);
    return Buffer.concat(out).toString();
  };
  /** The value of a probe's series in a scrape's text (undefined: no such series). */
  const value = (text: string, name: string, probe: string, labels: Record<string, string> = {}): number | undefined =>
    parseExposition(text).value(name, { probe, kind: 'http', stack: 's', ...labels });
  const runs = (text: string, probe: string, result: string) => value(text, 'watchdog_probe_runs_total', probe, { result });

  await engine.runOnce();
  assert.equal(runs(scrape(), 'api', 'ok'), 1);

  // A second ok run within the age: the scrape may still show the first.
  await engine.runNow('api');
  clock += BLOCK_MAX_AGE_MS - 1;
  assert.equal(runs(scrape(), 'api', 'ok'), 1, 'a count that moved within BLOCK_MAX_AGE_MS of the last rewrite is held');
  // Once the block is that old, the next scrape shows it.
  clock += 1;
  assert.equal(runs(scrape(), 'api', 'ok'), 2, 'a count held for BLOCK_MAX_AGE_MS shows at the next scrape');

  // Within the age again, but the status changed: shown at once, and the neighbour's moved count with it.
  await engine.runNow('other');
  n = 1;
  await engine.runNow('api');
  clock += 1;
  const failing = scrape();
  assert.equal(value(failing, 'watchdog_probe_success', 'api'), 0);
  assert.equal(value(failing, 'watchdog_probe_reason', 'api', { reason: 'assertion' }), 1);
  assert.equal(runs(failing, 'api', 'failing'), 1);
  assert.equal(runs(failing, 'other', 'ok'), 2, "the block is rewritten whole: the neighbour's count is current too");

  // A new reason with the same status (failing on the assertion, then on a 500): shown at once.
  await engine.runNow('api');
  clock += 1;
  assert.equal(runs(scrape(), 'api', 'failing'), 1, 'same status and reason: held');
  const reasonBefore = engine.state('api')!.current.reason;
  assert.equal(reasonBefore, 'assertion');
  code = 500;
  await engine.runNow('api');
  clock += 1;
  const refused = scrape();
  const reason = engine.state('api')!.current.reason;
  assert.notEqual(reason, 'assertion', 'a 500 fails for another reason than the assertion');
  assert.equal(value(refused, 'watchdog_probe_reason', 'api', { reason }), 1);
  assert.equal(runs(refused, 'api', 'failing'), 3);

  // A reload that changes only the definition (severity): shown at once.
  engine.load(config('warning'));
  clock += 1;
  assert.equal(value(scrape(), 'watchdog_probe_info', 'api', { severity: 'warning' }), 1);
});
