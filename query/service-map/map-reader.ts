import {
  EDGE_AGGREGATES,
  localPublications,
  type PairingInputs,
  type PairingRange,
  pairingCensusSql,
  pairingInputsOf,
  pairingSql,
  pairsAnything,
  publicationStateOf,
  publicationStateSql,
  QUANTILES_MERGE,
  readPublished,
  unstagedWindowsSql,
} from "../../core/service-map/index.js";
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
const TEN_MINUTES_MS = 600_000n;
const MINUTE_MS = 60_000n;
/**
 * How far back the live part looks for partners: one bound finds every partner of a call that is
 * not late; late ones are counted by the job's window.
 */
const LIVE_LOOKBACK_BOUNDS = 1;

/**
 * Runs `read` (readers of rollups plus what arrived since the watermark) so that it sees every
 * window of the service-map job whole or not at all (core/service-map/publication.ts). A read that
 * gives up waiting says so in `sql`'s log.
 */
export function published<T>(sql: SqlRunner, db: string, read: () => Promise<T>): Promise<T> {
  const local = sql.store?.kind === "embedded" ? localPublications(sql.store, false) : undefined;
  const state = async () =>
    local?.ready
      ? local.state()
      : publicationStateOf(
          (
            await sql.rows<{ published: string; publishing: string }>(
              "serviceMap.publication",
              publicationStateSql(db),
              new Params(),
            )
          )[0],
        );
  return readPublished(state, read, (s) =>
    sql.logger?.warn(
      { published: String(s.published), publishing: String(s.publishing) },
      "a service-map window has been in publication for seconds (its runner may have died); read as it stands",
    ),
  );
}

/** A run of whole buckets of one size, [fromMs, toMs). */
export interface Span {
  sizeMs: bigint;
  fromMs: bigint;
  toMs: bigint;
}

/**
 * Covers [fromMs, toMs) (whole minutes) with the fewest buckets: the largest of `sizes` first
 * (aligned buckets ending at or before `capMs`), the ragged ends with the next size, the rest
 * with minutes. Coarse rollups are only read up to `capMs` (what they are complete for).
 */
export function coverRange(fromMs: bigint, toMs: bigint, capMs: bigint, sizes: bigint[]): Span[] {
  if (fromMs >= toMs) return [];
  const [size, ...smaller] = sizes;
  if (size === undefined) return [{ sizeMs: MINUTE_MS, fromMs, toMs }];
  const a = ((fromMs + size - 1n) / size) * size;
  const b = ((toMs < capMs ? toMs : capMs) / size) * size;
  if (a >= b) return coverRange(fromMs, toMs, capMs, smaller);
  return [
    ...coverRange(fromMs, a, capMs, smaller),
    { sizeMs: size, fromMs: a, toMs: b },
    ...coverRange(b, toMs, capMs, smaller),
  ];
}

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
 * watermark) plus a live pairing of everything done since (pairing.ts; its branches chosen by a
 * census of what arrived, as the job's); the two never overlap when read through `published` (a
 * window being published holds its calls in the rollups before the watermark passes it).
 * Whole hours and ten-minute runs the watermark has passed come from sm_edges_1h and
 * sm_edges_10m_v2, the ragged minutes from sm_edges_1m_v2 (the fine-grained twins of sm_edges_10m
 * and sm_edges_1m, migrations/0014: every sketch in a granule read is deserialised). Raw spans are
 * never read: the live part reads sm_arrivals, one day of slim rows, for recent arrivals only.
 */
