import { RowCursor } from "./row-cursor.js";

/**
 * Checks a spans-rowbinary/1 or /2 message value without decoding it into objects: walks the rows
 * column by column (SPAN_COLUMNS_ROWBINARY_V1 or _V2 in core/kafka/format.ts), checking that every length
 * stays inside the value, enum values are known, and every row's tenant is the message's tenant.
 * Costs a few hundred nanoseconds per span; what it accepts, ClickHouse parses into exactly
 * `rows` rows, so one bad message can never shift the rows of the others in a batch.
 */
export function checkSpanRows(
  value: Buffer,
  tenant: string,
  version: 1 | 2 = 2,
): { rows: number } | { error: string } {
  const tenants = [Buffer.from(tenant, "utf8")];
  const c = new RowCursor(value);
  let rows = 0;
  const fail = (what: string) => c.fail(rows, what);
  while (c.p < c.end) {
    if (!c.oneOf(tenants)) return fail("tenant differs from the skald-tenant header");
    // trace_id span_id parent_span_id trace_state
    if (!c.str() || !c.str() || !c.str() || !c.str()) return fail("truncated ids");
    if (!c.fixed(4) || !c.str()) return fail("truncated flags or name"); // flags, name
    if (c.p >= c.end || value[c.p] > 5) return fail("unknown span kind");
    c.p++;
    if (!c.str()) return fail("truncated service_name");
    if (!c.fixed(16)) return fail("truncated times"); // start_time, duration_ns
    if (c.p >= c.end || value[c.p] > 2) return fail("unknown status code");
    c.p++;
    if (!c.str() || !c.strings(true) || !c.strings(true) || !c.fixed(4)) return fail("truncated attributes");
    if (!c.strings(true) || !c.strings(true) || !c.fixed(4)) return fail("truncated resource attributes");
    if (!c.str() || !c.str()) return fail("truncated scope");
    if (!c.fixedArray(8) || !c.strings() || !c.strings() || !c.fixedArray(4) || !c.fixed(4)) {
      return fail("truncated events");
    }
    if (
      !c.strings() ||
      !c.strings() ||
      !c.strings() ||
      !c.strings() ||
      !c.fixedArray(4) ||
      !c.fixedArray(4) ||
      !c.fixed(4)
    ) {
      return fail("truncated links");
    }
    if (version >= 2) {
      if (c.p >= c.end || value[c.p] > 1) return fail("local_parent missing or not 0 or 1");
      c.p++;
    }
    rows++;
  }
  return { rows };
}
