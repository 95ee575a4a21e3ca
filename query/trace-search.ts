import { invalidInput } from "../core/errors.js";
import { environmentCondition } from "./environment.js";
import { KIND_NAMES, STATUS_NAMES } from "./span-record.js";
import { Params, type SqlRunner } from "./sql.js";
import { HOUR_NS, nowNanos } from "./time.js";

/**
 * Trace search in two steps, so each step uses what the `spans` table is built for:
 *  1. match spans: tenant, service and time hit the sort key (the operation is filtered within
 *     those granules: since migration 0021 the key orders by trace after the hour), attribute
 *     conditions the bloom-filter skip indexes; group the matches by trace, keep a page of ids;
 *  2. summarise only those traces: their time bounds from trace_index, then their spans.
 *
 * Order and cursor: traces come newest first by the start of their earliest matching span in the
 * window (the trace's own start whenever the root span matches), ties by trace id descending.
 * Keying on the earliest match makes the cursor an exact prune: every trace after the cursor
 * has a matching span at or before the cursor's time, so step 1 reads no span later than that.
 */

export interface AttributeMatch {
  key: string;
  /** Absent or null: the key only has to be present. */
  value?: string | null;
}

/** All conditions must hold on one and the same span. Times are inclusive. */
export interface TraceFilter {
  service?: string | null;
  /** Span name. */
  operation?: string | null;
  /** 0..5, as in core/model/span.ts SpanKind. */
  kind?: number | null;
  /** 0..2, as in core/model/span.ts StatusCode. */
  status?: number | null;
  attributes?: readonly AttributeMatch[] | null;
  resourceAttributes?: readonly AttributeMatch[] | null;
  /** Resource attribute `deployment.environment.name`, else `deployment.environment` (query/environment.ts). */
  environment?: string | null;
  minDurationNs?: bigint | null;
  maxDurationNs?: bigint | null;
  /** Default: `to` minus one hour. */
  fromNs?: bigint | null;
  /** Default: now. */
  toNs?: bigint | null;
}

export interface TraceSummary {
  traceId: string;
  /** Service and span name of the earliest span without a parent, or null when none arrived. */
  rootServiceName: string | null;
  rootSpanName: string | null;
  startNs: bigint;
  endNs: bigint;
  spanCount: number;
  errorCount: number;
  services: string[];
}

export interface TraceSearchPage {
  edges: Array<{ cursor: string; node: TraceSummary }>;
  hasNextPage: boolean;
}

/** More attribute conditions than this is a malformed request, not a search. */
const MAX_ATTRIBUTE_MATCHES = 32;

export class TraceSearch {
  constructor(
    private readonly sql: SqlRunner,
    private readonly maxLimit: number,
  ) {}

