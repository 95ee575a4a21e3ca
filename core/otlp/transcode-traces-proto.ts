/**
 * OTLP/protobuf traces straight to RowBinary rows of `spans`: the receivers' hot path.
 *
 * `decodeTracesProto` builds span objects, and `encodeSpansRowBinary` then turns them into
 * the bytes ClickHouse (or Kafka) gets. Most of what a span holds (ids, names, attribute keys and
 * string values) is copied from the request's bytes into the row's bytes unchanged. So this file
 * writes each span's row while it reads the request, without a string or object per attribute. The
 * decoder stays the definition: same validation, same rejects, same rows, byte for byte. Its tests
 * compare the two on generated, reordered, hostile and mutated requests.
 * Rare parts (events, links, non-string attribute values, the resource) go through the decoder's
 * own functions and the encoder's writers.
 *
 * A span's fields may come in any order on the wire, and scalars repeat (last wins), so each span
 * is read twice: a first pass notes where its fields are, a second writes the row in column order.
 * A span rejected for its ids is still read to the end (a malformed attribute fails the whole
 * request, as in the decoder); then its half-written row is dropped.
 */
import type { DecodedTraces, Resource, SpanEvent, SpanLink, TranscodedTraces } from "../model/span.js";
import { RowBinaryWriter } from "../store/row-binary.js";
import { resourceBytes, writeEventsAndLinks } from "../store/span-row-binary.js";
import {
  AV_STRING,
  badLinkReason,
  clampEnum,
  decodeAnyValueText,
  decodeEvent,
  decodeLink,
  decodeResource,
  decodeTracesProto,
  isAllZero,
  KV_KEY,
  KV_VALUE,
  lastAnyValueType,
  REQ_RESOURCE_SPANS,
  RS_RESOURCE,
  RS_SCOPE_SPANS,
  rejectReasons,
  SCOPE_NAME,
  SCOPE_VERSION,
  SPAN_ATTRIBUTES,
  SPAN_DROPPED_ATTRIBUTES,
  SPAN_DROPPED_EVENTS,
  SPAN_DROPPED_LINKS,
  SPAN_END,
  SPAN_EVENTS,
  SPAN_FLAGS,
  SPAN_KIND,
  SPAN_LINKS,
  SPAN_NAME,
  SPAN_PARENT_SPAN_ID,
  SPAN_SPAN_ID,
  SPAN_START,
  SPAN_STATUS,
  SPAN_TRACE_ID,
  SPAN_TRACE_STATE,
  SS_SCOPE,
  SS_SPANS,
  STATUS_CODE,
  STATUS_MESSAGE,
  serviceNameOf,
  UNKNOWN_SERVICE,
} from "./decode-traces-proto.js";
import { OtlpDecodeError } from "./errors.js";
import { ProtoReader } from "./proto-reader.js";

/**
 * Reads a binary ExportTraceServiceRequest for the sinks: rows (the transcoder) when it can,
 * span objects (the decoder) when the transcoder refuses the request. On malformed input the
 * decoder then throws its own error. If the two ever disagreed, the decoder's answer would stand.
 */
export function readTracesProto(buf: Uint8Array, tenant: string): TranscodedTraces | DecodedTraces {
  try {
    return transcodeTracesProto(buf, tenant);
  } catch (err) {
    if (err instanceof OtlpDecodeError) return decodeTracesProto(buf);
    throw err;
  }
}

const writer = new RowBinaryWriter(1 << 20);
const scratch = new RowBinaryWriter(1024);
let rowStarts = new Uint32Array(1024);
let traceAt = new Uint32Array(1024);
/** Per span: where its attribute KeyValues are in the request. */
let attrFrom = new Int32Array(64);
let attrTo = new Int32Array(64);
/** Per attribute being written: its type, and where its key's bytes went in the row. */
let attrType = new Uint8Array(64);
let keyFrom = new Int32Array(64);
let keyTo = new Int32Array(64);

