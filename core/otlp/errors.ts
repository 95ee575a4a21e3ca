/**
 * Thrown by the OTLP decoders when a request is structurally malformed: truncated or invalid
 * protobuf, invalid JSON, wrong JSON types, invalid UTF-8, or values nested too deeply. The message
 * names what went wrong and where (a byte offset and message/field for protobuf, a path for JSON).
 * A receiver answers such a request with 400 Bad Request; it must not be retried.
 *
 * Data-model violations inside an otherwise well-formed request (bad span ids) are not errors: those
 * spans are counted in `DecodedTraces.rejected` instead (OTLP partial success).
 */
export class OtlpDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OtlpDecodeError";
  }
}
