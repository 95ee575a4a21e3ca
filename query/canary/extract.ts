import type { Store } from "../../core/store/store.js";
import { Params, type SqlRunner } from "../sql.js";
import type { CanaryConfig, CanaryMetricConfig } from "./config.js";
import { sandboxSettings, validateMetricSql } from "./custom-sql.js";
import { rollupFits, rollupSeries } from "./rollup.js";

/**
 * Metric extraction: per metric, per zone (and overall), per side, one value per interval.
 * Built-in metrics come from SERVER spans in one aggregation per distinct operation filter:
 *   latency      quantile of duration in the interval, ms (quantilesExact, so equal inputs give
 *                equal outputs)
 *   errorRatio   ERROR spans / spans in the interval
 *   requestRate  spans / distinct instances (service.instance.id, else host.name) / step, req/s
 * Intervals without spans give no sample. A span matching both selectors counts as baseline.
 * With `source: "auto"` (default) the service map's per-minute rollup answers instead when it
 * can give the same metrics (see rollup.ts); `source: "spans"` always reads spans.
 */

export interface Selector {
  /** Resource attribute, e.g. service.version, service.instance.id, k8s.pod.name. */
  key: string;
  values: string[];
}

export interface RunSpec {
  tenant: string;
  service: string;
  baseline: Selector;
  canary: Selector;
  fromNs: bigint;
  toNs: bigint;
  config: CanaryConfig;
}

export type Side = "baseline" | "canary";
export interface Point {
  /** Interval start, Unix seconds. */
  t: number;
  value: number;
}
export type SideSeries = Record<Side, Point[]>;
/** Zone name → series; OVERALL for all zones together. */
export type ZoneSeries = Map<string, SideSeries>;
export interface ExtractedMetric {
  metric: CanaryMetricConfig;
  zones: ZoneSeries;
  error?: string;
}

export const OVERALL = "__overall__";

export interface ExtractDeps {
  store: Store;
  sql: SqlRunner;
  limits: { maxExecutionSeconds: number; maxResultRows: number };
}

type Row = [
  side: Side,
  zone: string,
  t: number,
  requests: number,
  errors: number,
  instances: number,
  q: number[],
];

export async function extractMetrics(deps: ExtractDeps, spec: RunSpec): Promise<ExtractedMetric[]> {
  const builtin = spec.config.metrics.filter((m) => m.query.type !== "sql");
  const byOperation = new Map<string, CanaryMetricConfig[]>();
  for (const m of builtin) {
    const op = "operation" in m.query ? (m.query.operation ?? "") : "";
    byOperation.set(op, [...(byOperation.get(op) ?? []), m]);
  }
  const out = new Map<CanaryMetricConfig, ExtractedMetric>();
  for (const [op, metrics] of byOperation) {
    if (spec.config.source === "auto" && rollupFits(spec, metrics)) {
      const series = await rollupSeries(deps, spec, op, metrics);
      // An empty rollup may only mean the spans predate it (it fills from its migration on):
      // then the spans decide.
      if ([...series.values()].some((z) => z.size > 0)) {
        for (const m of metrics) out.set(m, { metric: m, zones: series.get(m)! });
        continue;
      }
    }
    const quantiles = [
      ...new Set(metrics.flatMap((m) => (m.query.type === "latency" ? [m.query.quantile] : []))),
    ];
    const rows = await builtinRows(deps, spec, op, quantiles.length ? quantiles : [0.5]);
    for (const m of metrics)
      out.set(m, { metric: m, zones: seriesOf(rows, m, quantiles, spec.config.stepSeconds) });
  }
  for (const m of spec.config.metrics) {
    if (m.query.type !== "sql") continue;
    try {
      out.set(m, { metric: m, zones: await customSeries(deps, spec, m.query.sql) });
    } catch (err) {
      out.set(m, { metric: m, zones: new Map(), error: err instanceof Error ? err.message : String(err) });
    }
  }
  return spec.config.metrics.map((m) => out.get(m)!);
}

function seriesOf(rows: Row[], m: CanaryMetricConfig, quantiles: number[], step: number): ZoneSeries {
  const zones: ZoneSeries = new Map();
  for (const [side, zone, t, requests, errors, instances, q] of rows) {
    let value: number;
    if (m.query.type === "latency") value = Number(q[quantiles.indexOf(m.query.quantile)]) / 1e6;
    else if (m.query.type === "errorRatio") value = Number(errors) / Number(requests);
    else value = Number(requests) / Math.max(1, Number(instances)) / step;
    const s = zones.get(zone) ?? { baseline: [], canary: [] };
    zones.set(zone, s);
    s[side].push({ t: Number(t), value });
  }
  for (const s of zones.values())
    for (const side of ["baseline", "canary"] as const) s[side].sort((a, b) => a.t - b.t);
  return zones;
}

