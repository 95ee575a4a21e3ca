/**
 * OTLP/JSON trace decoder: an ExportTraceServiceRequest in the OTLP JSON Protobuf encoding
 * (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) → Skald spans, with the same
 * results, rejection rules and errors as the binary decoder.
 *
 * Accepted beyond the strict OTLP/JSON rules, as the proto3 JSON mapping allows: the original
 * snake_case field names, enum names ("SPAN_KIND_SERVER", "STATUS_CODE_ERROR"), 64-bit and 32-bit
 * integers as numbers or decimal strings, `null` for an absent field, URL-safe or unpadded base64.
 * Ids are hex (any case). Unknown fields are ignored.
 *
 * Note: a 64-bit integer sent as a JSON number beyond 2^53 has already lost precision in JSON.parse;
 * OTLP/JSON senders are expected to send those as strings (the proto3 JSON mapping does).
 */
import { isUtf8 } from "node:buffer";
import type {
  Attr,
  AttrType,
  DecodedTraces,
  Resource,
  Scope,
  Span,
  SpanEvent,
  SpanLink,
} from "../model/span.js";
import {
  clampEnum,
  jsonToken,
  MAX_ANYVALUE_DEPTH,
  rejectReasons,
  serviceNameOf,
  UNKNOWN_SERVICE,
  ZERO_SPAN_ID,
  ZERO_TRACE_ID,
} from "./decode-traces-proto.js";
import { OtlpDecodeError } from "./errors.js";

type Json = unknown;
type JsonObject = Record<string, unknown>;

/** An error at a JSON path; the path grows while the error propagates up, then becomes an OtlpDecodeError. */
class PathError extends Error {
  constructor(
    public path: string,
    public detail: string,
  ) {
    super(detail);
  }
}

function fail(detail: string, path = ""): never {
  throw new PathError(path, detail);
}

/** Prefixes `segment` ("spans[2]", "name") to the path of a PathError; rethrows anything else. */
function within(err: unknown, segment: string): never {
  if (err instanceof PathError) {
    err.path =
      err.path === "" ? segment : err.path.startsWith("[") ? segment + err.path : `${segment}.${err.path}`;
  }
  throw err;
}

/** A lone (unpaired) UTF-16 surrogate: not encodable as UTF-8. */
const LONE_SURROGATE = /\p{Cs}/u;
/** A \uD800-\uDFFF escape in JSON text. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

// Set per call: whether decoded strings must be checked for lone surrogates (rarely needed).
let checkStrings = false;

interface DecodeState {
  spans: Span[];
  rejected: number;
  rejectReason: string;
  spanIndex: number;
}

/**
 * Decodes an OTLP/JSON ExportTraceServiceRequest (a string, or UTF-8 bytes). Spans with invalid ids
 * are left out and counted in `rejected`. Throws {@link OtlpDecodeError} on invalid JSON, invalid
 * UTF-8, or a value of the wrong type, naming its path
 * ("resourceSpans[0].scopeSpans[1].spans[2].startTimeUnixNano: expected integer string").
 */
export function decodeTracesJson(body: string | Uint8Array): DecodedTraces {
  let text: string;
  if (typeof body === "string") {
    text = body;
    checkStrings = LONE_SURROGATE.test(text) || SURROGATE_ESCAPE.test(text);
  } else {
    if (!isUtf8(body)) throw new OtlpDecodeError("invalid UTF-8 in JSON body");
    text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
    checkStrings = SURROGATE_ESCAPE.test(text);
  }
  // Tolerate a byte order mark before the JSON text.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let root: Json;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw new OtlpDecodeError(`invalid JSON: ${(err as Error).message}`);
  }
  const st: DecodeState = { spans: [], rejected: 0, rejectReason: "", spanIndex: 0 };
  try {
    const req = asObject(root);
    if (req === undefined) fail("expected object");
    const resourceSpans = asArray(field(req, "resourceSpans", "resource_spans"), "resourceSpans");
    for (let i = 0; i < resourceSpans.length; i++) {
      try {
        decodeResourceSpans(resourceSpans[i], st);
      } catch (err) {
        within(err, `resourceSpans[${i}]`);
      }
    }
  } catch (err) {
    if (err instanceof PathError) {
      throw new OtlpDecodeError(err.path === "" ? `request: ${err.detail}` : `${err.path}: ${err.detail}`);
    }
    throw err;
  }
  return { spans: st.spans, rejected: st.rejected, rejectReason: st.rejectReason };
}

