// Defect 5 of issue 12: probes whose targets hang must not hold healthy probes hostage, and a probe
// that cannot run on time says so in /status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probeView } from '../../src/report/view.js';
import { hangAfterAccept, jsonServer } from '../support/misbehaving.js';
import { engineFor, eventually } from '../support/engine.js';

test('100 probes at 1 s, half pointing at hanging targets, concurrency 4: the healthy half stays within 2 intervals', async (t) => {
  const hang = await hangAfterAccept();
  const up = await jsonServer(() => ({ status: 200, body: {} }));
  const lines: string[] = ['probes:'];
  for (let i = 0; i < 50; i++) {
    lines.push(`  - { name: hang-${i}, kind: http, url: "${hang.url}/${i}", interval: 1s, timeout: 800ms }`);
    lines.push(`  - { name: ok-${i}, kind: http, url: "${up.url}/${i}", interval: 1s, timeout: 800ms }`);
  }
  const { engine, close } = engineFor(lines.join('\n'), { concurrency: 4 });
  t.after(async () => {
    await close();
    await hang.close();
    await up.close();
  });
  engine.start();
  const healthy = () => engine.states().filter((s) => s.spec.name.startsWith('ok-'));
  await eventually(() => healthy().every((s) => s.last?.status === 'ok'), 'every healthy probe has run', 30_000);
  // From now on, sampled every 250 ms for 5 s, no healthy probe's last run is older than 2 intervals.
  let worst = 0;
  for (const until = Date.now() + 5000; Date.now() < until;) {
    const now = Date.now();
    for (const s of healthy()) worst = Math.max(worst, now - s.last!.at);
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`# healthy probes: worst staleness ${worst}ms`);
  assert.ok(worst <= 2000, `a healthy probe went ${worst}ms without a run`);
  // The hanging ones cannot all run every second at this concurrency: /status says they are late.
  const late = engine.states().filter((s) => s.spec.name.startsWith('hang-') && probeView(s).details?.late === true);
  assert.ok(late.length > 0, 'late hanging probes say so in /status');
  assert.match(String(probeView(late[0]!).details?.schedule), /late|behind/);
});
