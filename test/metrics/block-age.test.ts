// How old /metrics numbers may be: a block of probes whose counts and times moved is rewritten at most
// once per BLOCK_MAX_AGE_MS when scrapes come back to back (issue 21 §3), but a change of status, reason
// or definition shows at the very next scrape, with the rest of its block brought up to date.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { Engine } from '../../src/engine/engine.js';
import { BLOCK_MAX_AGE_MS, keptPerVersion, PHASES, probeExposition, probeLines } from '../../src/metrics/probeFamilies.js';
import { kindGauges, stackLabels } from '../../src/metrics/registry.js';
import { createDockerClient } from '../../src/net/docker.js';
import { createHttpClient } from '../../src/net/http.js';
import { probers } from '../../src/probers/index.js';
import { parseExposition } from '../../src/util/promText.js';
import { jsonServer } from '../support/misbehaving.js';

/** The per-probe families of `engine`'s probes, scraped at the time `clock` says: the one joined buffer a scrape hands on. */
function exposition(engine: Engine, clock: () => number): () => Buffer {
  const gauges = kindGauges(probers);
  const parts = probeExposition(() => engine.states(), gauges, keptPerVersion(probeLines(gauges, stackLabels('s'))), {
    verdictChanges: () => engine.verdictChanges,
    now: clock,
  });
  return () => {
    const out: Buffer[] = [];
    parts(out);
    assert.equal(out.length, 1, 'the per-probe families are one joined buffer');
    return out[0]!;
  };
}

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
  let clock = 0;
  const scrapeBody = exposition(engine, () => clock);
  const scrape = (): string => scrapeBody().toString();
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

test('/metrics blocks come due in PHASES phases of a period, not all at once; an unchanged scrape hands on the same bytes', async (t) => {
  const target = await jsonServer(() => ({ status: 200, body: { ok: true } }));
  const http = createHttpClient({ userAgent: 'block-age-test' });
  t.after(async () => {
    await http.close();
    await target.close();
  });
  // One block of 8 probes per phase.
  const probes = Array.from({ length: 8 * PHASES }, (_, i) => ({ name: `p${String(i).padStart(2, '0')}`, kind: 'http', url: `${target.url}/ok` }));
  const engine = new Engine({ http, docker: createDockerClient({}), logger: pino({ level: 'silent' }), now: Date.now });
  engine.load(parseConfig([{ file: 'm.yaml', text: JSON.stringify({ probes }) }], {}));
  let clock = 0;
  const scrape = exposition(engine, () => clock);
  const showingTwoRuns = (body: Buffer): number => {
    const text = parseExposition(body.toString());
    return probes.filter((p) => text.value('watchdog_probe_runs_total', { probe: p.name, kind: 'http', stack: 's', result: 'ok' }) === 2).length;
  };

  await engine.runOnce();
  const first = scrape();
  assert.equal(scrape(), first, 'nothing changed: the same buffer again, not a new join');
  const firstText = first.toString();

  await engine.runOnce();
  // Every probe counted a second run, and the blocks written together at 0 come due one phase (8 probes)
  // per tenth of a period, the last phase's first.
  const seen: number[] = [];
  for (let j = 1; j <= PHASES; j++) {
    clock = (j * BLOCK_MAX_AGE_MS) / PHASES;
    seen.push(showingTwoRuns(scrape()));
  }
  assert.deepEqual(
    seen,
    Array.from({ length: PHASES }, (_, j) => 8 * (j + 1)),
    `probes showing their second run after each tenth of a period (expected one more block each time): ${seen.join(', ')}`,
  );
  assert.equal(first.toString(), firstText, 'a buffer once handed out is never written into again');
});
