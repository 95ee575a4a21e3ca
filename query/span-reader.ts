import type { QueryConfig } from "../core/config/schema.js";
import { invalidInput } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { Store } from "../core/store/store.js";
import { listEnvironments, servicesInEnvironment } from "./environment.js";
import { parseTraceId } from "./ids.js";
import { KIND_NAMES, type SpanColumnGroup } from "./span-record.js";
import { createSqlRunner, Params, type QueryLimits, type QueryObserver, type SqlRunner } from "./sql.js";
import { HOUR_NS, nowNanos } from "./time.js";
import { type PagedSpan, type SpanPage, TraceReader, type TraceRef } from "./trace-reader.js";
import { type TraceFilter, TraceSearch, type TraceSearchPage, type TraceSummary } from "./trace-search.js";
import type { Waterfall } from "./waterfall.js";

/**
 * Read side of the span store. Every method takes the tenant first and every statement it runs
 * is restricted to that tenant; user input is only ever bound as a query parameter.
 */

export interface ServiceInfo {
  name: string;
  /** Spans recorded in the days of the window (a decimal string: sums exceed 2^53 in time). */
  spanCount: string;
  lastSeenNs: bigint;
}

export interface OperationInfo {
  serviceName: string;
  name: string;
  /** 0..5 as in core/model/span.ts SpanKind. */
  kind: number;
  spanCount: string;
  lastSeenNs: bigint;
}

/** A time window; either end may be open. Catalog lookups resolve it to whole days. */
export interface TimeRange {
  fromNs?: bigint | null;
  toNs?: bigint | null;
}

/** A trace with one page of its spans, as `getTrace` returns it. */
export interface TraceWithSpans {
  traceId: string;
  startNs: bigint;
  endNs: bigint;
  spanCount: number;
  services: string[];
  rootSpanId: string | null;
  page: SpanPage;
}

export interface SpanReaderOptions {
  logger?: Logger;
  observe?: QueryObserver;
  limits?: QueryLimits;
}

export class SpanReader {
  readonly traces: TraceReader;
  readonly search: TraceSearch;
  private readonly sql: SqlRunner;

  constructor(store: Store, config: QueryConfig, options: SpanReaderOptions = {}) {
    this.sql = createSqlRunner(store, options.logger, options.observe, options.limits);
    this.traces = new TraceReader(this.sql, { maxPage: config.maxTracePage });
    this.search = new TraceSearch(this.sql, config.maxSearchLimit);
  }

  /**
   * Services seen in the window, from the `operations` rollup (never `spans`). Without a range,
   * every retained day counts. Granularity is the day: a window touching a day includes it.
   */
  async listServices(tenant: string, fromNs?: bigint | null, toNs?: bigint | null): Promise<ServiceInfo[]> {
    const p = new Params();
    const rows = await this.sql.rows<{ service_name: string; spans: string; last_ns: string }>(
      "list_services",
      `SELECT service_name, toString(sum(span_count)) AS spans,
              toString(toUnixTimestamp64Nano(max(last_seen))) AS last_ns
       FROM ${this.sql.table("operations")}
       WHERE ${catalogScope(tenant, { fromNs, toNs }, p).join(" AND ")}
       GROUP BY service_name ORDER BY service_name`,
      p,
    );
    return rows.map((r) => ({ name: r.service_name, spanCount: r.spans, lastSeenNs: BigInt(r.last_ns) }));
  }

  /**
   * Environments (`deployment.environment[.name]`) of spans in the window, sorted. They are not in
   * a rollup, so this reads spans: an open end defaults to now / one day before `to`.
   */
  listEnvironments(tenant: string, fromNs?: bigint | null, toNs?: bigint | null): Promise<string[]> {
    return listEnvironments(this.sql, tenant, spanWindow(fromNs, toNs));
  }

  /** Services with spans of one environment in the window (exact times, from spans; see above). */
  listEnvironmentServices(
    tenant: string,
    environment: string,
    fromNs?: bigint | null,
    toNs?: bigint | null,
  ): Promise<ServiceInfo[]> {
    return servicesInEnvironment(this.sql, tenant, environment, spanWindow(fromNs, toNs));
  }