function decodeResourceSpans(v: Json, st: DecodeState): void {
  const rs = asElement(v);
  const resource: Resource = { attributes: [], droppedAttributesCount: 0, serviceName: UNKNOWN_SERVICE };
  const res = asObject(rs.resource, "resource");
  if (res !== undefined) {
    try {
      resource.attributes = decodeAttributes(res.attributes, "attributes");
      resource.droppedAttributesCount = asUint32(
        field(res, "droppedAttributesCount", "dropped_attributes_count"),
        "droppedAttributesCount",
      );
    } catch (err) {
      within(err, "resource");
    }
    resource.serviceName = serviceNameOf(resource.attributes);
  }
  const scopeSpans = asArray(field(rs, "scopeSpans", "scope_spans"), "scopeSpans");
  for (let i = 0; i < scopeSpans.length; i++) {
    try {
      decodeScopeSpans(scopeSpans[i], resource, st);
    } catch (err) {
      within(err, `scopeSpans[${i}]`);
    }
  }
}

function decodeScopeSpans(v: Json, resource: Resource, st: DecodeState): void {
  const ss = asElement(v);
  const scope: Scope = { name: "", version: "" };
  const sc = asObject(ss.scope, "scope");
  if (sc !== undefined) {
    try {
      scope.name = asString(sc.name, "name");
      scope.version = asString(sc.version, "version");
    } catch (err) {
      within(err, "scope");
    }
  }
  const spans = asArray(ss.spans, "spans");
  for (let i = 0; i < spans.length; i++) {
    try {
      decodeSpan(spans[i], resource, scope, st);
    } catch (err) {
      within(err, `spans[${i}]`);
    }
  }
}

