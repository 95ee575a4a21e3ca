import { invalidInput } from "../core/errors.js";
import { isSpanId } from "./ids.js";
import {
  decodeSpan,
  type SpanColumnGroup,
  type SpanRow,
  type StoredSpan,
  spanSelect,
} from "./span-record.js";
import { Params, type SqlRunner } from "./sql.js";
import { buildWaterfall, type Waterfall } from "./waterfall.js";

/**
 * Trace by id. The time range comes from `trace_index` (one primary-key lookup), so callers need
 * no time bounds and the span reads prune by partition and the trace_id bloom filter; `spans` is
 * sorted by trace within each service and hour (0021), so the spans found sit together. Large
 * traces are served in pages: the skeleton of every span is read and ordered once (and cached
 * briefly, so paging through a big trace does not redo it), full rows only for the page asked.
 */

export interface TraceRef {
  tenant: string;
  traceId: string;
  /** Earliest span start and latest span end, from trace_index. */
  startNs: bigint;
  endNs: bigint;
  /** Spans trace_index has counted (re-sent spans count twice); a change invalidates the cache. */
  indexedSpans: string;
  /**
   * Column groups the request reads (from its GraphQL selection); the others come back empty.
   * Undefined reads every column.
   */
  columns?: ReadonlySet<SpanColumnGroup>;
}

/** A span read as part of a trace: its depth and position in the trace's waterfall. */
export type PagedSpan = StoredSpan & { depth: number; position: number };

export interface SpanPage {
  /** The page in waterfall order. */
  spans: PagedSpan[];
  /** Waterfall position of the first span of the page. */
  offset: number;
  totalCount: number;
  hasNextPage: boolean;
}

export interface TraceReaderOptions {
  /** Upper bound (and default) of spans per page. */
  maxPage: number;
  /** Skeleton entries kept in the waterfall cache across traces. */
  cacheSpans?: number;
  cacheTtlMs?: number;
}

interface CacheEntry {
  waterfall: Waterfall;
  indexedSpans: string;
  endNs: bigint;
  expires: number;
}

interface SmallTrace {
  rows: Map<string, SpanRow>;
  waterfall: Waterfall;
}

/** Span ids per full-row read. */
const ID_CHUNK = 2500;

/**
 * Traces with at most this many indexed spans are read whole in one query (rows and order
 * together) instead of skeleton first, then rows: one round trip less for the common case.
 */
const SMALL_TRACE = 1000;

export class TraceReader {
  private readonly cache = new Map<string, CacheEntry>();
  private cachedSpans = 0;
  private readonly inflight = new Map<string, Promise<Waterfall>>();
  private readonly wholeTraces = new WeakMap<TraceRef, Promise<SmallTrace | null>>();

  constructor(
    private readonly sql: SqlRunner,
    private readonly options: TraceReaderOptions,
  ) {}

  /** The trace's extent, or null when the tenant has no span of it. `traceId` must be normalised. */
  async lookup(tenant: string, traceId: string): Promise<TraceRef | null> {
    const p = new Params();
    const rows = await this.sql.rows<{ first_ns: string; last_ns: string; indexed: string }>(
      "trace_lookup",
      `SELECT toString(toUnixTimestamp64Nano(min(start_time))) AS first_ns,
              toString(toUnixTimestamp64Nano(max(end_time))) AS last_ns,
              toString(sum(span_count)) AS indexed
       FROM ${this.sql.table("trace_index")}
       WHERE tenant = ${p.bind("String", tenant)} AND trace_id = ${p.bind("String", traceId)}
       GROUP BY trace_id`,
      p,
    );
    if (rows.length === 0) return null;
    const r = rows[0];
    return {
      tenant,
      traceId,
      startNs: BigInt(r.first_ns),
      endNs: BigInt(r.last_ns),
      indexedSpans: r.indexed,
    };
  }

  /**
   * Lookup and, for a small trace, its spans in one round trip: the extent from trace_index is a
   * scalar subquery of the span read, so the read still prunes by partition and bloom filter.
   * The spans are kept for the returned ref (smallTrace). A large trace, or one whose spans are
   * not (or no longer) in `spans`, falls back to the plain lookup.
   */
  async open(
    tenant: string,
    traceId: string,
    columns?: ReadonlySet<SpanColumnGroup>,
  ): Promise<TraceRef | null> {
    const p = new Params();
    const t = p.bind("String", tenant);
    const id = p.bind("String", traceId);
    const rows = await this.sql.rows<SpanRow & { first_ns: string; last_ns: string; indexed: string }>(
      "trace_lookup",
      `WITH (SELECT (min(start_time), max(end_time), sum(span_count))
             FROM ${this.sql.table("trace_index")}
             WHERE tenant = ${t} AND trace_id = ${id}) AS extent
       SELECT toString(toUnixTimestamp64Nano(extent.1)) AS first_ns,
              toString(toUnixTimestamp64Nano(extent.2)) AS last_ns,
              toString(extent.3) AS indexed,
              ${spanSelect(columns)}
       FROM ${this.sql.table("spans")}
       WHERE tenant = ${t} AND trace_id = ${id}
         AND start_time >= extent.1 AND start_time <= extent.2 AND extent.3 <= ${SMALL_TRACE}
       LIMIT 1 BY span_id`,
      p,
    );
    if (rows.length === 0) {
      const ref = await this.lookup(tenant, traceId);
      return ref && { ...ref, columns };
    }
    const first = rows[0];
    const ref: TraceRef = {
      tenant,
      traceId,
      startNs: BigInt(first.first_ns),
      endNs: BigInt(first.last_ns),
      indexedSpans: first.indexed,
      columns,
    };
    this.wholeTraces.set(ref, Promise.resolve(smallTraceOf(rows)));
    return ref;
  }