const TYPE_STRING = 0;
const TYPE_EMPTY = 7;
/** attribute_types values as RowBinary Strings, by type code (0, string, has no entry). */
const TYPE_NAMES = ["string", "bool", "int", "double", "bytes", "array", "kvlist", "empty"];
const TYPE_CODES = new Map(TYPE_NAMES.map((name, code) => [name, code]));
const TYPE_COLUMNS = TYPE_NAMES.map((name) => {
  scratch.reset();
  scratch.string(name);
  return scratch.toBuffer();
});
const EMPTY_EVENTS: SpanEvent[] = [];
const EMPTY_LINKS: SpanLink[] = [];

interface State {
  r: ProtoReader;
  w: RowBinaryWriter;
  tenant: Buffer;
  count: number;
  rejected: number;
  rejectReason: string;
  spanIndex: number;
}

/** `values` as RowBinary String columns, for values repeated on many rows. */
function column(...values: string[]): Buffer {
  scratch.reset();
  for (const v of values) scratch.string(v);
  return scratch.toBuffer();
}

/**
 * The rows of the valid spans of a binary OTLP ExportTraceServiceRequest, for tenant `tenant`.
 * Throws OtlpDecodeError where `decodeTracesProto` would throw (possibly with other wording:
 * callers go through {@link readTracesProto}).
 */
export function transcodeTracesProto(buf: Uint8Array, tenant: string): TranscodedTraces {
  const r = new ProtoReader(buf);
  const w = writer;
  w.reset();
  const st: State = { r, w, tenant: column(tenant), count: 0, rejected: 0, rejectReason: "", spanIndex: 0 };
  const end = r.length;
  while (r.pos < end) {
    const tag = r.tag(end, "ExportTraceServiceRequest");
    if (tag === REQ_RESOURCE_SPANS) {
      const e = r.lenEnd(end, "ExportTraceServiceRequest.resource_spans");
      resourceSpans(st, e);
    } else {
      r.skip(tag, end, "ExportTraceServiceRequest");
    }
  }
  row(st.count, w.length, 0);
  return {
    rows: {
      // A view, not a copy: sinks copy what they keep (SpanRows.body), and no per-request buffer
      // is left for the garbage collector (see SpanRows).
      body: w.view(),
      count: st.count,
      rowStarts: rowStarts.slice(0, st.count + 1),
      traceAt: traceAt.slice(0, st.count),
    },
    rejected: st.rejected,
    rejectReason: st.rejectReason,
  };
}

/** Notes where row `i` starts and where its trace id is. */
function row(i: number, start: number, trace: number): void {
  if (i + 1 >= rowStarts.length) {
    const more = new Uint32Array(rowStarts.length * 2);
    more.set(rowStarts);
    rowStarts = more;
    const t = new Uint32Array(traceAt.length * 2);
    t.set(traceAt);
    traceAt = t;
  }
  rowStarts[i] = start;
  traceAt[i] = trace;
}

function resourceSpans(st: State, end: number): void {
  const r = st.r;
  const start = r.pos;
  // First the resource (it may follow the spans on the wire; several merge), then the spans.
  const resource: Resource = { attributes: [], droppedAttributesCount: 0, serviceName: UNKNOWN_SERVICE };
  while (r.pos < end) {
    const tag = r.tag(end, "ResourceSpans");
    if (tag === RS_RESOURCE) {
      const e = r.lenEnd(end, "ResourceSpans.resource");
      decodeResource(r, e, resource);
    } else if (tag === RS_SCOPE_SPANS) {
      r.pos = r.lenEnd(end, "ResourceSpans.scope_spans");
    } else {
      r.skip(tag, end, "ResourceSpans");
    }
  }
  resource.serviceName = serviceNameOf(resource.attributes);
  const res = { service: column(resource.serviceName), columns: resourceBytes(resource) };
  r.pos = start;
  while (r.pos < end) {
    const tag = r.tag(end, "ResourceSpans");
    const e = tag === RS_RESOURCE || tag === RS_SCOPE_SPANS ? r.lenEnd(end, "ResourceSpans") : -1;
    if (tag === RS_SCOPE_SPANS) scopeSpans(st, e, res);
    else if (e >= 0) r.pos = e;
    else r.skip(tag, end, "ResourceSpans");
  }
}