  async search(
    tenant: string,
    filter: TraceFilter,
    page: { first?: number | null; after?: string | null },
  ): Promise<TraceSearchPage> {
    const limit = clampLimit(page.first, this.maxLimit, 20);
    const toNs = filter.toNs ?? nowNanos();
    const fromNs = filter.fromNs ?? toNs - HOUR_NS;
    if (fromNs > toNs) throw invalidInput("BAD_TIME_RANGE", "`from` is after `to`");
    const cursor = page.after ? decodeTraceCursor(page.after) : undefined;
    const p = new Params();
    const where = [`tenant = ${p.bind("String", tenant)}`, `start_time >= ${p.time(fromNs)}`];
    where.push(`start_time <= ${p.time(cursor && cursor.startNs < toNs ? cursor.startNs : toNs)}`);
    if (filter.service != null) where.push(`service_name = ${p.bind("String", filter.service)}`);
    if (filter.operation != null) where.push(`name = ${p.bind("String", filter.operation)}`);
    if (filter.kind != null) where.push(`kind = ${p.bind("String", enumName(KIND_NAMES, filter.kind))}`);
    if (filter.status != null)
      where.push(`status_code = ${p.bind("String", enumName(STATUS_NAMES, filter.status))}`);
    if (filter.minDurationNs != null) where.push(`duration_ns >= ${p.bind("UInt64", filter.minDurationNs)}`);
    if (filter.maxDurationNs != null) where.push(`duration_ns <= ${p.bind("UInt64", filter.maxDurationNs)}`);
    const matches = [...(filter.attributes ?? [])];
    const resourceMatches = [...(filter.resourceAttributes ?? [])];
    if (matches.length + resourceMatches.length > MAX_ATTRIBUTE_MATCHES) {
      throw invalidInput("TOO_MANY_CONDITIONS", `at most ${MAX_ATTRIBUTE_MATCHES} attribute conditions`);
    }
    for (const m of matches) where.push(attributeCondition("attributes", m, p));
    for (const m of resourceMatches) where.push(attributeCondition("resource_attributes", m, p));
    if (filter.environment != null) where.push(environmentCondition(filter.environment, p));
    let having = "";
    if (cursor) {
      const t = p.time(cursor.startNs);
      having = `HAVING min(start_time) < ${t} OR (min(start_time) = ${t} AND trace_id < ${p.bind("String", cursor.traceId)})`;
    }
    const rows = await this.sql.rows<{ trace_id: string; first_match_ns: string }>(
      "trace_search",
      `SELECT trace_id, toString(toUnixTimestamp64Nano(min(start_time))) AS first_match_ns
       FROM ${this.sql.table("spans")}
       WHERE ${where.join(" AND ")}
       GROUP BY trace_id ${having}
       ORDER BY min(start_time) DESC, trace_id DESC
       LIMIT ${p.bind("UInt32", limit + 1)}`,
      p,
    );
    const pageRows = rows.slice(0, limit);
    const summaries = await this.summarize(
      tenant,
      pageRows.map((r) => r.trace_id),
    );
    const edges: TraceSearchPage["edges"] = [];
    for (const r of pageRows) {
      const node = summaries.get(r.trace_id);
      if (node) edges.push({ cursor: encodeTraceCursor(BigInt(r.first_match_ns), r.trace_id), node });
    }
    return { edges, hasNextPage: rows.length > limit };
  }

  /**
   * Trace ids whose spans carry `value` in attribute `key` (span or resource attributes), or in
   * any attribute when `key` is null; newest first. Span and resource attributes are searched in
   * two arms of a UNION ALL because an OR across the two maps would disable both bloom filters.
   * Without a time range every retained day is searched: the bloom filters skip the granules.
   */
  async findTraceIdsByAttribute(
    tenant: string,
    key: string | null,
    value: string,
    range: { fromNs?: bigint | null; toNs?: bigint | null; limit?: number | null } = {},
  ): Promise<string[]> {
    if (range.fromNs != null && range.toNs != null && range.fromNs > range.toNs) {
      throw invalidInput("BAD_TIME_RANGE", "`from` is after `to`");
    }
    const limit = clampLimit(range.limit, this.maxLimit, 20);
    const p = new Params();
    const scope = [`tenant = ${p.bind("String", tenant)}`];
    if (range.fromNs != null) scope.push(`start_time >= ${p.time(range.fromNs)}`);
    if (range.toNs != null) scope.push(`start_time <= ${p.time(range.toNs)}`);
    const arm = (map: "attributes" | "resource_attributes") =>
      `SELECT trace_id, start_time FROM ${this.sql.table("spans")}
       WHERE ${scope.join(" AND ")} AND ${attributeCondition(map, { key, value }, p)}`;
    const rows = await this.sql.rows<{ trace_id: string }>(
      "trace_by_attribute",
      `SELECT trace_id FROM (${arm("attributes")} UNION ALL ${arm("resource_attributes")})
       GROUP BY trace_id ORDER BY max(start_time) DESC, trace_id DESC LIMIT ${p.bind("UInt32", limit)}`,
      p,
    );
    return rows.map((r) => r.trace_id);
  }

