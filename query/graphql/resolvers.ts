import type { Principal } from "../../core/auth/authenticator.js";
import { invalidInput } from "../../core/errors.js";
import type { SpanEvent } from "../../core/model/span.js";
import type { OperationInfo, ServiceInfo, SpanReader } from "../span-reader.js";
import type { StoredSpan } from "../span-record.js";
import { type PagedSpan, spanCursor, type TraceRef } from "../trace-reader.js";
import type { AttributeMatch, TraceFilter, TraceSummary } from "../trace-search.js";
import { DateTimeScalar, DurationScalar, SpanIdScalar, TraceIdScalar } from "./scalars.js";

/**
 * Resolvers. Parents are the reader's own values (core Span model, TraceRef, summaries); times
 * stay bigint nanoseconds until the DateTime / Duration scalars print them.
 */

/** Per request. `tenant` comes from the tenant header and scopes every reader call. */
export interface QueryContext {
  tenant: string;
  /** Who is asking (authentication, roles); `tenant` is theirs. */
  principal: Principal;
  reader: SpanReader;
}

type Range = { from?: bigint | null; to?: bigint | null };
type ServiceParent = ServiceInfo & { range: Range };
type Page = { first?: number | null; after?: string | null };

interface TraceFilterInput {
  service?: string | null;
  operation?: string | null;
  kind?: number | null;
  status?: number | null;
  attributes?: AttributeMatch[] | null;
  resourceAttributes?: AttributeMatch[] | null;
  minDuration?: bigint | null;
  maxDuration?: bigint | null;
  from?: bigint | null;
  to?: bigint | null;
}

function toFilter(f: TraceFilterInput | null | undefined): TraceFilter {
  if (!f) return {};
  if (f.minDuration != null && f.maxDuration != null && f.minDuration > f.maxDuration) {
    throw invalidInput("BAD_DURATION_RANGE", "`minDuration` is greater than `maxDuration`");
  }
  return {
    service: f.service,
    operation: f.operation,
    kind: f.kind,
    status: f.status,
    attributes: f.attributes,
    resourceAttributes: f.resourceAttributes,
    minDurationNs: f.minDuration,
    maxDurationNs: f.maxDuration,
    fromNs: f.from,
    toNs: f.to,
  };
}

export const resolvers = {
  DateTime: DateTimeScalar,
  Duration: DurationScalar,
  TraceId: TraceIdScalar,
  SpanId: SpanIdScalar,
  // Internal enum values are the OTLP numbers the core model uses.
  SpanKind: { UNSPECIFIED: 0, INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 },
  StatusCode: { UNSET: 0, OK: 1, ERROR: 2 },

  Query: {
    async services(_: unknown, args: Range, ctx: QueryContext): Promise<ServiceParent[]> {
      const services = await ctx.reader.listServices(ctx.tenant, args.from, args.to);
      return services.map((s) => ({ ...s, range: args }));
    },
    operations(_: unknown, args: Range & { service: string; kind?: number | null }, ctx: QueryContext) {
      return ctx.reader.listOperations(ctx.tenant, args.service, args.kind, args.from, args.to);
    },
    trace(_: unknown, args: { id: string }, ctx: QueryContext): Promise<TraceRef | null> {
      return ctx.reader.lookupTrace(ctx.tenant, args.id);
    },
    async traces(_: unknown, args: Page & { filter?: TraceFilterInput | null }, ctx: QueryContext) {
      const page = await ctx.reader.searchTraces(ctx.tenant, toFilter(args.filter), args);
      const last = page.edges[page.edges.length - 1];
      return {
        edges: page.edges,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: last?.cursor ?? null },
      };
    },
    async traceByAttribute(
      _: unknown,
      args: Range & { key?: string | null; value: string; first?: number | null },
      ctx: QueryContext,
    ): Promise<TraceSummary[]> {
      const ids = await ctx.reader.findTraceIdsByAttribute(
        ctx.tenant,
        args.key ?? null,
        args.value,
        args.from,
        args.to,
        args.first,
      );
      return ctx.reader.summarizeTraces(ctx.tenant, ids);
    },
  },

  Service: {
    spanCount: (s: ServiceParent) => Number(s.spanCount),
    lastSeen: (s: ServiceParent) => s.lastSeenNs,
    operations: (s: ServiceParent, args: { kind?: number | null }, ctx: QueryContext) =>
      ctx.reader.listOperations(ctx.tenant, s.name, args.kind, s.range.from, s.range.to),
  },

  Operation: {
    spanCount: (o: OperationInfo) => Number(o.spanCount),
    lastSeen: (o: OperationInfo) => o.lastSeenNs,
  },

  Trace: {
    startTime: (t: TraceRef) => t.startNs,
    endTime: (t: TraceRef) => t.endNs,
    startTimeUnixNano: (t: TraceRef) => t.startNs.toString(),
    endTimeUnixNano: (t: TraceRef) => t.endNs.toString(),
    duration: (t: TraceRef) => t.endNs - t.startNs,
    spanCount: async (t: TraceRef, _: unknown, ctx: QueryContext) =>
      (await ctx.reader.waterfall(t)).spanIds.length,
    services: async (t: TraceRef, _: unknown, ctx: QueryContext) => (await ctx.reader.waterfall(t)).services,
    rootSpan: (t: TraceRef, _: unknown, ctx: QueryContext) => ctx.reader.rootSpan(t),
    spans: async (t: TraceRef, args: Page, ctx: QueryContext) =>
      (await ctx.reader.tracePage(t, args.first, args.after)).spans,
    async spanPage(t: TraceRef, args: Page, ctx: QueryContext) {
      const page = await ctx.reader.tracePage(t, args.first, args.after);
      const edges = page.spans.map((node: PagedSpan) => ({
        cursor: spanCursor(node.position, node.spanId),
        node,
      }));
      const last = edges[edges.length - 1];
      return {
        edges,
        totalCount: page.totalCount,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: last?.cursor ?? null },
      };
    },
  },

  Span: {
    parentSpanId: (s: StoredSpan) => s.parentSpanId || null,
    serviceName: (s: StoredSpan) => s.resource.serviceName,
    startTime: (s: StoredSpan) => s.startTimeUnixNano,
    endTime: (s: StoredSpan) => s.endTimeUnixNano,
    startTimeUnixNano: (s: StoredSpan) => s.startTimeUnixNano.toString(),
    endTimeUnixNano: (s: StoredSpan) => s.endTimeUnixNano.toString(),
    duration: (s: StoredSpan) => s.endTimeUnixNano - s.startTimeUnixNano,
    depth: (s: StoredSpan) => s.depth ?? 0,
    status: (s: StoredSpan) => ({ code: s.statusCode, message: s.statusMessage }),
  },

  SpanEvent: {
    time: (e: SpanEvent) => e.timeUnixNano,
    timeUnixNano: (e: SpanEvent) => e.timeUnixNano.toString(),
  },

  TraceSummary: {
    rootOperation: (t: TraceSummary) => t.rootSpanName,
    startTime: (t: TraceSummary) => t.startNs,
    endTime: (t: TraceSummary) => t.endNs,
    duration: (t: TraceSummary) => t.endNs - t.startNs,
  },
};
