import { describe, expect, it } from "vitest";
import type { DecodedTraces } from "../model/span.js";
import { decodeTracesJson, OtlpDecodeError } from "./index.js";

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const SPAN_ID = "b7ad6b7169203331";

function spanJson(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    name: "op",
    startTimeUnixNano: "1700000000000000000",
    endTimeUnixNano: "1700000000000000100",
    ...extra,
  };
}

/** A request with one resource (service "svc") and one scope holding `spans`. */
function req(
  spans: unknown[],
  resource: unknown = { attributes: [{ key: "service.name", value: { stringValue: "svc" } }] },
) {
  return { resourceSpans: [{ resource, scopeSpans: [{ scope: { name: "s", version: "1" }, spans }] }] };
}

function decode(body: unknown): DecodedTraces {
  return decodeTracesJson(JSON.stringify(body));
}

function errorOf(body: string | Uint8Array): string {
  try {
    decodeTracesJson(body);
  } catch (err) {
    expect(err).toBeInstanceOf(OtlpDecodeError);
    return (err as Error).message;
  }
  throw new Error("expected OtlpDecodeError");
}

const attr = (value: unknown) => {
  const d = decode(req([spanJson({ attributes: [{ key: "k", value }] })]));
  const a = d.spans[0].attributes[0];
  return [a.type, a.value];
};

