/** How flow endpoints are grouped (GraphQL FlowGroup). */
export type FlowGroup = "ADDRESS" | "INSTANCE" | "SERVICE" | "ZONE" | "REGION" | "VPC";

/** Label of an address nobody was recorded holding at the time. */
export const UNKNOWN = "unknown";

/** The pairs a grouping labels, as SQL subqueries over the rollups. */
export interface LabelInput {
  /** `(src_addr, dst_addr, bytes, packets, flows)`: the whole window (hourly rollup where it can). */
  windowPairs: string;
  /** `(hour, src_addr, dst_addr, bytes, packets, flows)`: the window's whole hours, [h0, h1). */
  hourPairs: string;
  /** `(minute, src_addr, dst_addr, bytes, packets, flows)`: every minute of the window. */
  minutePairs: string;
  /** SQL DateTime64(9) expressions: the window's first minute and its end. */
  fromMinute: string;
  to: string;
  /** SQL DateTime expressions: the first and the end of the whole hours `hourPairs` covers. */
  h0: string;
  h1: string;
}

/**
 * SQL producing `(source, destination, bytes, packets, flows)` rows for a group, where source and
 * destination are the group labels of each side when the traffic flowed.
 *
 * unknownHolderLabels: enrichment placeholder — every address maps to "unknown". Replaced by the
 * config-history join in holder-labels.ts when the recorder's tables are present.
 */
export function unknownHolderLabels(input: LabelInput): string {
  return `SELECT '${UNKNOWN}' AS source, '${UNKNOWN}' AS destination, bytes, packets, flows FROM (${input.windowPairs})`;
}
