/**
 * OTLP/protobuf trace decoder: ExportTraceServiceRequest bytes → Skald spans. This is the ingest hot
 * path, written directly against the wire format (no intermediate message objects).
 *
 * Field numbers: opentelemetry-proto, opentelemetry/proto/{collector/trace,trace,common,resource}/v1.
 * Fields Skald does not model (schema URLs, scope attributes, entity refs, the profiles-only
 * `*_strindex` fields) and unknown fields are skipped; a known field number arriving with an
 * unexpected wire type is skipped like an unknown field, as the reference protobuf runtimes do.
 * A message field that occurs more than once is merged (repeated fields append, scalars: last wins;
 * a oneof such as AnyValue keeps its last member).
 *
 * Choices within the rules of core/model/span.ts (shared with the JSON decoder):
 * - In array/kvlist canonical JSON, an empty AnyValue is `null`, ints outside ±(2^53-1) are JSON
 *   strings, NaN/±Infinity are the JSON strings "NaN"/"Infinity"/"-Infinity", bytes are base64
 *   strings; kvlist members keep their wire order (duplicate keys are not merged).
 * - Out-of-range `kind`/`status.code` values become 0; an all-zero `parent_span_id` means root.
 * - Link ids may be empty (read as all-zero ids, which the spec allows on links) or of the right
 *   length; any other length rejects the span.
 * - `serviceName` is the last string `service.name` attribute, "unknown_service" when absent or "".
 * - Reject reasons number spans in request order from 0, counting rejected spans.
 */
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
import { OtlpDecodeError } from "./errors.js";
import { ProtoReader } from "./proto-reader.js";

/** AnyValue nesting limit; an attribute value is level 1, each array/kvlist adds a level. */
export const MAX_ANYVALUE_DEPTH = 32;

/** `Resource.serviceName` when the resource has no (non-empty string) `service.name` attribute. */
export const UNKNOWN_SERVICE = "unknown_service";

// ---------------------------------------------------------------------------------------------------
// Helpers shared with the JSON decoder (not part of the package API).

/** The JSON token for a canonical attribute value inside an array/kvlist canonical JSON text. */
export function jsonToken(type: AttrType, value: string): string {
  switch (type) {
    case "string":
      return JSON.stringify(value);
    case "int":
      // Ints beyond the exact double range stay exact as JSON strings.
      return value.length <= 15 || Number.isSafeInteger(Number(value)) ? value : `"${value}"`;
    case "double":
      return value === "NaN" || value === "Infinity" || value === "-Infinity" ? `"${value}"` : value;
    case "bytes":
      return `"${value}"`;
    case "empty":
      return "null";
    default:
      // bool, array, kvlist: already JSON.
      return value;
  }
}

/** The service name of a resource: the last string `service.name` attribute, when non-empty. */
export function serviceNameOf(attributes: Attr[]): string {
  let name = "";
  for (let i = 0; i < attributes.length; i++) {
    const a = attributes[i];
    if (a.key === "service.name" && a.type === "string") name = a.value;
  }
  return name === "" ? UNKNOWN_SERVICE : name;
}

/** Reject reasons, shared so that both decoders word them identically. */
export const rejectReasons = {
  idLength: (span: number, field: string, want: number, got: number) =>
    `span ${span}: ${field} must be ${want} bytes, got ${got}`,
  parentLength: (span: number, got: number) =>
    `span ${span}: parent_span_id must be empty or 8 bytes, got ${got}`,
  zeroId: (span: number, field: string) => `span ${span}: ${field} must not be all zero`,
  linkIdLength: (span: number, link: number, field: string, want: number, got: number) =>
    `span ${span}: links[${link}].${field} must be empty or ${want} bytes, got ${got}`,
};

/** Maps out-of-range enum values to 0 (UNSPECIFIED / UNSET); proto3 enums are open on the wire. */
export function clampEnum(value: number, max: number): number {
  return value >= 0 && value <= max ? value : 0;
}

export const ZERO_TRACE_ID = "00000000000000000000000000000000";
export const ZERO_SPAN_ID = "0000000000000000";

// ---------------------------------------------------------------------------------------------------
// Wire tags: (field number << 3) | wire type.