interface ResourceColumns {
  service: Buffer;
  columns: Buffer;
}

function scopeSpans(st: State, end: number, res: ResourceColumns): void {
  const r = st.r;
  const start = r.pos;
  let name = "";
  let version = "";
  while (r.pos < end) {
    const tag = r.tag(end, "ScopeSpans");
    if (tag === SS_SCOPE) {
      const e = r.lenEnd(end, "ScopeSpans.scope");
      while (r.pos < e) {
        const t = r.tag(e, "InstrumentationScope");
        if (t === SCOPE_NAME) name = r.stringField(e, "InstrumentationScope.name");
        else if (t === SCOPE_VERSION) version = r.stringField(e, "InstrumentationScope.version");
        else r.skip(t, e, "InstrumentationScope");
      }
    } else if (tag === SS_SPANS) {
      r.pos = r.lenEnd(end, "ScopeSpans.spans");
    } else {
      r.skip(tag, end, "ScopeSpans");
    }
  }
  const scope = column(name, version);
  r.pos = start;
  while (r.pos < end) {
    const tag = r.tag(end, "ScopeSpans");
    const e = tag === SS_SCOPE || tag === SS_SPANS ? r.lenEnd(end, "ScopeSpans") : -1;
    if (tag === SS_SPANS) span(st, e, res, scope);
    else if (e >= 0) r.pos = e;
    else r.skip(tag, end, "ScopeSpans");
  }
}

