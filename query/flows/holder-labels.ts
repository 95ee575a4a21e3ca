import { limitExceeded } from "../../core/errors.js";
import type { Params, SqlRunner } from "../sql.js";
import { type FlowGroup, type LabelInput, UNKNOWN } from "./enrich.js";

/**
 * Query-time enrichment from the recorder's history (migration 0003): who held an address at each
 * minute (`config_ip_holders`), and the holder's document as it was then (`config_versions`). An
 * address that moved between holders is attributed to each holder for the minutes it held it.
 *
 * Two kinds of holder are read, each by its own ASOF join, and coalesced: an *instance* holding
 * the address wins; else the *network interface* holding it (the same IP is recorded under both
 * an instance and its interface, so "latest since" must never pick between the two collections);
 * else the address is "unknown".
 *
 * Instance: INSTANCE is its id, ZONE `Placement.AvailabilityZone`, VPC `VpcId`, REGION the holder
 * row's region, SERVICE the first non-empty tag (`Tags`) of SERVICE_TAGS, else the instance id.
 *
 * Interface (DescribeNetworkInterfaces document): INSTANCE is the attached instance
 * (`Attachment.InstanceId`), else `elb/<name>` for a load balancer's interface (`Description`
 * "ELB app/<name>/…", "ELB net/<name>/…", "ELB gwy/<name>/…" or "ELB <classic name>", requested by
 * "amazon-elb" or of a load balancer `InterfaceType`), else the interface id; SERVICE the first
 * non-empty tag (`TagSet`) of SERVICE_TAGS, else the load balancer's name, else INSTANCE; ZONE
 * `AvailabilityZone`, VPC `VpcId`, REGION the holder row's region.
 */
const SERVICE_TAGS = ["service", "Service", "app", "application", "aws:autoscaling:groupName", "Name"];

const INSTANCES = "instances";
const INTERFACES = "networkInterfaces";

/** The first non-empty of SERVICE_TAGS in the document's tag array `field` ({Key, Value} items). */
function serviceTagExpr(field: string): string {
  const tags = `CAST((arrayMap(x -> JSONExtractString(x, 'Key'), JSONExtractArrayRaw(doc, '${field}')),
      arrayMap(x -> JSONExtractString(x, 'Value'), JSONExtractArrayRaw(doc, '${field}'))), 'Map(String, String)')`;
  return `arrayFirst(x -> x != '', [${SERVICE_TAGS.map((k) => `${tags}['${k}']`).join(", ")}, ''])`;
}

/**
 * The label of a group taken from an instance's document, computed once per stored version of
 * the document (JSON is parsed per version, never per minute and address), or "" when the group
 * needs no document.
 */
function instanceVersionExpr(group: FlowGroup): string {
  switch (group) {
    case "ZONE":
      return "JSONExtractString(doc, 'Placement', 'AvailabilityZone')";
    case "VPC":
      return "JSONExtractString(doc, 'VpcId')";
    case "SERVICE":
      return serviceTagExpr("Tags");
    default:
      return "";
  }
}

/** Name of the load balancer owning an interface's document, or '' when it is not an ELB's. */
const ELB_NAME = `if(startsWith(JSONExtractString(doc, 'Description'), 'ELB ')
      AND (JSONExtractString(doc, 'RequesterId') = 'amazon-elb'
        OR JSONExtractString(doc, 'InterfaceType') IN ('network_load_balancer', 'gateway_load_balancer')),
    if(match(substring(JSONExtractString(doc, 'Description'), 5), '^(app|net|gwy)/[^/]+/'),
      splitByChar('/', substring(JSONExtractString(doc, 'Description'), 5))[2],
      substring(JSONExtractString(doc, 'Description'), 5)),
    '')`;
/** INSTANCE of an interface's document: attached instance, else `elb/<name>`, else its own id. */
const ENI_INSTANCE = `multiIf(JSONExtractString(doc, 'Attachment', 'InstanceId') != '',
    JSONExtractString(doc, 'Attachment', 'InstanceId'), ${ELB_NAME} != '', concat('elb/', ${ELB_NAME}), id)`;

/**
 * The label of a group taken from an interface's document, once per stored version, or "" when
 * the group needs no document (REGION comes from the holder row). Every other group does: even
 * INSTANCE is read from the document (the attachment, the load balancer).
 */
function interfaceVersionExpr(group: FlowGroup): string {
  switch (group) {
    case "INSTANCE":
      return ENI_INSTANCE;
    case "ZONE":
      return "JSONExtractString(doc, 'AvailabilityZone')";
    case "VPC":
      return "JSONExtractString(doc, 'VpcId')";
    case "SERVICE":
      return `arrayFirst(x -> x != '', [${serviceTagExpr("TagSet")}, ${ELB_NAME}, ${ENI_INSTANCE}])`;
    default:
      return "";
  }
}