describe("decodeTracesJson", () => {
  it("decodes a minimal span", () => {
    const d = decode(req([spanJson()]));
    expect(d.rejected).toBe(0);
    expect(d.spans[0]).toMatchObject({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      parentSpanId: "",
      name: "op",
      kind: 0,
      startTimeUnixNano: 1_700_000_000_000_000_000n,
      endTimeUnixNano: 1_700_000_000_000_000_100n,
      resource: { serviceName: "svc" },
      scope: { name: "s", version: "1" },
    });
  });

  it("accepts an empty request object, and missing or null fields", () => {
    expect(decode({})).toEqual({ spans: [], rejected: 0, rejectReason: "" });
    expect(decode({ resourceSpans: null })).toEqual({ spans: [], rejected: 0, rejectReason: "" });
    const d = decode({
      resourceSpans: [{ scopeSpans: [{ spans: [spanJson({ attributes: null, status: null })] }] }],
    });
    expect(d.spans[0].resource.serviceName).toBe("unknown_service");
    expect(d.spans[0].scope).toEqual({ name: "", version: "" });
  });

  it("accepts bytes with a byte order mark", () => {
    const body = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(JSON.stringify(req([spanJson()]))),
    ]);
    expect(decodeTracesJson(body).spans).toHaveLength(1);
    expect(decodeTracesJson(body.toString("utf8")).spans).toHaveLength(1);
  });

  it("lowercases ids given in any case, and treats an empty parentSpanId as root", () => {
    const d = decode(
      req([spanJson({ traceId: TRACE_ID.toUpperCase(), spanId: "B7AD6b7169203331", parentSpanId: "" })]),
    );
    expect([d.spans[0].traceId, d.spans[0].spanId, d.spans[0].parentSpanId]).toEqual([TRACE_ID, SPAN_ID, ""]);
  });

  it("accepts snake_case field names", () => {
    const snake = {
      resource_spans: [
        {
          resource: {
            attributes: [{ key: "service.name", value: { string_value: "svc" } }],
            dropped_attributes_count: 2,
          },
          scope_spans: [
            {
              scope: { name: "s" },
              spans: [
                {
                  trace_id: TRACE_ID,
                  span_id: SPAN_ID,
                  parent_span_id: "00f067aa0ba902b7",
                  trace_state: "a=b",
                  start_time_unix_nano: "5",
                  end_time_unix_nano: 6,
                  dropped_attributes_count: 1,
                  dropped_events_count: 2,
                  dropped_links_count: 3,
                  attributes: [{ key: "i", value: { int_value: "7" } }],
                  events: [{ time_unix_nano: "9", name: "e", dropped_attributes_count: 4 }],
                },
              ],
            },
          ],
        },
      ],
    };
    const s = decode(snake).spans[0];
    expect(s).toMatchObject({
      parentSpanId: "00f067aa0ba902b7",
      traceState: "a=b",
      startTimeUnixNano: 5n,
      endTimeUnixNano: 6n,
      droppedAttributesCount: 1,
      droppedEventsCount: 2,
      droppedLinksCount: 3,
      attributes: [{ key: "i", value: "7", type: "int" }],
      events: [{ timeUnixNano: 9n, name: "e", attributes: [], droppedAttributesCount: 4 }],
      resource: { droppedAttributesCount: 2, serviceName: "svc" },
    });
  });

  it("accepts enum values as integers or names", () => {
    const kinds = [0, 1, 2, 3, 4, 5, "SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER"];
    const d = decode(req(kinds.map((kind) => spanJson({ kind }))));
    expect(d.spans.map((s) => s.kind)).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2]);
    const codes = [0, 1, 2, "STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR", 7];
    const c = decode(req(codes.map((code) => spanJson({ status: { code, message: "m" } }))));
    expect(c.spans.map((s) => s.statusCode)).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(errorOf(JSON.stringify(req([spanJson({ kind: "SERVER" })])))).toBe(
      'resourceSpans[0].scopeSpans[0].spans[0].kind: unknown enum value "SERVER"',
    );
    expect(errorOf(JSON.stringify(req([spanJson({ kind: "toString" })])))).toMatch(/unknown enum value/);
  });

  it("accepts 64-bit integers as decimal strings or numbers", () => {
    expect(attr({ intValue: "-9223372036854775808" })).toEqual(["int", "-9223372036854775808"]);
    expect(attr({ intValue: "9223372036854775807" })).toEqual(["int", "9223372036854775807"]);
    expect(attr({ intValue: "007" })).toEqual(["int", "7"]);
    expect(attr({ intValue: "-0" })).toEqual(["int", "0"]);
    expect(attr({ intValue: -42 })).toEqual(["int", "-42"]);
    expect(attr({ intValue: 2 ** 60 })).toEqual(["int", "1152921504606846976"]);
    const d = decode(
      req([spanJson({ startTimeUnixNano: 1_000_000, endTimeUnixNano: "18446744073709551615" })]),
    );
    expect([d.spans[0].startTimeUnixNano, d.spans[0].endTimeUnixNano]).toEqual([1_000_000n, 2n ** 64n - 1n]);
  });

  it("decodes every value type canonically", () => {
    expect(attr({ stringValue: "x" })).toEqual(["string", "x"]);
    expect(attr({ boolValue: false })).toEqual(["bool", "false"]);
    expect(attr({ doubleValue: 1.5 })).toEqual(["double", "1.5"]);
    expect(attr({ doubleValue: "NaN" })).toEqual(["double", "NaN"]);
    expect(attr({ doubleValue: "-Infinity" })).toEqual(["double", "-Infinity"]);
    expect(attr({ doubleValue: "2.5e3" })).toEqual(["double", "2500"]);
    expect(attr({ doubleValue: 3 })).toEqual(["double", "3"]);
    expect(attr({ bytesValue: "AQID+g==" })).toEqual(["bytes", "AQID+g=="]);
    expect(attr({ bytesValue: "AQID-g" })).toEqual(["bytes", "AQID+g=="]);
    expect(attr({ bytesValue: "" })).toEqual(["bytes", ""]);
    expect(attr({})).toEqual(["empty", ""]);
    expect(attr(null)).toEqual(["empty", ""]);
    expect(attr({ futureValue: 1 })).toEqual(["empty", ""]);
    expect(attr({ arrayValue: {} })).toEqual(["array", "[]"]);
    expect(attr({ kvlistValue: { values: [] } })).toEqual(["kvlist", "{}"]);
    expect(
      attr({
        arrayValue: {
          values: [
            { intValue: "9007199254740993" },
            { intValue: "9007199254740991" },
            { doubleValue: "Infinity" },
            {},
            { kvlistValue: { values: [{ key: "a" }, { key: "b", value: { bytesValue: "AA" } }] } },
          ],
        },
      }),
    ).toEqual(["array", '["9007199254740993",9007199254740991,"Infinity",null,{"a":null,"b":"AA=="}]']);
  });

  it("ignores unknown fields at every level", () => {
    const plain = decode(req([spanJson({ attributes: [{ key: "k", value: { intValue: 1 } }] })]));
    const noisy = decode({
      extra: 1,
      resourceSpans: [
        {
          unknown: [1, 2],
          schemaUrl: "https://x",
          resource: {
            entityRefs: [],
            attributes: [{ key: "service.name", value: { stringValue: "svc" }, keyStrindex: 4 }],
          },
          scopeSpans: [
            {
              foo: null,
              scope: { name: "s", version: "1", attributes: [{ key: "a" }], bar: {} },
              spans: [
                spanJson({
                  newField: { x: 1 },
                  attributes: [{ key: "k", value: { intValue: 1, y: 2 }, z: 3 }],
                }),
              ],
            },
          ],
        },
      ],
    });
    expect(noisy).toEqual(plain);
  });
});

