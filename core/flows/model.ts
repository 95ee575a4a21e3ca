/**
 * One packet-flow record, whatever it arrived as (NetFlow v5/v9, IPFIX, VPC Flow Logs). Times are
 * milliseconds since the epoch as doubles (sub-millisecond precision is kept to the microsecond).
 * Counters are numbers: exact up to 2^53, which no real flow reaches.
 */
export interface FlowRecord {
  /** "netflow5" | "netflow9" | "ipfix" | "vpc". */
  sourceType: FlowSourceType;
  /** Address of the exporting device (UDP source), or the log's account/interface for VPC. */
  exporter: string;
  /** NetFlow v9 source id, IPFIX observation domain id, v5 engine type<<8|id; 0 for VPC. */
  domain: number;
  startMs: number;
  endMs: number;
  srcAddr: string;
  dstAddr: string;
  srcPort: number;
  dstPort: number;
  protocol: number;
  bytes: number;
  packets: number;
  tcpFlags: number;
  tos: number;
  inputIf: number;
  outputIf: number;
  vlan: number;
  /** 0 ingress, 1 egress, 255 unknown (IPFIX flowDirection). */
  direction: number;
  nextHop: string;
  srcAs: number;
  dstAs: number;
  /** Fields without a column (VPC account id, interface id, action, …). */
  extra: Record<string, string> | undefined;
}

export type FlowSourceType = "netflow5" | "netflow9" | "ipfix" | "vpc";

export function emptyFlow(sourceType: FlowSourceType, exporter: string, domain: number): FlowRecord {
  return {
    sourceType,
    exporter,
    domain,
    startMs: 0,
    endMs: 0,
    srcAddr: "",
    dstAddr: "",
    srcPort: 0,
    dstPort: 0,
    protocol: 0,
    bytes: 0,
    packets: 0,
    tcpFlags: 0,
    tos: 0,
    inputIf: 0,
    outputIf: 0,
    vlan: 0,
    direction: 255,
    nextHop: "",
    srcAs: 0,
    dstAs: 0,
    extra: undefined,
  };
}

/** Why a packet, set or record was not turned into flows. Closed set: it labels a metric. */
export type FlowDropReason =
  | "truncated_header"
  | "unknown_version"
  | "bad_length"
  | "truncated_set"
  | "bad_set_id"
  | "bad_template"
  | "template_limit"
  | "no_template"
  | "pending_overflow"
  | "pending_expired"
  | "record_limit"
  | "bad_record"
  | "queue_full"
  | "store_unavailable"
  | "malformed_line"
  | "vpc_nodata"
  | "vpc_skipdata"
  | "too_large";

/** What a decoder observed, besides the flows; the receiver turns it into metrics. */
export interface DecodeReport {
  /** Records dropped, by reason (a truncated packet counts one). */
  dropped: Partial<Record<FlowDropReason, number>>;
  /** Export packets the exporter's sequence numbers say were lost before this one. */
  sequenceGap: number;
}
