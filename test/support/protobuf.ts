// Just enough protobuf wire format to write requests by hand (remote write, OTLP), so the tests
// need no protobuf library.

/** A base-128 varint. int64 fields are two's complement on the wire: a negative value takes 10 bytes. */
export function varint(value: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** A length-delimited field (wire type 2): strings, bytes and embedded messages. */
export function lenField(fieldNo: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((fieldNo << 3) | 2), varint(payload.length), payload]);
}
