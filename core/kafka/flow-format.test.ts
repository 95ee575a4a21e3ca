import { describe, expect, it } from "vitest";
import { FLOW_COLUMNS } from "../flows/encoder.js";
import { emptyFlow, type FlowRecord } from "../flows/model.js";
import { encodeFlowsRowBinary } from "../flows/row-binary-encoder.js";
import {
  decodeFlowMessage,
  encodeFlowMessages,
  FLOW_COLUMNS_ROWBINARY_V1,
  FORMAT_FLOWS_ROWBINARY_V1,
} from "./flow-format.js";
import { checkFlowRows } from "./flow-rows-check.js";
import { HEADER_FORMAT, HEADER_ROWS, HEADER_TENANT } from "./format.js";

const NOW = Date.UTC(2026, 0, 15, 12);

function flow(i: number, exporter = "192.0.2.7", extra?: Record<string, string>): FlowRecord {
  return {
    ...emptyFlow(i % 2 === 0 ? "ipfix" : "vpc", exporter, 5),
    startMs: NOW - 60_000,
    endMs: NOW - 1_000,
    srcAddr: `10.0.${i >> 8}.${i & 255}`,
    dstAddr: "10.1.0.1",
    srcPort: 40_000 + i,
    dstPort: 443,
    protocol: 6,
    bytes: 1000 + i,
    packets: 3,
    nextHop: i % 3 === 0 ? "10.0.0.254" : "",
    extra,
  };
}

const flows = (n: number) => Array.from({ length: n }, (_, i) => flow(i, "192.0.2.7", { "account-id": "1" }));

const headers = (rows: number, tenant = "acme") => ({
  [HEADER_FORMAT]: FORMAT_FLOWS_ROWBINARY_V1,
  [HEADER_TENANT]: tenant,
  [HEADER_ROWS]: String(rows),
});

describe("Kafka flow message format", () => {
  it("flows-rowbinary/1 columns are today's flow columns (change the encoder → bump the format)", () => {
    expect([...FLOW_COLUMNS]).toEqual([...FLOW_COLUMNS_ROWBINARY_V1]);
  });

  it("writes one message per call, keyed by exporter, that the reader accepts as the same rows", () => {
    const batch = flows(50);
    const { messages, clamped } = encodeFlowMessages("acme", NOW, batch, 1 << 20);
    expect(clamped).toBe(0);
    expect(messages).toHaveLength(1);
    const [m] = messages;
    expect(m.key).toBe("192.0.2.7");
    expect(m.headers).toEqual(headers(50));
    expect(m.value).toEqual(encodeFlowsRowBinary("acme", NOW, batch).body);
    expect(decodeFlowMessage({ value: m.value, headers: m.headers })).toMatchObject({
      ok: true,
      format: "RowBinary",
      rows: 50,
      columns: FLOW_COLUMNS_ROWBINARY_V1,
    });
  });

  it("cuts a large call into messages on row boundaries, each below the limit; no exporter → no key", () => {
    const batch = Array.from({ length: 300 }, (_, i) => flow(i, ""));
    const { messages } = encodeFlowMessages("acme", NOW, batch, 4 * 1024);
    expect(messages.length).toBeGreaterThan(4);
    expect(messages.reduce((n, m) => n + m.rows, 0)).toBe(300);
    for (const m of messages) {
      expect(m.key).toBeNull();
      expect(m.value.length).toBeLessThanOrEqual(4 * 1024);
      expect(checkFlowRows(m.value, "acme")).toEqual({ rows: m.rows });
    }
    expect(Buffer.concat(messages.map((m) => m.value))).toEqual(
      encodeFlowsRowBinary("acme", NOW, batch).body,
    );
  });

  it("counts clamped times once per flow, however often a large call is cut", () => {
    const batch = Array.from({ length: 400 }, (_, i) => ({ ...flow(i), startMs: 0, endMs: 1 }));
    const { messages, clamped } = encodeFlowMessages("acme", NOW, batch, 4 * 1024);
    expect(messages.length).toBeGreaterThan(2);
    expect(clamped).toBe(400);
  });

  it("dead-letters wrong formats, versions, tenants and row counts with the reason", () => {
    const value = encodeFlowsRowBinary("acme", NOW, flows(3)).body;
    const reason = (h: Record<string, string>, v: Buffer = value) => {
      const d = decodeFlowMessage({ value: v, headers: h });
      return d.ok ? "ok" : d.reason;
    };
    expect(reason({})).toMatch(/skald-format header missing/);
    expect(reason({ ...headers(3), [HEADER_FORMAT]: "flows-rowbinary/2" })).toMatch(
      /unsupported skald-format "flows-rowbinary\/2" \(this ingester reads flows-rowbinary\/1\)/,
    );
    expect(reason({ ...headers(3), [HEADER_FORMAT]: "spans-rowbinary/1" })).toMatch(/unsupported/);
    const { [HEADER_TENANT]: _t, ...noTenant } = headers(3);
    expect(reason(noTenant)).toMatch(/skald-tenant header missing/);
    expect(reason(headers(3, "bad tenant!"))).toMatch(/invalid skald-tenant/);
    expect(reason(headers(3, "other"))).toMatch(/row 1: tenant differs/);
    expect(reason(headers(4))).toMatch(/skald-rows says 4 rows, value has 3/);
    expect(reason({ ...headers(3), [HEADER_ROWS]: "x" })).toMatch(/not a positive integer/);
    expect(reason(headers(1), Buffer.alloc(0))).toMatch(/says 1 rows, value has 0/);
    expect(reason(headers(3))).toBe("ok");
  });
});

