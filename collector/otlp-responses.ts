/**
 * The few protobuf messages receivers write: ExportTraceServiceResponse (with partial success)
 * and google.rpc.Status (with RetryInfo for throttling). Small enough to encode by hand.
 */

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function field(no: number, wireType: number): number[] {
  return varint(no * 8 + wireType);
}

function bytesField(no: number, data: Uint8Array): number[] {
  return [...field(no, 2), ...varint(data.length), ...data];
}

function varintField(no: number, n: number): number[] {
  return n === 0 ? [] : [...field(no, 0), ...varint(n)];
}

const utf8 = (s: string) => Buffer.from(s, "utf8");

/** ExportTraceServiceResponse { partial_success = 1 { rejected_spans = 1; error_message = 2 } }. */
export function exportResponseProto(rejected: number, message: string): Buffer {
  if (rejected === 0 && message === "") return Buffer.alloc(0);
  const partial = [...varintField(1, rejected), ...(message ? bytesField(2, utf8(message)) : [])];
  return Buffer.from(bytesField(1, Uint8Array.from(partial)));
}

export function exportResponseJson(rejected: number, message: string): string {
  if (rejected === 0 && message === "") return "{}";
  return JSON.stringify({ partialSuccess: { rejectedSpans: String(rejected), errorMessage: message } });
}

/** google.rpc.RetryInfo { retry_delay = 1 (Duration { seconds = 1; nanos = 2 }) } wrapped in Any. */
function retryInfoAny(retryAfterMs: number): number[] {
  const seconds = Math.floor(retryAfterMs / 1000);
  const nanos = (retryAfterMs % 1000) * 1_000_000;
  const duration = [...varintField(1, seconds), ...varintField(2, nanos)];
  const retryInfo = bytesField(1, Uint8Array.from(duration));
  return [
    ...bytesField(1, utf8("type.googleapis.com/google.rpc.RetryInfo")),
    ...bytesField(2, Uint8Array.from(retryInfo)),
  ];
}

/** google.rpc.Status { code = 1; message = 2; details = 3 (Any) }. */
export function statusProto(code: number, message: string, retryAfterMs?: number): Buffer {
  const details =
    retryAfterMs === undefined ? [] : bytesField(3, Uint8Array.from(retryInfoAny(retryAfterMs)));
  return Buffer.from([...varintField(1, code), ...bytesField(2, utf8(message)), ...details]);
}

export function statusJson(code: number, message: string, retryAfterMs?: number): string {
  const details =
    retryAfterMs === undefined
      ? []
      : [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${retryAfterMs / 1000}s` }];
  return JSON.stringify({ code, message, details });
}
