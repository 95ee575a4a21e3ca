export { decodeTracesJson } from "./decode-traces-json.js";
export { decodeTracesProto, MAX_ANYVALUE_DEPTH, UNKNOWN_SERVICE } from "./decode-traces-proto.js";
export { OtlpDecodeError } from "./errors.js";
export { int64ToString, MAX_GROUP_DEPTH, ProtoReader, tagOf, WireType } from "./proto-reader.js";
export { readTracesProto, transcodeTracesProto } from "./transcode-traces-proto.js";