// ExportTraceServiceRequest
export const REQ_RESOURCE_SPANS = 10; // 1, LEN
// ResourceSpans
export const RS_RESOURCE = 10; // 1, LEN
export const RS_SCOPE_SPANS = 18; // 2, LEN
// ScopeSpans
export const SS_SCOPE = 10; // 1, LEN
export const SS_SPANS = 18; // 2, LEN
// InstrumentationScope
export const SCOPE_NAME = 10; // 1, LEN
export const SCOPE_VERSION = 18; // 2, LEN
// Resource
const RES_ATTRIBUTES = 10; // 1, LEN
const RES_DROPPED = 16; // 2, VARINT
// Span
const SPAN_TRACE_ID = 10; // 1, LEN
const SPAN_SPAN_ID = 18; // 2, LEN
const SPAN_TRACE_STATE = 26; // 3, LEN
const SPAN_PARENT_SPAN_ID = 34; // 4, LEN
const SPAN_NAME = 42; // 5, LEN
const SPAN_KIND = 48; // 6, VARINT
const SPAN_START = 57; // 7, I64
const SPAN_END = 65; // 8, I64
const SPAN_ATTRIBUTES = 74; // 9, LEN
const SPAN_DROPPED_ATTRIBUTES = 80; // 10, VARINT
const SPAN_EVENTS = 90; // 11, LEN
const SPAN_DROPPED_EVENTS = 96; // 12, VARINT
const SPAN_LINKS = 106; // 13, LEN
const SPAN_DROPPED_LINKS = 112; // 14, VARINT
const SPAN_STATUS = 122; // 15, LEN
const SPAN_FLAGS = 133; // 16, I32
// Span.Event
const EVENT_TIME = 9; // 1, I64
const EVENT_NAME = 18; // 2, LEN
const EVENT_ATTRIBUTES = 26; // 3, LEN
const EVENT_DROPPED = 32; // 4, VARINT
// Span.Link
const LINK_TRACE_ID = 10; // 1, LEN
const LINK_SPAN_ID = 18; // 2, LEN
const LINK_TRACE_STATE = 26; // 3, LEN
const LINK_ATTRIBUTES = 34; // 4, LEN
const LINK_DROPPED = 40; // 5, VARINT
const LINK_FLAGS = 53; // 6, I32
// Status
const STATUS_MESSAGE = 18; // 2, LEN
const STATUS_CODE = 24; // 3, VARINT
// KeyValue
export const KV_KEY = 10; // 1, LEN
export const KV_VALUE = 18; // 2, LEN
// AnyValue
export const AV_STRING = 10; // 1, LEN
const AV_BOOL = 16; // 2, VARINT
const AV_INT = 24; // 3, VARINT
const AV_DOUBLE = 33; // 4, I64
const AV_ARRAY = 42; // 5, LEN
const AV_KVLIST = 50; // 6, LEN
const AV_BYTES = 58; // 7, LEN
// ArrayValue / KeyValueList
const VALUES = 10; // 1, LEN

// ---------------------------------------------------------------------------------------------------

interface DecodeState {
  spans: Span[];
  rejected: number;
  rejectReason: string;
  /** Index of the next span in the request (counting rejected spans), for reject reasons. */
  spanIndex: number;
}

/**
 * Decodes a binary OTLP ExportTraceServiceRequest. Spans with invalid ids are left out and counted
 * in `rejected` (first reason in `rejectReason`). Throws {@link OtlpDecodeError} when the bytes are
 * not a well-formed request. Zero bytes is a valid, empty request.
 */
export function decodeTracesProto(buf: Uint8Array): DecodedTraces {
  const r = new ProtoReader(buf);
  const st: DecodeState = { spans: [], rejected: 0, rejectReason: "", spanIndex: 0 };
  const end = r.length;
  while (r.pos < end) {
    const tag = r.tag(end, "ExportTraceServiceRequest");
    if (tag === REQ_RESOURCE_SPANS) {
      const e = r.lenEnd(end, "ExportTraceServiceRequest.resource_spans");
      decodeResourceSpans(r, e, st);
    } else {
      r.skip(tag, end, "ExportTraceServiceRequest");
    }
  }
  return { spans: st.spans, rejected: st.rejected, rejectReason: st.rejectReason };
}

