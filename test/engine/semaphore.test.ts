// The engine's concurrency bound on its own: many callers, releases and arrivals interleaved at
// microtask boundaries, and never more than `limit` inside at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Priority, Semaphore } from '../../src/engine/semaphore.js';

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

test('waiting callers are served by priority (known before first), in arrival order within one, never past the cap', async () => {
  const semaphore = new Semaphore(2);
  const order: string[] = [];
  const release = new Map<string, () => void>();
  let active = 0;
  let maxActive = 0;
  /** A caller that holds its slot until the test releases it by name. */
  const call = (name: string, priority?: Priority) =>
    semaphore.use(async () => {
      order.push(name);
      maxActive = Math.max(maxActive, ++active);
      await new Promise<void>((resolve) => release.set(name, resolve));
      active--;
    }, priority);
  // setImmediate runs once every pending microtask has: whatever the queue would start, it has.
  const settled = () => new Promise((resolve) => setImmediate(resolve));
  const calls = [call('h1'), call('h2'), call('f1', Priority.first), call('k1', Priority.known), call('f2', Priority.first), call('k2', Priority.known)];
  await settled();
  assert.deepEqual(order, ['h1', 'h2'], 'nobody gets past the two taken slots');
  release.get('h1')!();
  await settled();
  assert.deepEqual(order, ['h1', 'h2', 'k1'], 'a known probe goes before first runs that arrived earlier');
  // A newcomer with a result goes ahead of first runs already waiting.
  calls.push(call('k3', Priority.known));
  for (const name of ['h2', 'k1', 'k2', 'k3', 'f1', 'f2']) {
    await settled();
    // Every slot in use while anyone waits; only f2, the last, runs alone.
    assert.equal(active, name === 'f2' ? 1 : 2, `slots in use before ${name} ends (${order.join(' ')})`);
    release.get(name)!();
  }
  await Promise.all(calls);
  assert.deepEqual(order, ['h1', 'h2', 'k1', 'k2', 'k3', 'f1', 'f2']);
  assert.equal(maxActive, 2);
});