  /** The waterfall of the whole trace (from cache when trace_index says nothing changed). */
  async waterfall(ref: TraceRef): Promise<Waterfall> {
    const whole = await this.smallTrace(ref);
    if (whole) return whole.waterfall;
    const key = `${ref.tenant}\u0000${ref.traceId}`;
    const hit = this.cache.get(key);
    if (hit && hit.indexedSpans === ref.indexedSpans && hit.endNs === ref.endNs && hit.expires > Date.now()) {
      this.cache.delete(key); // re-insert: Map order is the LRU order
      this.cache.set(key, hit);
      return hit.waterfall;
    }
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.readWaterfall(ref).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const waterfall = await pending;
    this.remember(key, ref, waterfall);
    return waterfall;
  }

  /**
   * One page of spans in waterfall order. `after` is a cursor from a previous page or a bare
   * span id; `first` is clamped to 1..maxPage (default maxPage).
   */
  async page(
    ref: TraceRef,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<SpanPage> {
    if (first != null && (!Number.isInteger(first) || first < 1)) {
      throw invalidInput("BAD_PAGE_SIZE", "`first` must be at least 1");
    }
    const size = Math.min(first ?? this.options.maxPage, this.options.maxPage);
    const whole = await this.smallTrace(ref);
    const waterfall = whole?.waterfall ?? (await this.waterfall(ref));
    const offset = after ? resumePosition(waterfall, after) : 0;
    const end = Math.min(offset + size, waterfall.spanIds.length);
    const spans = whole
      ? pageFromRows(ref, whole.rows, waterfall, offset, end)
      : await this.spansAt(ref, waterfall, offset, end);
    return {
      spans,
      offset,
      totalCount: waterfall.spanIds.length,
      hasNextPage: end < waterfall.spanIds.length,
    };
  }

  /** The first true root of the trace with its depth, or null when every span has a parent id. */
  async rootSpan(ref: TraceRef): Promise<PagedSpan | null> {
    const whole = await this.smallTrace(ref);
    const waterfall = whole?.waterfall ?? (await this.waterfall(ref));
    const pos = waterfall.rootPosition;
    if (pos < 0) return null;
    if (whole) return pageFromRows(ref, whole.rows, waterfall, pos, pos + 1)[0] ?? null;
    return (await this.spansAt(ref, waterfall, pos, pos + 1))[0] ?? null;
  }

  /**
   * A small trace read whole in one query, memoised per TraceRef (one GraphQL request), so the
   * resolvers of one request share a single read; null for a large trace.
   */
  private smallTrace(ref: TraceRef): Promise<SmallTrace | null> {
    if (Number(ref.indexedSpans) > SMALL_TRACE) return Promise.resolve(null);
    let pending = this.wholeTraces.get(ref);
    if (!pending) {
      pending = this.readSmallTrace(ref);
      this.wholeTraces.set(ref, pending);
    }
    return pending;
  }

  private async readSmallTrace(ref: TraceRef): Promise<SmallTrace> {
    const p = new Params();
    const list = await this.sql.rows<SpanRow>(
      "trace_spans",
      `SELECT ${spanSelect(ref.columns)} FROM ${this.sql.table("spans")}
       WHERE tenant = ${p.bind("String", ref.tenant)} AND trace_id = ${p.bind("String", ref.traceId)}
         AND start_time >= ${p.time(ref.startNs)} AND start_time <= ${p.time(ref.endNs)}
       LIMIT 1 BY span_id`,
      p,
    );
    return smallTraceOf(list);
  }

  private async spansAt(ref: TraceRef, w: Waterfall, from: number, to: number): Promise<PagedSpan[]> {
    if (from >= to) return [];
    // Chunks of positions contiguous in time: each read gets tight time bounds, and the id list
    // stays far below ClickHouse's HTTP form field limit (http_max_field_value_size, 128 KiB).
    const positions = Array.from({ length: to - from }, (_, i) => from + i);
    positions.sort((a, b) => (w.startNs[a] < w.startNs[b] ? -1 : w.startNs[a] > w.startNs[b] ? 1 : 0));
    const chunks: number[][] = [];
    for (let i = 0; i < positions.length; i += ID_CHUNK) chunks.push(positions.slice(i, i + ID_CHUNK));
    const rows = (await Promise.all(chunks.map((chunk) => this.readRows(ref, w, chunk)))).flat();
    const byId = new Map(rows.map((r) => [r.span_id, r]));
    const out: PagedSpan[] = [];
    for (let i = from; i < to; i++) {
      const row = byId.get(w.spanIds[i]);
      // A span the skeleton saw but the row read did not can only vanish through TTL; skip it.
      if (row) out.push({ ...decodeSpan(row, ref.traceId), depth: w.depths[i], position: i });
    }
    return out;
  }

  /** Full rows of the spans at `positions` (sorted by start time). */
  private async readRows(ref: TraceRef, w: Waterfall, positions: number[]): Promise<SpanRow[]> {
    const p = new Params();
    return this.sql.rows<SpanRow>(
      "trace_spans",
      `SELECT ${spanSelect(ref.columns)} FROM ${this.sql.table("spans")}
       WHERE tenant = ${p.bind("String", ref.tenant)} AND trace_id = ${p.bind("String", ref.traceId)}
         AND start_time >= ${p.time(w.startNs[positions[0]])}
         AND start_time <= ${p.time(w.startNs[positions[positions.length - 1]])}
         AND span_id IN ${p.bind(
           "Array(String)",
           positions.map((i) => w.spanIds[i]),
         )}
       LIMIT 1 BY span_id`,
      p,
    );
  }

  private async readWaterfall(ref: TraceRef): Promise<Waterfall> {
    const p = new Params();
    const rows = await this.sql.compactRows<[string, string, string, string]>(
      "trace_skeleton",
      `SELECT span_id, parent_span_id, toString(toUnixTimestamp64Nano(start_time)) AS start_ns, service_name
       FROM ${this.sql.table("spans")}
       WHERE tenant = ${p.bind("String", ref.tenant)} AND trace_id = ${p.bind("String", ref.traceId)}
         AND start_time >= ${p.time(ref.startNs)} AND start_time <= ${p.time(ref.endNs)}`,
      p,
    );
    return buildWaterfall(
      rows.map((r) => ({ spanId: r[0], parentSpanId: r[1], startNs: BigInt(r[2]), serviceName: r[3] })),
    );
  }

  private remember(key: string, ref: TraceRef, waterfall: Waterfall): void {
    const limit = this.options.cacheSpans ?? 1_000_000;
    const size = waterfall.spanIds.length;
    if (size > limit) return;
    const old = this.cache.get(key);
    if (old) {
      this.cache.delete(key);
      this.cachedSpans -= old.waterfall.spanIds.length;
    }
    while (this.cachedSpans + size > limit) {
      const [oldestKey, oldest] = this.cache.entries().next().value!;
      this.cache.delete(oldestKey);
      this.cachedSpans -= oldest.waterfall.spanIds.length;
    }
    const expires = Date.now() + (this.options.cacheTtlMs ?? 60_000);
    this.cache.set(key, { waterfall, indexedSpans: ref.indexedSpans, endNs: ref.endNs, expires });
    this.cachedSpans += size;
  }
}

/** The waterfall of a trace's full span rows. */
export function waterfallOfRows(list: SpanRow[]): Waterfall {
  return buildWaterfall(
    list.map((r) => ({
      spanId: r.span_id,
      parentSpanId: r.parent_span_id,
      startNs: BigInt(r.start_ns),
      serviceName: r.service_name,
    })),
  );
}

function smallTraceOf(list: SpanRow[]): SmallTrace {
  return { rows: new Map(list.map((r) => [r.span_id, r])), waterfall: waterfallOfRows(list) };
}

function pageFromRows(
  ref: TraceRef,
  rows: Map<string, SpanRow>,
  w: Waterfall,
  from: number,
  to: number,
): PagedSpan[] {
  const out: PagedSpan[] = [];
  for (let i = from; i < to; i++) {
    const row = rows.get(w.spanIds[i]);
    if (row) out.push({ ...decodeSpan(row, ref.traceId), depth: w.depths[i], position: i });
  }
  return out;
}

/** A span-page cursor: base64url of "position:spanId". Opaque to clients. */
export function spanCursor(position: number, spanId: string): string {
  return Buffer.from(`${position}:${spanId}`).toString("base64url");
}

/**
 * The position after the cursor's span. The span id wins over the position, so a page boundary
 * survives spans that arrived in between (they may shift positions, never duplicate a span).
 */
function resumePosition(w: Waterfall, after: string): number {
  let spanId = after.toLowerCase();
  let hint = -1;
  if (!isSpanId(after)) {
    const m = /^(\d{1,10}):([0-9a-f]{16})$/.exec(Buffer.from(after, "base64url").toString("utf8"));
    if (!m) throw invalidInput("BAD_CURSOR", "`after` is not a span cursor from this API or a span id");
    hint = Number(m[1]);
    spanId = m[2];
  }
  if (w.spanIds[hint] === spanId) return hint + 1;
  const pos = w.position.get(spanId);
  if (pos === undefined) throw invalidInput("BAD_CURSOR", "`after` names a span that is not in this trace");
  return pos + 1;
}