describe("checkFlowRows: walking RowBinary rows against the flows column types", () => {
  const value = encodeFlowsRowBinary("acme", NOW, flows(5)).body;

  it("accepts every row the encoder writes, including empty strings and maps", () => {
    const plain = encodeFlowsRowBinary("acme", NOW, [emptyFlow("netflow5", "", 0)]).body;
    expect(checkFlowRows(plain, "acme")).toEqual({ rows: 1 });
    expect(checkFlowRows(value, "acme")).toEqual({ rows: 5 });
  });

  it("refuses a value cut anywhere inside a row", () => {
    const one = encodeFlowsRowBinary("acme", NOW, flows(1)).body;
    for (let cut = 1; cut < one.length; cut++) {
      const r = checkFlowRows(one.subarray(0, cut), "acme");
      expect(r, `cut at ${cut}`).toHaveProperty("error");
    }
    // and cut inside the last of several rows: the earlier rows do not hide it
    expect(checkFlowRows(value.subarray(0, value.length - 3), "acme")).toMatchObject({
      error: expect.stringMatching(/^row 5: truncated extra/),
    });
  });

  it("refuses garbled values: unknown source type, times out of range, lengths past the end", () => {
    const one = encodeFlowsRowBinary("acme", NOW, [flow(0)]).body; // ipfix, no extra
    const typeAt = 1 + 4 + 1; // after the tenant "acme"
    const garbledType = Buffer.from(one);
    garbledType[typeAt] = "x".charCodeAt(0); // "xpfix"
    expect(checkFlowRows(garbledType, "acme")).toMatchObject({ error: expect.stringMatching(/source_type/) });

    const exporterAt = typeAt + 5; // length byte of exporter
    const timesAt = exporterAt + 1 + "192.0.2.7".length + 4;
    const negativeTime = Buffer.from(one);
    negativeTime.writeBigInt64LE(-1n, timesAt + 8); // flow_start
    expect(checkFlowRows(negativeTime, "acme")).toMatchObject({ error: expect.stringMatching(/times/) });

    const longString = Buffer.from(one);
    longString[exporterAt] = 0x7f; // exporter claims 127 bytes: runs into the rest and past the end
    expect(checkFlowRows(longString, "acme")).toHaveProperty("error");

    const hugeVarint = Buffer.concat([
      one.subarray(0, exporterAt),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ]);
    expect(checkFlowRows(hugeVarint, "acme")).toHaveProperty("error");

    const trailing = Buffer.concat([one, Buffer.from([4])]); // a fifth of "acme": a row that never ends
    expect(checkFlowRows(trailing, "acme")).toMatchObject({ error: expect.stringMatching(/^row 2: tenant/) });
  });
});
