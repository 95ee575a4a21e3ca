/**
 * Service RED from half edges (migrations/0013): the one aggregation shared by the job (each
 * finished arrival window, inserted into sm_red_1m) and the readers (entries that arrived after
 * the watermark, added to the rollups), so both count the same spans the same way.
 *
 * A request is an entry span: SERVER, CONSUMER, or a root of any kind (`is_entry`, set by
 * sm_arrivals_mv). It counts in the minute it started, under its service, operation,
 * `service.version` and instance, in the arrival window it was stored in, however late. A span
 * stored twice (an ingester replaying a batch) counts once within a window.
 */
import { QUANTILES_STATE } from "./pairing.js";

/** sm_red_1m's columns after `tenant`, in the order redSql produces them. */
export const RED_COLUMNS =
  "minute, service, operation, version, instance, calls, errors, duration, slow_trace, error_trace";

export interface RedRange {
  /** Entries stored at or after this arrival time: ms since epoch as a number, or a SQL expression. */
  arrivedFrom: bigint | string;
  /** ...and before this one (omit for everything stored so far). */
  arrivedBefore?: bigint;
  /** One tenant (a placeholder the caller binds); the job aggregates every tenant at once. */
  tenantParam?: string;
  /** Event-time bounds on the minute, as SQL expressions (readers). */
  minuteFrom?: string;
  minuteTo?: string;
  /** A further condition on service, operation, version or instance (readers). */
  where?: string;
}

/** SELECT tenant, then RED_COLUMNS, one row per minute, service, operation, version and instance. */
export function redSql(db: string, r: RedRange): string {
  // arrival times are inlined integers (computed in code); see pairingSql for why they are not bound
  const from =
    typeof r.arrivedFrom === "bigint" ? `fromUnixTimestamp64Milli(toInt64(${r.arrivedFrom}))` : r.arrivedFrom;
  const conditions = [
    "is_entry = 1",
    `inserted_at >= ${from}`,
    r.arrivedBefore === undefined
      ? ""
      : `inserted_at < fromUnixTimestamp64Milli(toInt64(${r.arrivedBefore}))`,
    r.tenantParam ? `tenant = ${r.tenantParam}` : "",
    r.minuteFrom ? `start_time >= ${r.minuteFrom}` : "",
    r.minuteTo ? `start_time < ${r.minuteTo}` : "",
  ].filter((c) => c !== "");
  const outer = r.where ? `WHERE ${r.where}` : "";
  return `
SELECT tenant, toStartOfMinute(start) AS minute, service, operation, version, instance,
  count() AS calls, countIf(err = 1) AS errors,
  ${QUANTILES_STATE}(dur) AS duration,
  argMaxState(lower(hex(trace_id)), dur) AS slow_trace,
  maxIf(lower(hex(trace_id)), err = 1) AS error_trace
FROM
(
  -- one row per span: LIMIT BY keeps one copy without aggregating the others' columns (with a
  -- GROUP BY and any() of each, RED of 300,000 entries took 0.49-0.55 CPU-s against 0.36-0.37)
  SELECT tenant, trace_id, service_name AS service, operation, version, instance, start_time AS start,
    duration_ns AS dur, is_error AS err
  FROM ${db}.sm_arrivals
  WHERE ${conditions.join(" AND ")}
  LIMIT 1 BY tenant, trace_id, span_id
)
${outer}
GROUP BY tenant, minute, service, operation, version, instance`;
}

/** The job's watermark as a SQL scalar: arrival time up to which sm_red_1m (and sm_edges_*) are complete. */
const watermarkSql = (db: string): string => `(SELECT max(window_end) FROM ${db}.sm_windows)`;

/** Readers' bounds: one tenant, minutes [minuteFrom, minuteTo) and an optional further condition. */
export type RedReadRange = Required<Pick<RedRange, "tenantParam" | "minuteFrom" | "minuteTo">> &
  Pick<RedRange, "where">;

/** redSql of the entry spans stored since the job's watermark: what no rollup holds yet. */
export const liveRedSql = (db: string, r: RedReadRange): string =>
  redSql(db, { ...r, arrivedFrom: watermarkSql(db) });

/**
 * Every RED row of one tenant for minutes in [minuteFrom, minuteTo) (SQL expressions), as
 * RED_COLUMNS: sm_red_1m_v2 (the windows the job finished, in sm_red_1m's fine-grained twin,
 * migrations/0015) plus the entries stored since its watermark. The two never hold the same span
 * when read while no window is being published (publication.ts).
 */
export function redRowsSql(db: string, r: RedReadRange): string {
  const where = r.where ? `AND ${r.where}` : "";
  return `SELECT ${RED_COLUMNS} FROM ${db}.sm_red_1m_v2
    WHERE tenant = ${r.tenantParam} AND minute >= ${r.minuteFrom} AND minute < ${r.minuteTo} ${where}
  UNION ALL
  SELECT ${RED_COLUMNS} FROM (${liveRedSql(db, r)})`;
}
