// The one protobuf wire codec of the project, on @bufbuild/protobuf's BinaryReader/BinaryWriter: the
// canary's OTLP span and the Export answer here, OTLP requests in the Tempo stand-in and remote
// write in the tests. The messages are few and small, so they are written and read field by field
// (no generated code, no .proto files to vendor); this module only gives the reader protobuf's
// merge rules (the last value of a singular field wins, repeated scalars may come packed or not)
// and the writer field-numbered methods, so no caller handles a tag or a wire type.
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

/** Input that is not a well-formed protobuf message (truncated, a bad wire type, field number 0). */
export class ProtobufError extends Error {
  constructor(message: string) {
    super(`proto: ${message}`);
    this.name = 'ProtobufError';
  }
}

type Field =
  { wire: WireType.Varint; value: bigint } | { wire: WireType.Bit64; bytes: Uint8Array } | { wire: WireType.Bit32; bytes: Uint8Array } | { wire: WireType.LengthDelimited; bytes: Uint8Array };

/**
 * The fields of one message, read off the wire without a schema: the caller says which number is
 * what. Decoding checks only the wire format; a field of the wrong wire type reads as absent, as
 * protobuf's own parsers skip it.
 */
export class WireMessage {
  private constructor(private readonly fields: ReadonlyMap<number, readonly Field[]>) {}

  /** Throws ProtobufError when `bytes` is not a well-formed message. */
  static decode(bytes: Uint8Array): WireMessage {
    const fields = new Map<number, Field[]>();
    const r = new BinaryReader(bytes);
    try {
      while (r.pos < r.len) {
        const [no, wire] = r.tag();
        if (no === 0) throw new ProtobufError('illegal field number 0');
        let field: Field;
        if (wire === WireType.Varint) field = { wire, value: BigInt(r.uint64()) };
        else if (wire === WireType.LengthDelimited) field = { wire, bytes: r.bytes() };
        else if (wire === WireType.Bit64 || wire === WireType.Bit32) field = { wire, bytes: r.skip(wire, no) };
        // Groups (wire types 3 and 4) are proto2 only: none of the messages read here has one.
        else throw new ProtobufError(`unsupported wire type ${wire} (field ${no})`);
        const list = fields.get(no);
        if (list) list.push(field);
        else fields.set(no, [field]);
      }
    } catch (err) {
      if (err instanceof ProtobufError) throw err;
      // BinaryReader throws a plain Error ("premature EOF", "invalid varint", "illegal tag"...).
      throw new ProtobufError(err instanceof Error ? err.message : String(err));
    }
    return new WireMessage(fields);
  }

  has(no: number): boolean {
    return this.fields.has(no);
  }

  private all<W extends Field['wire']>(no: number, wire: W): Extract<Field, { wire: W }>[] {
    return (this.fields.get(no) ?? []).filter((f): f is Extract<Field, { wire: W }> => f.wire === wire);
  }

  /** Every occurrence of a length-delimited field (repeated bytes, strings, messages). */
  bytesList(no: number): Uint8Array[] {
    return this.all(no, WireType.LengthDelimited).map((f) => f.bytes);
  }

  bytes(no: number): Uint8Array | undefined {
    return this.bytesList(no).at(-1);
  }

  string(no: number): string | undefined {
    const b = this.bytes(no);
    return b === undefined ? undefined : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  }

  /** An embedded message; the last occurrence (these messages are never split by their senders). */
  message(no: number): WireMessage | undefined {
    const b = this.bytes(no);
    return b === undefined ? undefined : WireMessage.decode(b);
  }

  /** Every occurrence of a repeated message field. */
  messages(no: number): WireMessage[] {
    return this.bytesList(no).map((b) => WireMessage.decode(b));
  }

  /** A varint field as the unsigned 64-bit value on the wire (uint64, uint32, enum, bool). */
  uint64(no: number): bigint | undefined {
    return this.all(no, WireType.Varint).at(-1)?.value;
  }

  /** An int64 (or int32) field: two's complement, so -1 is ten bytes on the wire. */
  int64(no: number): bigint | undefined {
    const v = this.uint64(no);
    return v === undefined ? undefined : BigInt.asIntN(64, v);
  }

  /** A fixed64 field (OTLP's nanosecond timestamps). */
  fixed64(no: number): bigint | undefined {
    const b = this.all(no, WireType.Bit64).at(-1)?.bytes;
    return b === undefined ? undefined : BigInt(new BinaryReader(b).fixed64());
  }

  double(no: number): number | undefined {
    const b = this.all(no, WireType.Bit64).at(-1)?.bytes;
    return b === undefined ? undefined : new BinaryReader(b).double();
  }