async function builtinRows(
  deps: ExtractDeps,
  spec: RunSpec,
  operation: string,
  quantiles: number[],
): Promise<Row[]> {
  const p = new Params();
  const bKey = p.bind("String", spec.baseline.key);
  const bVals = p.bind("Array(String)", spec.baseline.values);
  const cKey = p.bind("String", spec.canary.key);
  const cVals = p.bind("Array(String)", spec.canary.values);
  const inBaseline = `has(${bVals}, resource_attributes[${bKey}])`;
  const inCanary = `has(${cVals}, resource_attributes[${cKey}])`;
  const zone = spec.config.zoneKey
    ? `arrayJoin([resource_attributes[${p.bind("String", spec.config.zoneKey)}], '${OVERALL}'])`
    : `'${OVERALL}'`;
  // Quantile levels are validated numbers in (0, 1), written as literals (aggregate parameters
  // cannot be bound).
  const levels = quantiles.map((q) => String(Number(q))).join(", ");
  const sql = `
    SELECT if(${inBaseline}, 'baseline', 'canary') AS side, ${zone} AS zone,
      toUnixTimestamp(toStartOfInterval(start_time, toIntervalSecond(${p.bind("UInt32", spec.config.stepSeconds)}))) AS t,
      count() AS requests, countIf(status_code = 'ERROR') AS errors,
      uniqExact(if(resource_attributes['service.instance.id'] != '', resource_attributes['service.instance.id'],
        resource_attributes['host.name'])) AS instances,
      quantilesExact(${levels})(duration_ns) AS q
    FROM ${deps.sql.table("spans")}
    WHERE tenant = ${p.bind("String", spec.tenant)} AND service_name = ${p.bind("String", spec.service)}
      AND kind = 'SERVER' AND start_time >= ${p.time(spec.fromNs)} AND start_time < ${p.time(spec.toNs)}
      AND (${inBaseline} OR ${inCanary})
      ${operation ? `AND name = ${p.bind("String", operation)}` : ""}
    GROUP BY side, zone, t`;
  return deps.sql.compactRows<Row>("canary_metrics", sql, p);
}

/** Tenant-keyed tables of the database, for additional_table_filters (cached per process). */
let tenantTables: Promise<string[]> | undefined;
async function tablesWithTenant(store: Store): Promise<string[]> {
  tenantTables ??= (async () => {
    const rs = await store.client.query({
      query: "SELECT DISTINCT table FROM system.columns WHERE database = {db:String} AND name = 'tenant'",
      query_params: { db: store.database },
      format: "JSONEachRow",
    });
    return (await rs.json<{ table: string }>()).map((r) => `${store.database}.${r.table}`);
  })();
  const tables = await tenantTables;
  if (!tables.includes(`${store.database}.spans`)) tenantTables = undefined; // not migrated yet
  return tables;
}

async function customSeries(deps: ExtractDeps, spec: RunSpec, userSql: string): Promise<ZoneSeries> {
  const sql = validateMetricSql(userSql).replaceAll("{database}", deps.store.database);
  const tables = await tablesWithTenant(deps.store);
  const zones: ZoneSeries = new Map();
  for (const side of ["baseline", "canary"] as const) {
    const sel = spec[side];
    const rs = await deps.store.client.query({
      query: `SELECT toUnixTimestamp(toDateTime(t)) AS t, toFloat64(value) AS value,
          ${/\bzone\b/.test(sql) ? "toString(zone)" : `'${OVERALL}'`} AS zone
        FROM (${sql})${sandboxSettings(spec.tenant, tables, deps.limits)}`,
      query_params: {
        tenant: spec.tenant,
        service: spec.service,
        from: nanosText(spec.fromNs),
        to: nanosText(spec.toNs),
        step: spec.config.stepSeconds,
        selectorKey: sel.key,
        selectorValues: sel.values,
        zoneKey: spec.config.zoneKey,
      },
      format: "JSONEachRow",
    });
    for (const r of await rs.json<{ t: number; value: number; zone: string }>()) {
      const s = zones.get(r.zone) ?? { baseline: [], canary: [] };
      zones.set(r.zone, s);
      s[side].push({ t: Number(r.t), value: Number(r.value) });
    }
  }
  return zones;
}

/** A DateTime64(9) parameter value: "seconds.nanoseconds" since the epoch, UTC. */
function nanosText(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  const f = (ns % 1_000_000_000n).toString().padStart(9, "0");
  return `${s}.${f}`;
}
