/** How flow endpoints are grouped (GraphQL FlowGroup). */
export type FlowGroup = "ADDRESS" | "INSTANCE" | "SERVICE" | "ZONE" | "REGION" | "VPC";

/** Label of an address nobody was recorded holding at the time. */
export const UNKNOWN = "unknown";

/**
 * SQL producing `(minute, source, destination, bytes, packets, flows)` rows for a group, where
 * source/destination are the group labels of each side at that minute. `pairs` is a subquery of
 * `(minute, src_addr, dst_addr, bytes, packets, flows)`.
 *
 * unknownHolderLabels: enrichment placeholder — every address maps to "unknown". Replaced by the
 * config-history join in holder-labels.ts when the recorder's tables are present.
 */
export function unknownHolderLabels(pairs: string): string {
  return `SELECT minute, '${UNKNOWN}' AS source, '${UNKNOWN}' AS destination, bytes, packets, flows FROM (${pairs})`;
}
