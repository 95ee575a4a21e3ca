/**
 * Skald's in-memory span model: what the OTLP decoders produce and the store encoders consume.
 * Ownership: once a batch of spans is handed to a pipeline stage (`consume`), the caller no
 * longer touches it.
 */

/** OTLP AnyValue kinds as Skald stores them. A string value has no type entry in storage. */
export type AttrType = "string" | "bool" | "int" | "double" | "bytes" | "array" | "kvlist" | "empty";

/**
 * One attribute. `value` is the canonical text form:
 * string → itself; bool → "true"/"false"; int → decimal (exact int64); double → JS `String(n)`
 * (NaN/Infinity/-Infinity spelled that way); bytes → base64; array → JSON array and kvlist → JSON
 * object whose members use the same canonical forms (ints beyond 2^53 as JSON strings); empty → "".
 */
export interface Attr {
  key: string;
  value: string;
  type: AttrType;
}

export interface Resource {
  attributes: Attr[];
  droppedAttributesCount: number;
  /** `service.name` from the attributes, or "unknown_service" when absent (the SDK convention). */
  serviceName: string;
}

export interface Scope {
  name: string;
  version: string;
}

export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: Attr[];
  droppedAttributesCount: number;
}

export interface SpanLink {
  /** 32 lowercase hex chars. */
  traceId: string;
  /** 16 lowercase hex chars. */
  spanId: string;
  traceState: string;
  attributes: Attr[];
  droppedAttributesCount: number;
  flags: number;
}

/** OTLP Span.SpanKind numbers. */
export const SpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

/** OTLP Status.StatusCode numbers. */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export interface Span {
  /** 32 lowercase hex chars, never all zero. */
  traceId: string;
  /** 16 lowercase hex chars, never all zero. */
  spanId: string;
  /** 16 lowercase hex chars, or "" for a root span. */
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  /** 0..5, see SpanKind. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attr[];
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  /** 0..2, see StatusCode. */
  statusCode: number;
  statusMessage: string;
  /** Shared by every span of the same ResourceSpans; never mutate. */
  resource: Resource;
  /** Shared by every span of the same ScopeSpans; never mutate. */
  scope: Scope;
}

/**
 * The result of decoding one ExportTraceServiceRequest. Spans that violate the data model
 * (bad id length, all-zero ids) are not in `spans`; they are counted in `rejected` with the first
 * reason in `rejectReason`, so the receiver can answer with OTLP partial success.
 */
export interface DecodedTraces {
  spans: Span[];
  rejected: number;
  rejectReason: string;
}

/**
 * Spans of one tenant already encoded as RowBinary rows of the `spans` table, in SPAN_COLUMNS order
 * (core/store/span-row-binary.ts), as the protobuf transcoder (core/otlp/transcode-traces-proto.ts)
 * writes them: stored or produced to Kafka without span objects.
 */
export interface SpanRows {
  /**
   * The rows. Valid only until the transcoder runs again (it is the transcoder's own reusable
   * buffer): a sink copies what it keeps before `consumeRows` returns. Why: a collector at 50k
   * spans/s allocated ~1 MB of Buffers per request, and Buffers still referenced across the Kafka
   * round trip count against V8's old-generation limit until a full GC; one copy fewer per
   * request kept the collector out of back-to-back mark-compacts.
   */
  body: Buffer;
  count: number;
  /** Where row i starts in `body`; row i ends where row i + 1 starts (`rowStarts[count]` = length). */
  rowStarts: Uint32Array;
  /** Where the 32 hex characters of row i's trace id start in `body`. */
  traceAt: Uint32Array;
}

/** What the transcoder returns: like DecodedTraces, with rows instead of span objects. */
export interface TranscodedTraces {
  rows: SpanRows;
  rejected: number;
  rejectReason: string;
}