function decodeSpan(v: Json, resource: Resource, scope: Scope, st: DecodeState): void {
  const index = st.spanIndex++;
  const s = asElement(v);
  const traceId = asHexId(field(s, "traceId", "trace_id"), "traceId");
  const spanId = asHexId(field(s, "spanId", "span_id"), "spanId");
  const parentSpanId = asHexId(field(s, "parentSpanId", "parent_span_id"), "parentSpanId");
  const traceState = asString(field(s, "traceState", "trace_state"), "traceState");
  const flags = asUint32(s.flags, "flags");
  const name = asString(s.name, "name");
  const kind = asEnum(s.kind, SPAN_KINDS, "kind");
  const startTimeUnixNano = asFixed64(
    field(s, "startTimeUnixNano", "start_time_unix_nano"),
    "startTimeUnixNano",
  );
  const endTimeUnixNano = asFixed64(field(s, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano");
  const attributes = decodeAttributes(s.attributes, "attributes");
  const droppedAttributesCount = asUint32(
    field(s, "droppedAttributesCount", "dropped_attributes_count"),
    "droppedAttributesCount",
  );
  const eventsJson = asArray(s.events, "events");
  const events: SpanEvent[] = new Array(eventsJson.length);
  for (let i = 0; i < eventsJson.length; i++) {
    try {
      events[i] = decodeEvent(eventsJson[i]);
    } catch (err) {
      within(err, `events[${i}]`);
    }
  }
  const droppedEventsCount = asUint32(
    field(s, "droppedEventsCount", "dropped_events_count"),
    "droppedEventsCount",
  );
  const linksJson = asArray(s.links, "links");
  const links: SpanLink[] = new Array(linksJson.length);
  let linkError = "";
  for (let i = 0; i < linksJson.length; i++) {
    try {
      const link = decodeLink(linksJson[i]);
      if (linkError === "") {
        if (link.traceId.length !== 32) {
          linkError = rejectReasons.linkIdLength(index, i, "trace_id", 16, link.traceId.length / 2);
        } else if (link.spanId.length !== 16) {
          linkError = rejectReasons.linkIdLength(index, i, "span_id", 8, link.spanId.length / 2);
        }
      }
      links[i] = link;
    } catch (err) {
      within(err, `links[${i}]`);
    }
  }
  const droppedLinksCount = asUint32(
    field(s, "droppedLinksCount", "dropped_links_count"),
    "droppedLinksCount",
  );
  let statusCode = 0;
  let statusMessage = "";
  const status = asObject(s.status, "status");
  if (status !== undefined) {
    try {
      statusCode = asEnum(status.code, STATUS_CODES, "code");
      statusMessage = asString(status.message, "message");
    } catch (err) {
      within(err, "status");
    }
  }

  let reason = "";
  if (traceId.length !== 32) reason = rejectReasons.idLength(index, "trace_id", 16, traceId.length / 2);
  else if (traceId === ZERO_TRACE_ID) reason = rejectReasons.zeroId(index, "trace_id");
  else if (spanId.length !== 16) reason = rejectReasons.idLength(index, "span_id", 8, spanId.length / 2);
  else if (spanId === ZERO_SPAN_ID) reason = rejectReasons.zeroId(index, "span_id");
  else if (parentSpanId.length !== 0 && parentSpanId.length !== 16) {
    reason = rejectReasons.parentLength(index, parentSpanId.length / 2);
  } else if (linkError !== "") reason = linkError;
  if (reason !== "") {
    if (st.rejected === 0) st.rejectReason = reason;
    st.rejected++;
    return;
  }

  st.spans.push({
    traceId,
    spanId,
    parentSpanId: parentSpanId === ZERO_SPAN_ID ? "" : parentSpanId,
    traceState,
    flags,
    name,
    kind: clampEnum(kind, 5),
    startTimeUnixNano,
    endTimeUnixNano,
    attributes,
    droppedAttributesCount,
    events,
    droppedEventsCount,
    links,
    droppedLinksCount,
    statusCode: clampEnum(statusCode, 2),
    statusMessage,
    resource,
    scope,
  });
}

function decodeEvent(v: Json): SpanEvent {
  const e = asElement(v);
  return {
    timeUnixNano: asFixed64(field(e, "timeUnixNano", "time_unix_nano"), "timeUnixNano"),
    name: asString(e.name, "name"),
    attributes: decodeAttributes(e.attributes, "attributes"),
    droppedAttributesCount: asUint32(
      field(e, "droppedAttributesCount", "dropped_attributes_count"),
      "droppedAttributesCount",
    ),
  };
}

/** Link ids are returned with whatever valid-hex length they have; the caller checks lengths. */
function decodeLink(v: Json): SpanLink {
  const l = asElement(v);
  const traceId = asHexId(field(l, "traceId", "trace_id"), "traceId");
  const spanId = asHexId(field(l, "spanId", "span_id"), "spanId");
  return {
    traceId: traceId === "" ? ZERO_TRACE_ID : traceId,
    spanId: spanId === "" ? ZERO_SPAN_ID : spanId,
    traceState: asString(field(l, "traceState", "trace_state"), "traceState"),
    attributes: decodeAttributes(l.attributes, "attributes"),
    droppedAttributesCount: asUint32(
      field(l, "droppedAttributesCount", "dropped_attributes_count"),
      "droppedAttributesCount",
    ),
    flags: asUint32(l.flags, "flags"),
  };
}

function decodeAttributes(v: Json, name: string): Attr[] {
  const list = asArray(v, name);
  const out: Attr[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    try {
      const kv = asElement(list[i]);
      const key = asString(kv.key, "key");
      let value = "";
      let type: AttrType = "empty";
      if (kv.value !== undefined && kv.value !== null) {
        try {
          value = decodeAnyValue(kv.value, 1);
          type = anyType;
        } catch (err) {
          within(err, "value");
        }
      }
      out[i] = { key, value, type };
    } catch (err) {
      within(err, `${name}[${i}]`);
    }
  }
  return out;
}

// The type of the last AnyValue decoded by decodeAnyValue (a second return value).
let anyType: AttrType = "empty";

/** Decodes an AnyValue object to its canonical text (see Attr), leaving its type in `anyType`. */
function decodeAnyValue(v: Json, depth: number): string {
  if (depth > MAX_ANYVALUE_DEPTH) fail(`AnyValue nested deeper than ${MAX_ANYVALUE_DEPTH} levels`);
  const av = asObject(v);
  let x: unknown;
  if (av === undefined) {
    anyType = "empty";
    return "";
  }
  x = field(av, "stringValue", "string_value");
  if (x !== undefined) {
    const s = asString(x, "stringValue");
    anyType = "string";
    return s;
  }
  x = field(av, "intValue", "int_value");
  if (x !== undefined) {
    const s = asInt64(x, "intValue");
    anyType = "int";
    return s;
  }
  x = field(av, "boolValue", "bool_value");
  if (x !== undefined) {
    if (typeof x !== "boolean") fail("expected boolean", "boolValue");
    anyType = "bool";
    return x ? "true" : "false";
  }
  x = field(av, "doubleValue", "double_value");
  if (x !== undefined) {
    const s = String(asDouble(x, "doubleValue"));
    anyType = "double";
    return s;
  }
  x = field(av, "arrayValue", "array_value");
  if (x !== undefined) {
    let s: string;
    try {
      s = decodeArrayValue(x, depth);
    } catch (err) {
      within(err, "arrayValue");
    }
    anyType = "array";
    return s;
  }
  x = field(av, "kvlistValue", "kvlist_value");
  if (x !== undefined) {
    let s: string;
    try {
      s = decodeKeyValueList(x, depth);
    } catch (err) {
      within(err, "kvlistValue");
    }
    anyType = "kvlist";
    return s;
  }
  x = field(av, "bytesValue", "bytes_value");
  if (x !== undefined) {
    const s = asBase64(x, "bytesValue");
    anyType = "bytes";
    return s;
  }
  anyType = "empty";
  return "";
}

function decodeArrayValue(v: Json, depth: number): string {
  const arr = asObject(v);
  if (arr === undefined) return "[]";
  const values = asArray(arr.values, "values");
  let out = "[";
  for (let i = 0; i < values.length; i++) {
    let token: string;
    try {
      const s = decodeAnyValue(values[i], depth + 1);
      token = jsonToken(anyType, s);
    } catch (err) {
      within(err, `values[${i}]`);
    }
    out += i === 0 ? token : `,${token}`;
  }
  return `${out}]`;
}

function decodeKeyValueList(v: Json, depth: number): string {
  const kvl = asObject(v);
  if (kvl === undefined) return "{}";
  const values = asArray(kvl.values, "values");
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    let member: string;
    try {
      const kv = asElement(values[i]);
      const key = asString(kv.key, "key");
      let token = "null";
      if (kv.value !== undefined && kv.value !== null) {
        try {
          const s = decodeAnyValue(kv.value, depth + 1);
          token = jsonToken(anyType, s);
        } catch (err) {
          within(err, "value");
        }
      }
      member = `${JSON.stringify(key)}:${token}`;
    } catch (err) {
      within(err, `values[${i}]`);
    }
    out += i === 0 ? member : `,${member}`;
  }
  return `${out}}`;
}

// ---------------------------------------------------------------------------------------------------
// Typed field access. `undefined` and `null` mean "absent" (the proto3 JSON mapping's default).

function field(o: JsonObject, camel: string, snake: string): unknown {
  const v = o[camel];
  return v !== undefined && v !== null ? v : o[snake];
}

function asObject(v: unknown, name = ""): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) fail("expected object", name);
  return v as JsonObject;
}

