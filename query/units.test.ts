import { describe, expect, it } from "vitest";
import { SkaldError } from "../core/errors.js";
import { parseSpanId, parseTraceId } from "./ids.js";
import { jsonAttributes, typedAttributes } from "./span-record.js";
import { storeError } from "./sql.js";
import { formatRfc3339Nanos, parseDurationNanos, parseRfc3339Nanos } from "./time.js";
import { decodeTraceCursor, encodeTraceCursor } from "./trace-search.js";
import { buildWaterfall, type SkeletonSpan } from "./waterfall.js";

const sk = (spanId: string, parentSpanId: string, startNs: number, serviceName = "s"): SkeletonSpan => ({
  spanId,
  parentSpanId,
  startNs: BigInt(startNs),
  serviceName,
});

const bad = (fn: () => unknown, code: string) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SkaldError);
    expect((err as SkaldError).kind).toBe("invalid_input");
    expect((err as SkaldError).code).toBe(code);
    return;
  }
  throw new Error("expected an error");
};

describe("waterfall order", () => {
  it("puts parents before children, siblings by start then span id", () => {
    const w = buildWaterfall([
      sk("c", "a", 5),
      sk("b", "a", 5),
      sk("d", "b", 6),
      sk("a", "", 1, "x"),
      sk("e", "a", 2),
    ]);
    expect(w.spanIds).toEqual(["a", "e", "b", "d", "c"]);
    expect([...w.depths]).toEqual([0, 1, 1, 2, 1]);
    expect(w.services).toEqual(["s", "x"]);
    expect(w.rootPosition).toBe(0);
    expect(w.position.get("d")).toBe(3);
  });

  it("turns orphans into roots ordered by start, and keeps the first of a duplicated span", () => {
    const w = buildWaterfall([
      sk("o2", "gone", 3),
      sk("r", "", 2),
      sk("o1", "lost", 1),
      sk("r", "", 9),
      sk("k", "o1", 4),
    ]);
    expect(w.spanIds).toEqual(["o1", "k", "r", "o2"]);
    expect([...w.depths]).toEqual([0, 1, 0, 0]);
    expect(w.rootPosition).toBe(2);
  });

  it("breaks parent cycles so every span appears exactly once", () => {
    const w = buildWaterfall([sk("a", "b", 2), sk("b", "a", 1), sk("c", "b", 3), sk("self", "self", 0)]);
    expect(w.spanIds).toEqual(["self", "b", "a", "c"]);
    expect(w.rootPosition).toBe(-1);
  });

  it("handles a chain deeper than any recursion limit", () => {
    const n = 200_000;
    const spans = Array.from({ length: n }, (_, i) => sk(`s${i}`, i === 0 ? "" : `s${i - 1}`, i));
    const w = buildWaterfall(spans.reverse());
    expect(w.spanIds[n - 1]).toBe(`s${n - 1}`);
    expect(w.depths[n - 1]).toBe(n - 1);
  });
});

describe("times and durations", () => {
  it("formats nanoseconds as RFC 3339 with nine digits and parses them back exactly", () => {
    expect(formatRfc3339Nanos(1_700_000_000_123_456_789n)).toBe("2023-11-14T22:13:20.123456789Z");
    expect(formatRfc3339Nanos(0n)).toBe("1970-01-01T00:00:00.000000000Z");
    expect(parseRfc3339Nanos("2023-11-14T22:13:20.123456789Z")).toBe(1_700_000_000_123_456_789n);
    expect(parseRfc3339Nanos("2023-11-15T00:13:20.1+02:00")).toBe(1_700_000_000_100_000_000n);
    expect(parseRfc3339Nanos("2023-11-14 22:13:20z")).toBe(1_700_000_000_000_000_000n);
    expect(parseRfc3339Nanos("0099-01-01T00:00:00Z")).toBe(-59_042_995_200_000_000_000n);
    for (const ns of [1n, 999_999_999n, 1_795_903_385_196_000_001n]) {
      expect(parseRfc3339Nanos(formatRfc3339Nanos(ns))).toBe(ns);
    }
  });

  it("rejects malformed timestamps", () => {
    for (const s of [
      "",
      "2023-11-14",
      "2023-11-14T22:13:20",
      "2023-11-14T22:13:20.1234567891Z",
      "2023-02-29T00:00:00Z",
      "2023-11-14T24:00:00Z",
      "2023-11-14T22:60:00Z",
      "2023-11-14T22:13:20+24:00",
      "1700000000",
    ]) {
      bad(() => parseRfc3339Nanos(s), "BAD_DATETIME");
    }
  });

  it("parses durations in every unit and as plain nanoseconds", () => {
    expect(parseDurationNanos("1500ms")).toBe(1_500_000_000n);
    expect(parseDurationNanos("2s")).toBe(2_000_000_000n);
    expect(parseDurationNanos("1.5s")).toBe(1_500_000_000n);
    expect(parseDurationNanos("250us")).toBe(250_000n);
    expect(parseDurationNanos("250µs")).toBe(250_000n);
    expect(parseDurationNanos("10ns")).toBe(10n);
    expect(parseDurationNanos("1m")).toBe(60_000_000_000n);
    expect(parseDurationNanos("1h")).toBe(3_600_000_000_000n);
    expect(parseDurationNanos("123")).toBe(123n);
    expect(parseDurationNanos(42)).toBe(42n);
    for (const s of ["", "1.5ns", "5 parsecs", "-1s", "1d", "ms", "1e3", "99999999999999999999"]) {
      bad(() => parseDurationNanos(s), "BAD_DURATION");
    }
    bad(() => parseDurationNanos(1.5), "BAD_DURATION");
  });
});