describe("decodeTracesJson rejections", () => {
  it("rejects spans with ids of the wrong length, keeping the others", () => {
    const d = decode(
      req([
        spanJson(),
        spanJson({ traceId: "0af7651916cd43dd" }),
        spanJson({ spanId: "" }),
        spanJson({ traceId: "0".repeat(32) }),
        spanJson({ spanId: "0".repeat(16) }),
        spanJson({ parentSpanId: "abcd" }),
        spanJson({ parentSpanId: "0".repeat(16) }),
        spanJson({ links: [{ traceId: "ab", spanId: SPAN_ID }] }),
        spanJson({ links: [{ traceId: TRACE_ID, spanId: SPAN_ID.repeat(2) }] }),
        spanJson({ links: [{}, { traceId: "", spanId: "" }] }),
      ]),
    );
    expect(d.spans.map((s, i) => [i, s.parentSpanId])).toEqual([
      [0, ""],
      [1, ""],
      [2, ""],
    ]);
    expect(d.spans[2].links.map((l) => [l.traceId, l.spanId])).toEqual([
      ["0".repeat(32), "0".repeat(16)],
      ["0".repeat(32), "0".repeat(16)],
    ]);
    expect(d.rejected).toBe(7);
    expect(d.rejectReason).toBe("span 1: trace_id must be 16 bytes, got 8");
    const reasonOf = (s: Record<string, unknown>) => decode(req([s])).rejectReason;
    expect(reasonOf(spanJson({ spanId: undefined }))).toBe("span 0: span_id must be 8 bytes, got 0");
    expect(reasonOf(spanJson({ traceId: "0".repeat(32) }))).toBe("span 0: trace_id must not be all zero");
    expect(reasonOf(spanJson({ spanId: "0".repeat(16) }))).toBe("span 0: span_id must not be all zero");
    expect(reasonOf(spanJson({ parentSpanId: "abcd" }))).toBe(
      "span 0: parent_span_id must be empty or 8 bytes, got 2",
    );
    expect(reasonOf(spanJson({ links: [{ traceId: "ab", spanId: SPAN_ID }] }))).toBe(
      "span 0: links[0].trace_id must be empty or 16 bytes, got 1",
    );
  });
});

