import type { Attr } from "../../core/model/span.js";
import type { StoredSpan } from "../span-record.js";
import { JAEGER_KIND } from "./search.js";

/**
 * Skald spans → Jaeger's UI JSON model (jaeger `model/json`, served by /api/traces), following
 * what Jaeger's own OTLP translator (opentelemetry-collector-contrib pkg/translator/jaeger) makes
 * of an OTLP span, so a trace looks the same whether Jaeger or Skald stored it:
 *  - parent → CHILD_OF reference (first), links → FOLLOWS_FROM references;
 *  - attributes → typed tags; int → int64, double → float64, bytes → binary (base64 text, as Go
 *    marshals []byte), arrays and maps → their JSON text as a string tag;
 *  - kind → `span.kind`, status → `otel.status_code` (+ `error=true` on ERROR) and
 *    `otel.status_description`, scope → `otel.scope.name` / `otel.scope.version`, trace state →
 *    `w3c.tracestate`;
 *  - events → logs (µs timestamp, `event` field holding the name, then the attributes);
 *  - resource → process (`serviceName`, other resource attributes as tags), deduplicated into
 *    the trace's `processes` map under ids p1, p2, … in order of first use.
 * Times are microseconds since the epoch, truncated as Go's time → µs conversion does.
 */

export type JaegerTagType = "string" | "bool" | "int64" | "float64" | "binary";

export interface JaegerKeyValue {
  key: string;
  type: JaegerTagType;
  value: string | number | boolean;
}

export interface JaegerReference {
  refType: "CHILD_OF" | "FOLLOWS_FROM";
  traceID: string;
  spanID: string;
}

export interface JaegerLog {
  timestamp: number;
  fields: JaegerKeyValue[];
}

export interface JaegerProcess {
  serviceName: string;
  tags: JaegerKeyValue[];
}

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: JaegerReference[];
  startTime: number;
  duration: number;
  tags: JaegerKeyValue[];
  logs: JaegerLog[];
  processID: string;
  warnings: string[] | null;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, JaegerProcess>;
  warnings: string[] | null;
}

const STATUS = ["", "OK", "ERROR"] as const;

/** Nanoseconds → whole microseconds (JS number: exact up to year 2255). */
export const micros = (ns: bigint): number => Number(ns / 1000n);

/** One attribute as a typed Jaeger tag. */
export function toTag(a: Attr): JaegerKeyValue {
  switch (a.type) {
    case "bool":
      return { key: a.key, type: "bool", value: a.value === "true" };
    case "int": {
      const n = Number(a.value);
      // An int64 beyond 2^53 would lose digits as a JSON number in JavaScript clients: keep its text.
      return Number.isSafeInteger(n)
        ? { key: a.key, type: "int64", value: n }
        : { key: a.key, type: "string", value: a.value };
    }
    case "double": {
      const n = Number(a.value);
      // NaN and ±Infinity are stored spelled out and have no JSON number form.
      return Number.isFinite(n)
        ? { key: a.key, type: "float64", value: n }
        : { key: a.key, type: "string", value: a.value };
    }
    case "bytes":
      return { key: a.key, type: "binary", value: a.value };
    default:
      return { key: a.key, type: "string", value: a.value };
  }
}

const str = (key: string, value: string): JaegerKeyValue => ({ key, type: "string", value });

function spanTags(s: StoredSpan): JaegerKeyValue[] {
  const tags = s.attributes.map(toTag);
  if (s.scope.name) tags.push(str("otel.scope.name", s.scope.name));
  if (s.scope.version) tags.push(str("otel.scope.version", s.scope.version));
  const kind = JAEGER_KIND[s.kind] ?? "";
  if (kind) tags.push(str("span.kind", kind));
  const status = STATUS[s.statusCode] ?? "";
  if (status) tags.push(str("otel.status_code", status));
  if (s.statusCode === 2) tags.push({ key: "error", type: "bool", value: true });
  if (s.statusMessage) tags.push(str("otel.status_description", s.statusMessage));
  if (s.traceState) tags.push(str("w3c.tracestate", s.traceState));
  return tags;
}

function references(s: StoredSpan): JaegerReference[] {
  const refs: JaegerReference[] = [];
  if (s.parentSpanId) refs.push({ refType: "CHILD_OF", traceID: s.traceId, spanID: s.parentSpanId });
  for (const l of s.links) refs.push({ refType: "FOLLOWS_FROM", traceID: l.traceId, spanID: l.spanId });
  return refs;
}

function logs(s: StoredSpan): JaegerLog[] {
  return s.events.map((e) => {
    const fields = e.attributes.map(toTag);
    if (e.name && !e.attributes.some((a) => a.key === "event")) fields.unshift(str("event", e.name));
    return { timestamp: micros(e.timeUnixNano), fields };
  });
}

/** The process of a span: service name and every other resource attribute as a tag. */
export function toProcess(s: StoredSpan): JaegerProcess {
  return {
    serviceName: s.resource.serviceName,
    tags: s.resource.attributes.filter((a) => a.key !== "service.name").map(toTag),
  };
}

/** One trace (its spans in the order given) in Jaeger's model. */
export function toJaegerTrace(traceId: string, spans: readonly StoredSpan[]): JaegerTrace {
  const processes: Record<string, JaegerProcess> = {};
  const processIds = new Map<string, string>();
  const out: JaegerSpan[] = spans.map((s) => {
    const process = toProcess(s);
    const key = JSON.stringify(process);
    let processID = processIds.get(key);
    if (processID === undefined) {
      processID = `p${processIds.size + 1}`;
      processIds.set(key, processID);
      processes[processID] = process;
    }
    return {
      traceID: s.traceId,
      spanID: s.spanId,
      operationName: s.name,
      references: references(s),
      startTime: micros(s.startTimeUnixNano),
      duration: micros(s.endTimeUnixNano - s.startTimeUnixNano),
      tags: spanTags(s),
      logs: logs(s),
      processID,
      warnings: null,
    };
  });
  return { traceID: traceId, spans: out, processes, warnings: null };
}
