import { liveRedSql, QUANTILES_MERGE } from "../../core/service-map/index.js";
import { Params, type SqlRunner } from "../sql.js";
import { coverRange, type Red, red } from "./map-reader.js";

const HOUR_MS = 3_600_000n;
const MINUTE_MS = 60_000n;

export type GroupBy = "VERSION" | "INSTANCE" | "OPERATION";
const GROUP_COLUMN: Record<GroupBy, string> = {
  VERSION: "version",
  INSTANCE: "instance",
  OPERATION: "operation",
};

interface RedRow {
  k: string;
  calls: string;
  errors: string;
  q: number[];
  slow: string;
  err_trace: string;
}

/**
 * The RED rows of one tenant covering [from, to) widened to whole minutes: whole hours from
 * sm_red_1h when `hourly`, the rest from sm_red_1m_v2 (coverRange; sm_red_1m's fine-grained twin,
 * migrations/0015), plus the entry spans stored since
 * the job's watermark (core/service-map/red.ts), which no rollup holds yet. Never raw spans. `where`
 * is an extra condition on service, operation, version or instance (bound by the caller through `p`).
 */
function sources(
  db: string,
  p: Params,
  tenant: string,
  range: { fromMs: bigint; toMs: bigint; hourly: boolean },
  where: string,
): string {
  const t = p.bind("String", tenant);
  const sec = (ms: bigint) => `toDateTime(intDiv(${p.bind("Int64", ms)}, 1000))`;
  const cols = "service, operation, version, instance, calls, errors, duration, slow_trace, error_trace";
  const fromMin = (range.fromMs / MINUTE_MS) * MINUTE_MS;
  const parts = coverRange(fromMin, range.toMs, range.toMs, range.hourly ? [HOUR_MS] : []).map((r) =>
    r.sizeMs === HOUR_MS
      ? `SELECT ${cols}, hour AS t FROM ${db}.sm_red_1h
        WHERE tenant = ${t} AND hour >= ${sec(r.fromMs)} AND hour < ${sec(r.toMs)} AND ${where}`
      : `SELECT ${cols}, minute AS t FROM ${db}.sm_red_1m_v2
        WHERE tenant = ${t} AND minute >= ${sec(r.fromMs)} AND minute < ${sec(r.toMs)} AND ${where}`,
  );
  const live = liveRedSql(db, { tenantParam: t, minuteFrom: sec(fromMin), minuteTo: sec(range.toMs), where });
  parts.push(`SELECT ${cols}, minute AS t FROM (${live})`);
  return parts.join("\nUNION ALL\n");
}

const AGG = `sum(calls) AS calls, sum(errors) AS errors, ${QUANTILES_MERGE}(duration) AS q,
  argMaxMerge(slow_trace) AS slow, max(error_trace) AS err_trace`;

/**
 * RED of every service of a tenant (entry spans: SERVER, CONSUMER, or roots), by service name:
 * one row per service and hour or minute (sm_service_red_1h, migrations/0011, and the
 * fine-grained sm_service_red_1m_v2, 0014), whole hours from the hourly table and the ragged
 * minutes from the per-minute one, plus the entry spans stored since the job's watermark.
 */
export async function readServiceRed(
  sql: SqlRunner,
  db: string,
  tenant: string,
  fromMs: bigint,
  toMs: bigint,
): Promise<Map<string, Red>> {
  const p = new Params();
  const t = p.bind("String", tenant);
  const sec = (ms: bigint) => `toDateTime(intDiv(${p.bind("Int64", ms)}, 1000))`;
  const fromMin = (fromMs / MINUTE_MS) * MINUTE_MS;
  const cols = "service, calls, errors, duration, slow_trace, error_trace";
  const parts = coverRange(fromMin, toMs, toMs, [HOUR_MS]).map((r) =>
    r.sizeMs === HOUR_MS
      ? `SELECT ${cols} FROM ${db}.sm_service_red_1h
          WHERE tenant = ${t} AND hour >= ${sec(r.fromMs)} AND hour < ${sec(r.toMs)}`
      : `SELECT ${cols} FROM ${db}.sm_service_red_1m_v2
          WHERE tenant = ${t} AND minute >= ${sec(r.fromMs)} AND minute < ${sec(r.toMs)}`,
  );
  const live = liveRedSql(db, { tenantParam: t, minuteFrom: sec(fromMin), minuteTo: sec(toMs) });
  parts.push(`SELECT ${cols} FROM (${live})`);
  const rows = await sql.rows<RedRow>(
    "serviceMap.nodes",
    `SELECT service AS k, ${AGG} FROM (${parts.join("\nUNION ALL\n")}) GROUP BY k`,
    p,
  );
  const seconds = Number(toMs - fromMin) / 1000;
  return new Map(rows.map((r) => [r.k, red(r.calls, r.errors, "0", seconds, r.q, r.slow, r.err_trace)]));
}

export interface SeriesPoint extends Red {
  timeMs: bigint;
}

export interface Series {
  group: string;
  points: SeriesPoint[];
}

/**
 * RED series of one service (optionally one operation), grouped, in buckets of `stepMs` aligned
 * to the epoch (at least one minute; whole multiples of a minute).
 */
export async function readSeries(
  sql: SqlRunner,
  db: string,
  args: {
    tenant: string;
    service: string;
    operation?: string | null;
    groupBy?: GroupBy | null;
    fromMs: bigint;
    toMs: bigint;
    stepMs: bigint;
  },
): Promise<Series[]> {
  const p = new Params();
  let where = `service = ${p.bind("String", args.service)}`;
  if (args.operation != null) where += ` AND operation = ${p.bind("String", args.operation)}`;
  const group = args.groupBy ? GROUP_COLUMN[args.groupBy] : "''";
  const step = p.bind("UInt32", Number(args.stepMs / 1000n));
  const rows = await sql.rows<RedRow & { b: string }>(
    "serviceMetrics",
    `SELECT ${group} AS k, toUnixTimestamp(toStartOfInterval(t, toIntervalSecond(${step}))) AS b, ${AGG}
     FROM (${sources(db, p, args.tenant, { fromMs: args.fromMs, toMs: args.toMs, hourly: args.stepMs % HOUR_MS === 0n }, where)})
     GROUP BY k, b ORDER BY k, b`,
    p,
  );
  const seconds = Number(args.stepMs) / 1000;
  const out = new Map<string, Series>();
  for (const r of rows) {
    let s = out.get(r.k);
    if (!s) {
      s = { group: r.k, points: [] };
      out.set(r.k, s);
    }
    s.points.push({
      timeMs: BigInt(r.b) * 1000n,
      ...red(r.calls, r.errors, "0", seconds, r.q, r.slow, r.err_trace),
    });
  }
  return [...out.values()];
}
