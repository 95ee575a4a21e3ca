import type { Attr, Resource, Span, SpanRows } from "../model/span.js";
import { RowBinaryWriter } from "./row-binary.js";
import { attributesJson, localParents } from "./span-encoder.js";

const MAX_NANOS = 9_223_372_036_854_775_807n; // DateTime64(9) ends at 2262-04-11

/** Nanoseconds clamped into DateTime64(9), so a hostile timestamp cannot fail a whole batch. */
const clampNanos = (ns: bigint): bigint => (ns <= 0n ? 0n : ns > MAX_NANOS ? MAX_NANOS : ns);

/** attributes Map(String, String) then the Map of non-string types. */
function writeAttributes(w: RowBinaryWriter, attrs: Attr[]): void {
  const n = attrs.length;
  w.varint(n);
  let typed = 0;
  for (let i = 0; i < n; i++) {
    const a = attrs[i];
    w.string(a.key);
    w.string(a.value);
    if (a.type !== "string") typed++;
  }
  w.varint(typed);
  if (typed === 0) return;
  for (let i = 0; i < n; i++) {
    const a = attrs[i];
    if (a.type === "string") continue;
    w.string(a.key);
    w.string(a.type);
  }
}

const resourceCache = new WeakMap<Resource, Buffer>();
const scratch = new RowBinaryWriter(4096);

/** The resource's three columns, encoded once per Resource object (shared by its spans). */
export function resourceBytes(r: Resource): Buffer {
  let cached = resourceCache.get(r);
  if (cached === undefined) {
    scratch.reset();
    writeAttributes(scratch, r.attributes);
    scratch.uint32(r.droppedAttributesCount);
    cached = scratch.toBuffer();
    resourceCache.set(r, cached);
  }
  return cached;
}

const writer = new RowBinaryWriter(1 << 20);

/**
 * Encodes spans of one tenant as RowBinary rows in SPAN_COLUMNS order (the same columns and
 * values as `encodeSpans`, without text escaping). Rows are self-delimiting only to a reader
 * that knows the columns, so a body is always inserted with SPAN_COLUMNS.
 */
export function encodeSpansRowBinary(tenant: string, spans: readonly Span[]): Buffer {
  const w = writer;
  w.reset();
  const local = localParents(spans);
  for (let i = 0; i < spans.length; i++) writeSpanRow(w, tenant, spans[i], local[i]);
  return w.toBuffer();
}

/**
 * The same rows as {@link encodeSpansRowBinary}, with where each row and its trace id start: the
 * shape the protobuf transcoder produces, so both feed the same Kafka message builder.
 */
export function encodeSpanRows(tenant: string, spans: readonly Span[]): SpanRows {
  const w = writer;
  w.reset();
  const rowStarts = new Uint32Array(spans.length + 1);
  const traceAt = new Uint32Array(spans.length);
  const local = localParents(spans);
  spans.forEach((s, i) => {
    rowStarts[i] = w.length;
    writeSpanRow(w, tenant, s, local[i], traceAt, i);
  });
  rowStarts[spans.length] = w.length;
  return { body: w.toBuffer(), count: spans.length, rowStarts, traceAt };
}

/**
 * One span's row (`local` is its local_parent column, see localParents); notes where its trace id's
 * text starts in `traceAt[i]` when given.
 */
function writeSpanRow(
  w: RowBinaryWriter,
  tenant: string,
  s: Span,
  local: number,
  traceAt?: Uint32Array,
  i = 0,
): void {
  w.string(tenant);
  if (traceAt) traceAt[i] = w.length + 1; // after the one-byte length of 32 hex characters
  w.string(s.traceId);
  w.string(s.spanId);
  w.string(s.parentSpanId);
  w.string(s.traceState);
  w.uint32(s.flags);
  w.string(s.name);
  w.uint8(s.kind >= 0 && s.kind <= 5 ? s.kind : 0);
  w.string(s.resource.serviceName);
  w.uint64(clampNanos(s.startTimeUnixNano));
  const duration = s.endTimeUnixNano > s.startTimeUnixNano ? s.endTimeUnixNano - s.startTimeUnixNano : 0n;
  w.uint64(duration > 0xffff_ffff_ffff_ffffn ? 0xffff_ffff_ffff_ffffn : duration);
  w.uint8(s.statusCode >= 0 && s.statusCode <= 2 ? s.statusCode : 0);
  w.string(s.statusMessage);
  writeAttributes(w, s.attributes);
  w.uint32(s.droppedAttributesCount);
  w.raw(resourceBytes(s.resource));
  w.string(s.scope.name);
  w.string(s.scope.version);
  writeEventsAndLinks(w, s);
  w.uint8(local);
}

/** The event and link columns of one span, events.time through dropped_links_count. */
export function writeEventsAndLinks(
  w: RowBinaryWriter,
  s: Pick<Span, "events" | "droppedEventsCount" | "links" | "droppedLinksCount">,
): void {
  const ev = s.events;
  const ne = ev.length;
  w.varint(ne);
  for (let i = 0; i < ne; i++) w.uint64(clampNanos(ev[i].timeUnixNano));
  w.varint(ne);
  for (let i = 0; i < ne; i++) w.string(ev[i].name);
  w.varint(ne);
  for (let i = 0; i < ne; i++) w.string(attributesJson(ev[i].attributes));
  w.varint(ne);
  for (let i = 0; i < ne; i++) w.uint32(ev[i].droppedAttributesCount);
  w.uint32(s.droppedEventsCount);
  const ln = s.links;
  const nl = ln.length;
  w.varint(nl);
  for (let i = 0; i < nl; i++) w.string(ln[i].traceId);
  w.varint(nl);
  for (let i = 0; i < nl; i++) w.string(ln[i].spanId);
  w.varint(nl);
  for (let i = 0; i < nl; i++) w.string(ln[i].traceState);
  w.varint(nl);
  for (let i = 0; i < nl; i++) w.string(attributesJson(ln[i].attributes));
  w.varint(nl);
  for (let i = 0; i < nl; i++) w.uint32(ln[i].droppedAttributesCount);
  w.varint(nl);
  for (let i = 0; i < nl; i++) w.uint32(ln[i].flags);
  w.uint32(s.droppedLinksCount);
}
