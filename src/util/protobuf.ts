// Just enough protobuf wire format to write small messages by hand (the canary's OTLP span over
// gRPC, and in tests remote write): one message type each does not justify a protobuf library.

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
export function lenField(fieldNo: number, payload: Buffer | string): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([varint((fieldNo << 3) | 2), varint(bytes.length), bytes]);
}