export async function readEdges(
  sql: SqlRunner,
  db: string,
  tenant: string,
  fromMs: bigint,
  toMs: bigint,
  latenessMs: number,
): Promise<{ edges: MapEdge[]; watermarkMs: bigint }> {
  const wmRows = await sql.rows<{ wm: string; n: string; unstaged: string }>(
    "serviceMap.watermark",
    `SELECT toUnixTimestamp64Milli(max(window_end)) AS wm, count() AS n,
       (${unstagedWindowsSql(db, `(SELECT max(window_end) FROM ${db}.sm_windows)`, latenessMs)}) AS unstaged
     FROM ${db}.sm_windows`,
    new Params(),
  );
  const watermarkMs = Number(wmRows[0]?.n ?? 0) > 0 ? BigInt(wmRows[0].wm) : 0n;
  // the live part: calls done since the watermark, among everything stored so far; the
  // CLIENT/PRODUCER spans that arrived in the bound before the watermark are read as the job
  // staged them, when it staged every window of that bound (pairing.ts, migrations/0025)
  const staged = watermarkMs > 0n && Number(wmRows[0]?.unstaged ?? 1) === 0;
  const liveRange: PairingRange = {
    doneFromMs: watermarkMs,
    untilMs: BigInt(Date.now() + 86_400_000),
    latenessMs,
    lookbackBounds: LIVE_LOOKBACK_BOUNDS,
    ...(staged ? { stagedUntilMs: watermarkMs } : {}),
  };
  // What the live part would pair, as the job's census finds it for a window (pairing.ts): the
  // branches with no input are left out, and with none (nothing of the tenant arrived since the
  // watermark, or only spans that cannot make a call) the live pairing is not run at all. Under
  // steady load of traces that stay in one service, that pairing built its sets of the span ids
  // since the watermark for nothing. On a store stopped after 90 s of such a load, 221,000 spans
  // arrived since the watermark: 158-186 ms of a map's 238-321 ms, against 25-31 ms with the
  // branches left out (the census itself: 11-17 ms).
  const cp = new Params();
  const [census] = await sql.rows<Record<keyof PairingInputs, string>>(
    "serviceMap.census",
    pairingCensusSql(db, { ...liveRange, tenantParam: cp.bind("String", tenant) }),
    cp,
  );
  const inputs = pairingInputsOf(census);
  const p = new Params();
  const t = p.bind("String", tenant);
  const fromMin = (fromMs / MINUTE_MS) * MINUTE_MS;
  const minute = (ms: bigint) => `toDateTime(intDiv(${p.bind("Int64", ms)}, 1000))`;
  const wm = `fromUnixTimestamp64Milli(${p.bind("Int64", watermarkMs)})`;
  const cols = "source, target_kind, target, calls, errors, late, duration, slow_trace, error_trace";
  // Minutes keep a row per arrival window: only the windows the watermark has passed are read.
  // The ten-minute and hourly rollups hold finished windows only; read up to the watermark.
  const parts = coverRange(fromMin, toMs, watermarkMs, [HOUR_MS, TEN_MINUTES_MS]).map((r) =>
    r.sizeMs === HOUR_MS
      ? `SELECT ${cols} FROM ${db}.sm_edges_1h
          WHERE tenant = ${t} AND hour >= ${minute(r.fromMs)} AND hour < ${minute(r.toMs)}`
      : r.sizeMs === TEN_MINUTES_MS
        ? `SELECT ${cols} FROM ${db}.sm_edges_10m_v2
          WHERE tenant = ${t} AND ten_minutes >= ${minute(r.fromMs)} AND ten_minutes < ${minute(r.toMs)}`
        : `SELECT ${cols} FROM ${db}.sm_edges_1m_v2
          WHERE tenant = ${t} AND minute >= ${minute(r.fromMs)} AND minute < ${minute(r.toMs)} AND window_end <= ${wm}`,
  );
  if (pairsAnything(inputs)) {
    const live = pairingSql(db, {
      ...liveRange,
      inputs,
      tenantParam: t,
      minuteFrom: minute(fromMin),
      minuteTo: minute(toMs),
    });
    parts.push(`SELECT source, target_kind, target, ${EDGE_AGGREGATES}
      FROM (${live}) GROUP BY source, target_kind, target`);
  }
  if (parts.length === 0) return { edges: [], watermarkMs };
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