  /** Summaries of the given traces of one tenant, by trace id; unknown ids are absent. */
  async summarize(tenant: string, traceIds: string[]): Promise<Map<string, TraceSummary>> {
    const out = new Map<string, TraceSummary>();
    if (traceIds.length === 0) return out;
    const p = new Params();
    const ids = p.bind("Array(String)", traceIds);
    const t = p.bind("String", tenant);
    const extents = await this.sql.rows<{ trace_id: string; first_ns: string; last_ns: string }>(
      "trace_extent",
      `SELECT trace_id, toString(toUnixTimestamp64Nano(min(start_time))) AS first_ns,
              toString(toUnixTimestamp64Nano(max(end_time))) AS last_ns
       FROM ${this.sql.table("trace_index")} WHERE tenant = ${t} AND trace_id IN ${ids} GROUP BY trace_id`,
      p,
    );
    if (extents.length === 0) return out;
    let lo = BigInt(extents[0].first_ns);
    let hi = BigInt(extents[0].last_ns);
    for (const e of extents) {
      const s = BigInt(e.first_ns);
      const x = BigInt(e.last_ns);
      if (s < lo) lo = s;
      if (x > hi) hi = x;
    }
    const q = new Params();
    const rows = await this.sql.rows<SummaryRow>(
      "trace_summary",
      `SELECT trace_id, uniqExact(span_id) AS span_total, uniqExactIf(span_id, status_code = 'ERROR') AS error_total,
              arraySort(groupUniqArray(service_name)) AS service_list, countIf(parent_span_id = '') AS root_total,
              argMinIf(service_name, (start_time, span_id), parent_span_id = '') AS root_service,
              argMinIf(name, (start_time, span_id), parent_span_id = '') AS root_name
       FROM ${this.sql.table("spans")}
       WHERE tenant = ${q.bind("String", tenant)} AND trace_id IN ${q.bind("Array(String)", traceIds)}
         AND start_time >= ${q.time(lo)} AND start_time <= ${q.time(hi)}
       GROUP BY trace_id`,
      q,
    );
    const byId = new Map(rows.map((r) => [r.trace_id, r]));
    for (const e of extents) {
      const r = byId.get(e.trace_id);
      if (!r) continue;
      const hasRoot = Number(r.root_total) > 0;
      out.set(e.trace_id, {
        traceId: e.trace_id,
        rootServiceName: hasRoot ? r.root_service : null,
        rootSpanName: hasRoot ? r.root_name : null,
        startNs: BigInt(e.first_ns),
        endNs: BigInt(e.last_ns),
        spanCount: Number(r.span_total),
        errorCount: Number(r.error_total),
        services: r.service_list,
      });
    }
    return out;
  }
}

interface SummaryRow {
  trace_id: string;
  span_total: string;
  error_total: string;
  service_list: string[];
  root_total: string;
  root_service: string;
  root_name: string;
}

/**
 * Equality on one attribute, or presence when no value is given; with no key, the value in any
 * attribute. `has(mapValues(m), v)` and `mapContains(m, k)` are the forms the bloom filters on
 * mapValues / mapKeys serve; the `m[k] = v` check makes the match exact.
 */
function attributeCondition(
  map: "attributes" | "resource_attributes",
  m: { key?: string | null; value?: string | null },
  p: Params,
): string {
  const parts: string[] = [];
  const key = m.key != null ? p.bind("String", m.key) : undefined;
  if (key) parts.push(`mapContains(${map}, ${key})`);
  if (m.value != null) {
    const value = p.bind("String", m.value);
    parts.push(`has(mapValues(${map}), ${value})`);
    if (key) parts.push(`${map}[${key}] = ${value}`);
  }
  return parts.length === 0 ? "1" : `(${parts.join(" AND ")})`;
}

function enumName(names: readonly string[], n: number): string {
  const name = names[n];
  if (name === undefined) throw invalidInput("BAD_ENUM", `unknown enum value ${n}`);
  return name;
}

function clampLimit(first: number | null | undefined, max: number, fallback: number): number {
  if (first == null) return Math.min(fallback, max);
  if (!Number.isInteger(first) || first < 1)
    throw invalidInput("BAD_PAGE_SIZE", "`first` must be at least 1");
  return Math.min(first, max);
}

/** Cursor of a search result: base64url of "firstMatchNs:traceId". Opaque to clients. */
export function encodeTraceCursor(startNs: bigint, traceId: string): string {
  return Buffer.from(`${startNs}:${traceId}`).toString("base64url");
}

export function decodeTraceCursor(cursor: string): { startNs: bigint; traceId: string } {
  const m = /^(\d{1,20}):([0-9a-f]{32})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!m) throw invalidInput("BAD_CURSOR", "`after` is not a trace search cursor from this API");
  return { startNs: BigInt(m[1]), traceId: m[2] };
}