function decodeResourceSpans(r: ProtoReader, end: number, st: DecodeState): void {
  const resource: Resource = { attributes: [], droppedAttributesCount: 0, serviceName: UNKNOWN_SERVICE };
  while (r.pos < end) {
    const tag = r.tag(end, "ResourceSpans");
    if (tag === RS_SCOPE_SPANS) {
      const e = r.lenEnd(end, "ResourceSpans.scope_spans");
      decodeScopeSpans(r, e, resource, st);
    } else if (tag === RS_RESOURCE) {
      const e = r.lenEnd(end, "ResourceSpans.resource");
      decodeResource(r, e, resource);
    } else {
      r.skip(tag, end, "ResourceSpans");
    }
  }
  // After the loop: the resource field may follow the spans on the wire; they share this object.
  resource.serviceName = serviceNameOf(resource.attributes);
}

/** Merges one Resource message into `resource` (also used by transcode-traces-proto.ts). */
export function decodeResource(r: ProtoReader, end: number, resource: Resource): void {
  while (r.pos < end) {
    const tag = r.tag(end, "Resource");
    if (tag === RES_ATTRIBUTES) {
      const e = r.lenEnd(end, "Resource.attributes");
      resource.attributes.push(decodeKeyValue(r, e));
    } else if (tag === RES_DROPPED) {
      resource.droppedAttributesCount = r.varint32(end, "Resource.dropped_attributes_count");
    } else {
      r.skip(tag, end, "Resource");
    }
  }
}

function decodeScopeSpans(r: ProtoReader, end: number, resource: Resource, st: DecodeState): void {
  const scope: Scope = { name: "", version: "" };
  while (r.pos < end) {
    const tag = r.tag(end, "ScopeSpans");
    if (tag === SS_SPANS) {
      const e = r.lenEnd(end, "ScopeSpans.spans");
      decodeSpan(r, e, resource, scope, st);
    } else if (tag === SS_SCOPE) {
      const e = r.lenEnd(end, "ScopeSpans.scope");
      decodeScope(r, e, scope);
    } else {
      r.skip(tag, end, "ScopeSpans");
    }
  }
}

function decodeScope(r: ProtoReader, end: number, scope: Scope): void {
  while (r.pos < end) {
    const tag = r.tag(end, "InstrumentationScope");
    if (tag === SCOPE_NAME) scope.name = r.stringField(end, "InstrumentationScope.name");
    else if (tag === SCOPE_VERSION) scope.version = r.stringField(end, "InstrumentationScope.version");
    else r.skip(tag, end, "InstrumentationScope");
  }
}

/**
 * Where one Span message's fields are, and its scalar values: what {@link scanSpan} finds, shared
 * by the decoder (which makes a Span of it) and the transcoder (which writes a row). One instance
 * is reused span after span; byte ranges point into the request.
 */
export class SpanFields {
  traceIdPos = 0;
  traceIdLen = 0;
  spanIdPos = 0;
  spanIdLen = 0;
  parentPos = 0;
  parentLen = 0;
  /** trace_state, name and status.message as byte ranges, already checked to be UTF-8. */
  stateFrom = 0;
  stateTo = 0;
  nameFrom = 0;
  nameTo = 0;
  messageFrom = 0;
  messageTo = 0;
  flags = 0;
  kind = 0;
  /** start and end time, low and high 32 bits. */
  startLo = 0;
  startHi = 0;
  endLo = 0;
  endHi = 0;
  /** The attribute KeyValues, `attrs` of them, as byte ranges (read by the caller). */
  attrs = 0;
  attrFrom = new Int32Array(64);
  attrTo = new Int32Array(64);
  droppedAttributes = 0;
  events: SpanEvent[] | undefined;
  droppedEvents = 0;
  links: SpanLink[] | undefined;
  droppedLinks = 0;
  statusCode = 0;
  /** Why a link rejects the span ("" when none does). */
  linkError = "";

  reset(): void {
    this.traceIdLen = this.spanIdLen = this.parentLen = 0;
    this.stateFrom = this.stateTo = this.nameFrom = this.nameTo = this.messageFrom = this.messageTo = 0;
    this.flags = this.kind = this.startLo = this.startHi = this.endLo = this.endHi = 0;
    this.attrs = this.droppedAttributes = this.droppedEvents = this.droppedLinks = this.statusCode = 0;
    this.events = undefined;
    this.links = undefined;
    this.linkError = "";
  }

  addAttribute(from: number, to: number): void {
    if (this.attrs === this.attrFrom.length) {
      const f = new Int32Array(this.attrs * 2);
      f.set(this.attrFrom);
      this.attrFrom = f;
      const t = new Int32Array(this.attrs * 2);
      t.set(this.attrTo);
      this.attrTo = t;
    }
    this.attrFrom[this.attrs] = from;
    this.attrTo[this.attrs++] = to;
  }
}