/** An element of a repeated message field: must be an object. */
function asElement(v: unknown): JsonObject {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return fail("expected object");
  return v as JsonObject;
}

function asArray(v: unknown, name: string): unknown[] {
  if (v === undefined || v === null) return EMPTY;
  if (!Array.isArray(v)) fail("expected array", name);
  return v;
}

const EMPTY: unknown[] = [];

function asString(v: unknown, name: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") fail("expected string", name);
  if (checkStrings && LONE_SURROGATE.test(v)) fail("invalid UTF-16 (lone surrogate) in string", name);
  return v;
}

const UINT_RE = /^\d{1,20}$/;
const INT_RE = /^-?\d{1,20}$/;
const MAX_UINT64 = (1n << 64n) - 1n;
const MIN_INT64 = -(1n << 63n);
const MAX_INT64 = (1n << 63n) - 1n;

function asUint32(v: unknown, name: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === "string" && UINT_RE.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 0xffffffff) fail("expected uint32", name);
  return n;
}

function asFixed64(v: unknown, name: string): bigint {
  if (v === undefined || v === null) return 0n;
  let n: bigint;
  if (typeof v === "string" && UINT_RE.test(v)) n = BigInt(v);
  else if (typeof v === "number" && Number.isInteger(v) && v >= 0) n = BigInt(v);
  else return fail("expected integer string", name);
  if (n > MAX_UINT64) fail("integer out of uint64 range", name);
  return n;
}

