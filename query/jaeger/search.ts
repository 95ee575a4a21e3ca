import type { SpanReader } from "../span-reader.js";
import type { StoredSpan } from "../span-record.js";
import type { SqlRunner } from "../sql.js";
import type { AttributeMatch, TraceFilter } from "../trace-search.js";
import { readTracesBulk } from "./trace-read.js";

/**
 * Jaeger's search semantics on Skald's reader. Jaeger returns whole traces, so a search is the
 * reader's trace search (ids, newest first) followed by a read of every span of each trace.
 */

/** Span kind names as Jaeger's OTLP translator writes the `span.kind` tag (index = OTLP kind). */
export const JAEGER_KIND = ["", "internal", "server", "client", "producer", "consumer"] as const;

/**
 * OpenTelemetry resource attribute namespaces. Jaeger matches a tag against span tags and process
 * tags alike; Skald's filter names the map, so a key in one of these namespaces is looked up in
 * the resource (process) attributes and every other key in the span attributes.
 */
const RESOURCE_PREFIXES = [
  "service.",
  "host.",
  "process.",
  "telemetry.",
  "os.",
  "container.",
  "k8s.",
  "cloud.",
  "deployment.",
  "faas.",
  "device.",
  "webengine.",
];

/**
 * Jaeger tags to a Skald filter. The tags Jaeger's translator synthesises are matched on the
 * columns they come from: `span.kind` → kind, `error=true` and `otel.status_code` → status.
 */
export function tagsToFilter(tags: Map<string, string>, filter: TraceFilter): TraceFilter {
  const attributes: AttributeMatch[] = [];
  const resourceAttributes: AttributeMatch[] = [];
  let { kind, status } = filter;
  for (const [key, value] of tags) {
    const kindIndex = JAEGER_KIND.indexOf(value.toLowerCase() as (typeof JAEGER_KIND)[number]);
    if (key === "span.kind" && kindIndex > 0) kind = kindIndex;
    else if (key === "error" && value === "true") status = 2;
    else if (key === "otel.status_code" && (value === "ERROR" || value === "OK"))
      status = value === "OK" ? 1 : 2;
    else if (RESOURCE_PREFIXES.some((p) => key.startsWith(p))) resourceAttributes.push({ key, value });
    else attributes.push({ key, value });
  }
  return { ...filter, kind, status, attributes, resourceAttributes };
}

/**
 * Every span of a trace, in waterfall order, or null when the tenant has no span of it. Pages
 * through the reader at its maximum page size, so a large trace never makes one huge read.
 */
export async function readWholeTrace(
  reader: SpanReader,
  tenant: string,
  traceId: string,
): Promise<StoredSpan[] | null> {
  const ref = await reader.lookupTrace(tenant, traceId);
  if (!ref) return null;
  const spans: StoredSpan[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await reader.tracePage(ref, null, after);
    spans.push(...page.spans);
    const last = page.spans[page.spans.length - 1];
    if (!page.hasNextPage || !last) break;
    after = last.spanId;
  }
  return spans;
}

/** Spans one bulk read may return; larger sets of traces are paged through the span reader. */
const BULK_SPANS = 10_000;

/**
 * Whole traces for the given ids, in that order; unknown ids are skipped. Small traces are read
 * together (trace-read.ts), large ones page by page, a few at a time.
 */
export async function readTraces(
  reader: SpanReader,
  sql: SqlRunner,
  tenant: string,
  traceIds: string[],
): Promise<StoredSpan[][]> {
  const { traces, large } = await readTracesBulk(sql, tenant, traceIds, BULK_SPANS);
  let next = 0;
  const worker = async () => {
    while (next < large.length) {
      const id = large[next++];
      const spans = await readWholeTrace(reader, tenant, id);
      if (spans) traces.set(id, spans);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, large.length) }, worker));
  return traceIds.flatMap((id) => {
    const spans = traces.get(id);
    return spans && spans.length > 0 ? [spans] : [];
  });
}

/** Trace ids matching a filter, newest first, at most `limit`. */
export async function searchTraceIds(
  reader: SpanReader,
  tenant: string,
  filter: TraceFilter,
  limit: number,
): Promise<string[]> {
  const page = await reader.searchTraces(tenant, filter, { first: limit });
  return page.edges.map((e) => e.node.traceId);
}