function span(st: State, end: number, res: ResourceColumns, scope: Buffer): void {
  const { r, w } = st;
  const buf = r.buf;
  const index = st.spanIndex++;
  let traceIdPos = 0;
  let traceIdLen = 0;
  let spanIdPos = 0;
  let spanIdLen = 0;
  let parentPos = 0;
  let parentLen = 0;
  let stateFrom = 0;
  let stateTo = 0;
  let nameFrom = 0;
  let nameTo = 0;
  let flags = 0;
  let kind = 0;
  let startLo = 0;
  let startHi = 0;
  let endLo = 0;
  let endHi = 0;
  let attrs = 0;
  let droppedAttributes = 0;
  let events: SpanEvent[] | undefined;
  let droppedEvents = 0;
  let links: SpanLink[] | undefined;
  let droppedLinks = 0;
  let statusCode = 0;
  let messageFrom = 0;
  let messageTo = 0;
  let linkError = "";

  while (r.pos < end) {
    const tag = r.tag(end, "Span");
    switch (tag) {
      case SPAN_ATTRIBUTES: {
        const e = r.lenEnd(end, "Span.attributes");
        if (attrs === attrFrom.length) growAttributes();
        attrFrom[attrs] = r.pos;
        attrTo[attrs++] = e;
        r.pos = e;
        break;
      }
      case SPAN_TRACE_ID: {
        const e = r.lenEnd(end, "Span.trace_id");
        traceIdPos = r.pos;
        traceIdLen = e - r.pos;
        r.pos = e;
        break;
      }
      case SPAN_SPAN_ID: {
        const e = r.lenEnd(end, "Span.span_id");
        spanIdPos = r.pos;
        spanIdLen = e - r.pos;
        r.pos = e;
        break;
      }
      case SPAN_PARENT_SPAN_ID: {
        const e = r.lenEnd(end, "Span.parent_span_id");
        parentPos = r.pos;
        parentLen = e - r.pos;
        r.pos = e;
        break;
      }
      case SPAN_NAME: {
        const e = r.lenEnd(end, "Span.name");
        nameFrom = r.utf8Bytes(e, "Span.name");
        nameTo = e;
        break;
      }
      case SPAN_KIND:
        kind = r.varint32(end, "Span.kind");
        break;
      case SPAN_START:
        startLo = r.fixed64(end, "Span.start_time_unix_nano");
        startHi = r.hi;
        break;
      case SPAN_END:
        endLo = r.fixed64(end, "Span.end_time_unix_nano");
        endHi = r.hi;
        break;
      case SPAN_TRACE_STATE: {
        const e = r.lenEnd(end, "Span.trace_state");
        stateFrom = r.utf8Bytes(e, "Span.trace_state");
        stateTo = e;
        break;
      }
      case SPAN_FLAGS:
        flags = r.fixed32(end, "Span.flags");
        break;
      case SPAN_DROPPED_ATTRIBUTES:
        droppedAttributes = r.varint32(end, "Span.dropped_attributes_count");
        break;
      case SPAN_EVENTS: {
        const e = r.lenEnd(end, "Span.events");
        events ??= [];
        events.push(decodeEvent(r, e));
        break;
      }
      case SPAN_DROPPED_EVENTS:
        droppedEvents = r.varint32(end, "Span.dropped_events_count");
        break;
      case SPAN_LINKS: {
        const e = r.lenEnd(end, "Span.links");
        links ??= [];
        const link = decodeLink(r, e);
        if ((link.traceId === "" || link.spanId === "") && linkError === "") {
          linkError = badLinkReason(index, links.length, link);
        }
        links.push(link);
        break;
      }
      case SPAN_DROPPED_LINKS:
        droppedLinks = r.varint32(end, "Span.dropped_links_count");
        break;
      case SPAN_STATUS: {
        const e = r.lenEnd(end, "Span.status");
        while (r.pos < e) {
          const t = r.tag(e, "Status");
          if (t === STATUS_CODE) statusCode = r.varint32(e, "Status.code");
          else if (t === STATUS_MESSAGE) {
            const me = r.lenEnd(e, "Status.message");
            messageFrom = r.utf8Bytes(me, "Status.message");
            messageTo = me;
          } else r.skip(t, e, "Status");
        }
        break;
      }
      default:
        r.skip(tag, end, "Span");
    }
  }

  let reason = "";
  if (traceIdLen !== 16) reason = rejectReasons.idLength(index, "trace_id", 16, traceIdLen);
  else if (isAllZero(buf, traceIdPos, 16)) reason = rejectReasons.zeroId(index, "trace_id");
  else if (spanIdLen !== 8) reason = rejectReasons.idLength(index, "span_id", 8, spanIdLen);
  else if (isAllZero(buf, spanIdPos, 8)) reason = rejectReasons.zeroId(index, "span_id");
  else if (parentLen !== 0 && parentLen !== 8) reason = rejectReasons.parentLength(index, parentLen);
  else if (linkError !== "") reason = linkError;

  const rowStart = w.length;
  if (reason !== "") {
    // Read the attributes all the same (a malformed one fails the request), then drop them.
    writeAttributes(st, attrs);
    w.truncate(rowStart);
    if (st.rejected === 0) st.rejectReason = reason;
    st.rejected++;
    r.pos = end;
    return;
  }

  w.raw(st.tenant);
  const trace = w.length + 1;
  w.hexString(buf, traceIdPos, 16);
  w.hexString(buf, spanIdPos, 8);
  // An all-zero parent id is the invalid (empty) id: a root span.
  if (parentLen === 8 && !isAllZero(buf, parentPos, 8)) w.hexString(buf, parentPos, 8);
  else w.varint(0);
  w.stringBytes(buf, stateFrom, stateTo);
  w.uint32(flags);
  w.stringBytes(buf, nameFrom, nameTo);
  w.uint8(clampEnum(kind, 5));
  w.raw(res.service);
  // start_time: DateTime64(9) ends at 2^63 - 1 ns
  if (startHi >= 0x8000_0000) w.uint64Halves(0xffff_ffff, 0x7fff_ffff);
  else w.uint64Halves(startLo, startHi);
  // duration_ns: end - start when end is later, from the unclamped times
  if (endHi > startHi || (endHi === startHi && endLo > startLo)) {
    const lo = endLo - startLo;
    w.uint64Halves(lo < 0 ? lo + 0x1_0000_0000 : lo, endHi - startHi - (lo < 0 ? 1 : 0));
  } else {
    w.uint64Halves(0, 0);
  }
  w.uint8(clampEnum(statusCode, 2));
  w.stringBytes(buf, messageFrom, messageTo);
  writeAttributes(st, attrs);
  w.uint32(droppedAttributes);
  w.raw(res.columns);
  w.raw(scope);
  if (events === undefined && links === undefined) {
    // writeEventsAndLinks of no events and no links
    for (let i = 0; i < 4; i++) w.varint(0);
    w.uint32(droppedEvents);
    for (let i = 0; i < 6; i++) w.varint(0);
    w.uint32(droppedLinks);
  } else {
    writeEventsAndLinks(w, {
      events: events ?? EMPTY_EVENTS,
      droppedEventsCount: droppedEvents,
      links: links ?? EMPTY_LINKS,
      droppedLinksCount: droppedLinks,
    });
  }
  row(st.count++, rowStart, trace);
  r.pos = end;
}