/** int64 as exact decimal text. */
function asInt64(v: unknown, name: string): string {
  if (typeof v === "number") {
    if (!Number.isInteger(v)) fail("expected integer", name);
    if (Number.isSafeInteger(v)) return String(v);
    const n = BigInt(v);
    if (n < MIN_INT64 || n > MAX_INT64) fail("integer out of int64 range", name);
    return n.toString();
  }
  if (typeof v !== "string" || !INT_RE.test(v)) return fail("expected integer string", name);
  const n = BigInt(v);
  if (n < MIN_INT64 || n > MAX_INT64) fail("integer out of int64 range", name);
  return n.toString();
}

const NUMBER_RE = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

function asDouble(v: unknown, name: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    if (v === "NaN") return Number.NaN;
    if (v === "Infinity") return Number.POSITIVE_INFINITY;
    if (v === "-Infinity") return Number.NEGATIVE_INFINITY;
    if (NUMBER_RE.test(v)) return Number(v);
  }
  return fail("expected number", name);
}

const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Validates base64 (standard or URL-safe, padding optional) and returns it in standard padded form. */
function asBase64(v: unknown, name: string): string {
  if (typeof v !== "string" || !BASE64_RE.test(v)) return fail("expected base64 string", name);
  const eq = v.indexOf("=");
  const unpadded = eq === -1 ? v.length : eq;
  if (unpadded % 4 === 1 || (eq !== -1 && v.length % 4 !== 0)) fail("invalid base64 length", name);
  return Buffer.from(v, "base64").toString("base64");
}

const HEX_RE = /^[0-9a-f]*$/;
const HEX_ANY_CASE_RE = /^[0-9a-fA-F]*$/;

/** A hex-encoded id (any length, "" when absent), lowercased. */
function asHexId(v: unknown, name: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string" || v.length % 2 !== 0) return fail("expected hex string", name);
  if (HEX_RE.test(v)) return v;
  if (!HEX_ANY_CASE_RE.test(v)) fail("expected hex string", name);
  return v.toLowerCase();
}

const SPAN_KINDS: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

const STATUS_CODES: Record<string, number> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};

/** An enum as its number, or by name. Unknown numbers are kept (the caller clamps them). */
function asEnum(v: unknown, names: Record<string, number>, name: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) fail("expected enum integer", name);
    return v;
  }
  if (typeof v === "string") {
    const n = Object.hasOwn(names, v) ? names[v] : undefined;
    if (n !== undefined) return n;
    return fail(`unknown enum value "${v.length > 40 ? `${v.slice(0, 40)}...` : v}"`, name);
  }
  return fail("expected enum integer", name);
}
