import { describe, expect, it } from "vitest";
import type { StoredSpan } from "../span-record.js";
import { normalizePrefix } from "./index.js";
import { toJaegerTrace, toTag } from "./model.js";
import { toAnyValue } from "./otlp-json.js";
import { durationParam, intParam, ParamError, parseGoDuration, tagsParam } from "./params.js";
import { tagsToFilter } from "./search.js";

describe("Go duration strings (time.ParseDuration)", () => {
  it.each([
    ["0", 0n],
    ["300ms", 300_000_000n],
    ["1.5s", 1_500_000_000n],
    ["2h45m", 9_900_000_000_000n],
    ["1h2m3.5s", 3_723_500_000_000n],
    ["10us", 10_000n],
    ["10µs", 10_000n],
    ["7ns", 7n],
    [".5m", 30_000_000_000n],
    ["1.0000000009s", 1_000_000_000n],
    ["-1.5h", -5_400_000_000_000n],
  ])("%s → %s ns", (text, ns) => {
    expect(parseGoDuration(text)).toBe(ns);
  });

  it.each(["", "1", "1d", "ms", "1.5", "1 s", "1s2", "abc"])("rejects %j", (text) => {
    expect(() => parseGoDuration(text)).toThrow(/invalid duration/);
  });

  it("names the parameter and refuses negative durations", () => {
    expect(() => durationParam({ minDuration: "-1s" }, "minDuration")).toThrow(ParamError);
    try {
      durationParam({ maxDuration: "x" }, "maxDuration");
    } catch (err) {
      expect((err as ParamError).param).toBe("maxDuration");
      expect((err as ParamError).message).toContain("'maxDuration'");
    }
    expect(durationParam({}, "minDuration")).toBeUndefined();
  });
});

describe("tags", () => {
  it("reads the JSON map Grafana and the Jaeger UI send and repeated tag=k:v", () => {
    const tags = tagsParam({
      tags: '{"http.status_code":"500","a":"b:c"}',
      tag: ["x:1", "url:http://h:8/p"],
    });
    expect([...tags]).toEqual([
      ["x", "1"],
      ["url", "http://h:8/p"],
      ["http.status_code", "500"],
      ["a", "b:c"],
    ]);
  });

  it.each([
    [{ tags: "[1]" }, "tags"],
    [{ tags: '{"a":1}' }, "tags"],
    [{ tag: "novalue" }, "tag"],
  ])("rejects %j naming %s", (q, param) => {
    expect(() => tagsParam(q)).toThrow(expect.objectContaining({ param }));
  });

  it("maps the translator's synthetic tags to kind and status, resource namespaces to process tags", () => {
    const f = tagsToFilter(
      new Map([
        ["span.kind", "server"],
        ["error", "true"],
        ["host.name", "n1"],
        ["http.route", "/x"],
      ]),
      { service: "s" },
    );
    expect(f).toMatchObject({
      service: "s",
      kind: 2,
      status: 2,
      attributes: [{ key: "http.route", value: "/x" }],
      resourceAttributes: [{ key: "host.name", value: "n1" }],
    });
  });

  it("parses integers strictly", () => {
    expect(intParam({ limit: "20" }, "limit")).toBe(20n);
    expect(() => intParam({ limit: "2e3" }, "limit")).toThrow(/'limit'/);
  });
});

describe("model conversion", () => {
  it("types tags as Jaeger does and keeps what a JSON number cannot hold as text", () => {
    expect(toTag({ key: "i", value: "42", type: "int" })).toEqual({ key: "i", type: "int64", value: 42 });
    expect(toTag({ key: "big", value: "9007199254740993", type: "int" })).toEqual({
      key: "big",
      type: "string",
      value: "9007199254740993",
    });
    expect(toTag({ key: "d", value: "NaN", type: "double" }).type).toBe("string");
    expect(toTag({ key: "b", value: "AAEC", type: "bytes" })).toEqual({
      key: "b",
      type: "binary",
      value: "AAEC",
    });
    expect(toAnyValue({ key: "l", value: '["a",1,2.5,true]', type: "array" })).toEqual({
      arrayValue: {
        values: [{ stringValue: "a" }, { intValue: "1" }, { doubleValue: 2.5 }, { boolValue: true }],
      },
    });
    expect(toAnyValue({ key: "d", value: "Infinity", type: "double" })).toEqual({ doubleValue: "Infinity" });
  });

  it("deduplicates processes and truncates times to microseconds", () => {
    const span = (spanId: string, service: string): StoredSpan => ({
      traceId: "a".repeat(32),
      spanId,
      parentSpanId: "",
      traceState: "",
      flags: 0,
      name: "op",
      kind: 0,
      startTimeUnixNano: 1_700_000_000_123_456_789n,
      endTimeUnixNano: 1_700_000_000_124_456_788n,
      attributes: [],
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      statusCode: 0,
      statusMessage: "",
      resource: { serviceName: service, attributes: [], droppedAttributesCount: 0 },
      scope: { name: "", version: "" },
    });
    const t = toJaegerTrace("a".repeat(32), [
      span("1".repeat(16), "x"),
      span("2".repeat(16), "y"),
      span("3".repeat(16), "x"),
    ]);
    expect(t.spans.map((s) => s.processID)).toEqual(["p1", "p2", "p1"]);
    expect(t.processes).toEqual({ p1: { serviceName: "x", tags: [] }, p2: { serviceName: "y", tags: [] } });
    expect(t.spans[0]).toMatchObject({
      startTime: 1_700_000_000_123_456,
      duration: 999,
      tags: [],
      references: [],
    });
  });

  it("normalises the prefix", () => {
    expect(normalizePrefix("")).toBe("");
    expect(normalizePrefix("/")).toBe("");
    expect(normalizePrefix("jaeger/")).toBe("/jaeger");
    expect(normalizePrefix("/a/b")).toBe("/a/b");
  });
});
