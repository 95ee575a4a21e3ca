import type { Attr, AttrType, Span } from "../core/model/span.js";

/**
 * Reading full span rows back into the core `Span` model, so what the query layer returns is
 * exactly what the OTLP decoders produced (times as bigint nanoseconds, attributes typed).
 */

/** A span as read back, with its depth in the trace's waterfall when read as part of a trace. */
export type StoredSpan = Span & { depth?: number };

export const KIND_NAMES = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"] as const;
export const STATUS_NAMES = ["UNSET", "OK", "ERROR"] as const;

/**
 * Column groups of a span row beyond its core (span and parent ids, name, kind, service, times).
 * `state` is the trace state and flags; each group's count of dropped items comes with it.
 */
export type SpanColumnGroup = "attributes" | "resource" | "events" | "links" | "status" | "scope" | "state";
export const SPAN_COLUMN_GROUPS: readonly SpanColumnGroup[] = [
  "attributes",
  "resource",
  "events",
  "links",
  "status",
  "scope",
  "state",
];

const GROUP_SELECT: Record<SpanColumnGroup, string> = {
  attributes: `mapKeys(attributes) AS attr_keys, mapValues(attributes) AS attr_values,
  mapKeys(attribute_types) AS attr_type_keys, mapValues(attribute_types) AS attr_type_values,
  dropped_attributes_count`,
  resource: `mapKeys(resource_attributes) AS res_keys, mapValues(resource_attributes) AS res_values,
  mapKeys(resource_attribute_types) AS res_type_keys, mapValues(resource_attribute_types) AS res_type_values,
  resource_dropped_attributes_count`,
  events: `arrayMap(x -> toString(toUnixTimestamp64Nano(x)), events.time) AS event_times,
  events.name AS event_names, events.attributes AS event_attrs,
  events.dropped_attributes_count AS event_dropped, dropped_events_count`,
  links: `links.trace_id AS link_trace_ids, links.span_id AS link_span_ids, links.trace_state AS link_states,
  links.attributes AS link_attrs, links.dropped_attributes_count AS link_dropped, links.flags AS link_flags,
  dropped_links_count`,
  status: "status_code, status_message",
  scope: "scope_name, scope_version",
  state: "trace_state, flags",
};

/**
 * SELECT list for a span row. Maps are read as key/value arrays: JSON objects would reorder
 * integer-like keys and expose inherited properties ("constructor") to lookups. No alias equals
 * a column name (ClickHouse resolves an alias before the column it shadows).
 *
 * Without `groups`, every column. With `groups` (a trace read, from its GraphQL selection), the
 * core and those groups only, and not `trace_id`: the caller knows the trace, and decodeSpan
 * takes its id. What is left out is neither read nor planned; decodeSpan fills it with empty
 * values. Every column in the list costs a trace read time, whether or not anyone looks at it: on
 * bench:query's store, the core and attributes read in 29 ms at p50, against 36 ms with every core
 * column.
 */
export function spanSelect(groups: ReadonlySet<SpanColumnGroup> | undefined = undefined): string {
  return [
    ...(groups ? [] : ["trace_id"]),
    `span_id, parent_span_id, name, kind, service_name,
  toString(toUnixTimestamp64Nano(start_time)) AS start_ns, toString(duration_ns) AS dur_ns`,
    ...SPAN_COLUMN_GROUPS.filter((g) => !groups || groups.has(g)).map((g) => GROUP_SELECT[g]),
  ].join(",\n  ");
}

/** Every column of a span. */
export const SPAN_SELECT = spanSelect();

/** A span row as read; the fields of a group not read are absent. */
export interface SpanRow {
  trace_id?: string;
  span_id: string;
  parent_span_id: string;
  trace_state?: string;
  flags?: number | string;
  name: string;
  kind: string;
  service_name: string;
  start_ns: string;
  dur_ns: string;
  status_code?: string;
  status_message?: string;
  attr_keys?: string[];
  attr_values?: string[];
  attr_type_keys?: string[];
  attr_type_values?: string[];
  dropped_attributes_count?: number | string;
  res_keys?: string[];
  res_values?: string[];
  res_type_keys?: string[];
  res_type_values?: string[];
  resource_dropped_attributes_count?: number | string;
  scope_name?: string;
  scope_version?: string;
  event_times?: string[];
  event_names?: string[];
  event_attrs?: string[];
  event_dropped?: Array<number | string>;
  dropped_events_count?: number | string;
  link_trace_ids?: string[];
  link_span_ids?: string[];
  link_states?: string[];
  link_attrs?: string[];
  link_dropped?: Array<number | string>;
  link_flags?: Array<number | string>;
  dropped_links_count?: number | string;
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

const NONE: never[] = [];

/**
 * The span of a row. `traceId` stands in for a row read without `trace_id` (a trace read, which
 * knows its id); fields of a group the row was read without come back empty.
 */
export function decodeSpan(r: SpanRow, traceId = ""): StoredSpan {
  const start = BigInt(r.start_ns);
  const kind = KIND_NAMES.indexOf(r.kind as (typeof KIND_NAMES)[number]);
  const status = STATUS_NAMES.indexOf(r.status_code as (typeof STATUS_NAMES)[number]);
  const eventNames = r.event_names ?? NONE;
  const eventAttrs = r.event_attrs ?? NONE;
  const eventDropped = r.event_dropped ?? NONE;
  const linkSpans = r.link_span_ids ?? NONE;
  const linkStates = r.link_states ?? NONE;
  const linkAttrs = r.link_attrs ?? NONE;
  const linkDropped = r.link_dropped ?? NONE;
  const linkFlags = r.link_flags ?? NONE;
  return {
    traceId: r.trace_id ?? traceId,
    spanId: r.span_id,
    parentSpanId: r.parent_span_id,
    traceState: r.trace_state ?? "",
    flags: Number(r.flags ?? 0),
    name: r.name,
    kind: Math.max(kind, 0),
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(r.dur_ns),
    attributes: typedAttributes(
      r.attr_keys ?? NONE,
      r.attr_values ?? NONE,
      r.attr_type_keys ?? NONE,
      r.attr_type_values ?? NONE,
    ),
    droppedAttributesCount: Number(r.dropped_attributes_count ?? 0),
    events: (r.event_times ?? NONE).map((t, i) => ({
      timeUnixNano: BigInt(t),
      name: eventNames[i],
      attributes: jsonAttributes(eventAttrs[i]),
      droppedAttributesCount: Number(eventDropped[i]),
    })),
    droppedEventsCount: Number(r.dropped_events_count ?? 0),
    links: (r.link_trace_ids ?? NONE).map((linkTrace, i) => ({
      traceId: linkTrace,
      spanId: linkSpans[i],
      traceState: linkStates[i],
      attributes: jsonAttributes(linkAttrs[i]),
      droppedAttributesCount: Number(linkDropped[i]),
      flags: Number(linkFlags[i]),
    })),
    droppedLinksCount: Number(r.dropped_links_count ?? 0),
    statusCode: Math.max(status, 0),
    statusMessage: r.status_message ?? "",
    resource: {
      serviceName: r.service_name,
      attributes: typedAttributes(
        r.res_keys ?? NONE,
        r.res_values ?? NONE,
        r.res_type_keys ?? NONE,
        r.res_type_values ?? NONE,
      ),
      droppedAttributesCount: Number(r.resource_dropped_attributes_count ?? 0),
    },
    scope: { name: r.scope_name ?? "", version: r.scope_version ?? "" },
  };
}
