/**
 * Checks a flows-rowbinary/1 message value without decoding it into objects: walks the rows column
 * by column in FLOW_COLUMNS_ROWBINARY_V1 order (core/kafka/flow-format.ts; the types of the `flows`
 * table, migrations/0005_flows.sql), checking that every length stays inside the value, the source
 * type is one Skald writes, the times are DateTime64(6) values a collector can produce, and every
 * row's tenant is the message's tenant. What it accepts, ClickHouse parses into exactly `rows`
 * rows, so one bad message can never shift the rows of the others in a batch (binary rows carry no
 * delimiter: a short value would swallow the next message's first bytes).
 */

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
  const tenantBytes = Buffer.from(tenant, "utf8");
  const end = value.length;
  let p = 0;
  let rows = 0;
  const fail = (what: string) => ({ error: `row ${rows + 1}: ${what} (byte ${p} of ${end})` });
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (p >= end || shift > 28) return -1;
      const b = value[p++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  /** Skips a String; false when it runs past the end. */
  const str = (): boolean => {
    const n = varint();
    if (n < 0 || p + n > end) return false;
    p += n;
    return true;
  };
  const fixed = (n: number): boolean => {
    if (p + n > end) return false;
    p += n;
    return true;
  };
  /** Skips a DateTime64(6); false when truncated or out of the encoder's range. */
  const time = (): boolean => {
    if (p + 8 > end || value.readUInt32LE(p + 4) >= TIME_HIGH_WORD_LIMIT) return false;
    p += 8;
    return true;
  };
  const sourceType = (): boolean => {
    const n = varint();
    if (n < 0 || p + n > end) return false;
    const known = SOURCE_TYPES.some((s) => s.length === n && value.compare(s, 0, n, p, p + n) === 0);
    p += n;
    return known;
  };
  while (p < end) {
    const t = varint();
    if (t !== tenantBytes.length || p + t > end || value.compare(tenantBytes, 0, t, p, p + t) !== 0) {
      return fail("tenant differs from the skald-tenant header");
    }
    p += t;
    if (!sourceType()) return fail("unknown or truncated source_type");
    if (!str() || !fixed(4)) return fail("truncated exporter or domain");
    if (!time() || !time() || !time()) return fail("truncated or out-of-range times");
    if (!str() || !str()) return fail("truncated addresses");
    if (!fixed(COUNTERS_BYTES)) return fail("truncated ports or counters");
    if (!str() || !fixed(8)) return fail("truncated next_hop or AS numbers");
    const n = varint();
    if (n < 0) return fail("truncated extra");
    for (let i = 0; i < n; i++) if (!str() || !str()) return fail("truncated extra");
    rows++;
  }
  return { rows };
}
