import { EDGE_AGGREGATES, pairingSql, QUANTILES_MERGE } from "../../core/service-map/index.js";
import { Params, type SqlRunner } from "../sql.js";

/** Node kinds, as GraphQL enum values. */
export type NodeKind = "service" | "database" | "cache" | "external" | "queue";

/** RED of an edge or node over the requested window. Durations in nanoseconds. */
export interface Red {
  calls: number;
  errors: number;
  late: number;
  seconds: number;
  quantiles: number[] | null;
  slowTraceId: string | null;
  errorTraceId: string | null;
}

export interface MapEdge extends Red {
  source: string;
  target: string;
}

export interface MapNode {
  id: string;
  name: string;
  kind: NodeKind;
  red: Red;
}

export const nodeId = (kind: string, name: string): string => `${kind}:${name}`;

const HOUR_MS = 3_600_000n;
const MINUTE_MS = 60_000n;
/** Windows at least this long read whole hours from the hourly rollup. */
const HOURLY_FROM_MS = 3n * HOUR_MS;

interface EdgeRow {
  source: string;
  target_kind: string;
  target: string;
  calls: string;
  errors: string;
  late: string;
  q: number[];
  slow: string;
  err_trace: string;
}

/**
 * Edges of one tenant over [from, to), widened to whole minutes (the buckets calls are counted
 * in). Exact: pre-aggregated rows of every arrival window the job finished (window_end <=
 * watermark) plus a live pairing of everything done since (pairing.ts); the two never overlap.
 * Over >= 3 h, whole hours that the watermark has passed come from sm_edges_1h. Raw spans are
 * never read: the live part reads sm_spans, one day of slim rows, for recent arrivals only.
 */
export async function readEdges(
  sql: SqlRunner,
  db: string,
  tenant: string,
  fromMs: bigint,
  toMs: bigint,
  latenessMs: number,
): Promise<{ edges: MapEdge[]; watermarkMs: bigint }> {
  const wmRows = await sql.rows<{ wm: string; n: string }>(
    "serviceMap.watermark",
    `SELECT toUnixTimestamp64Milli(max(window_end)) AS wm, count() AS n FROM ${db}.sm_windows`,
    new Params(),
  );
  const watermarkMs = Number(wmRows[0]?.n ?? 0) > 0 ? BigInt(wmRows[0].wm) : 0n;
  const p = new Params();
  const t = p.bind("String", tenant);
  const fromMin = (fromMs / MINUTE_MS) * MINUTE_MS;
  const minute = (ms: bigint) => `toDateTime(intDiv(${p.bind("Int64", ms)}, 1000))`;
  const wm = `fromUnixTimestamp64Milli(${p.bind("Int64", watermarkMs)})`;
  const parts: string[] = [];
  const cols = "source, target_kind, target, calls, errors, late, duration, slow_trace, error_trace";
  let hourFrom = ((fromMin + HOUR_MS - 1n) / HOUR_MS) * HOUR_MS;
  let hourTo = (toMs / HOUR_MS) * HOUR_MS;
  if (watermarkMs < hourTo) hourTo = (watermarkMs / HOUR_MS) * HOUR_MS;
  if (toMs - fromMs < HOURLY_FROM_MS || hourTo <= hourFrom) hourFrom = hourTo = toMs;
  const minuteRange = (a: bigint, b: bigint) =>
    a < b
      ? parts.push(`SELECT ${cols} FROM ${db}.sm_edges_1m
          WHERE tenant = ${t} AND minute >= ${minute(a)} AND minute < ${minute(b)} AND window_end <= ${wm}`)
      : 0;
  minuteRange(fromMin, hourFrom);
  if (hourFrom < hourTo) {
    parts.push(`SELECT ${cols} FROM ${db}.sm_edges_1h
      WHERE tenant = ${t} AND hour >= ${minute(hourFrom)} AND hour < ${minute(hourTo)}`);
  }
  minuteRange(hourTo, toMs);
  const live = pairingSql(db, {
    doneFromMs: watermarkMs,
    untilMs: BigInt(Date.now() + 86_400_000), // everything stored so far
    latenessMs,
    tenantParam: t,
    minuteFrom: minute(fromMin),
    minuteTo: minute(toMs),
  });
  parts.push(`SELECT source, target_kind, target, ${EDGE_AGGREGATES}
    FROM (${live}) GROUP BY source, target_kind, target`);
  const rows = await sql.rows<EdgeRow>(
    "serviceMap.edges",
    `SELECT source, target_kind, target, sum(calls) AS calls, sum(errors) AS errors, sum(late) AS late,
       ${QUANTILES_MERGE}(duration) AS q, argMaxMerge(slow_trace) AS slow, max(error_trace) AS err_trace
     FROM (${parts.join("\nUNION ALL\n")})
     GROUP BY source, target_kind, target
     ORDER BY source, target_kind, target`,
    p,
  );
  const seconds = Number(toMs - fromMin) / 1000;
  const edges = rows
    .filter((r) => Number(r.calls) > 0 || Number(r.late) > 0)
    .map((r) => ({
      source: nodeId("service", r.source),
      target: nodeId(r.target_kind, r.target),
      ...red(r.calls, r.errors, r.late, seconds, r.q, r.slow, r.err_trace),
    }));
  return { edges, watermarkMs };
}

export function red(
  calls: string,
  errors: string,
  late: string,
  seconds: number,
  q: number[] | null,
  slow: string,
  errTrace: string,
): Red {
  const n = Number(calls);
  return {
    calls: n,
    errors: Number(errors),
    late: Number(late),
    seconds,
    quantiles: n > 0 && q ? q : null,
    slowTraceId: n > 0 && slow ? slow : null,
    errorTraceId: errTrace || null,
  };
}