/**
 * Reads the Span message from `r.pos` to `end` into `f`: scalars (last occurrence wins), string
 * fields checked as UTF-8, events and links decoded, attributes noted as ranges. `index` numbers
 * the span in the request, for reject reasons. Leaves `r.pos` at `end`.
 */
export function scanSpan(r: ProtoReader, end: number, index: number, f: SpanFields): void {
  f.reset();
  while (r.pos < end) {
    const tag = r.tag(end, "Span");
    switch (tag) {
      case SPAN_ATTRIBUTES: {
        const e = r.lenEnd(end, "Span.attributes");
        f.addAttribute(r.pos, e);
        r.pos = e;
        break;
      }
      case SPAN_TRACE_ID: {
        const e = r.lenEnd(end, "Span.trace_id");
        f.traceIdPos = r.pos;
        f.traceIdLen = e - r.pos;
        r.pos = e;
        break;
      }
      case SPAN_SPAN_ID: {
        const e = r.lenEnd(end, "Span.span_id");
        f.spanIdPos = r.pos;
        f.spanIdLen = e - r.pos;
        r.pos = e;
        break;
      }
      case SPAN_PARENT_SPAN_ID: {
        const e = r.lenEnd(end, "Span.parent_span_id");
        f.parentPos = r.pos;
        f.parentLen = e - r.pos;
        r.pos = e;
        break;
      }
      case SPAN_NAME: {
        const e = r.lenEnd(end, "Span.name");
        f.nameFrom = r.utf8Bytes(e, "Span.name");
        f.nameTo = e;
        break;
      }
      case SPAN_KIND:
        f.kind = r.varint32(end, "Span.kind");
        break;
      case SPAN_START:
        f.startLo = r.fixed64(end, "Span.start_time_unix_nano");
        f.startHi = r.hi;
        break;
      case SPAN_END:
        f.endLo = r.fixed64(end, "Span.end_time_unix_nano");
        f.endHi = r.hi;
        break;
      case SPAN_TRACE_STATE: {
        const e = r.lenEnd(end, "Span.trace_state");
        f.stateFrom = r.utf8Bytes(e, "Span.trace_state");
        f.stateTo = e;
        break;
      }
      case SPAN_FLAGS:
        f.flags = r.fixed32(end, "Span.flags");
        break;
      case SPAN_DROPPED_ATTRIBUTES:
        f.droppedAttributes = r.varint32(end, "Span.dropped_attributes_count");
        break;
      case SPAN_EVENTS: {
        const e = r.lenEnd(end, "Span.events");
        f.events ??= [];
        f.events.push(decodeEvent(r, e));
        break;
      }
      case SPAN_DROPPED_EVENTS:
        f.droppedEvents = r.varint32(end, "Span.dropped_events_count");
        break;
      case SPAN_LINKS: {
        const e = r.lenEnd(end, "Span.links");
        f.links ??= [];
        const link = decodeLink(r, e);
        if ((link.traceId === "" || link.spanId === "") && f.linkError === "") {
          f.linkError = badLinkReason(index, f.links.length, link);
        }
        f.links.push(link);
        break;
      }
      case SPAN_DROPPED_LINKS:
        f.droppedLinks = r.varint32(end, "Span.dropped_links_count");
        break;
      case SPAN_STATUS: {
        const e = r.lenEnd(end, "Span.status");
        while (r.pos < e) {
          const t = r.tag(e, "Status");
          if (t === STATUS_CODE) f.statusCode = r.varint32(e, "Status.code");
          else if (t === STATUS_MESSAGE) {
            const me = r.lenEnd(e, "Status.message");
            f.messageFrom = r.utf8Bytes(me, "Status.message");
            f.messageTo = me;
          } else r.skip(t, e, "Status");
        }
        break;
      }
      default:
        r.skip(tag, end, "Span");
    }
  }
}

/** Why the scanned span is rejected (data model violations reject this span only), or "". */
export function spanRejectReason(buf: Uint8Array, f: SpanFields, index: number): string {
  if (f.traceIdLen !== 16) return rejectReasons.idLength(index, "trace_id", 16, f.traceIdLen);
  if (isAllZero(buf, f.traceIdPos, 16)) return rejectReasons.zeroId(index, "trace_id");
  if (f.spanIdLen !== 8) return rejectReasons.idLength(index, "span_id", 8, f.spanIdLen);
  if (isAllZero(buf, f.spanIdPos, 8)) return rejectReasons.zeroId(index, "span_id");
  if (f.parentLen !== 0 && f.parentLen !== 8) return rejectReasons.parentLength(index, f.parentLen);
  return f.linkError;
}

