import { describe, expect, it } from "vitest";
import { generateRequest } from "../../test/support/otlp-encode.js";
import { decodeTracesProto, transcodeTracesProto } from "../otlp/index.js";
import { encodeSpans, SPAN_COLUMNS } from "../store/span-encoder.js";
import { encodeSpanRows, encodeSpansRowBinary } from "../store/span-row-binary.js";
import {
  decodeSpanMessage,
  encodeRowMessages,
  encodeSpanMessages,
  FORMAT_SPANS_ROWBINARY_V1,
  FORMAT_SPANS_ROWBINARY_V2,
  FORMAT_SPANS_TSV_V1,
  HEADER_FORMAT,
  HEADER_ROWS,
  HEADER_TENANT,
  SPAN_COLUMNS_ROWBINARY_V1,
  SPAN_COLUMNS_ROWBINARY_V2,
  SPAN_COLUMNS_V1,
} from "./format.js";
import { kafkaPartitionOf } from "./partition.js";
import { checkSpanRows } from "./span-rows-check.js";

describe("Kafka span message format", () => {
  it("spans-rowbinary/2 columns are today's encoder columns (change the encoder → bump the format)", () => {
    expect([...SPAN_COLUMNS]).toEqual([...SPAN_COLUMNS_ROWBINARY_V2]);
    // the older formats keep their own frozen lists: v2 added local_parent, last
    expect([...SPAN_COLUMNS_V1, "local_parent"]).toEqual([...SPAN_COLUMNS]);
    expect([...SPAN_COLUMNS_ROWBINARY_V1]).toEqual([...SPAN_COLUMNS_V1]);
  });

  it("still reads spans-rowbinary/1 (rows without local_parent) from collectors of the previous version", () => {
    const spans = decodeTracesProto(
      generateRequest({ service: "s", count: 8, attrs: 2, perTrace: 4 }).body,
    ).spans;
    const { body, rowStarts } = encodeSpanRows("acme", spans);
    // the same rows without their last byte: what a spans-rowbinary/1 collector wrote
    const v1 = Buffer.concat(spans.map((_, i) => body.subarray(rowStarts[i], rowStarts[i + 1] - 1)));
    const headers = (format: string) => ({
      [HEADER_FORMAT]: format,
      [HEADER_TENANT]: "acme",
      [HEADER_ROWS]: "8",
    });
    expect(decodeSpanMessage({ value: v1, headers: headers(FORMAT_SPANS_ROWBINARY_V1) }, "d")).toMatchObject({
      ok: true,
      format: "RowBinary",
      rows: 8,
      columns: SPAN_COLUMNS_ROWBINARY_V1,
    });
    // read as the other version, the rows do not add up: refused, never shifted
    expect(decodeSpanMessage({ value: v1, headers: headers(FORMAT_SPANS_ROWBINARY_V2) }, "d").ok).toBe(false);
    expect(decodeSpanMessage({ value: body, headers: headers(FORMAT_SPANS_ROWBINARY_V1) }, "d").ok).toBe(
      false,
    );
    expect(decodeSpanMessage({ value: body, headers: headers(FORMAT_SPANS_ROWBINARY_V2) }, "d").ok).toBe(
      true,
    );
  });

  it("writes one message per partition, every trace of it on the partition of its trace id, that the reader turns back into the same rows", () => {
    const { body } = generateRequest({ service: "s", count: 400, attrs: 3, perTrace: 8 });
    const spans = decodeTracesProto(body).spans;
    const messages = encodeSpanMessages("acme", spans, 1 << 20, 4);
    expect(messages).toHaveLength(4); // 50 traces over 4 partitions
    expect(new Set(messages.map((m) => m.partition))).toEqual(new Set([0, 1, 2, 3]));
    const rowsByPartition = new Map<number, Buffer>();
    for (const m of messages) {
      expect(m.key).toMatch(/^[0-9a-f]{32}$/);
      expect(kafkaPartitionOf(m.key, 4)).toBe(m.partition);
      const mine = spans.filter((s) => kafkaPartitionOf(s.traceId, 4) === m.partition);
      expect(m.key).toBe(mine[0].traceId);
      expect(m.headers).toEqual({
        [HEADER_FORMAT]: FORMAT_SPANS_ROWBINARY_V2,
        [HEADER_TENANT]: "acme",
        [HEADER_ROWS]: String(mine.length),
      });
      const d = decodeSpanMessage({ value: m.value, headers: m.headers }, "default");
      expect(d).toMatchObject({
        ok: true,
        format: "RowBinary",
        rows: mine.length,
        columns: SPAN_COLUMNS_ROWBINARY_V2,
      });
      // exactly the rows of that partition's spans, in request order
      expect(m.value).toEqual(encodeSpansRowBinary("acme", mine));
      rowsByPartition.set(m.partition, m.value);
    }
    expect(messages.reduce((n, m) => n + m.rows, 0)).toBe(400);
    // one partition: one message with every span
    const one = encodeSpanMessages("acme", spans, 1 << 20, 1);
    expect(one).toHaveLength(1);
    expect(one[0].value).toEqual(encodeSpansRowBinary("acme", spans));
  });

  it("still reads spans-tsv/1 from collectors of the previous version", () => {
    const spans = decodeTracesProto(generateRequest({ service: "s", count: 8, attrs: 2 }).body).spans;
    const value = encodeSpans("acme", spans);
    const headers = { [HEADER_FORMAT]: FORMAT_SPANS_TSV_V1, [HEADER_TENANT]: "acme", [HEADER_ROWS]: "8" };
    expect(decodeSpanMessage({ value, headers }, "default")).toMatchObject({
      ok: true,
      format: "TabSeparated",
      rows: 8,
      columns: SPAN_COLUMNS_V1,
    });
  });

  it("dead-letters spans-rowbinary/2 values that would not be exactly their rows of their tenant", () => {
    const spans = decodeTracesProto(
      generateRequest({ service: "s", count: 4, attrs: 2, perTrace: 4 }).body,
    ).spans;
    const value = encodeSpansRowBinary("acme", spans);
    const headers = (rows: number, tenant = "acme") => ({
      [HEADER_FORMAT]: FORMAT_SPANS_ROWBINARY_V2,
      [HEADER_TENANT]: tenant,
      [HEADER_ROWS]: String(rows),
    });
    const reason = (v: Buffer, h: Record<string, string>) => {
      const d = decodeSpanMessage({ value: v, headers: h }, "default");
      return d.ok ? "" : d.reason;
    };
    expect(decodeSpanMessage({ value, headers: headers(4) }, "default").ok).toBe(true);
    expect(reason(value, headers(3))).toMatch(/says 3 rows, value has 4/);
    expect(reason(value, headers(4, "other"))).toMatch(/row 1: tenant differs/);
    expect(reason(value.subarray(0, value.length - 3), headers(4))).toMatch(/row 4: truncated/);
    const badKind = Buffer.from(value);
    // the kind byte of the first row: after tenant, four id strings, flags and the name
    let p = 1 + 4 + 1 + 32 + 1 + 16 + 1 + 0 + 1 + 0 + 4;
    p += 1 + badKind[p];
    badKind[p] = 9;
    expect(reason(badKind, headers(4))).toMatch(/row 1: unknown span kind/);
    const badLocal = Buffer.from(value);
    badLocal[badLocal.length - 1] = 2; // the last row's local_parent
    expect(reason(badLocal, headers(4))).toMatch(/row 4: local_parent missing or not 0 or 1/);
    // every cut inside a row is refused, never read past or miscounted
    const one = encodeSpansRowBinary("acme", spans.slice(0, 1));
    expect(checkSpanRows(one, "acme")).toEqual({ rows: 1 });
    for (let cut = 1; cut < one.length; cut++) {
      expect(checkSpanRows(one.subarray(0, cut), "acme")).toMatchObject({
        error: expect.stringMatching(/^row 1: /),
      });
    }
  });

  it("splits a partition's spans larger than the message limit on row boundaries", () => {
    const { body } = generateRequest({ service: "s", count: 100, attrs: 5, perTrace: 100 });
    const spans = decodeTracesProto(body).spans;
    const messages = encodeSpanMessages("t", spans, 4096, 4);
    expect(messages.length).toBeGreaterThan(5);
    expect(new Set(messages.map((m) => m.key))).toEqual(new Set([spans[0].traceId]));
    expect(new Set(messages.map((m) => m.partition))).toEqual(
      new Set([kafkaPartitionOf(spans[0].traceId, 4)]),
    );
    expect(messages.reduce((n, m) => n + m.rows, 0)).toBe(100);
    for (const m of messages) {
      expect(m.value.length).toBeLessThanOrEqual(4096);
      expect(decodeSpanMessage({ value: m.value, headers: m.headers }, "d").ok).toBe(true);
    }
    expect(Buffer.concat(messages.map((m) => m.value))).toEqual(encodeSpansRowBinary("t", spans));
  });

  it("makes the same messages from transcoded rows as from decoded spans, split at the same limit", () => {
    const { body } = generateRequest({ service: "s", count: 512, attrs: 10, perTrace: 8 });
    const spans = decodeTracesProto(body).spans;
    const { rows } = transcodeTracesProto(body, "acme");
    for (const [limit, partitions] of [
      [1 << 20, 4],
      [1 << 20, 1],
      [20_000, 4],
      [100, 3],
    ]) {
      const fromRows = encodeRowMessages("acme", rows, limit, partitions);
      const fromSpans = encodeSpanMessages("acme", spans, limit, partitions);
      // both keep each partition's spans in request order: compare what each partition receives
      // and the limit
      for (let p = 0; p < partitions; p++) {
        const mine = fromRows.filter((m) => m.partition === p);
        const theirs = fromSpans.filter((m) => m.partition === p);
        expect(Buffer.concat(mine.map((m) => m.value))).toEqual(Buffer.concat(theirs.map((m) => m.value)));
        for (const m of mine) {
          expect(m.value.length <= limit || m.rows === 1).toBe(true);
          expect(kafkaPartitionOf(m.key, partitions)).toBe(p);
          const d = decodeSpanMessage({ value: m.value, headers: m.headers }, "default");
          expect(d).toMatchObject({ ok: true, rows: m.rows });
        }
      }
      expect(fromRows.reduce((n, m) => n + m.rows, 0)).toBe(512);
    }
  });

  it("reads OTLP protobuf without Skald headers (OpenTelemetry Collector Kafka exporter) with the default tenant", () => {
    const { body, spanIds } = generateRequest({ service: "s", count: 10, attrs: 1 });
    const d = decodeSpanMessage({ value: body }, "default");
    expect(d.ok && d.rows).toBe(10);
    expect(d.ok && d.format).toBe("RowBinary");
    expect(d.ok && d.body.subarray(0, 8).toString("latin1")).toBe("\u0007default");
    expect(d.ok && spanIds.every((id) => d.body.includes(id))).toBe(true);
  });

  it.each([
    [
      "an unknown version",
      { [HEADER_FORMAT]: "spans-tsv/2" },
      "x\n",
      /unsupported skald-format "spans-tsv\/2".*upgrade ingesters/,
    ],
    ["an unknown format", { [HEADER_FORMAT]: "avro" }, "x", /unsupported skald-format "avro"/],
    [
      "a bad tenant",
      { [HEADER_FORMAT]: FORMAT_SPANS_TSV_V1, [HEADER_TENANT]: "a b" },
      "x\n",
      /invalid skald-tenant/,
    ],
    ["no row count", { [HEADER_FORMAT]: FORMAT_SPANS_TSV_V1 }, "x\n", /skald-rows header missing/],
    [
      "a wrong row count",
      { [HEADER_FORMAT]: FORMAT_SPANS_TSV_V1, [HEADER_ROWS]: "2" },
      "x\n",
      /says 2 rows, value has 1/,
    ],
    [
      "no final newline",
      { [HEADER_FORMAT]: FORMAT_SPANS_TSV_V1, [HEADER_ROWS]: "1" },
      "x",
      /does not end with a newline/,
    ],
    ["broken protobuf", {}, "\u000a\u00ff", /otlp-proto\/1: /],
  ])("dead-letters %s with the reason", (_name, headers, value, reason) => {
    const d = decodeSpanMessage({ value: Buffer.from(value, "latin1"), headers }, "default");
    expect(d.ok).toBe(false);
    expect(d.ok ? "" : d.reason).toMatch(reason);
  });
});
