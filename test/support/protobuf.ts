// Just enough protobuf wire format to write requests by hand (remote write, OTLP), so the tests
// need no protobuf library.

export { lenField, varint } from '../../src/util/protobuf.js';