describe("decodeTracesJson errors", () => {
  it("refuses invalid JSON and invalid UTF-8", () => {
    expect(errorOf("")).toMatch(/^invalid JSON: /);
    expect(errorOf("{")).toMatch(/^invalid JSON: /);
    expect(errorOf('{"resourceSpans": [}')).toMatch(/^invalid JSON: /);
    expect(errorOf(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))).toBe(
      "invalid UTF-8 in JSON body",
    );
  });

  it("refuses strings that are not valid Unicode (lone surrogates)", () => {
    const body = JSON.stringify(req([spanJson()])).replace('"op"', '"a\\ud800b"');
    expect(errorOf(body)).toBe(
      "resourceSpans[0].scopeSpans[0].spans[0].name: invalid UTF-16 (lone surrogate) in string",
    );
    expect(errorOf(JSON.stringify(req([spanJson({ name: "a\ud800" })])))).toMatch(
      /spans\[0\]\.name: invalid UTF-16/,
    );
    // Escaped pairs are fine.
    const pair = JSON.stringify(req([spanJson()])).replace('"op"', '"\\ud83c\\udf89"');
    expect(decodeTracesJson(pair).spans[0].name).toBe("🎉");
  });

  it("names the path of a value of the wrong type", () => {
    const at = (body: unknown) => errorOf(JSON.stringify(body));
    const threeDeep = {
      resourceSpans: [
        {
          scopeSpans: [
            { spans: [] },
            { spans: [spanJson(), spanJson(), spanJson({ startTimeUnixNano: true })] },
          ],
        },
      ],
    };
    expect(at(threeDeep)).toBe(
      "resourceSpans[0].scopeSpans[1].spans[2].startTimeUnixNano: expected integer string",
    );
    expect(at([])).toBe("request: expected object");
    expect(at({ resourceSpans: {} })).toBe("resourceSpans: expected array");
    expect(at({ resourceSpans: [1] })).toBe("resourceSpans[0]: expected object");
    expect(at(req([null]))).toBe("resourceSpans[0].scopeSpans[0].spans[0]: expected object");
    expect(at(req([spanJson()], { attributes: "x" }))).toBe(
      "resourceSpans[0].resource.attributes: expected array",
    );
    expect(at(req([spanJson({ name: 5 })]))).toBe(
      "resourceSpans[0].scopeSpans[0].spans[0].name: expected string",
    );
    expect(at(req([spanJson({ startTimeUnixNano: "-1" })]))).toMatch(
      /startTimeUnixNano: expected integer string$/,
    );
    expect(at(req([spanJson({ startTimeUnixNano: "1.5" })]))).toMatch(
      /startTimeUnixNano: expected integer string$/,
    );
    expect(at(req([spanJson({ endTimeUnixNano: "18446744073709551616" })]))).toMatch(
      /endTimeUnixNano: integer out of uint64 range$/,
    );
    expect(at(req([spanJson({ flags: -1 })]))).toMatch(/spans\[0\]\.flags: expected uint32$/);
    expect(at(req([spanJson({ droppedEventsCount: 1.5 })]))).toMatch(/droppedEventsCount: expected uint32$/);
    expect(at(req([spanJson({ status: { code: "2" } })]))).toMatch(/status\.code: unknown enum value "2"$/);
    expect(at(req([spanJson({ events: [{ name: "e", attributes: [{ key: 1 }] }] })]))).toBe(
      "resourceSpans[0].scopeSpans[0].spans[0].events[0].attributes[0].key: expected string",
    );
    expect(at(req([spanJson({ links: [{ traceId: 1 }] })]))).toBe(
      "resourceSpans[0].scopeSpans[0].spans[0].links[0].traceId: expected hex string",
    );
  });

  it("names the path inside attribute values", () => {
    const at = (value: unknown) =>
      errorOf(JSON.stringify(req([spanJson({ attributes: [{ key: "a" }, { key: "k", value }] })])));
    const prefix = "resourceSpans[0].scopeSpans[0].spans[0].attributes[1].value";
    expect(at({ intValue: 1.5 })).toBe(`${prefix}.intValue: expected integer`);
    expect(at({ intValue: "1e3" })).toBe(`${prefix}.intValue: expected integer string`);
    expect(at({ intValue: "9223372036854775808" })).toBe(`${prefix}.intValue: integer out of int64 range`);
    expect(at({ boolValue: "true" })).toBe(`${prefix}.boolValue: expected boolean`);
    expect(at({ doubleValue: "fast" })).toBe(`${prefix}.doubleValue: expected number`);
    expect(at({ bytesValue: "not base64!" })).toBe(`${prefix}.bytesValue: expected base64 string`);
    expect(at({ bytesValue: "AAAAA" })).toBe(`${prefix}.bytesValue: invalid base64 length`);
    expect(at({ stringValue: 1 })).toBe(`${prefix}.stringValue: expected string`);
    expect(at({ arrayValue: { values: [{ intValue: 1 }, { intValue: "x" }] } })).toBe(
      `${prefix}.arrayValue.values[1].intValue: expected integer string`,
    );
    expect(at({ kvlistValue: { values: [{ key: "a", value: { doubleValue: {} } }] } })).toBe(
      `${prefix}.kvlistValue.values[0].value.doubleValue: expected number`,
    );
    expect(at({ arrayValue: [] })).toBe(`${prefix}.arrayValue: expected object`);
    expect(at("x")).toBe(`${prefix}: expected object`);
  });

  it("refuses ids that are not hex", () => {
    const at = (s: Record<string, unknown>) => errorOf(JSON.stringify(req([spanJson(s)])));
    const prefix = "resourceSpans[0].scopeSpans[0].spans[0]";
    expect(at({ traceId: "0af7651916cd43dd8448eb211c80319g" })).toBe(
      `${prefix}.traceId: expected hex string`,
    );
    expect(at({ spanId: "b7ad6b716920333" })).toBe(`${prefix}.spanId: expected hex string`);
    expect(at({ spanId: "t61rcWkgMzE=" })).toBe(`${prefix}.spanId: expected hex string`);
    expect(at({ parentSpanId: 12 })).toBe(`${prefix}.parentSpanId: expected hex string`);
  });

  it("accepts AnyValue nested exactly 32 levels and refuses 33 and 1000 without overflowing the stack", () => {
    const nested = (levels: number, wrap: (inner: unknown) => unknown) => {
      let v: unknown = { intValue: "1" };
      for (let i = 1; i < levels; i++) v = wrap(v);
      return v;
    };
    const inArray = (inner: unknown) => ({ arrayValue: { values: [inner] } });
    const inKvlist = (inner: unknown) => ({ kvlistValue: { values: [{ key: "k", value: inner }] } });
    expect(attr(nested(32, inArray))[1]).toBe(`${"[".repeat(31)}1${"]".repeat(31)}`);
    expect(attr(nested(32, inKvlist))[0]).toBe("kvlist");
    for (const levels of [33, 1000]) {
      for (const wrap of [inArray, inKvlist]) {
        const body = JSON.stringify(
          req([spanJson({ attributes: [{ key: "k", value: nested(levels, wrap) }] })]),
        );
        expect(errorOf(body)).toMatch(/: AnyValue nested deeper than 32 levels$/);
      }
    }
  });
});