const fields = new SpanFields();

function decodeSpan(r: ProtoReader, end: number, resource: Resource, scope: Scope, st: DecodeState): void {
  const index = st.spanIndex++;
  r.window(r.pos, end);
  const f = fields;
  scanSpan(r, end, index, f);
  // Attributes are read even for a rejected span: a malformed one fails the whole request.
  const attributes: Attr[] = [];
  for (let i = 0; i < f.attrs; i++) {
    r.pos = f.attrFrom[i];
    attributes.push(decodeKeyValue(r, f.attrTo[i]));
  }
  const buf = r.buf;
  const reason = spanRejectReason(buf, f, index);
  if (reason !== "") {
    if (st.rejected === 0) st.rejectReason = reason;
    st.rejected++;
    r.pos = end;
    return;
  }
  st.spans.push({
    traceId: hex16(buf, f.traceIdPos),
    spanId: hex8(buf, f.spanIdPos),
    // An all-zero parent id is the invalid (empty) id: a root span.
    parentSpanId: f.parentLen === 8 && !isAllZero(buf, f.parentPos, 8) ? hex8(buf, f.parentPos) : "",
    traceState: textAt(r, f.stateFrom, f.stateTo),
    flags: f.flags,
    name: textAt(r, f.nameFrom, f.nameTo, true),
    kind: clampEnum(f.kind, 5),
    startTimeUnixNano: (BigInt(f.startHi) << 32n) | BigInt(f.startLo),
    endTimeUnixNano: (BigInt(f.endHi) << 32n) | BigInt(f.endLo),
    attributes,
    droppedAttributesCount: f.droppedAttributes,
    events: f.events ?? [],
    droppedEventsCount: f.droppedEvents,
    links: f.links ?? [],
    droppedLinksCount: f.droppedLinks,
    statusCode: clampEnum(f.statusCode, 2),
    statusMessage: textAt(r, f.messageFrom, f.messageTo),
    resource,
    scope,
  });
  r.pos = end;
}

/** The (already checked) UTF-8 text of `[from, to)`; `cached` for strings that repeat (names). */
function textAt(r: ProtoReader, from: number, to: number, cached = false): string {
  if (from === to) return "";
  r.pos = from;
  return cached ? r.cachedString(to, "Span") : r.string(to, "Span");
}

export function decodeEvent(r: ProtoReader, end: number): SpanEvent {
  let timeUnixNano = 0n;
  let name = "";
  const attributes: Attr[] = [];
  let droppedAttributesCount = 0;
  while (r.pos < end) {
    const tag = r.tag(end, "Span.Event");
    switch (tag) {
      case EVENT_ATTRIBUTES: {
        const e = r.lenEnd(end, "Span.Event.attributes");
        attributes.push(decodeKeyValue(r, e));
        break;
      }
      case EVENT_TIME:
        timeUnixNano = r.fixed64BigInt(end, "Span.Event.time_unix_nano");
        break;
      case EVENT_NAME:
        name = r.stringField(end, "Span.Event.name");
        break;
      case EVENT_DROPPED:
        droppedAttributesCount = r.varint32(end, "Span.Event.dropped_attributes_count");
        break;
      default:
        r.skip(tag, end, "Span.Event");
    }
  }
  return { timeUnixNano, name, attributes, droppedAttributesCount };
}

