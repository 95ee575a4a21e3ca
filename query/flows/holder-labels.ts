import type { Params } from "../sql.js";
import { type FlowGroup, UNKNOWN } from "./enrich.js";

/**
 * Query-time enrichment from the recorder's history (migration 0003): which instance held an
 * address at each minute (`config_ip_holders`), and that instance's document as it was then
 * (`config_versions`) for zone, VPC and service. An address that moved between instances is
 * attributed to each holder for the minutes it held it; an address held by no instance is
 * "unknown". Load balancers and bare interfaces are not resolved yet (they show as "unknown").
 *
 * Service: the first non-empty tag of service, Service, app, application, aws:autoscaling:groupName,
 * Name; else the instance id.
 */
function labelExpr(group: FlowGroup): string {
  const tags = `CAST((arrayMap(x -> JSONExtractString(x, 'Key'), JSONExtractArrayRaw(v.doc, 'Tags')),
      arrayMap(x -> JSONExtractString(x, 'Value'), JSONExtractArrayRaw(v.doc, 'Tags'))), 'Map(String, String)')`;
  switch (group) {
    case "INSTANCE":
      return "h.id";
    case "REGION":
      return "h.region";
    case "ZONE":
      return "JSONExtractString(v.doc, 'Placement', 'AvailabilityZone')";
    case "VPC":
      return "JSONExtractString(v.doc, 'VpcId')";
    case "SERVICE":
      return `arrayFirst(x -> x != '', [${[
        "service",
        "Service",
        "app",
        "application",
        "aws:autoscaling:groupName",
        "Name",
      ]
        .map((k) => `${tags}['${k}']`)
        .join(", ")}, h.id])`;
    default:
      return "a";
  }
}

/** The LabelSql of FlowReader over the recorder's tables in `database`. */
export function holderLabels(database: string) {
  return (pairs: string, group: FlowGroup, p: Params, tenantValue: string): string => {
    const tenant = p.bind("String", tenantValue);
    const holders = `SELECT ip, id, region, seen_at AS since,
        leadInFrame(seen_at, 1, toDateTime64('2262-01-01 00:00:00', 9, 'UTC'))
          OVER (PARTITION BY ip, id ORDER BY seen_at ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS until,
        held
      FROM ${database}.config_ip_holders FINAL
      WHERE tenant = ${tenant} AND collection = 'instances'`;
    const versions = `SELECT id, seen_at, doc FROM ${database}.config_versions FINAL
      WHERE tenant = ${tenant} AND collection = 'instances' AND deleted = 0`;
    const label = `if(h.id != '' AND h.held = 1 AND t < h.until, nullIf(${labelExpr(group)}, ''), NULL)`;
    return `WITH pairs AS (${pairs}),
      addrs AS (SELECT DISTINCT minute, a, toDateTime64(minute, 9, 'UTC') AS t FROM pairs ARRAY JOIN [src_addr, dst_addr] AS a),
      labels AS (
        SELECT addrs.minute AS minute, addrs.a AS a, ifNull(${label}, '${UNKNOWN}') AS label
        FROM addrs
        ASOF LEFT JOIN (SELECT * FROM (${holders}) WHERE held = 1) AS h ON h.ip = addrs.a AND addrs.t >= h.since
        ASOF LEFT JOIN (${versions}) AS v ON v.id = h.id AND addrs.t >= v.seen_at
      )
      SELECT pairs.minute AS minute, ls.label AS source, ld.label AS destination, bytes, packets, flows
      FROM pairs
      LEFT JOIN labels AS ls ON ls.minute = pairs.minute AND ls.a = pairs.src_addr
      LEFT JOIN labels AS ld ON ld.minute = pairs.minute AND ld.a = pairs.dst_addr`;
  };
}
