import type { Params } from "../sql.js";
import { type FlowGroup, type LabelInput, UNKNOWN } from "./enrich.js";

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

/**
 * The LabelSql of FlowReader over the recorder's tables in `database`.
 *
 * A label can only change when the address's holder changes or (for labels read from the
 * instance's document) the holder's document does: an *event*. Most addresses have none inside
 * the window: they are labelled once, at the window's first minute, and their traffic is read
 * from the window totals (hourly rollup where it can). The few with events are labelled per
 * bucket: per hour for hours without an event of either address, per minute inside the hours that
 * have one. Either way every byte gets the label its address had when it flowed, to the minute,
 * exactly as labelling every minute would — at a fraction of the rows.
 */
export function holderLabels(database: string) {
  return (input: LabelInput, group: FlowGroup, p: Params, tenantValue: string): string => {
    const tenant = p.bind("String", tenantValue);
    const { fromMinute, to, h0, h1 } = input;
    const holders = `SELECT * FROM (SELECT ip, id, region, seen_at AS since,
        leadInFrame(seen_at, 1, toDateTime64('2262-01-01 00:00:00', 9, 'UTC'))
          OVER (PARTITION BY ip, id ORDER BY seen_at ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS until,
        held
      FROM ${database}.config_ip_holders FINAL
      WHERE tenant = ${tenant} AND collection = 'instances') WHERE held = 1`;
    const fromDoc = versionLabelExpr(group);
    const label = `if(h.id != '' AND h.held = 1 AND x.t < h.until, nullIf(${labelExpr(group)}, ''), NULL)`;
    /** Labels of `(a, t)` rows: the address's holder at t, and its document then. */
    const labelled = (addrs: string) => `SELECT x.a AS a, x.t AS t, ifNull(${label}, '${UNKNOWN}') AS label
        FROM (${addrs}) AS x
        ASOF LEFT JOIN (${holders}) AS h ON h.ip = x.a AND x.t >= h.since
        ${
          fromDoc
            ? `ASOF LEFT JOIN (SELECT id, seen_at, ${fromDoc} AS label FROM ${database}.config_versions FINAL
          WHERE tenant = ${tenant} AND collection = 'instances' AND deleted = 0) AS v
          ON v.id = h.id AND x.t >= v.seen_at`
            : ""
        }`;
    // (address, hour) of every event inside the window.
    const docEvents = fromDoc
      ? `UNION DISTINCT
        SELECT h.ip AS ip, toStartOfHour(v.seen_at) AS hour
        FROM ${database}.config_ip_holders AS h
        INNER JOIN (SELECT id, seen_at FROM ${database}.config_versions
          WHERE tenant = ${tenant} AND collection = 'instances' AND seen_at > ${fromMinute} AND seen_at < ${to}) AS v
        ON v.id = h.id
        WHERE h.tenant = ${tenant} AND h.collection = 'instances'`
      : "";
    const eventHours = `SELECT ip, toStartOfHour(seen_at) AS hour FROM ${database}.config_ip_holders
        WHERE tenant = ${tenant} AND collection = 'instances' AND seen_at > ${fromMinute} AND seen_at < ${to}
        ${docEvents}`;
    const unstable = `SELECT ip FROM (${eventHours})`;
    const either = `(src_addr IN (${unstable}) OR dst_addr IN (${unstable}))`;
    const inEventHour = (at: string) =>
      `((src_addr, ${at}) IN (${eventHours}) OR (dst_addr, ${at}) IN (${eventHours}))`;
    // Buckets of traffic touching an address with events: t is the bucket's start, and no event
    // of either address falls strictly inside it.
    const buckets = `SELECT toDateTime64(hour, 9, 'UTC') AS t, src_addr, dst_addr, bytes, packets, flows
        FROM (${input.hourPairs}) WHERE ${either} AND NOT ${inEventHour("hour")}
      UNION ALL
      SELECT toDateTime64(minute, 9, 'UTC') AS t, src_addr, dst_addr, bytes, packets, flows
        FROM (${input.minutePairs})
        WHERE ${either} AND (minute < ${h0} OR minute >= ${h1} OR ${inEventHour("toStartOfHour(minute)")})`;
    const bucketLabels = labelled(
      `SELECT DISTINCT a, t FROM (${buckets}) ARRAY JOIN [src_addr, dst_addr] AS a`,
    );
    const stableLabels = labelled(
      `SELECT DISTINCT a, ${fromMinute} AS t FROM (${input.windowPairs}) ARRAY JOIN [src_addr, dst_addr] AS a`,
    );
    return `WITH stable AS (${stableLabels}), moving AS (${bucketLabels})
      SELECT ls.label AS source, ld.label AS destination, w.bytes AS bytes, w.packets AS packets, w.flows AS flows
      FROM (SELECT * FROM (${input.windowPairs}) WHERE NOT ${either}) AS w
      LEFT JOIN stable AS ls ON ls.a = w.src_addr
      LEFT JOIN stable AS ld ON ld.a = w.dst_addr
      UNION ALL
      SELECT ls.label AS source, ld.label AS destination, b.bytes AS bytes, b.packets AS packets, b.flows AS flows
      FROM (${buckets}) AS b
      LEFT JOIN moving AS ls ON ls.a = b.src_addr AND ls.t = b.t
      LEFT JOIN moving AS ld ON ld.a = b.dst_addr AND ld.t = b.t`;
  };
}