/** Returned link ids are "" when their length is invalid (the caller rejects the span). */
export function decodeLink(r: ProtoReader, end: number): SpanLink {
  const buf = r.buf;
  let traceId = ZERO_TRACE_ID;
  let spanId = ZERO_SPAN_ID;
  let traceState = "";
  const attributes: Attr[] = [];
  let droppedAttributesCount = 0;
  let flags = 0;
  badTraceIdLen = -1;
  badSpanIdLen = -1;
  while (r.pos < end) {
    const tag = r.tag(end, "Span.Link");
    switch (tag) {
      case LINK_TRACE_ID: {
        const e = r.lenEnd(end, "Span.Link.trace_id");
        const n = e - r.pos;
        if (n === 16) traceId = hex16(buf, r.pos);
        else if (n === 0) traceId = ZERO_TRACE_ID;
        else {
          traceId = "";
          badTraceIdLen = n;
        }
        r.pos = e;
        break;
      }
      case LINK_SPAN_ID: {
        const e = r.lenEnd(end, "Span.Link.span_id");
        const n = e - r.pos;
        if (n === 8) spanId = hex8(buf, r.pos);
        else if (n === 0) spanId = ZERO_SPAN_ID;
        else {
          spanId = "";
          badSpanIdLen = n;
        }
        r.pos = e;
        break;
      }
      case LINK_TRACE_STATE:
        traceState = r.stringField(end, "Span.Link.trace_state");
        break;
      case LINK_ATTRIBUTES: {
        const e = r.lenEnd(end, "Span.Link.attributes");
        attributes.push(decodeKeyValue(r, e));
        break;
      }
      case LINK_DROPPED:
        droppedAttributesCount = r.varint32(end, "Span.Link.dropped_attributes_count");
        break;
      case LINK_FLAGS:
        flags = r.fixed32(end, "Span.Link.flags");
        break;
      default:
        r.skip(tag, end, "Span.Link");
    }
  }
  return { traceId, spanId, traceState, attributes, droppedAttributesCount, flags };
}

// Lengths of the invalid ids of the last decoded link (-1: valid), for its reject reason.
let badTraceIdLen = -1;
let badSpanIdLen = -1;

/** Why a link just returned by decodeLink (with an id "") rejects span `span`. */
export function badLinkReason(span: number, link: number, l: SpanLink): string {
  return l.traceId === ""
    ? rejectReasons.linkIdLength(span, link, "trace_id", 16, badTraceIdLen)
    : rejectReasons.linkIdLength(span, link, "span_id", 8, badSpanIdLen);
}

// The type of the last AnyValue decoded by decodeAnyValue (a second return value).
let anyType: AttrType = "empty";

function decodeKeyValue(r: ProtoReader, end: number): Attr {
  let key = "";
  let value = "";
  let type: AttrType = "empty";
  while (r.pos < end) {
    const tag = r.tag(end, "KeyValue");
    if (tag === KV_KEY) {
      key = r.cachedStringField(end, "KeyValue.key");
    } else if (tag === KV_VALUE) {
      const e = r.lenEnd(end, "KeyValue.value");
      // Fast path: a value holding just a short string (the common case), else the general decoder.
      const p = r.pos;
      const n = e - p - 2;
      if (n >= 0 && n < 0x80 && r.buf[p] === AV_STRING && r.buf[p + 1] === n) {
        r.pos = p + 2;
        value = r.string(e, "AnyValue.string_value");
        type = "string";
      } else {
        value = decodeAnyValue(r, e, 1);
        type = anyType;
      }
    } else {
      r.skip(tag, end, "KeyValue");
    }
  }
  return { key, value, type };
}

/** The type of the AnyValue last decoded by {@link decodeAnyValueText}. */
export function lastAnyValueType(): AttrType {
  return anyType;
}

/** An attribute's AnyValue (nesting level 1) as canonical text; its type: {@link lastAnyValueType}. */
export function decodeAnyValueText(r: ProtoReader, end: number): string {
  return decodeAnyValue(r, end, 1);
}

/** Decodes an AnyValue to its canonical text (see Attr), leaving its type in `anyType`. */
function decodeAnyValue(r: ProtoReader, end: number, depth: number): string {
  if (depth > MAX_ANYVALUE_DEPTH) {
    throw new OtlpDecodeError(`AnyValue nested deeper than ${MAX_ANYVALUE_DEPTH} levels at offset ${r.pos}`);
  }
  let type: AttrType = "empty";
  let value = "";
  while (r.pos < end) {
    const tag = r.tag(end, "AnyValue");
    switch (tag) {
      case AV_STRING:
        value = r.stringField(end, "AnyValue.string_value");
        type = "string";
        break;
      case AV_INT:
        value = r.int64String(end, "AnyValue.int_value");
        type = "int";
        break;
      case AV_BOOL:
        value = r.bool(end, "AnyValue.bool_value") ? "true" : "false";
        type = "bool";
        break;
      case AV_DOUBLE:
        value = String(r.double(end, "AnyValue.double_value"));
        type = "double";
        break;
      case AV_ARRAY: {
        const e = r.lenEnd(end, "AnyValue.array_value");
        value = decodeArrayValue(r, e, depth);
        type = "array";
        break;
      }
      case AV_KVLIST: {
        const e = r.lenEnd(end, "AnyValue.kvlist_value");
        value = decodeKeyValueList(r, e, depth);
        type = "kvlist";
        break;
      }
      case AV_BYTES: {
        const e = r.lenEnd(end, "AnyValue.bytes_value");
        value = r.buf.toString("base64", r.pos, e);
        r.pos = e;
        type = "bytes";
        break;
      }
      default:
        r.skip(tag, end, "AnyValue");
    }
  }
  anyType = type;
  return value;
}

