import type { Attr } from "../../core/model/span.js";
import type { StoredSpan } from "../span-record.js";

/**
 * Skald spans → OTLP/JSON `TracesData` (the protobuf JSON mapping the OTLP spec fixes: hex ids,
 * 64-bit integers and nanosecond times as decimal strings, enums as numbers, bytes as base64),
 * which Jaeger's api/v3 returns. Spans are grouped by resource, then by scope, in first-seen order.
 */

export type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number | string }
  | { bytesValue: string }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } }
  | Record<string, never>;

export interface KeyValue {
  key: string;
  value: AnyValue;
}

/** A value parsed from the JSON text arrays and maps are stored as. */
function fromJson(v: unknown): AnyValue {
  if (v === null || v === undefined) return {};
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "number") return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(fromJson) } };
  if (typeof v === "object") {
    return { kvlistValue: { values: Object.entries(v).map(([key, x]) => ({ key, value: fromJson(x) })) } };
  }
  return { stringValue: String(v) };
}

export function toAnyValue(a: Attr): AnyValue {
  switch (a.type) {
    case "bool":
      return { boolValue: a.value === "true" };
    case "int":
      return { intValue: a.value };
    case "double": {
      const n = Number(a.value);
      // Protobuf JSON spells non-finite doubles as the strings "NaN", "Infinity", "-Infinity".
      return { doubleValue: Number.isFinite(n) ? n : a.value };
    }
    case "bytes":
      return { bytesValue: a.value };
    case "empty":
      return {};
    case "array":
    case "kvlist":
      try {
        return fromJson(JSON.parse(a.value));
      } catch {
        return { stringValue: a.value };
      }
    default:
      return { stringValue: a.value };
  }
}

const keyValues = (attrs: readonly Attr[]): KeyValue[] =>
  attrs.map((a) => ({ key: a.key, value: toAnyValue(a) }));

/** Leaves out zero counts and empty strings, as protobuf JSON leaves out default values. */
function withCount<T extends object>(obj: T, field: string, n: number): T {
  return n > 0 ? { ...obj, [field]: n } : obj;
}

function toOtlpSpan(s: StoredSpan): Record<string, unknown> {
  const span: Record<string, unknown> = { traceId: s.traceId, spanId: s.spanId };
  if (s.traceState) span.traceState = s.traceState;
  if (s.parentSpanId) span.parentSpanId = s.parentSpanId;
  if (s.flags) span.flags = s.flags;
  span.name = s.name;
  span.kind = s.kind;
  span.startTimeUnixNano = s.startTimeUnixNano.toString();
  span.endTimeUnixNano = s.endTimeUnixNano.toString();
  span.attributes = keyValues(s.attributes);
  if (s.droppedAttributesCount) span.droppedAttributesCount = s.droppedAttributesCount;
  span.events = s.events.map((e) =>
    withCount(
      { timeUnixNano: e.timeUnixNano.toString(), name: e.name, attributes: keyValues(e.attributes) },
      "droppedAttributesCount",
      e.droppedAttributesCount,
    ),
  );
  if (s.droppedEventsCount) span.droppedEventsCount = s.droppedEventsCount;
  span.links = s.links.map((l) => {
    const link: Record<string, unknown> = { traceId: l.traceId, spanId: l.spanId };
    if (l.traceState) link.traceState = l.traceState;
    link.attributes = keyValues(l.attributes);
    if (l.droppedAttributesCount) link.droppedAttributesCount = l.droppedAttributesCount;
    if (l.flags) link.flags = l.flags;
    return link;
  });
  if (s.droppedLinksCount) span.droppedLinksCount = s.droppedLinksCount;
  const status: Record<string, unknown> = {};
  if (s.statusMessage) status.message = s.statusMessage;
  if (s.statusCode) status.code = s.statusCode;
  span.status = status;
  return span;
}

/** `TracesData.resourceSpans` for the given spans (one or many traces). */
export function toResourceSpans(spans: Iterable<StoredSpan>): Array<Record<string, unknown>> {
  const resources = new Map<
    string,
    { resource: Record<string, unknown>; scopes: Map<string, StoredSpan[]> }
  >();
  for (const s of spans) {
    const rkey = JSON.stringify([
      s.resource.serviceName,
      s.resource.attributes,
      s.resource.droppedAttributesCount,
    ]);
    let r = resources.get(rkey);
    if (!r) {
      const attrs = s.resource.attributes.some((a) => a.key === "service.name")
        ? s.resource.attributes
        : [
            { key: "service.name", value: s.resource.serviceName, type: "string" as const },
            ...s.resource.attributes,
          ];
      r = {
        resource: withCount(
          { attributes: keyValues(attrs) },
          "droppedAttributesCount",
          s.resource.droppedAttributesCount,
        ),
        scopes: new Map(),
      };
      resources.set(rkey, r);
    }
    const skey = JSON.stringify([s.scope.name, s.scope.version]);
    const list = r.scopes.get(skey) ?? [];
    list.push(s);
    r.scopes.set(skey, list);
  }
  return [...resources.values()].map((r) => ({
    resource: r.resource,
    scopeSpans: [...r.scopes.values()].map((list) => ({
      scope: { name: list[0].scope.name, version: list[0].scope.version },
      spans: list.map(toOtlpSpan),
    })),
  }));
}