/** The label of one (minute, address) from its instance holder `h` and, if joined, version `v`. */
function instanceLabelExpr(group: FlowGroup): string {
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
      return "x.a";
  }
}

/** The label of one (minute, address) from its interface holder `e` and, if joined, version `ev`. */
function interfaceLabelExpr(group: FlowGroup): string {
  switch (group) {
    case "REGION":
      return "e.region";
    case "INSTANCE":
    case "SERVICE":
    case "ZONE":
    case "VPC":
      return "ev.label";
    default:
      return "x.a";
  }
}

/**
 * The LabelSql of FlowReader over the recorder's tables in `database`.
 *
 * A label can only change when the address's holder changes (an instance or an interface starts or
 * stops holding it) or, for labels read from a document, a holder's document does: an *event*.
 * Most addresses have none inside the window: they are labelled once, at the window's first
 * minute, and their traffic is read from the window totals (hourly rollup where it can). The few
 * with events are labelled per bucket: per hour for hours without an event of either address, per
 * minute inside the hours that have one. Either way every byte gets the label its address had when
 * it flowed, to the minute, exactly as labelling every minute would — at a fraction of the rows.
 */
export function holderLabels(database: string) {
  return async (
    input: LabelInput,
    group: FlowGroup,
    p: Params,
    tenantValue: string,
    sql: SqlRunner,
  ): Promise<string> => {
    const tenant = p.bind("String", tenantValue);
    const { fromMinute, to, h0, h1 } = input;
    const fromInstanceDoc = instanceVersionExpr(group);
    const fromInterfaceDoc = interfaceVersionExpr(group);
    const holderCollections = `('${INSTANCES}', '${INTERFACES}')`;
    const docCollections = [fromInstanceDoc && INSTANCES, fromInterfaceDoc && INTERFACES].filter((c) => c);
    const docIn = `(${docCollections.map((c) => `'${c}'`).join(", ")})`;
    // (address, hour) of every event inside the window — hours in the server's time zone, as the
    // rollups cut them: a holder change of either collection, or (for labels read from the
    // document) a new version of an instance or interface that held the address. Few, so fetched
    // first and bound as constants: the minute rollup is then read only for the hours that need it.
    const docEvents =
      docCollections.length > 0
        ? `UNION DISTINCT
        SELECT h.ip AS ip, toStartOfHour(toDateTime(v.seen_at, timezone())) AS hour
        FROM ${database}.config_ip_holders AS h
        INNER JOIN (SELECT collection, id, seen_at FROM ${database}.config_versions
          WHERE tenant = ${tenant} AND collection IN ${docIn} AND seen_at > ${fromMinute} AND seen_at < ${to}) AS v
        ON v.collection = h.collection AND v.id = h.id
        WHERE h.tenant = ${tenant} AND h.collection IN ${docIn}`
        : "";
    const events = await sql.rows<{ ip: string; hour: number }>(
      "flow_label_events",
      `SELECT ip, toUnixTimestamp(hour) AS hour FROM (
        SELECT ip, toStartOfHour(toDateTime(seen_at, timezone())) AS hour FROM ${database}.config_ip_holders
        WHERE tenant = ${tenant} AND collection IN ${holderCollections} AND seen_at > ${fromMinute} AND seen_at < ${to}
        ${docEvents}) LIMIT 100001`,
      p,
    );
    if (events.length > 100_000) {
      throw limitExceeded(
        "TOO_MANY_CHANGES",
        "more than 100,000 address changes in the window; ask for a shorter window",
      );
    }
    /** Holding intervals [since, until) of one collection's holders; `until` is far off while held. */
    const holders = (collection: string) => `SELECT * FROM (SELECT ip, id, region, seen_at AS since,
        leadInFrame(seen_at, 1, toDateTime64('2262-01-01 00:00:00', 9, 'UTC'))
          OVER (PARTITION BY ip, id ORDER BY seen_at ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS until,
        held
      FROM ${database}.config_ip_holders FINAL
      WHERE tenant = ${tenant} AND collection = '${collection}') WHERE held = 1`;
    /** Each stored version of one collection's documents with its label, `expr`. */
    const versions = (collection: string, expr: string) => `SELECT id, seen_at, label FROM (
        SELECT id, seen_at, ${expr} AS label FROM ${database}.config_versions FINAL
        WHERE tenant = ${tenant} AND collection = '${collection}' AND deleted = 0)`;
    // The instance's label when an instance held the address at t (even an empty one: its own
    // interface never overrides it), else the interface's, else unknown. Each collection is
    // ASOF-joined on its own, so the latest holder is picked within a collection, never across.
    const label = `multiIf(
        h.id != '' AND h.held = 1 AND x.t < h.until, nullIf(${instanceLabelExpr(group)}, ''),
        e.id != '' AND e.held = 1 AND x.t < e.until, nullIf(${interfaceLabelExpr(group)}, ''),
        NULL)`;
    /** Labels of `(a, t)` rows: the address's holder at t, and its document then. */
    const labelled = (addrs: string) => `SELECT x.a AS a, x.t AS t, ifNull(${label}, '${UNKNOWN}') AS label
        FROM (${addrs}) AS x
        ASOF LEFT JOIN (${holders(INSTANCES)}) AS h ON h.ip = x.a AND x.t >= h.since
        ASOF LEFT JOIN (${holders(INTERFACES)}) AS e ON e.ip = x.a AND x.t >= e.since
        ${
          fromInstanceDoc
            ? `ASOF LEFT JOIN (${versions(INSTANCES, fromInstanceDoc)}) AS v ON v.id = h.id AND x.t >= v.seen_at`
            : ""
        }
        ${
          fromInterfaceDoc
            ? `ASOF LEFT JOIN (${versions(INTERFACES, fromInterfaceDoc)}) AS ev ON ev.id = e.id AND x.t >= ev.seen_at`
            : ""
        }`;
    const unstable = [...new Set(events.map((e) => e.ip))];
    const moving = p.bind("Array(String)", unstable);
    const either = `(src_addr IN ${moving} OR dst_addr IN ${moving})`;
    // Traffic of stable pairs: the window totals, labelled at the window's first minute (summed
    // per pair first: a day of hourly rows becomes one row per pair).
    const stableRows = `SELECT ${fromMinute} AS t, src_addr, dst_addr,
          sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows
        FROM (${input.windowPairs}) ${unstable.length > 0 ? `WHERE NOT ${either}` : ""}
        GROUP BY src_addr, dst_addr`;
    let rows = stableRows;
    if (unstable.length > 0) {
      const keys = p.bind("Array(String)", [...new Set(events.map((e) => `${e.ip}|${e.hour}`))]);
      const key = (addr: string, hour: string) => `concat(${addr}, '|', toString(toUnixTimestamp(${hour})))`;
      const inEventHour = (hour: string) =>
        `(${key("src_addr", hour)} IN ${keys} OR ${key("dst_addr", hour)} IN ${keys})`;
      // Minute rows are read for the partial hours at the window's edges and for the hours holding
      // an event, each as a range of the rollup's primary key.
      const hours = [...new Set(events.map((e) => e.hour))].sort((a, b) => a - b);
      const minuteRanges = [
        `minute < ${h0}`,
        `minute >= ${h1}`,
        ...hours.map((h) => {
          const start = p.bind("UInt32", h);
          return `(minute >= toDateTime(${start}) AND minute < toDateTime(${start}) + INTERVAL 1 HOUR)`;
        }),
      ].join(" OR ");
      // Buckets of traffic touching an address with events: t is the bucket's start, and no
      // event of either address falls strictly inside it.
      rows = `${stableRows}
        UNION ALL
        SELECT toDateTime64(hour, 9, 'UTC') AS t, src_addr, dst_addr, bytes, packets, flows
          FROM (${input.hourPairs}) WHERE ${either} AND NOT ${inEventHour("hour")}
        UNION ALL
        SELECT toDateTime64(minute, 9, 'UTC') AS t, src_addr, dst_addr, bytes, packets, flows
          FROM (${input.minutePairs})
          WHERE (${minuteRanges}) AND ${either}
            AND (minute < ${h0} OR minute >= ${h1} OR ${inEventHour("toStartOfHour(minute)")})`;
    }
    // Each side of every row is labelled by one join of the rows unpivoted to (row, side,
    // address), so the holder and document lookups run once, not once per side.
    const labels = labelled(`SELECT DISTINCT a, t FROM (${rows}) ARRAY JOIN [src_addr, dst_addr] AS a`);
    return `SELECT anyIf(l.label, u.side = 0) AS source, anyIf(l.label, u.side = 1) AS destination,
        any(u.bytes) AS bytes, any(u.packets) AS packets, any(u.flows) AS flows
      FROM (
        SELECT rid, t, bytes, packets, flows, s.1 AS side, s.2 AS a
        FROM (SELECT rowNumberInAllBlocks() AS rid, * FROM (${rows}))
        ARRAY JOIN [(0, src_addr), (1, dst_addr)] AS s
      ) AS u
      LEFT JOIN (${labels}) AS l ON l.a = u.a AND l.t = u.t
      GROUP BY u.rid`;
  };
}
