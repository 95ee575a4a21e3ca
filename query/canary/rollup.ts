import { redRowsSql } from "../../core/service-map/index.js";
import { published } from "../service-map/map-reader.js";
import { Params } from "../sql.js";
import type { CanaryMetricConfig } from "./config.js";
import { type ExtractDeps, OVERALL, type RunSpec, type Side, type ZoneSeries } from "./extract.js";

/**
 * The fast path of metric extraction: the service map's per-minute RED rollup (`sm_red_1m`,
 * migrations/0002, read from its fine-grained twin `sm_red_1m_v2`, 0015: calls, errors and
 * DDSketch quantiles 0.5/0.9/0.95/0.99 at 1% relative accuracy
 * per service, operation, version and instance; filled per arrival window by the service-map job,
 * the entry spans stored since its watermark added from half edges, core/service-map/red.ts)
 * instead of raw spans, so a run reads a few thousand rows however many spans the window holds.
 * Zones come from one minute of spans per instance (the minute it first appears), since instances
 * do not move between zones.
 * Used only when it gives the same metrics: selectors by service.version or service.instance.id,
 * whole-minute window and step, latency quantiles the rollup keeps. The rollup counts entry spans
 * (SERVER, CONSUMER, or roots), which for an HTTP/gRPC service are its SERVER spans.
 */
const LEVELS = [0.5, 0.9, 0.95, 0.99];
const COLUMN: Record<string, string> = { "service.version": "version", "service.instance.id": "instance" };
const NS_PER_MIN = 60_000_000_000n;

export function rollupFits(spec: RunSpec, metrics: CanaryMetricConfig[]): boolean {
  return (
    metrics.length > 0 &&
    COLUMN[spec.baseline.key] !== undefined &&
    COLUMN[spec.canary.key] !== undefined &&
    spec.config.stepSeconds % 60 === 0 &&
    spec.fromNs % NS_PER_MIN === 0n &&
    spec.toNs % NS_PER_MIN === 0n &&
    metrics.every(
      (m) => m.query.type !== "sql" && (m.query.type !== "latency" || LEVELS.includes(m.query.quantile)),
    )
  );
}

type Row = [
  side: Side,
  instance: string,
  t: number,
  calls: string,
  errors: string,
  q: number[],
  first: number,
];

/** Series per metric from the rollup (same shape as the spans path). */
export async function rollupSeries(
  deps: ExtractDeps,
  spec: RunSpec,
  operation: string,
  metrics: CanaryMetricConfig[],
) {
  const db = deps.store.database;
  const p = new Params();
  const bCol = COLUMN[spec.baseline.key];
  const cCol = COLUMN[spec.canary.key];
  const inBaseline = `has(${p.bind("Array(String)", spec.baseline.values)}, ${bCol})`;
  const inCanary = `has(${p.bind("Array(String)", spec.canary.values)}, ${cCol})`;
  const step = spec.config.stepSeconds;
  // One row per side, instance and interval; DDSketch states merge per zone below in SQL.
  const sql = `
    SELECT if(${inBaseline}, 'baseline', 'canary') AS side, instance,
      toUnixTimestamp(toStartOfInterval(minute, toIntervalSecond(${p.bind("UInt32", step)}))) AS t,
      sum(calls) AS calls, sum(errors) AS errors,
      quantilesDDMerge(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS q,
      min(toUnixTimestamp(minute)) AS first
    FROM (${redRowsSql(db, {
      tenantParam: p.bind("String", spec.tenant),
      minuteFrom: `toDateTime(${p.bind("Int64", spec.fromNs / 1_000_000_000n)})`,
      minuteTo: `toDateTime(${p.bind("Int64", spec.toNs / 1_000_000_000n)})`,
      where: `service = ${p.bind("String", spec.service)}`,
    })})
    WHERE (${inBaseline} OR ${inCanary})
      ${operation ? `AND operation = ${p.bind("String", operation)}` : ""}
    GROUP BY side, instance, t`;
  const rows = await deps.sql.compactRows<Row>("canary_rollup", sql, p);
  // DDSketch states cannot be merged in JS, so zone and overall quantiles are merged in SQL too:
  // regroup with the instance → zone map applied.
  const zoneOf = spec.config.zoneKey ? await instanceZones(deps, spec, rows) : new Map<string, string>();
  const zoneExpr = zoneOf.size
    ? `transform(instance, ${p.bind("Array(String)", [...zoneOf.keys()])}, ${p.bind("Array(String)", [...zoneOf.values()])}, '')`
    : "''";
  // the figures themselves: read when no window of the service-map job is half published
  const grouped = await published(deps.sql, db, () =>
    deps.sql.compactRows<[Side, string, number, string, string, string, number[]]>(
      "canary_rollup_zones",
      `SELECT side, z, t, sum(calls), sum(errors), uniqExact(instance), quantilesDDMerge(0.01, 0.5, 0.9, 0.95, 0.99)(duration)
     FROM (${sql.replace("quantilesDDMerge(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS q", "quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration")})
     ARRAY JOIN [${zoneExpr}, '${OVERALL}'] AS z
     GROUP BY side, z, t`,
      p,
    ),
  );
  const out = new Map<CanaryMetricConfig, ZoneSeries>();
  for (const m of metrics) {
    const zones: ZoneSeries = new Map();
    for (const [side, zone, t, calls, errors, instances, q] of grouped) {
      if (zone === "" && zoneOf.size > 0) continue; // an instance without a known zone counts only overall
      let value: number;
      if (m.query.type === "latency") value = Number(q[LEVELS.indexOf(m.query.quantile)]) / 1e6;
      else if (m.query.type === "errorRatio") value = Number(errors) / Number(calls);
      else value = Number(calls) / Math.max(1, Number(instances)) / step;
      const s = zones.get(zone) ?? { baseline: [], canary: [] };
      zones.set(zone, s);
      s[side].push({ t: Number(t), value });
    }
    for (const s of zones.values())
      for (const side of ["baseline", "canary"] as const) s[side].sort((a, b) => a.t - b.t);
    out.set(m, zones);
  }
  return out;
}

/** instance → zone, read from the spans of the minute each instance first appears in. */
async function instanceZones(deps: ExtractDeps, spec: RunSpec, rows: Row[]): Promise<Map<string, string>> {
  const firstMinutes = new Set<number>();
  const seen = new Map<string, number>();
  for (const r of rows) seen.set(r[1], Math.min(seen.get(r[1]) ?? Number.POSITIVE_INFINITY, Number(r[6])));
  for (const m of seen.values()) firstMinutes.add(m);
  if (firstMinutes.size === 0) return new Map();
  const p = new Params();
  const ranges = [...firstMinutes]
    .slice(0, 50)
    .map(
      (m) =>
        `(start_time >= ${p.time(BigInt(m) * 1_000_000_000n)} AND start_time < ${p.time(BigInt(m + 60) * 1_000_000_000n)})`,
    );
  const res = await deps.sql.compactRows<[string, string]>(
    "canary_zones",
    `SELECT if(resource_attributes['service.instance.id'] != '', resource_attributes['service.instance.id'],
         resource_attributes['host.name']) AS instance, any(resource_attributes[${p.bind("String", spec.config.zoneKey)}]) AS zone
     FROM ${deps.sql.table("spans")}
     WHERE tenant = ${p.bind("String", spec.tenant)} AND service_name = ${p.bind("String", spec.service)} AND (${ranges.join(" OR ")})
     GROUP BY instance`,
    p,
  );
  return new Map(res.filter(([i]) => seen.has(i)));
}
