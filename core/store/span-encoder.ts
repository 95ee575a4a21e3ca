import type { Attr, Resource, Span } from "../model/span.js";
import { tsvNanos, tsvQuoted, tsvString } from "./tsv.js";

/** Columns of `spans` in the order `encodeSpans` writes them. */
export const SPAN_COLUMNS = [
  "tenant",
  "trace_id",
  "span_id",
  "parent_span_id",
  "trace_state",
  "flags",
  "name",
  "kind",
  "service_name",
  "start_time",
  "duration_ns",
  "status_code",
  "status_message",
  "attributes",
  "attribute_types",
  "dropped_attributes_count",
  "resource_attributes",
  "resource_attribute_types",
  "resource_dropped_attributes_count",
  "scope_name",
  "scope_version",
  "events.time",
  "events.name",
  "events.attributes",
  "events.dropped_attributes_count",
  "dropped_events_count",
  "links.trace_id",
  "links.span_id",
  "links.trace_state",
  "links.attributes",
  "links.dropped_attributes_count",
  "links.flags",
  "dropped_links_count",
  "local_parent",
] as const;

/**
 * The `local_parent` column of each span (migrations/0018): 1 when its parent span came in the same
 * ResourceSpans of the request (the same Resource object here: so the same service), else 0. Such a
 * span is never the child of a call between services, and the service-map job need not look for its
 * parent. 0 is always safe (the job then looks); the protobuf transcoder computes the same values.
 */
export function localParents(spans: readonly Span[]): Uint8Array {
  const out = new Uint8Array(spans.length);
  const byResource = new Map<Resource, Set<string>>();
  for (const s of spans) {
    let ids = byResource.get(s.resource);
    if (ids === undefined) {
      ids = new Set();
      byResource.set(s.resource, ids);
    }
    ids.add(s.traceId + s.spanId);
  }
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    if (s.parentSpanId !== "" && byResource.get(s.resource)?.has(s.traceId + s.parentSpanId)) out[i] = 1;
  }
  return out;
}

const KINDS = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];
const STATUSES = ["UNSET", "OK", "ERROR"];

/** Map(String,String) of values and Map(String,String) of non-string types, tab-joined. */
function attributeColumns(attrs: Attr[]): string {
  if (attrs.length === 0) return "{}\t{}";
  let values = "{";
  let types = "{";
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i];
    const key = tsvQuoted(a.key);
    if (i > 0) values += ",";
    values += `${key}:${tsvQuoted(a.value)}`;
    if (a.type !== "string") types += `${types.length > 1 ? "," : ""}${key}:'${a.type}'`;
  }
  return `${values}}\t${types}}`;
}

/** Event and link attributes: a JSON array of [key, type, value], read back whole. */
export function attributesJson(attrs: Attr[]): string {
  if (attrs.length === 0) return "[]";
  return JSON.stringify(attrs.map((a) => [a.key, a.type, a.value]));
}

const resourceCache = new WeakMap<Resource, string>();

/** The resource's three columns; computed once per Resource object (shared by its spans). */
function resourceColumns(r: Resource): string {
  let cached = resourceCache.get(r);
  if (cached === undefined) {
    cached = `${attributeColumns(r.attributes)}\t${r.droppedAttributesCount}`;
    resourceCache.set(r, cached);
  }
  return cached;
}

/**
 * Encodes spans of one tenant as TabSeparated rows in SPAN_COLUMNS order. This runs once per
 * accepted request, on the receiving path, so the batcher only concatenates buffers.
 */
export function encodeSpans(tenant: string, spans: readonly Span[]): Buffer {
  const t = tsvString(tenant);
  const local = localParents(spans);
  let out = "";
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    const duration = s.endTimeUnixNano > s.startTimeUnixNano ? s.endTimeUnixNano - s.startTimeUnixNano : 0n;
    out += `${t}\t${s.traceId}\t${s.spanId}\t${s.parentSpanId}\t${tsvString(s.traceState)}\t${s.flags}\t`;
    out += `${tsvString(s.name)}\t${KINDS[s.kind] ?? "UNSPECIFIED"}\t${tsvString(s.resource.serviceName)}\t`;
    out += `${tsvNanos(s.startTimeUnixNano)}\t${duration}\t${STATUSES[s.statusCode] ?? "UNSET"}\t`;
    out += `${tsvString(s.statusMessage)}\t${attributeColumns(s.attributes)}\t${s.droppedAttributesCount}\t`;
    out += `${resourceColumns(s.resource)}\t${tsvString(s.scope.name)}\t${tsvString(s.scope.version)}\t`;
    if (s.events.length === 0) out += "[]\t[]\t[]\t[]\t";
    else {
      const ev = s.events;
      out += `[${ev.map((e) => `'${tsvNanos(e.timeUnixNano)}'`).join(",")}]\t`;
      out += `[${ev.map((e) => tsvQuoted(e.name)).join(",")}]\t`;
      out += `[${ev.map((e) => tsvQuoted(attributesJson(e.attributes))).join(",")}]\t`;
      out += `[${ev.map((e) => e.droppedAttributesCount).join(",")}]\t`;
    }
    out += `${s.droppedEventsCount}\t`;
    if (s.links.length === 0) out += "[]\t[]\t[]\t[]\t[]\t[]\t";
    else {
      const ln = s.links;
      out += `[${ln.map((l) => `'${l.traceId}'`).join(",")}]\t[${ln.map((l) => `'${l.spanId}'`).join(",")}]\t`;
      out += `[${ln.map((l) => tsvQuoted(l.traceState)).join(",")}]\t`;
      out += `[${ln.map((l) => tsvQuoted(attributesJson(l.attributes))).join(",")}]\t`;
      out += `[${ln.map((l) => l.droppedAttributesCount).join(",")}]\t[${ln.map((l) => l.flags).join(",")}]\t`;
    }
    out += `${s.droppedLinksCount}\t${local[i]}\n`;
  }
  return Buffer.from(out, "utf8");
}