describe("ids, cursors and row decoding", () => {
  it("normalises ids to lowercase and rejects anything else", () => {
    expect(parseTraceId("4BF92F3577B34DA6A3CE929D0E0E4736")).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(parseSpanId("00F067AA0BA902B7")).toBe("00f067aa0ba902b7");
    bad(() => parseTraceId("4bf92f3577b34da6a3ce929d0e0e473"), "BAD_TRACE_ID");
    bad(() => parseTraceId(42), "BAD_TRACE_ID");
    bad(() => parseSpanId("zzzzzzzzzzzzzzzz"), "BAD_SPAN_ID");
  });

  it("round-trips search cursors and rejects forged ones", () => {
    const c = encodeTraceCursor(1_700_000_000_123_456_789n, "4bf92f3577b34da6a3ce929d0e0e4736");
    expect(decodeTraceCursor(c)).toEqual({
      startNs: 1_700_000_000_123_456_789n,
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    });
    bad(() => decodeTraceCursor("bm9wZQ"), "BAD_CURSOR");
    bad(() => decodeTraceCursor(Buffer.from("1:abc' OR 1=1").toString("base64url")), "BAD_CURSOR");
  });

  it("types attributes from the type map and parses event/link JSON", () => {
    expect(typedAttributes(["a", "constructor", "n"], ["x", "y", "1"], ["n"], ["int"])).toEqual([
      { key: "a", value: "x", type: "string" },
      { key: "constructor", value: "y", type: "string" },
      { key: "n", value: "1", type: "int" },
    ]);
    expect(jsonAttributes('[["k","bool","true"],["s","string","v"]]')).toEqual([
      { key: "k", value: "true", type: "bool" },
      { key: "s", value: "v", type: "string" },
    ]);
    expect(jsonAttributes("not json")).toEqual([]);
  });

  it("turns store failures into client-safe SkaldErrors", () => {
    const chError = Object.assign(new Error("Unknown identifier in scope SELECT secret FROM t"), {
      code: "47",
      type: "UNKNOWN_IDENTIFIER",
    });
    const permanent = storeError("q", chError);
    expect([permanent.kind, permanent.code]).toEqual(["permanent", "STORE_QUERY_FAILED"]);
    expect(permanent.message).not.toContain("SELECT");
    const busy = storeError(
      "q",
      Object.assign(new Error("x"), { code: "241", type: "MEMORY_LIMIT_EXCEEDED" }),
    );
    expect([busy.kind, busy.code]).toEqual(["retryable", "STORE_BUSY"]);
    // the limits Skald sets on every query are named when hit
    const slow = storeError("q", Object.assign(new Error("x"), { code: "159", type: "TIMEOUT_EXCEEDED" }));
    expect([slow.kind, slow.code]).toEqual(["limit", "QUERY_TIMEOUT"]);
    expect(slow.message).toContain("limits.queryTimeoutSeconds");
    const big = storeError(
      "q",
      Object.assign(new Error("x"), { code: "396", type: "TOO_MANY_ROWS_OR_BYTES" }),
    );
    expect([big.kind, big.code]).toEqual(["limit", "RESULT_TOO_LARGE"]);
    const down = storeError("q", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    expect([down.kind, down.code]).toEqual(["retryable", "STORE_UNAVAILABLE"]);
  });
});
