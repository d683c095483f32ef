// The engine's concurrency bound on its own: many callers, releases and arrivals interleaved at
// microtask boundaries, and never more than `limit` inside at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Semaphore } from '../../src/engine/semaphore.js';

const microtasks = async (n: number) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

test('the semaphore never lets more than its limit in, whatever the microtask interleaving', async () => {
  for (const limit of [1, 2, 3]) {
    const semaphore = new Semaphore(limit);
    let active = 0;
    let maxActive = 0;
    let entered = 0;
    const calls: Promise<number>[] = [];
    // 600 callers; each holds its slot for 1-7 microtasks, and a new caller arrives every 1-4
    // microtasks, so arrivals land on every offset from a release, including the one just after it.
    for (let i = 0; i < 600; i++) {
      calls.push(
        semaphore.use(async () => {
          entered++;
          maxActive = Math.max(maxActive, ++active);
          await microtasks(1 + ((i * 3) % 7));
          active--;
          return i;
        }),
      );
      await microtasks(1 + (i % 4));
    }
    const results = await Promise.all(calls);
    assert.equal(entered, 600, 'every caller got in eventually');
    assert.deepEqual(
      results,
      calls.map((_, i) => i),
      "each caller gets its own function's value",
    );
    assert.equal(active, 0);
    assert.ok(maxActive <= limit, `limit ${limit}: ${maxActive} ran at once`);
    assert.equal(maxActive, limit, `limit ${limit}: the callers were enough to fill it`);
  }
});

test('a function that throws gives its slot back and its caller gets the error', async () => {
  const semaphore = new Semaphore(1);
  await assert.rejects(
    semaphore.use(async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  const after = await Promise.race([semaphore.use(async () => 'next one ran'), microtasks(50).then(() => 'stuck')]);
  assert.equal(after, 'next one ran');
});
