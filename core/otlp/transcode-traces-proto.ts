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
  clampEnum,
  decodeAnyValueText,
  decodeResource,
  decodeTracesProto,
  isAllZero,
  KV_KEY,
  KV_VALUE,
  lastAnyValueType,
  REQ_RESOURCE_SPANS,
  RS_RESOURCE,
  RS_SCOPE_SPANS,
  SCOPE_NAME,
  SCOPE_VERSION,
  SpanFields,
  SS_SCOPE,
  SS_SPANS,
  scanSpan,
  serviceNameOf,
  spanRejectReason,
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

/** A copy of `a` twice as long (the per-row arrays grow with the request). */
function doubled<T extends Uint32Array | Int32Array>(a: T): T {
  const next = new (a.constructor as new (n: number) => T)(a.length * 2);
  next.set(a);
  return next;
}

/** Notes where row `i` starts and where its trace id is. */
function row(i: number, start: number, trace: number): void {
  if (i + 1 >= rowStarts.length) {
    rowStarts = doubled(rowStarts);
    traceAt = doubled(traceAt);
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
  const first = st.count;
  r.pos = start;
  while (r.pos < end) {
    const tag = r.tag(end, "ResourceSpans");
    const e = tag === RS_RESOURCE || tag === RS_SCOPE_SPANS ? r.lenEnd(end, "ResourceSpans") : -1;
    if (tag === RS_SCOPE_SPANS) scopeSpans(st, e, res);
    else if (e >= 0) r.pos = e;
    else r.skip(tag, end, "ResourceSpans");
  }
  markLocalParents(st.w, first, st.count);
}

/**
 * Per row: its span id and its parent id as 32-bit halves, for markLocalParents. A parent of zeros
 * is none (valid span ids are never all zero, so it matches no row).
 */
let spanLo = new Int32Array(1024);
let spanHi = new Int32Array(1024);
let parentLo = new Int32Array(1024);
let parentHi = new Int32Array(1024);
let slots = new Int32Array(4096);

const le32 = (b: Uint8Array, p: number): number =>
  b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);

/** Notes row i's span id and parent id (read from the request) for markLocalParents. */
function noteIds(i: number, buf: Uint8Array, f: SpanFields): void {
  if (i >= spanLo.length) {
    spanLo = doubled(spanLo);
    spanHi = doubled(spanHi);
    parentLo = doubled(parentLo);
    parentHi = doubled(parentHi);
  }
  spanLo[i] = le32(buf, f.spanIdPos);
  spanHi[i] = le32(buf, f.spanIdPos + 4);
  const parent = f.parentLen === 8;
  parentLo[i] = parent ? le32(buf, f.parentPos) : 0;
  parentHi[i] = parent ? le32(buf, f.parentPos + 4) : 0;
}

const slotOf = (lo: number, hi: number, mask: number): number => (Math.imul(lo, 0x9e3779b1) ^ hi) & mask;

/**
 * Sets the local_parent column (the last byte of each row; see localParents in
 * core/store/span-encoder.ts) of rows [first, count), the rows of one ResourceSpans: 1 when the
 * row's parent is one of these rows (same span id and trace id). An open-addressing table of span
 * ids, not a Map of strings: the Map cost the transcoder 40% more CPU.
 */
function markLocalParents(w: RowBinaryWriter, first: number, count: number): void {
  const n = count - first;
  if (n < 2) return;
  let size = 4;
  while (size < n * 2) size *= 2;
  if (slots.length < size) slots = new Int32Array(size);
  const mask = size - 1;
  slots.fill(-1, 0, size);
  for (let i = first; i < count; i++) {
    let h = slotOf(spanLo[i], spanHi[i], mask);
    while (slots[h] >= 0) h = (h + 1) & mask;
    slots[h] = i;
  }
  const body = w.view();
  for (let i = first; i < count; i++) {
    const lo = parentLo[i];
    const hi = parentHi[i];
    if ((lo | hi) === 0) continue; // a root
    for (let h = slotOf(lo, hi, mask); slots[h] >= 0; h = (h + 1) & mask) {
      const j = slots[h];
      if (spanLo[j] !== lo || spanHi[j] !== hi || !sameTrace(body, traceAt[i], traceAt[j])) continue;
      w.setUint8((i + 1 < count ? rowStarts[i + 1] : w.length) - 1, 1);
      break;
    }
  }
}

