import { decodeSpan, SPAN_SELECT, type SpanRow, type StoredSpan } from "../span-record.js";
import { Params, type SqlRunner } from "../sql.js";
import { waterfallOfRows } from "../trace-reader.js";

/** A span row read with its trace id (SPAN_SELECT reads every column). */
type TracedRow = SpanRow & { trace_id: string };

/**
 * Several whole traces in two queries, for searches that answer with whole traces (Jaeger's
 * /api/traces returns every span of every match): their extents from trace_index, then every
 * span of all of them in one read bounded by the extents. The reader's per-trace path would take
 * two or three round trips per trace. Traces too large to read together are left to the caller
 * (returned in `large`), which pages them through the span reader.
 */

export interface BulkTraces {
  /** Spans per trace id, in waterfall order. */
  traces: Map<string, StoredSpan[]>;
  /** Ids of traces with more indexed spans than one bulk read takes. */
  large: string[];
}

export async function readTracesBulk(
  sql: SqlRunner,
  tenant: string,
  traceIds: string[],
  maxSpans: number,
): Promise<BulkTraces> {
  const traces = new Map<string, StoredSpan[]>();
  const large: string[] = [];
  if (traceIds.length === 0) return { traces, large };
  const p = new Params();
  const extents = await sql.rows<{ trace_id: string; first_ns: string; last_ns: string; indexed: string }>(
    "jaeger_trace_extents",
    `SELECT trace_id, toString(toUnixTimestamp64Nano(min(start_time))) AS first_ns,
            toString(toUnixTimestamp64Nano(max(end_time))) AS last_ns, toString(sum(span_count)) AS indexed
     FROM ${sql.table("trace_index")}
     WHERE tenant = ${p.bind("String", tenant)} AND trace_id IN ${p.bind("Array(String)", traceIds)}
     GROUP BY trace_id`,
    p,
  );
  let budget = maxSpans;
  const small: typeof extents = [];
  for (const e of extents) {
    const n = Number(e.indexed);
    if (n > budget) large.push(e.trace_id);
    else {
      budget -= n;
      small.push(e);
    }
  }
  if (small.length === 0) return { traces, large };
  let lo = BigInt(small[0].first_ns);
  let hi = BigInt(small[0].last_ns);
  for (const e of small) {
    if (BigInt(e.first_ns) < lo) lo = BigInt(e.first_ns);
    if (BigInt(e.last_ns) > hi) hi = BigInt(e.last_ns);
  }
  const q = new Params();
  const rows = await sql.rows<TracedRow>(
    "jaeger_trace_spans",
    `SELECT ${SPAN_SELECT} FROM ${sql.table("spans")}
     WHERE tenant = ${q.bind("String", tenant)}
       AND trace_id IN ${q.bind(
         "Array(String)",
         small.map((e) => e.trace_id),
       )}
       AND start_time >= ${q.time(lo)} AND start_time <= ${q.time(hi)}
     LIMIT 1 BY trace_id, span_id`,
    q,
  );
  const byTrace = new Map<string, TracedRow[]>();
  for (const r of rows) {
    const list = byTrace.get(r.trace_id) ?? [];
    list.push(r);
    byTrace.set(r.trace_id, list);
  }
  for (const [traceId, list] of byTrace) {
    const w = waterfallOfRows(list);
    const byId = new Map(list.map((r) => [r.span_id, r]));
    traces.set(
      traceId,
      w.spanIds.flatMap((id, i) => {
        const row = byId.get(id);
        return row ? [{ ...decodeSpan(row), depth: w.depths[i] }] : [];
      }),
    );
  }
  return { traces, large };
}
