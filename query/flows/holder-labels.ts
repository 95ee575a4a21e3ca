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
/**
 * The label of a group taken from the instance's document, computed once per stored version of
 * the document (JSON is parsed per version, never per minute and address), or "" when the group
 * needs no document.
 */
function versionLabelExpr(group: FlowGroup): string {
  const tags = `CAST((arrayMap(x -> JSONExtractString(x, 'Key'), JSONExtractArrayRaw(doc, 'Tags')),
      arrayMap(x -> JSONExtractString(x, 'Value'), JSONExtractArrayRaw(doc, 'Tags'))), 'Map(String, String)')`;
  switch (group) {
    case "ZONE":
      return "JSONExtractString(doc, 'Placement', 'AvailabilityZone')";
    case "VPC":
      return "JSONExtractString(doc, 'VpcId')";
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
        .join(", ")}, ''])`;
    default:
      return "";
  }
}

/** The label of one (minute, address) from its holder `h` and, if joined, version `v`. */
function labelExpr(group: FlowGroup): string {
  switch (group) {
    case "INSTANCE":
      return "h.id";
    case "REGION":
      return "h.region";
    case "SERVICE":
      return "if(v.label != '', v.label, h.id)";
    case "ZONE":
    case "VPC":
      return "v.label";
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
    const fromDoc = versionLabelExpr(group);
    const versions = fromDoc
      ? `ASOF LEFT JOIN (SELECT id, seen_at, ${fromDoc} AS label FROM ${database}.config_versions FINAL
          WHERE tenant = ${tenant} AND collection = 'instances' AND deleted = 0) AS v
          ON v.id = h.id AND addrs.t >= v.seen_at`
      : "";
    const label = `if(h.id != '' AND h.held = 1 AND t < h.until, nullIf(${labelExpr(group)}, ''), NULL)`;
    // Each side of a pair is labelled by one join of the pairs unpivoted to (pair, side, address),
    // so the label subquery runs once, not once per side.
    return `WITH pairs AS (${pairs}),
      addrs AS (SELECT DISTINCT minute, a, toDateTime64(minute, 9, 'UTC') AS t FROM pairs ARRAY JOIN [src_addr, dst_addr] AS a),
      labels AS (
        SELECT addrs.minute AS minute, addrs.a AS a, ifNull(${label}, '${UNKNOWN}') AS label
        FROM addrs
        ASOF LEFT JOIN (SELECT * FROM (${holders}) WHERE held = 1) AS h ON h.ip = addrs.a AND addrs.t >= h.since
        ${versions}
      )
      SELECT u.minute AS minute, anyIf(l.label, u.side = 0) AS source, anyIf(l.label, u.side = 1) AS destination,
        any(u.bytes) AS bytes, any(u.packets) AS packets, any(u.flows) AS flows
      FROM (
        SELECT minute, src_addr, dst_addr, bytes, packets, flows, s.1 AS side, s.2 AS addr
        FROM pairs ARRAY JOIN [(0, src_addr), (1, dst_addr)] AS s
      ) AS u
      LEFT JOIN labels AS l ON l.minute = u.minute AND l.a = u.addr
      GROUP BY u.minute, u.src_addr, u.dst_addr`;
  };
}