function decodeArrayValue(r: ProtoReader, end: number, depth: number): string {
  let out = "[";
  let first = true;
  while (r.pos < end) {
    const tag = r.tag(end, "ArrayValue");
    if (tag === VALUES) {
      const e = r.lenEnd(end, "ArrayValue.values");
      const v = decodeAnyValue(r, e, depth + 1);
      out += first ? jsonToken(anyType, v) : `,${jsonToken(anyType, v)}`;
      first = false;
    } else {
      r.skip(tag, end, "ArrayValue");
    }
  }
  return `${out}]`;
}

function decodeKeyValueList(r: ProtoReader, end: number, depth: number): string {
  let out = "{";
  let first = true;
  while (r.pos < end) {
    const tag = r.tag(end, "KeyValueList");
    if (tag === VALUES) {
      const e = r.lenEnd(end, "KeyValueList.values");
      let key = "";
      let token = "null";
      while (r.pos < e) {
        const t = r.tag(e, "KeyValue");
        if (t === KV_KEY) {
          key = r.cachedStringField(e, "KeyValue.key");
        } else if (t === KV_VALUE) {
          const ve = r.lenEnd(e, "KeyValue.value");
          const v = decodeAnyValue(r, ve, depth + 1);
          token = jsonToken(anyType, v);
        } else {
          r.skip(t, e, "KeyValue");
        }
      }
      const member = `${JSON.stringify(key)}:${token}`;
      out += first ? member : `,${member}`;
      first = false;
    } else {
      r.skip(tag, end, "KeyValueList");
    }
  }
  return `${out}}`;
}

// ---------------------------------------------------------------------------------------------------
// Ids

export function isAllZero(buf: Uint8Array, pos: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (buf[pos + i] !== 0) return false;
  return true;
}

/** Lowercase hex digit char codes. */
const HEX = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);

function hex8(b: Uint8Array, p: number): string {
  const h = HEX;
  return String.fromCharCode(
    h[b[p] >> 4],
    h[b[p] & 15],
    h[b[p + 1] >> 4],
    h[b[p + 1] & 15],
    h[b[p + 2] >> 4],
    h[b[p + 2] & 15],
    h[b[p + 3] >> 4],
    h[b[p + 3] & 15],
    h[b[p + 4] >> 4],
    h[b[p + 4] & 15],
    h[b[p + 5] >> 4],
    h[b[p + 5] & 15],
    h[b[p + 6] >> 4],
    h[b[p + 6] & 15],
    h[b[p + 7] >> 4],
    h[b[p + 7] & 15],
  );
}

function hex16(b: Uint8Array, p: number): string {
  const h = HEX;
  return String.fromCharCode(
    h[b[p] >> 4],
    h[b[p] & 15],
    h[b[p + 1] >> 4],
    h[b[p + 1] & 15],
    h[b[p + 2] >> 4],
    h[b[p + 2] & 15],
    h[b[p + 3] >> 4],
    h[b[p + 3] & 15],
    h[b[p + 4] >> 4],
    h[b[p + 4] & 15],
    h[b[p + 5] >> 4],
    h[b[p + 5] & 15],
    h[b[p + 6] >> 4],
    h[b[p + 6] & 15],
    h[b[p + 7] >> 4],
    h[b[p + 7] & 15],
    h[b[p + 8] >> 4],
    h[b[p + 8] & 15],
    h[b[p + 9] >> 4],
    h[b[p + 9] & 15],
    h[b[p + 10] >> 4],
    h[b[p + 10] & 15],
    h[b[p + 11] >> 4],
    h[b[p + 11] & 15],
    h[b[p + 12] >> 4],
    h[b[p + 12] & 15],
    h[b[p + 13] >> 4],
    h[b[p + 13] & 15],
    h[b[p + 14] >> 4],
    h[b[p + 14] & 15],
    h[b[p + 15] >> 4],
    h[b[p + 15] & 15],
  );
}