/** The 32 hex characters of two rows' trace ids are equal. */
function sameTrace(body: Buffer, a: number, b: number): boolean {
  if (a === b) return true;
  for (let k = 0; k < 32; k++) if (body[a + k] !== body[b + k]) return false;
  return true;
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

const fields = new SpanFields();

function span(st: State, end: number, res: ResourceColumns, scope: Buffer): void {
  const { r, w } = st;
  const buf = r.buf;
  const index = st.spanIndex++;
  const f = fields;
  scanSpan(r, end, index, f);
  const reason = spanRejectReason(buf, f, index);
  const rowStart = w.length;
  if (reason !== "") {
    // Read the attributes all the same (a malformed one fails the request), then drop them.
    writeAttributes(st, f);
    w.truncate(rowStart);
    if (st.rejected === 0) st.rejectReason = reason;
    st.rejected++;
    r.pos = end;
    return;
  }

  w.raw(st.tenant);
  const trace = w.length + 1;
  w.hexString(buf, f.traceIdPos, 16);
  w.hexString(buf, f.spanIdPos, 8);
  // An all-zero parent id is the invalid (empty) id: a root span.
  if (f.parentLen === 8 && !isAllZero(buf, f.parentPos, 8)) w.hexString(buf, f.parentPos, 8);
  else w.varint(0);
  w.stringBytes(buf, f.stateFrom, f.stateTo);
  w.uint32(f.flags);
  w.stringBytes(buf, f.nameFrom, f.nameTo);
  w.uint8(clampEnum(f.kind, 5));
  w.raw(res.service);
  // start_time: DateTime64(9) ends at 2^63 - 1 ns
  if (f.startHi >= 0x8000_0000) w.uint64Halves(0xffff_ffff, 0x7fff_ffff);
  else w.uint64Halves(f.startLo, f.startHi);
  // duration_ns: end - start when end is later, from the unclamped times
  if (f.endHi > f.startHi || (f.endHi === f.startHi && f.endLo > f.startLo)) {
    const lo = f.endLo - f.startLo;
    w.uint64Halves(lo < 0 ? lo + 0x1_0000_0000 : lo, f.endHi - f.startHi - (lo < 0 ? 1 : 0));
  } else {
    w.uint64Halves(0, 0);
  }
  w.uint8(clampEnum(f.statusCode, 2));
  w.stringBytes(buf, f.messageFrom, f.messageTo);
  writeAttributes(st, f);
  w.uint32(f.droppedAttributes);
  w.raw(res.columns);
  w.raw(scope);
  if (f.events === undefined && f.links === undefined) {
    // writeEventsAndLinks of no events and no links
    for (let i = 0; i < 4; i++) w.varint(0);
    w.uint32(f.droppedEvents);
    for (let i = 0; i < 6; i++) w.varint(0);
    w.uint32(f.droppedLinks);
  } else {
    writeEventsAndLinks(w, {
      events: f.events ?? EMPTY_EVENTS,
      droppedEventsCount: f.droppedEvents,
      links: f.links ?? EMPTY_LINKS,
      droppedLinksCount: f.droppedLinks,
    });
  }
  w.uint8(0); // local_parent, set once the whole ResourceSpans is read (markLocalParents)
  noteIds(st.count, buf, f);
  row(st.count++, rowStart, trace);
  r.pos = end;
}

/** The attributes Map(String, String) and the attribute_types map of the span's KeyValues. */
function writeAttributes(st: State, f: SpanFields): void {
  const { r, w } = st;
  const buf = r.buf;
  const n = f.attrs;
  if (n > attrType.length) {
    attrType = new Uint8Array(n * 2);
    keyFrom = new Int32Array(n * 2);
    keyTo = new Int32Array(n * 2);
  }
  w.varint(n);
  let typed = 0;
  for (let i = 0; i < n; i++) {
    const end = f.attrTo[i];
    r.pos = f.attrFrom[i];
    let kFrom = 0;
    let kTo = 0;
    let vFrom = -1;
    let vTo = 0;
    let text = "";
    let type = TYPE_EMPTY;
    while (r.pos < end) {
      const tag = r.tag(end, "KeyValue");
      if (tag === KV_KEY) {
        // checked for UTF-8 as it is copied, below; a key given twice (the last wins) is checked here
        const e = r.lenEnd(end, "KeyValue.key");
        if (kTo !== 0) r.checkUtf8(kFrom, kTo, "KeyValue.key");
        kFrom = r.pos;
        kTo = e;
        r.pos = e;
      } else if (tag === KV_VALUE) {
        const e = r.lenEnd(end, "KeyValue.value");
        if (vFrom >= 0) r.checkUtf8(vFrom, vTo, "AnyValue.string_value");
        const p = r.pos;
        const len = e - p - 2;
        if (len >= 0 && len < 0x80 && buf[p] === AV_STRING && buf[p + 1] === len) {
          // an AnyValue of just a short string: copied as it is
          vFrom = p + 2;
          vTo = e;
          r.pos = e;
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
    if (w.stringBytesUnchecked(buf, r.view, kFrom, kTo) !== 0) r.checkUtf8(kFrom, kTo, "KeyValue.key");
    keyTo[i] = w.length;
    if (vFrom < 0) w.string(text);
    else if (w.stringBytesUnchecked(buf, r.view, vFrom, vTo) !== 0)
      r.checkUtf8(vFrom, vTo, "AnyValue.string_value");
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
