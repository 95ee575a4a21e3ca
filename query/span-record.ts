import type { Attr, AttrType, Span } from "../core/model/span.js";

/**
 * Reading full span rows back into the core `Span` model, so what the query layer returns is
 * exactly what the OTLP decoders produced (times as bigint nanoseconds, attributes typed).
 */

/** A span as read back, with its depth in the trace's waterfall when read as part of a trace. */
export type StoredSpan = Span & { depth?: number };

export const KIND_NAMES = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"] as const;
export const STATUS_NAMES = ["UNSET", "OK", "ERROR"] as const;

/** Column groups of a span row beyond its core (ids, name, kind, times, status, scope). */
export type SpanColumnGroup = "attributes" | "resource" | "events" | "links";
export const SPAN_COLUMN_GROUPS: readonly SpanColumnGroup[] = ["attributes", "resource", "events", "links"];

const GROUP_SELECT: Record<SpanColumnGroup, [read: string, empty: string]> = {
  attributes: [
    `mapKeys(attributes) AS attr_keys, mapValues(attributes) AS attr_values,
  mapKeys(attribute_types) AS attr_type_keys, mapValues(attribute_types) AS attr_type_values,
  dropped_attributes_count`,
    `CAST([], 'Array(String)') AS attr_keys, CAST([], 'Array(String)') AS attr_values,
  CAST([], 'Array(String)') AS attr_type_keys, CAST([], 'Array(String)') AS attr_type_values,
  dropped_attributes_count`,
  ],
  resource: [
    `mapKeys(resource_attributes) AS res_keys, mapValues(resource_attributes) AS res_values,
  mapKeys(resource_attribute_types) AS res_type_keys, mapValues(resource_attribute_types) AS res_type_values,
  resource_dropped_attributes_count`,
    `CAST([], 'Array(String)') AS res_keys, CAST([], 'Array(String)') AS res_values,
  CAST([], 'Array(String)') AS res_type_keys, CAST([], 'Array(String)') AS res_type_values,
  resource_dropped_attributes_count`,
  ],
  events: [
    `arrayMap(x -> toString(toUnixTimestamp64Nano(x)), events.time) AS event_times,
  events.name AS event_names, events.attributes AS event_attrs,
  events.dropped_attributes_count AS event_dropped, dropped_events_count`,
    `CAST([], 'Array(String)') AS event_times, CAST([], 'Array(String)') AS event_names, CAST([], 'Array(String)') AS event_attrs,
  CAST([], 'Array(UInt32)') AS event_dropped, dropped_events_count`,
  ],
  links: [
    `links.trace_id AS link_trace_ids, links.span_id AS link_span_ids, links.trace_state AS link_states,
  links.attributes AS link_attrs, links.dropped_attributes_count AS link_dropped, links.flags AS link_flags,
  dropped_links_count`,
    `CAST([], 'Array(String)') AS link_trace_ids, CAST([], 'Array(String)') AS link_span_ids, CAST([], 'Array(String)') AS link_states,
  CAST([], 'Array(String)') AS link_attrs, CAST([], 'Array(UInt32)') AS link_dropped, CAST([], 'Array(UInt32)') AS link_flags,
  dropped_links_count`,
  ],
};

/**
 * SELECT list for a span row. Maps are read as key/value arrays: JSON objects would reorder
 * integer-like keys and expose inherited properties ("constructor") to lookups. No alias equals
 * a column name (ClickHouse resolves an alias before the column it shadows). A group left out of
 * `groups` is not read: its fields come back empty (the counts of dropped items are still read,
 * they are cheap), for callers that know nobody asked for them. Every group by default.
 */
export function spanSelect(groups: ReadonlySet<SpanColumnGroup> | undefined = undefined): string {
  return [
    `trace_id, span_id, parent_span_id, trace_state, flags, name, kind, service_name,
  toString(toUnixTimestamp64Nano(start_time)) AS start_ns, toString(duration_ns) AS dur_ns,
  status_code, status_message, scope_name, scope_version`,
    ...SPAN_COLUMN_GROUPS.map((g) => GROUP_SELECT[g][!groups || groups.has(g) ? 0 : 1]),
  ].join(",\n  ");
}