/** The attributes Map(String, String) and the attribute_types map of the span's KeyValues. */
function writeAttributes(st: State, n: number): void {
  const { r, w } = st;
  const buf = r.buf;
  if (n > attrType.length) {
    attrType = new Uint8Array(n * 2);
    keyFrom = new Int32Array(n * 2);
    keyTo = new Int32Array(n * 2);
  }
  w.varint(n);
  let typed = 0;
  for (let i = 0; i < n; i++) {
    const end = attrTo[i];
    r.pos = attrFrom[i];
    let kFrom = 0;
    let kTo = 0;
    let vFrom = -1;
    let vTo = 0;
    let text = "";
    let type = TYPE_EMPTY;
    while (r.pos < end) {
      const tag = r.tag(end, "KeyValue");
      if (tag === KV_KEY) {
        const e = r.lenEnd(end, "KeyValue.key");
        kFrom = r.utf8Bytes(e, "KeyValue.key");
        kTo = e;
      } else if (tag === KV_VALUE) {
        const e = r.lenEnd(end, "KeyValue.value");
        const p = r.pos;
        const len = e - p - 2;
        if (len >= 0 && len < 0x80 && buf[p] === AV_STRING && buf[p + 1] === len) {
          // an AnyValue of just a short string: copied as it is
          r.pos = p + 2;
          vFrom = r.utf8Bytes(e, "AnyValue.string_value");
          vTo = e;
          type = TYPE_STRING;
        } else {
          text = decodeAnyValueText(r, e);
          type = TYPE_CODES.get(lastAnyValueType()) as number;
          vFrom = -1;
        }
      } else {
        r.skip(tag, end, "KeyValue");
      }
    }
    keyFrom[i] = w.length;
    w.stringBytes(buf, kFrom, kTo);
    keyTo[i] = w.length;
    if (vFrom >= 0) w.stringBytes(buf, vFrom, vTo);
    else w.string(text);
    attrType[i] = type;
    if (type !== TYPE_STRING) typed++;
  }
  w.varint(typed);
  if (typed === 0) return;
  for (let i = 0; i < n; i++) {
    if (attrType[i] === TYPE_STRING) continue;
    w.again(keyFrom[i], keyTo[i]);
    w.raw(TYPE_COLUMNS[attrType[i]]);
  }
}

function growAttributes(): void {
  const from = new Int32Array(attrFrom.length * 2);
  from.set(attrFrom);
  attrFrom = from;
  const to = new Int32Array(attrTo.length * 2);
  to.set(attrTo);
  attrTo = to;
}