  /** Operations (span name and kind) of one service, from the `operations` rollup. */
  async listOperations(
    tenant: string,
    service: string,
    kind?: number | null,
    fromNs?: bigint | null,
    toNs?: bigint | null,
  ): Promise<OperationInfo[]> {
    const p = new Params();
    const where = catalogScope(tenant, { fromNs, toNs }, p);
    where.push(`service_name = ${p.bind("String", service)}`);
    if (kind != null) {
      const name = KIND_NAMES[kind];
      if (name === undefined) throw invalidInput("BAD_ENUM", `unknown span kind ${kind}`);
      where.push(`kind = ${p.bind("String", name)}`);
    }
    const rows = await this.sql.rows<{ name: string; kind: string; spans: string; last_ns: string }>(
      "list_operations",
      `SELECT name, kind, toString(sum(span_count)) AS spans,
              toString(toUnixTimestamp64Nano(max(last_seen))) AS last_ns
       FROM ${this.sql.table("operations")}
       WHERE ${where.join(" AND ")}
       GROUP BY name, kind ORDER BY name, kind`,
      p,
    );
    return rows.map((r) => ({
      serviceName: service,
      name: r.name,
      kind: Math.max(0, KIND_NAMES.indexOf(r.kind as (typeof KIND_NAMES)[number])),
      spanCount: r.spans,
      lastSeenNs: BigInt(r.last_ns),
    }));
  }

  /** See TraceSearch.search: one page of trace summaries matching `filter`, newest first. */
  searchTraces(
    tenant: string,
    filter: TraceFilter,
    page: { first?: number | null; after?: string | null } = {},
  ): Promise<TraceSearchPage> {
    return this.search.search(tenant, filter, page);
  }

  /** See TraceSearch.findTraceIdsByAttribute. `limit`: default 20, at most maxSearchLimit. */
  findTraceIdsByAttribute(
    tenant: string,
    key: string | null,
    value: string,
    fromNs?: bigint | null,
    toNs?: bigint | null,
    limit?: number | null,
  ): Promise<string[]> {
    return this.search.findTraceIdsByAttribute(tenant, key, value, { fromNs, toNs, limit });
  }

  /** Summaries of the given traces, in the order given; unknown ids are left out. */
  async summarizeTraces(tenant: string, traceIds: string[]): Promise<TraceSummary[]> {
    const byId = await this.search.summarize(tenant, traceIds);
    return traceIds.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * The trace's extent from trace_index, or null if unknown. Validates the id (BAD_TRACE_ID).
   * A small trace's spans (the `columns` groups, default all) are read in the same query.
   */
  lookupTrace(
    tenant: string,
    traceId: string,
    columns?: ReadonlySet<SpanColumnGroup>,
  ): Promise<TraceRef | null> {
    return this.traces.open(tenant, parseTraceId(traceId), columns);
  }

  waterfall(ref: TraceRef): Promise<Waterfall> {
    return this.traces.waterfall(ref);
  }

  tracePage(ref: TraceRef, first?: number | null, after?: string | null): Promise<SpanPage> {
    return this.traces.page(ref, first, after);
  }

  rootSpan(ref: TraceRef): Promise<PagedSpan | null> {
    return this.traces.rootSpan(ref);
  }

  /**
   * A trace with one page of spans in waterfall order (default and maximum page:
   * QueryConfig.maxTracePage), or null when the tenant has no span of it.
   */
  async getTrace(
    tenant: string,
    traceId: string,
    page: { first?: number | null; after?: string | null } = {},
  ): Promise<TraceWithSpans | null> {
    const ref = await this.lookupTrace(tenant, traceId);
    if (!ref) return null;
    const waterfall = await this.traces.waterfall(ref);
    const spans = await this.traces.page(ref, page.first, page.after);
    return {
      traceId: ref.traceId,
      startNs: ref.startNs,
      endNs: ref.endNs,
      spanCount: waterfall.spanIds.length,
      services: waterfall.services,
      rootSpanId: waterfall.rootPosition < 0 ? null : waterfall.spanIds[waterfall.rootPosition],
      page: spans,
    };
  }
}

function catalogScope(tenant: string, range: TimeRange, p: Params): string[] {
  if (range.fromNs != null && range.toNs != null && range.fromNs > range.toNs) {
    throw invalidInput("BAD_TIME_RANGE", "`from` is after `to`");
  }
  const where = [`tenant = ${p.bind("String", tenant)}`];
  if (range.fromNs != null) where.push(`day >= toDate(${p.time(range.fromNs)})`);
  if (range.toNs != null) where.push(`day <= toDate(${p.time(range.toNs)})`);
  return where;
}

/** A window over spans with open ends closed: `to` defaults to now, `from` to a day before `to`. */
function spanWindow(fromNs?: bigint | null, toNs?: bigint | null): { fromNs: bigint; toNs: bigint } {
  const to = toNs ?? nowNanos();
  return { fromNs: fromNs ?? to - 24n * HOUR_NS, toNs: to };
}