/** Every column of a span. */
export const SPAN_SELECT = spanSelect();

export interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  trace_state: string;
  flags: number | string;
  name: string;
  kind: string;
  service_name: string;
  start_ns: string;
  dur_ns: string;
  status_code: string;
  status_message: string;
  attr_keys: string[];
  attr_values: string[];
  attr_type_keys: string[];
  attr_type_values: string[];
  dropped_attributes_count: number | string;
  res_keys: string[];
  res_values: string[];
  res_type_keys: string[];
  res_type_values: string[];
  resource_dropped_attributes_count: number | string;
  scope_name: string;
  scope_version: string;
  event_times: string[];
  event_names: string[];
  event_attrs: string[];
  event_dropped: Array<number | string>;
  dropped_events_count: number | string;
  link_trace_ids: string[];
  link_span_ids: string[];
  link_states: string[];
  link_attrs: string[];
  link_dropped: Array<number | string>;
  link_flags: Array<number | string>;
  dropped_links_count: number | string;
}

const ATTR_TYPES = new Set<string>(["string", "bool", "int", "double", "bytes", "array", "kvlist", "empty"]);

const asType = (t: unknown): AttrType =>
  typeof t === "string" && ATTR_TYPES.has(t) ? (t as AttrType) : "string";

/** Zips a Map(String,String) read as arrays with its type map; a key absent from the types is a string. */
export function typedAttributes(
  keys: string[],
  values: string[],
  typeKeys: string[],
  typeValues: string[],
): Attr[] {
  const types = new Map<string, string>();
  for (let i = 0; i < typeKeys.length; i++) types.set(typeKeys[i], typeValues[i]);
  return keys.map((key, i) => ({ key, value: values[i], type: asType(types.get(key)) }));
}

/** Event and link attributes are stored as JSON `[[key, type, value], ...]`. */
export function jsonAttributes(text: string): Attr[] {
  if (text === "" || text === "[]") return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: Attr[] = [];
  for (const item of parsed) {
    if (Array.isArray(item) && typeof item[0] === "string") {
      out.push({ key: item[0], type: asType(item[1]), value: typeof item[2] === "string" ? item[2] : "" });
    }
  }
  return out;
}

export function decodeSpan(r: SpanRow): StoredSpan {
  const start = BigInt(r.start_ns);
  const kind = KIND_NAMES.indexOf(r.kind as (typeof KIND_NAMES)[number]);
  const status = STATUS_NAMES.indexOf(r.status_code as (typeof STATUS_NAMES)[number]);
  return {
    traceId: r.trace_id,
    spanId: r.span_id,
    parentSpanId: r.parent_span_id,
    traceState: r.trace_state,
    flags: Number(r.flags),
    name: r.name,
    kind: Math.max(kind, 0),
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(r.dur_ns),
    attributes: typedAttributes(r.attr_keys, r.attr_values, r.attr_type_keys, r.attr_type_values),
    droppedAttributesCount: Number(r.dropped_attributes_count),
    events: r.event_times.map((t, i) => ({
      timeUnixNano: BigInt(t),
      name: r.event_names[i],
      attributes: jsonAttributes(r.event_attrs[i]),
      droppedAttributesCount: Number(r.event_dropped[i]),
    })),
    droppedEventsCount: Number(r.dropped_events_count),
    links: r.link_trace_ids.map((traceId, i) => ({
      traceId,
      spanId: r.link_span_ids[i],
      traceState: r.link_states[i],
      attributes: jsonAttributes(r.link_attrs[i]),
      droppedAttributesCount: Number(r.link_dropped[i]),
      flags: Number(r.link_flags[i]),
    })),
    droppedLinksCount: Number(r.dropped_links_count),
    statusCode: Math.max(status, 0),
    statusMessage: r.status_message,
    resource: {
      serviceName: r.service_name,
      attributes: typedAttributes(r.res_keys, r.res_values, r.res_type_keys, r.res_type_values),
      droppedAttributesCount: Number(r.resource_dropped_attributes_count),
    },
    scope: { name: r.scope_name, version: r.scope_version },
  };
}
