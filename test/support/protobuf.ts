// The tests write and read protobuf with the project's one codec (src/util/protobuf.ts, on
// @bufbuild/protobuf's wire format): remote write, OTLP requests, the stand-in's OTLP decoding.

export { lenField, ProtobufError, ProtoWriter, varint, WireMessage } from '../../src/util/protobuf.js';
