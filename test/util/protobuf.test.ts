// src/util/protobuf.ts, the one protobuf wire codec: bytes checked against the examples of the
// protobuf encoding guide (protobuf.dev/programming-guides/encoding), then the edges the OTLP and
// remote-write messages reach (64-bit values, packed lists, negative int64) and malformed input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lenField, ProtobufError, ProtoWriter, varint, WireMessage } from '../../src/util/protobuf.js';
import { encodeCanaryRequest } from '../../src/probers/otlpApi.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');

test("the encoding guide's examples, written and read", () => {
  // message Test1 { int32 a = 1; } with a = 150
  assert.equal(hex(ProtoWriter.encode((m) => m.int64(1, 150))), '089601');
  assert.equal(WireMessage.decode(bytes('08 96 01')).int64(1), 150n);
  // message Test2 { string b = 2; } with b = "testing"
  assert.equal(hex(ProtoWriter.encode((m) => m.string(2, 'testing'))), '120774657374696e67');
  assert.equal(WireMessage.decode(bytes('12 07 74 65 73 74 69 6e 67')).string(2), 'testing');
  // message Test3 { Test1 c = 3; }
  assert.equal(hex(ProtoWriter.encode((m) => m.message(3, (c) => c.int64(1, 150)))), '1a03089601');
  assert.equal(WireMessage.decode(bytes('1a 03 08 96 01')).message(3)?.int64(1), 150n);
  // message Test5 { repeated int32 f = 6 [packed = true]; } with 3, 270, 86942
  assert.equal(hex(ProtoWriter.encode((m) => m.packedUint64(6, [3, 270, 86942]))), '3206038e029ea705');
  assert.deepEqual(WireMessage.decode(bytes('32 06 03 8e 02 9e a7 05')).uint64s(6), [3n, 270n, 86942n]);
});

test('int64: a negative value is ten bytes of two’s complement and reads back signed', () => {
  const buf = ProtoWriter.encode((m) => m.int64(1, -1).int64(2, -(2n ** 63n)));
  assert.equal(hex(buf.subarray(0, 11)), '08ffffffffffffffffff01');
  const m = WireMessage.decode(buf);
  assert.equal(m.int64(1), -1n);
  assert.equal(m.uint64(1), 2n ** 64n - 1n, 'the same bytes as uint64');
  assert.equal(m.int64(2), -(2n ** 63n));
  assert.equal(hex(varint(-1)), 'ffffffffffffffffff01');
  assert.equal(hex(varint(300)), 'ac02');
});

test('fixed64 and double: 64-bit values keep every bit (no Number rounding), NaN and ±Inf included', () => {
  const big = 2n ** 64n - 1n;
  const ns = 1_733_000_000_123_456_789n; // a nanosecond timestamp past 2^53
  const buf = ProtoWriter.encode((m) => m.fixed64(1, big).fixed64(2, ns).double(3, Number.NaN).double(4, Number.POSITIVE_INFINITY).double(5, -0));
  assert.equal(hex(buf.subarray(0, 9)), '09ffffffffffffffff');
  const m = WireMessage.decode(buf);
  assert.equal(m.fixed64(1), big);
  assert.equal(m.fixed64(2), ns);
  assert.ok(Number.isNaN(m.double(3)));
  assert.equal(m.double(4), Number.POSITIVE_INFINITY);
  assert.ok(Object.is(m.double(5), -0));
});

test('repeated fields: packed runs and single values of one field read together, in wire order', () => {
  const buf = ProtoWriter.encode((m) =>
    m
      .packedFixed64(1, [1n, 2n ** 63n])
      .fixed64(1, 7)
      .packedFixed64(1, [])
      .packedDouble(2, [0.5, Number.NEGATIVE_INFINITY])
      .double(2, 3)
      .uint64(3, 5)
      .packedUint64(3, [6, 2n ** 64n - 1n]),
  );
  const m = WireMessage.decode(buf);
  assert.deepEqual(m.fixed64s(1), [1n, 2n ** 63n, 7n]);
  assert.deepEqual(m.doubles(2), [0.5, Number.NEGATIVE_INFINITY, 3]);
  assert.deepEqual(m.uint64s(3), [5n, 6n, 2n ** 64n - 1n]);
  // A packed list whose length cuts a value in half is malformed.
  assert.throws(() => WireMessage.decode(bytes('0a 03 01 02 03')).fixed64s(1), ProtobufError);
});

test("singular fields: the last value wins (protobuf's merge rule); a field of another wire type reads as absent", () => {
  const m = WireMessage.decode(ProtoWriter.encode((w) => w.string(1, 'first').string(1, 'last').int64(2, 9).string(3, 'x')));
  assert.equal(m.string(1), 'last');
  assert.deepEqual(
    m.bytesList(1).map((b) => Buffer.from(b).toString()),
    ['first', 'last'],
  );
  assert.equal(m.string(2), undefined, 'a varint is not a string');
  assert.equal(m.int64(3), undefined, 'a string is not a varint');
  assert.equal(m.fixed64(3), undefined);
  assert.equal(m.string(4), undefined);
  assert.equal(m.has(2), true);
  assert.equal(m.has(4), false);
  // Bytes are kept as sent, UTF-8 decoded only when read as a string.
  assert.equal(WireMessage.decode(lenField(1, 'ü€😀')).string(1), 'ü€😀');
  assert.equal(hex(lenField(2, Buffer.from([0, 255]))), '120200ff');
});

test('malformed messages throw ProtobufError, whose message starts with proto:', () => {
  const cases: Record<string, string> = {
    'truncated varint': '08 80',
    'tag without value': '08',
    'length past the end': '0a 05 01',
    'fixed64 cut short': '09 01 02',
    'field number 0': '00 01',
    'group (wire type 3)': '0b',
    'wire type 7': '0f',
  };
  for (const [what, input] of Object.entries(cases)) {
    assert.throws(
      () => WireMessage.decode(bytes(input)),
      (err: unknown) => err instanceof ProtobufError && /^proto: /.test(err.message),
      what,
    );
  }
  // A valid outer message with a malformed embedded one fails when the embedded one is read.
  const outer = WireMessage.decode(bytes('0a 01 08'));
  assert.throws(() => outer.message(1), ProtobufError);
  assert.deepEqual(WireMessage.decode(new Uint8Array(0)).messages(1), [], 'an empty message is valid');
});

test("the canary's ExportTraceServiceRequest reads back field by field", () => {
  const startMs = 1_733_000_000_123;
  const buf = encodeCanaryRequest({ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), service: 'svc', probe: 'canary-1', startMs });
  const rs = WireMessage.decode(buf).messages(1);
  assert.equal(rs.length, 1);
  const attr = (kv: WireMessage | undefined) => [kv?.string(1), kv?.message(2)?.string(1)];
  assert.deepEqual(attr(rs[0]!.message(1)?.message(1)), ['service.name', 'svc']);
  const scopeSpans = rs[0]!.message(2)!;
  assert.equal(scopeSpans.message(1)?.string(1), 'stack-watchdog');
  const span = scopeSpans.message(2)!;
  assert.equal(hex(span.bytes(1)!), 'ab'.repeat(16));
  assert.equal(hex(span.bytes(2)!), 'cd'.repeat(8));
  assert.equal(span.string(5), 'watchdog canary');
  assert.equal(span.uint64(6), 1n);
  assert.equal(span.fixed64(7), BigInt(startMs) * 1_000_000n);
  assert.equal(span.fixed64(8), BigInt(startMs) * 1_000_000n + 1_000_000n);
  assert.deepEqual(attr(span.message(9)), ['watchdog.probe', 'canary-1']);
});