  /** A repeated varint field, packed (proto3's default) or one value per tag, in wire order. */
  uint64s(no: number): bigint[] {
    return this.repeated(
      no,
      WireType.Varint,
      (r) => BigInt(r.uint64()),
      (v) => v,
    );
  }

  /** A repeated fixed64 field, packed or not (OTLP histograms' bucket_counts). */
  fixed64s(no: number): bigint[] {
    return this.repeated(no, WireType.Bit64, (r) => BigInt(r.fixed64()));
  }

  /** A repeated double field, packed or not (OTLP histograms' explicit_bounds). */
  doubles(no: number): number[] {
    return this.repeated(no, WireType.Bit64, (r) => r.double());
  }

  /** Values one per tag (`wire`) and packed runs (length-delimited) of one field, in wire order. */
  private repeated<T>(no: number, wire: WireType.Varint | WireType.Bit64, read: (r: BinaryReader) => T, fromVarint?: (v: bigint) => T): T[] {
    const out: T[] = [];
    for (const f of this.fields.get(no) ?? []) {
      if (f.wire === WireType.Varint) {
        if (fromVarint) out.push(fromVarint(f.value));
      } else if (f.wire === WireType.LengthDelimited) {
        const r = new BinaryReader(f.bytes);
        try {
          while (r.pos < r.len) out.push(read(r));
        } catch (err) {
          throw new ProtobufError(`field ${no}: a packed list that ends inside a value (${err instanceof Error ? err.message : String(err)})`);
        }
      } else if (f.wire === wire) {
        out.push(read(new BinaryReader(f.bytes)));
      }
    }
    return out;
  }
}

/**
 * Writes one message field by field; embedded messages are written by a callback, so the nesting
 * of the code is the nesting of the message. Numbers are field numbers of the .proto.
 */
export class ProtoWriter {
  private readonly w = new BinaryWriter();

  /** Builds one message: `ProtoWriter.encode((m) => m.string(1, 'x').message(2, (inner) => ...))`. */
  static encode(build: (m: ProtoWriter) => unknown): Buffer {
    const m = new ProtoWriter();
    build(m);
    const bytes = m.w.finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  string(no: number, value: string): this {
    return this.field(no, WireType.LengthDelimited, (w) => w.string(value));
  }

  bytes(no: number, value: Uint8Array): this {
    return this.field(no, WireType.LengthDelimited, (w) => w.bytes(value));
  }

  message(no: number, build: (m: this) => unknown): this {
    this.w.tag(no, WireType.LengthDelimited).fork();
    build(this);
    this.w.join();
    return this;
  }

  /** An enum, int32 or int64 field (negative values take ten bytes, as protobuf writes them). */
  int64(no: number, value: number | bigint): this {
    return this.field(no, WireType.Varint, (w) => w.int64(BigInt.asIntN(64, BigInt(value))));
  }

  uint64(no: number, value: number | bigint): this {
    return this.field(no, WireType.Varint, (w) => w.uint64(value));
  }

  bool(no: number, value: boolean): this {
    return this.field(no, WireType.Varint, (w) => w.bool(value));
  }

  fixed64(no: number, value: number | bigint): this {
    return this.field(no, WireType.Bit64, (w) => w.fixed64(value));
  }

  double(no: number, value: number): this {
    return this.field(no, WireType.Bit64, (w) => w.double(value));
  }

  /** A packed repeated fixed64 field (how proto3 writes `repeated fixed64`). */
  packedFixed64(no: number, values: readonly (number | bigint)[]): this {
    return this.packed(no, values, (v) => this.w.fixed64(v));
  }

  /** A packed repeated double field. */
  packedDouble(no: number, values: readonly number[]): this {
    return this.packed(no, values, (v) => this.w.double(v));
  }

  /** A packed repeated varint field (uint64, enums). */
  packedUint64(no: number, values: readonly (number | bigint)[]): this {
    return this.packed(no, values, (v) => this.w.uint64(v));
  }

  private field(no: number, wire: WireType, write: (w: BinaryWriter) => unknown): this {
    write(this.w.tag(no, wire));
    return this;
  }

  private packed<T>(no: number, values: readonly T[], write: (v: T) => unknown): this {
    this.w.tag(no, WireType.LengthDelimited).fork();
    for (const v of values) write(v);
    this.w.join();
    return this;
  }
}

/** A bare base-128 varint, unsigned 64-bit: a negative value is its two's complement (ten bytes). */
export function varint(value: number | bigint): Buffer {
  const bytes = new BinaryWriter().uint64(BigInt.asUintN(64, BigInt(value))).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** One length-delimited field (wire type 2) around bytes already encoded: for tests that build messages piece by piece. */
export function lenField(no: number, payload: Uint8Array | string): Buffer {
  return ProtoWriter.encode((m) => (typeof payload === 'string' ? m.string(no, payload) : m.bytes(no, payload)));
}
