import type { GraphQLResolveInfo } from "graphql";
import type { Principal } from "../../core/auth/authenticator.js";
import { invalidInput } from "../../core/errors.js";
import type { SpanEvent } from "../../core/model/span.js";
import type { OperationInfo, ServiceInfo, SpanReader } from "../span-reader.js";
import type { StoredSpan } from "../span-record.js";
import { type PagedSpan, spanCursor, type TraceRef } from "../trace-reader.js";
import type { AttributeMatch, TraceFilter, TraceSummary } from "../trace-search.js";
import type { Waterfall } from "../waterfall.js";
import { DateTimeScalar, DurationScalar, SpanIdScalar, TraceIdScalar } from "./scalars.js";
import { spanColumnsOf } from "./span-columns.js";

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
  environment?: string | null;
  minDuration?: bigint | null;
  maxDuration?: bigint | null;
  from?: bigint | null;
  to?: bigint | null;
}

type SpanPageArgs = Page & { offset?: number | null };

/**
 * The `after` a page starting at waterfall position `offset` needs: the cursor of the span just
 * before it (none for 0; the last span for an offset past the end, giving an empty page). The
 * waterfall is the one the page read uses (cached), so the jump costs no extra query.
 */
async function afterFor(
  t: TraceRef,
  args: SpanPageArgs,
  ctx: QueryContext,
): Promise<string | null | undefined> {
  if (args.offset == null) return args.after;
  if (args.after != null) throw invalidInput("BAD_PAGE_OFFSET", "give `after` or `offset`, not both");
  if (!Number.isInteger(args.offset) || args.offset < 0) {
    throw invalidInput("BAD_PAGE_OFFSET", "`offset` must be 0 or more");
  }
  if (args.offset === 0) return null;
  const w = await ctx.reader.waterfall(t);
  const before = Math.min(args.offset, w.spanIds.length) - 1;
  return before < 0 ? null : spanCursor(before, w.spanIds[before]);
}

/** Per waterfall: how many spans follow each position inside its subtree (one pass, cached). */
const subtreeSizes = new WeakMap<Waterfall, Int32Array>();

function descendantsOf(w: Waterfall): Int32Array {
  let out = subtreeSizes.get(w);
  if (out) return out;
  const n = w.spanIds.length;
  out = new Int32Array(n);
  const open: number[] = [];
  for (let i = 0; i <= n; i++) {
    const depth = i < n ? w.depths[i] : -1;
    while (open.length && w.depths[open[open.length - 1]] >= depth) {
      const j = open.pop() as number;
      out[j] = i - j - 1;
    }
    open.push(i);
  }
  subtreeSizes.set(w, out);
  return out;
}

async function withDescendants(
  t: TraceRef,
  ctx: QueryContext,
  spans: PagedSpan[],
): Promise<Array<PagedSpan & { descendants: number }>> {
  if (spans.length === 0) return [];
  const d = descendantsOf(await ctx.reader.waterfall(t));
  return spans.map((s) => ({ ...s, descendants: d[s.position] ?? 0 }));
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
    environment: f.environment,
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
    async services(
      _: unknown,
      args: Range & { environment?: string | null },
      ctx: QueryContext,
    ): Promise<ServiceParent[]> {
      const services =
        args.environment != null
          ? await ctx.reader.listEnvironmentServices(ctx.tenant, args.environment, args.from, args.to)
          : await ctx.reader.listServices(ctx.tenant, args.from, args.to);
      return services.map((s) => ({ ...s, range: args }));
    },
    environments(_: unknown, args: Range, ctx: QueryContext): Promise<string[]> {
      return ctx.reader.listEnvironments(ctx.tenant, args.from, args.to);
    },
    operations(_: unknown, args: Range & { service: string; kind?: number | null }, ctx: QueryContext) {
      return ctx.reader.listOperations(ctx.tenant, args.service, args.kind, args.from, args.to);
    },
    async trace(
      _: unknown,
      args: { id: string },
      ctx: QueryContext,
      info: GraphQLResolveInfo,
    ): Promise<TraceRef | null> {
      // read only the span columns the selection can show
      return ctx.reader.lookupTrace(ctx.tenant, args.id, spanColumnsOf(info));
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
    spans: async (t: TraceRef, args: SpanPageArgs, ctx: QueryContext) =>
      withDescendants(
        t,
        ctx,
        (await ctx.reader.tracePage(t, args.first, await afterFor(t, args, ctx))).spans,
      ),
    async rootSpan(t: TraceRef, _: unknown, ctx: QueryContext) {
      const root = await ctx.reader.rootSpan(t);
      return root ? (await withDescendants(t, ctx, [root]))[0] : null;
    },
    async spanPage(t: TraceRef, args: SpanPageArgs, ctx: QueryContext) {
      const page = await ctx.reader.tracePage(t, args.first, await afterFor(t, args, ctx));
      const spans = await withDescendants(t, ctx, page.spans);
      const edges = spans.map((node: PagedSpan) => ({
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
    async spanPosition(t: TraceRef, args: { spanId: string }, ctx: QueryContext) {
      return (await ctx.reader.waterfall(t)).position.get(args.spanId) ?? null;
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
    descendantCount: (s: { descendants?: number }) => s.descendants ?? null,
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
