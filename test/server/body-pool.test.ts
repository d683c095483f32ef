// GET /metrics and GET /status join their kept pieces into buffers that are used again
// (src/server/bodyPool.ts). A buffer may only come back once Node has handed the whole response to
// the socket: handed back earlier, the next scrape would write over a body still being sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { FastifyReply } from 'fastify';
import { BodyPool } from '../../src/server/bodyPool.js';

const parts = (text: string) => text.split('|').map((p) => Buffer.from(p));
/** A reply as far as the pool sees one: its Node response, which emits 'finish' or 'close'. */
const fakeReply = () => {
  const raw = new EventEmitter();
  return { reply: { raw } as unknown as FastifyReply, raw };
};

test('a joined body is its pieces in order, in a buffer no other join gets until it is released', () => {
  const pool = new BodyPool();
  const a = pool.join(parts('# HELP a|a 1\n|b 2\n'));
  assert.equal(a.body.toString(), '# HELP aa 1\nb 2\n');
  const b = pool.join(parts('x|y'));
  assert.equal(b.body.toString(), 'xy');
  assert.notEqual(a.body.buffer, b.body.buffer, 'two bodies in flight share a buffer');
  a.release();
  assert.equal(pool.idle, 1);
  const c = pool.join(parts('a shorter one'));
  assert.equal(c.body.buffer, a.body.buffer, 'a released buffer that fits is used again');
  assert.equal(c.body.toString(), 'a shorter one');
  assert.equal(b.body.toString(), 'xy', 'a body still held was changed by a later join');
  // A second release of the same body must not put its buffer in the pool twice.
  c.release();
  c.release();
  b.release();
  assert.equal(pool.idle, 2);
});

test('a body that outgrows every kept buffer gets a new one, and the pool keeps at most `keep`', () => {
  const pool = new BodyPool(1);
  const small = pool.join([Buffer.alloc(10, 'a')]);
  small.release();
  const big = pool.join([Buffer.alloc(100_000, 'b')]);
  assert.notEqual(big.body.buffer, small.body.buffer);
  assert.equal(big.body.length, 100_000);
  assert.ok(big.body.every((x) => x === 'b'.charCodeAt(0)));
  big.release();
  assert.equal(pool.idle, 1, 'more buffers kept than asked');
});

test('a buffer four times larger than its last body is left to the collector, not kept', () => {
  const pool = new BodyPool();
  const big = pool.join([Buffer.alloc(1_000_000)]);
  big.release();
  const small = pool.join([Buffer.alloc(100)]);
  assert.equal(small.body.buffer, big.body.buffer, 'the big buffer is used while it is free');
  small.release();
  assert.equal(pool.idle, 0, 'a 1.25 MB buffer was kept for a 100-byte body');
});

test("a sent body comes back on the response's 'finish', never on a 'close' without it", () => {
  const pool = new BodyPool();
  const sent = fakeReply();
  const body = pool.send(sent.reply, parts('metrics|text'));
  assert.equal(body.toString(), 'metricstext');
  assert.equal(pool.idle, 0, 'handed back before the response was sent');
  sent.raw.emit('finish');
  assert.equal(pool.idle, 1);

  const cut = fakeReply();
  pool.send(cut.reply, parts('taken|again'));
  assert.equal(pool.idle, 0);
  // The client went away: Node may still hold the buffer in a write it gave up on.
  cut.raw.emit('close');
  assert.equal(pool.idle, 0, 'the buffer of a response that never finished was handed back');
});
