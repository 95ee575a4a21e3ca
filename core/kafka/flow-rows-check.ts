/**
 * Checks a flows-rowbinary/1 message value without decoding it into objects: walks the rows column
 * by column in FLOW_COLUMNS_ROWBINARY_V1 order (core/kafka/flow-format.ts; the types of the `flows`
 * table, migrations/0005_flows.sql), checking that every length stays inside the value, the source
 * type is one Skald writes, the times are DateTime64(6) values a collector can produce, and every
 * row's tenant is the message's tenant. What it accepts, ClickHouse parses into exactly `rows`
 * rows, so one bad message can never shift the rows of the others in a batch (binary rows carry no
 * delimiter: a short value would swallow the next message's first bytes).
 */

import { RowCursor } from "./row-cursor.js";

/** `source_type` values (FlowSourceType in core/flows/model.ts). */
const SOURCE_TYPES: readonly Buffer[] = ["netflow5", "netflow9", "ipfix", "vpc"].map((s) =>
  Buffer.from(s, "utf8"),
);

/**
 * Times are microseconds from the epoch as Int64; the encoder writes 0 ≤ t ≤ 2^53 (JavaScript
 * numbers). A high 32-bit word at or above 2^21 is a garbled value (negative, or past year 2255).
 */
const TIME_HIGH_WORD_LIMIT = 0x20_0000;

/**
 * Bytes of the fixed-width columns between `dst_addr` and `next_hop`: src_port, dst_port (UInt16),
 * protocol (UInt8), bytes, packets (UInt64), tcp_flags, tos (UInt8), input_if, output_if (UInt32),
 * vlan (UInt16), direction (UInt8).
 */
const COUNTERS_BYTES = 2 + 2 + 1 + 8 + 8 + 1 + 1 + 4 + 4 + 2 + 1;

export function checkFlowRows(value: Buffer, tenant: string): { rows: number } | { error: string } {
  const tenants = [Buffer.from(tenant, "utf8")];
  const c = new RowCursor(value);
  let rows = 0;
  const fail = (what: string) => c.fail(rows, what);
  /** Skips a DateTime64(6); false when truncated or out of the encoder's range. */
  const time = (): boolean =>
    c.p + 8 <= c.end && value.readUInt32LE(c.p + 4) < TIME_HIGH_WORD_LIMIT && c.fixed(8);
  while (c.p < c.end) {
    if (!c.oneOf(tenants)) return fail("tenant differs from the skald-tenant header");
    if (!c.oneOf(SOURCE_TYPES)) return fail("unknown or truncated source_type");
    if (!c.str() || !c.fixed(4)) return fail("truncated exporter or domain");
    if (!time() || !time() || !time()) return fail("truncated or out-of-range times");
    if (!c.str() || !c.str()) return fail("truncated addresses");
    if (!c.fixed(COUNTERS_BYTES)) return fail("truncated ports or counters");
    if (!c.str() || !c.fixed(8)) return fail("truncated next_hop or AS numbers");
    if (!c.strings(true)) return fail("truncated extra");
    rows++;
  }
  return { rows };
}
