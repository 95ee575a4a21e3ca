/**
 * Hand-built protobuf edge cases for decodeTracesProto, and parity with decodeTracesJson on the
 * same content. (The round trip against the real SDK serializer is in decode-traces.roundtrip.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { type GenSpan, ProtoWriter, writeSpan } from "../../test/support/otlp-encode.js";
import type { DecodedTraces } from "../model/span.js";
import { encodeSpans, localParents } from "../store/span-encoder.js";
import { decodeTracesJson, OtlpDecodeError, transcodeTracesProto } from "./index.js";
// the decoder, checked against the transcoder on every input (transcode-parity.ts)
import { decodeTracesProto } from "./transcode-parity.js";

// ---------------------------------------------------------------------------------------------------
// A tiny protobuf writer: every helper returns the bytes of one field.

type Bytes = number[];

function varint(n: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: Bytes = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const tag = (field: number, wire: number): Bytes => varint(field * 8 + wire);
const vfield = (field: number, n: number | bigint): Bytes => [...tag(field, 0), ...varint(n)];
const lfield = (field: number, payload: Uint8Array | Bytes): Bytes => [
  ...tag(field, 2),
  ...varint(payload.length),
  ...payload,
];
const sfield = (field: number, s: string): Bytes => lfield(field, [...Buffer.from(s, "utf8")]);
const msg = (field: number, ...parts: Bytes[]): Bytes => lfield(field, parts.flat());
function f64(field: number, v: bigint): Bytes {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return [...tag(field, 1), ...b];
}
function f32(field: number, v: number): Bytes {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return [...tag(field, 5), ...b];
}
function dbl(field: number, v: number): Bytes {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return [...tag(field, 1), ...b];
}
const bytes = (...parts: Bytes[]): Buffer => Buffer.from(parts.flat());

const TRACE_ID = Buffer.from("0af7651916cd43dd8448eb211c80319c", "hex");
const SPAN_ID = Buffer.from("b7ad6b7169203331", "hex");
const PARENT_ID = Buffer.from("00f067aa0ba902b7", "hex");

/** AnyValue builders (the payload of KeyValue.value). */
const av = {
  str: (s: string) => sfield(1, s),
  bool: (b: boolean) => vfield(2, b ? 1 : 0),
  int: (n: number | bigint) => vfield(3, n),
  double: (d: number) => dbl(4, d),
  array: (...values: Bytes[]) => msg(5, ...values.map((v) => lfield(1, v))),
  kvlist: (...kvs: Bytes[]) => msg(6, ...kvs.map((kv) => lfield(1, kv))),
  bytes: (b: Bytes) => lfield(7, b),
};
/** A KeyValue payload. */
const kv = (key: string, value?: Bytes): Bytes => [...sfield(1, key), ...(value ? lfield(2, value) : [])];

function span(index: number, ...extra: Bytes[]): Bytes {
  const sid = Buffer.from(SPAN_ID);
  sid[7] = index + 1;
  return [
    ...lfield(1, TRACE_ID),
    ...lfield(2, sid),
    ...sfield(5, `span-${index}`),
    ...f64(7, 1_700_000_000_000_000_000n + BigInt(index)),
    ...f64(8, 1_700_000_000_000_000_100n + BigInt(index)),
    ...extra.flat(),
  ];
}

/** ExportTraceServiceRequest with one ResourceSpans and one ScopeSpans holding `spans`. */
function request(spans: Bytes[], resource: Bytes[] = [lfield(1, kv("service.name", av.str("svc")))]): Buffer {
  return bytes(
    msg(
      1,
      msg(1, ...resource),
      msg(2, msg(1, sfield(1, "scope"), sfield(2, "v1")), ...spans.map((s) => lfield(2, s))),
    ),
  );
}

function decodeError(buf: Uint8Array): string {
  try {
    decodeTracesProto(buf);
  } catch (err) {
    expect(err).toBeInstanceOf(OtlpDecodeError);
    return (err as Error).message;
  }
  throw new Error("expected OtlpDecodeError");
}

function attrOf(d: DecodedTraces, key: string) {
  const a = d.spans[0].attributes.find((x) => x.key === key);
  return a ? [a.type, a.value] : undefined;
}

// ---------------------------------------------------------------------------------------------------

describe("decodeTracesProto basics", () => {
  it("decodes an empty request (zero bytes) to zero spans", () => {
    expect(decodeTracesProto(new Uint8Array(0))).toEqual({ spans: [], rejected: 0, rejectReason: "" });
  });

  it("decodes a minimal span with its defaults", () => {
    const d = decodeTracesProto(request([span(0)]));
    expect(d.rejected).toBe(0);
    expect(d.spans).toEqual([
      {
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203301",
        parentSpanId: "",
        traceState: "",
        flags: 0,
        name: "span-0",
        kind: 0,
        startTimeUnixNano: 1_700_000_000_000_000_000n,
        endTimeUnixNano: 1_700_000_000_000_000_100n,
        attributes: [],
        droppedAttributesCount: 0,
        events: [],
        droppedEventsCount: 0,
        links: [],
        droppedLinksCount: 0,
        statusCode: 0,
        statusMessage: "",
        resource: {
          attributes: [{ key: "service.name", value: "svc", type: "string" }],
          droppedAttributesCount: 0,
          serviceName: "svc",
        },
        scope: { name: "scope", version: "v1" },
      },
    ]);
  });

  it("accepts a Uint8Array that is not a Buffer, at a non-zero offset", () => {
    const buf = request([span(0)]);
    const ab = new ArrayBuffer(buf.length + 7);
    const view = new Uint8Array(ab, 7);
    view.set(buf);
    expect(decodeTracesProto(view)).toEqual(decodeTracesProto(buf));
  });

  it("uses unknown_service without a string service.name, and takes the resource after the spans", () => {
    const noName = decodeTracesProto(request([span(0)], [lfield(1, kv("service.name", av.int(3)))]));
    expect(noName.spans[0].resource.serviceName).toBe("unknown_service");
    const noResource = decodeTracesProto(bytes(msg(1, msg(2, lfield(2, span(0))))));
    expect(noResource.spans[0].resource).toEqual({
      attributes: [],
      droppedAttributesCount: 0,
      serviceName: "unknown_service",
    });
    expect(noResource.spans[0].scope).toEqual({ name: "", version: "" });
    // Resource and scope after the spans on the wire (legal protobuf field order).
    const late = decodeTracesProto(
      bytes(
        msg(
          1,
          msg(2, lfield(2, span(0)), lfield(2, span(1)), msg(1, sfield(1, "late-scope"))),
          msg(1, lfield(1, kv("service.name", av.str("late"))), vfield(2, 4)),
        ),
      ),
    );
    expect(
      late.spans.map((s) => [s.resource.serviceName, s.resource.droppedAttributesCount, s.scope.name]),
    ).toEqual([
      ["late", 4, "late-scope"],
      ["late", 4, "late-scope"],
    ]);
    expect(late.spans[0].resource).toBe(late.spans[1].resource);
  });

  it("decodes every Span field", () => {
    const linkTrace = Buffer.alloc(16, 0x11);
    const linkSpan = Buffer.alloc(8, 0x22);
    const d = decodeTracesProto(
      request([
        span(
          0,
          sfield(3, "k=v"),
          lfield(4, PARENT_ID),
          f32(16, 0x301),
          vfield(6, 3),
          lfield(9, kv("a", av.str("x"))),
          vfield(10, 1),
          msg(11, f64(1, 5n), sfield(2, "ev"), lfield(3, kv("e", av.bool(true))), vfield(4, 2)),
          vfield(12, 3),
          msg(
            13,
            lfield(1, linkTrace),
            lfield(2, linkSpan),
            sfield(3, "l=1"),
            lfield(4, kv("l", av.int(-1))),
            vfield(5, 6),
            f32(6, 0x101),
          ),
          msg(13),
          vfield(14, 7),
          msg(15, sfield(2, "bad"), vfield(3, 2)),
        ),
      ]),
    );
    const s = d.spans[0];
    expect(s).toMatchObject({
      traceState: "k=v",
      parentSpanId: "00f067aa0ba902b7",
      flags: 0x301,
      kind: 3,
      attributes: [{ key: "a", value: "x", type: "string" }],
      droppedAttributesCount: 1,
      events: [
        {
          timeUnixNano: 5n,
          name: "ev",
          attributes: [{ key: "e", value: "true", type: "bool" }],
          droppedAttributesCount: 2,
        },
      ],
      droppedEventsCount: 3,
      links: [
        {
          traceId: "11".repeat(16),
          spanId: "22".repeat(8),
          traceState: "l=1",
          attributes: [{ key: "l", value: "-1", type: "int" }],
          droppedAttributesCount: 6,
          flags: 0x101,
        },
        // A link without ids (all-zero ids are allowed on links).
        {
          traceId: "0".repeat(32),
          spanId: "0".repeat(16),
          traceState: "",
          attributes: [],
          droppedAttributesCount: 0,
          flags: 0,
        },
      ],
      droppedLinksCount: 7,
      statusCode: 2,
      statusMessage: "bad",
    });
  });

  it("maps out-of-range kind and status code to 0 and an all-zero parent to root", () => {
    const d = decodeTracesProto(
      request([span(0, vfield(6, 9), msg(15, vfield(3, -1)), lfield(4, Buffer.alloc(8)))]),
    );
    expect([d.spans[0].kind, d.spans[0].statusCode, d.spans[0].parentSpanId]).toEqual([0, 0, ""]);
  });

  it("lets the last occurrence of a scalar field win and appends repeated fields", () => {
    const d = decodeTracesProto(
      request([span(0, sfield(5, "renamed"), lfield(9, kv("a", av.int(1))), lfield(9, kv("b", av.int(2))))]),
    );
    expect(d.spans[0].name).toBe("renamed");
    expect(d.spans[0].attributes.map((a) => a.key)).toEqual(["a", "b"]);
  });
});

describe("attribute values", () => {
  const decodeAttr = (value?: Bytes) =>
    attrOf(decodeTracesProto(request([span(0, lfield(9, kv("k", value)))])), "k");

  it("spells ints exactly, including negative and beyond 2^53", () => {
    expect(decodeAttr(av.int(0))).toEqual(["int", "0"]);
    expect(decodeAttr(av.int(-1))).toEqual(["int", "-1"]);
    expect(decodeAttr(av.int(2n ** 53n + 1n))).toEqual(["int", "9007199254740993"]);
    expect(decodeAttr(av.int(-(2n ** 53n) - 1n))).toEqual(["int", "-9007199254740993"]);
    expect(decodeAttr(av.int(-(2n ** 53n) + 1n))).toEqual(["int", "-9007199254740991"]);
    expect(decodeAttr(av.int(2n ** 63n - 1n))).toEqual(["int", "9223372036854775807"]);
    expect(decodeAttr(av.int(-(2n ** 63n)))).toEqual(["int", "-9223372036854775808"]);
    expect(decodeAttr(av.int(-(2n ** 32n)))).toEqual(["int", "-4294967296"]);
  });

  it("spells doubles as String(n)", () => {
    expect(decodeAttr(av.double(Number.NaN))).toEqual(["double", "NaN"]);
    expect(decodeAttr(av.double(Number.POSITIVE_INFINITY))).toEqual(["double", "Infinity"]);
    expect(decodeAttr(av.double(Number.NEGATIVE_INFINITY))).toEqual(["double", "-Infinity"]);
    expect(decodeAttr(av.double(-0))).toEqual(["double", "0"]);
    expect(decodeAttr(av.double(1e21))).toEqual(["double", "1e+21"]);
    expect(decodeAttr(av.double(0.1))).toEqual(["double", "0.1"]);
  });

  it("spells bools, bytes, empty values and nested values", () => {
    expect(decodeAttr(av.bool(false))).toEqual(["bool", "false"]);
    expect(decodeAttr(vfield(2, 2n ** 40n))).toEqual(["bool", "true"]);
    expect(decodeAttr(av.bytes([0xff, 0, 1]))).toEqual(["bytes", "/wAB"]);
    expect(decodeAttr(undefined)).toEqual(["empty", ""]);
    expect(decodeAttr([])).toEqual(["empty", ""]);
    expect(decodeAttr(av.str(""))).toEqual(["string", ""]);
    expect(
      decodeAttr(
        av.array(
          av.double(Number.NaN),
          av.double(Number.NEGATIVE_INFINITY),
          av.double(2.5),
          av.int(2n ** 53n),
          av.int(-(2n ** 53n) + 1n),
          [],
          av.str('q"\\\n'),
          av.bytes([1]),
          av.kvlist(kv("x"), kv("", av.bool(true))),
          av.array(),
        ),
      ),
    ).toEqual([
      "array",
      '["NaN","-Infinity",2.5,"9007199254740992",-9007199254740991,null,"q\\"\\\\\\n","AQ==",{"x":null,"":true},[]]',
    ]);
  });

  it("lets the last oneof member win", () => {
    expect(decodeAttr([...av.str("s"), ...av.int(5)])).toEqual(["int", "5"]);
  });

  it("accepts AnyValue nested exactly 32 levels and refuses 33 and 1000", () => {
    const nested = (levels: number, wrap: (inner: Bytes) => Bytes) => {
      let v = av.int(1);
      for (let i = 1; i < levels; i++) v = wrap(v);
      return v;
    };
    const inArray = (inner: Bytes) => av.array(inner);
    const inKvlist = (inner: Bytes) => av.kvlist(kv("k", inner));
    expect(decodeAttr(nested(32, inArray))?.[1]).toBe(`${"[".repeat(31)}1${"]".repeat(31)}`);
    expect(decodeAttr(nested(32, inKvlist))?.[0]).toBe("kvlist");
    for (const levels of [33, 1000]) {
      for (const wrap of [inArray, inKvlist]) {
        const msgText = decodeError(request([span(0, lfield(9, kv("k", nested(levels, wrap))))]));
        expect(msgText).toMatch(/^AnyValue nested deeper than 32 levels at offset \d+$/);
      }
    }
  });
});

describe("partial rejection of spans with invalid ids", () => {
  it("rejects only the invalid spans and counts them", () => {
    const sid = (i: number) => {
      const b = Buffer.from(SPAN_ID);
      b[7] = i + 1;
      return b;
    };
    const spanWith = (i: number, traceId: Buffer | null, spanId: Buffer | null, parent?: Buffer): Bytes => [
      ...(traceId ? lfield(1, traceId) : []),
      ...(spanId ? lfield(2, spanId) : []),
      ...(parent ? lfield(4, parent) : []),
      ...sfield(5, `span-${i}`),
    ];
    const all: Bytes[] = [
      spanWith(0, TRACE_ID, sid(0)),
      spanWith(1, TRACE_ID.subarray(0, 5), sid(1)),
      spanWith(2, TRACE_ID, null),
      spanWith(3, Buffer.alloc(16), sid(3)),
      spanWith(4, TRACE_ID, Buffer.alloc(8)),
      spanWith(5, TRACE_ID, sid(5), Buffer.alloc(3)),
      spanWith(6, TRACE_ID, sid(6), PARENT_ID),
      spanWith(7, Buffer.concat([TRACE_ID, Buffer.from([1])]), sid(7)),
      [...spanWith(8, TRACE_ID, sid(8)), ...msg(13, lfield(1, Buffer.alloc(3, 1)), lfield(2, SPAN_ID))],
      [...spanWith(9, TRACE_ID, sid(9)), ...msg(13, lfield(1, TRACE_ID), lfield(2, Buffer.alloc(9, 1)))],
      spanWith(10, null, null),
    ];
    const d = decodeTracesProto(request(all));
    expect(d.spans.map((s) => s.name)).toEqual(["span-0", "span-6"]);
    expect(d.rejected).toBe(9);
    expect(d.rejectReason).toBe("span 1: trace_id must be 16 bytes, got 5");
    const reasons: Array<[number, string]> = [
      [1, "span 1: trace_id must be 16 bytes, got 5"],
      [2, "span 2: span_id must be 8 bytes, got 0"],
      [3, "span 3: trace_id must not be all zero"],
      [4, "span 4: span_id must not be all zero"],
      [5, "span 5: parent_span_id must be empty or 8 bytes, got 3"],
      [7, "span 7: trace_id must be 16 bytes, got 17"],
      [8, "span 8: links[0].trace_id must be empty or 16 bytes, got 3"],
      [9, "span 9: links[0].span_id must be empty or 8 bytes, got 9"],
      [10, "span 10: trace_id must be 16 bytes, got 0"],
    ];
    for (const [i, reason] of reasons) {
      // Only span i is invalid: the good spans before it keep their index.
      const good = Array.from({ length: i }, (_, k) => spanWith(k, TRACE_ID, sid(k)));
      const one = decodeTracesProto(request([...good, all[i]]));
      expect([one.spans.length, one.rejected, one.rejectReason]).toEqual([i, 1, reason]);
    }
  });

  it("numbers spans across ResourceSpans and ScopeSpans", () => {
    const rs = (...spans: Bytes[]) => msg(1, msg(2, ...spans.map((s) => lfield(2, s))));
    const bad = [...lfield(1, TRACE_ID), ...lfield(2, Buffer.alloc(2, 1))];
    const d = decodeTracesProto(bytes(rs(span(0), span(1)), rs(span(2), bad)));
    expect(d.spans).toHaveLength(3);
    expect([d.rejected, d.rejectReason]).toEqual([1, "span 3: span_id must be 8 bytes, got 2"]);
  });
});

describe("malformed protobuf", () => {
  it("names what and where for truncation", () => {
    // A Span whose last field is an attributes tag followed by a truncated length varint.
    const bad = bytes(msg(1, msg(2, lfield(2, [...span(0), ...tag(9, 2), 0x80]))));
    const at = bad.length - 1;
    expect(decodeError(bad)).toBe(`truncated varint at offset ${at} in Span.attributes`);
    expect(decodeError(bytes(msg(1, msg(2, lfield(2, [...span(0), ...tag(9, 2), 5, 1, 2])))))).toMatch(
      /^length 5 exceeds the 2 bytes left at offset \d+ in Span\.attributes$/,
    );
    expect(decodeError(bytes(msg(1, msg(2, lfield(2, [...span(0), ...tag(7, 1), 1, 2, 3])))))).toMatch(
      /^truncated fixed64 at offset \d+ in Span\.start_time_unix_nano$/,
    );
    expect(decodeError(Buffer.from([0x0a, 0x05, 0x0a]))).toBe(
      "length 5 exceeds the 1 bytes left at offset 1 in ExportTraceServiceRequest.resource_spans",
    );
    expect(decodeError(Buffer.from([0x0a]))).toBe(
      "truncated varint at offset 1 in ExportTraceServiceRequest.resource_spans",
    );
  });

  it("refuses huge declared lengths without allocating or reading past the end", () => {
    for (const n of [2 ** 31 - 1, 2 ** 32, 2 ** 40, 2n ** 64n - 1n]) {
      expect(decodeError(Buffer.from([0x0a, ...varint(n), 1, 2, 3]))).toMatch(
        /length \d+ (exceeds|too large)/,
      );
    }
    expect(decodeError(Buffer.from([0x0a, ...Array(10).fill(0xff), 0x01]))).toMatch(
      /varint longer than 10 bytes/,
    );
  });

  it("refuses invalid wire types, field number 0 and stray end-groups", () => {
    expect(decodeError(Buffer.from([0x0e]))).toBe(
      "invalid wire type 6 for field 1 at offset 0 in ExportTraceServiceRequest",
    );
    expect(decodeError(Buffer.from([0x0f]))).toMatch(/invalid wire type 7/);
    expect(decodeError(Buffer.from([0x00, 0x00]))).toMatch(/invalid field number 0/);
    expect(decodeError(Buffer.from([0x0c]))).toMatch(/unexpected end-group for field 1/);
    expect(decodeError(Buffer.from([0x0b, 0x08, 0x01]))).toMatch(/unterminated group 1/);
    expect(decodeError(Buffer.from([0x0b, 0x14]))).toMatch(/end-group for field 2 inside group 1/);
    expect(decodeError(Buffer.from([...Array(40).fill(0x0b)]))).toMatch(
      /groups nested deeper than 32 levels/,
    );
  });

  it("skips unknown fields of every wire type, and known fields with an unexpected wire type", () => {
    const unknown = [
      ...vfield(100, 2n ** 63n),
      ...f64(101, 1n),
      ...sfield(102, "x"),
      ...f32(103, 1),
      ...tag(104, 3),
      ...vfield(1, 1),
      ...tag(105, 3),
      ...tag(105, 4),
      ...tag(104, 4),
    ];
    const plain = decodeTracesProto(request([span(0, lfield(9, kv("k", av.int(1))))]));
    const noisy = decodeTracesProto(
      bytes(
        unknown,
        msg(
          1,
          unknown,
          msg(1, unknown, lfield(1, [...unknown, ...kv("service.name", [...unknown, ...av.str("svc")])])),
          msg(
            2,
            unknown,
            msg(1, sfield(1, "scope"), unknown, sfield(2, "v1")),
            lfield(
              2,
              span(0, unknown, lfield(9, [...kv("k", [...av.int(1), ...unknown]), ...unknown]), f32(6, 3)),
            ),
          ),
        ),
      ),
    );
    expect(noisy).toEqual(plain);
  });

  it("refuses invalid UTF-8, naming the field", () => {
    const bad = [0x61, 0xc3, 0x28]; // 0xc3 starts a 2-byte sequence; 0x28 is no continuation byte
    const spanName = [...lfield(1, TRACE_ID), ...lfield(2, SPAN_ID), ...lfield(5, bad)];
    const req = request([spanName]);
    expect(decodeError(req)).toBe(`invalid UTF-8 at offset ${req.indexOf(Buffer.from(bad))} in Span.name`);
    expect(decodeError(request([span(0, lfield(9, [...lfield(1, bad)]))]))).toMatch(/in KeyValue\.key$/);
    expect(decodeError(request([span(0, lfield(9, kv("k", lfield(1, bad))))]))).toMatch(
      /in AnyValue\.string_value$/,
    );
    expect(decodeError(request([span(0, sfield(3, "ok"), lfield(3, [0xed, 0xa0, 0x80]))]))).toMatch(
      /invalid UTF-8 .* in Span\.trace_state$/,
    );
    expect(decodeError(request([span(0, msg(15, lfield(2, [0xff])))]))).toMatch(/in Status\.message$/);
    expect(decodeError(request([span(0)], [lfield(1, kv("k", lfield(1, [0xc0, 0x80])))]))).toMatch(
      /in AnyValue\.string_value$/,
    );
    expect(decodeError(bytes(msg(1, msg(2, msg(1, lfield(1, [0xf8, 0x88, 0x80, 0x80, 0x80]))))))).toMatch(
      /in InstrumentationScope\.name$/,
    );
    // The transcoder checks attribute keys and values four bytes at a time as it copies them: a
    // bad byte in any word, in the bytes after the last word, or in a string long enough to be
    // copied whole is refused all the same.
    for (const at of [0, 3, 4, 9, 11, 66]) {
      const text = [...Buffer.from("x".repeat(at < 12 ? 12 : 70))];
      text[at] = 0xff;
      expect(
        decodeError(request([span(0, lfield(9, [...lfield(1, text), ...lfield(2, av.str("v"))]))])),
      ).toMatch(/in KeyValue\.key$/);
      expect(decodeError(request([span(0, lfield(9, kv("k", lfield(1, text))))]))).toMatch(
        /in AnyValue\.string_value$/,
      );
    }
    // A key or value given twice is refused for a bad first one, though the last one wins.
    expect(decodeError(request([span(0, lfield(9, [...lfield(1, bad), ...kv("k", av.str("v"))]))]))).toMatch(
      /in KeyValue\.key$/,
    );
    expect(
      decodeError(request([span(0, lfield(9, [...kv("k", lfield(1, bad)), ...lfield(2, av.str("v"))]))])),
    ).toMatch(/in AnyValue\.string_value$/);
    // Valid multi-byte UTF-8 everywhere is fine.
    const d = decodeTracesProto(
      request([span(0, sfield(5, "naïve ✓ 🎉"), lfield(9, kv("ключ", av.str("值"))))]),
    );
    expect([d.spans[0].name, d.spans[0].attributes[0]]).toEqual([
      "naïve ✓ 🎉",
      { key: "ключ", value: "值", type: "string" },
    ]);
  });

  it("caches repeated keys without confusing keys that share length and ends", () => {
    const keys = [
      "http.route.a",
      "http.route.b",
      "http.xxxxx.a",
      "aaaa",
      "aaab",
      "service.name",
      "x".repeat(64),
    ];
    const attrs = keys.map((k, i) => lfield(9, kv(k, av.int(i))));
    for (let round = 0; round < 3; round++) {
      const d = decodeTracesProto(request([span(0, ...attrs, ...attrs.slice().reverse())]));
      expect(d.spans[0].attributes.map((a) => `${a.key}=${a.value}`)).toEqual([
        ...keys.map((k, i) => `${k}=${i}`),
        ...keys.map((k, i) => `${k}=${i}`).reverse(),
      ]);
    }
  });
});

describe("parity with the JSON decoder", () => {
  it("gives deep-equal results for the same content", () => {
    const proto = request(
      [
        span(
          0,
          lfield(4, PARENT_ID),
          vfield(6, 2),
          f32(16, 0x101),
          lfield(9, kv("neg", av.int(-(2n ** 63n)))),
          lfield(9, kv("nan", av.double(Number.NaN))),
          lfield(9, kv("inf", av.double(Number.NEGATIVE_INFINITY))),
          lfield(9, kv("bytes", av.bytes([1, 2, 3, 250]))),
          lfield(
            9,
            kv("nested", av.kvlist(kv("a", av.array(av.int(2n ** 62n), av.bool(false), [])), kv("b"))),
          ),
          lfield(9, kv("empty")),
          msg(11, f64(1, 2n ** 64n - 1n), sfield(2, "ev")),
          msg(15, vfield(3, 1)),
        ),
        [...lfield(1, TRACE_ID), ...lfield(2, Buffer.alloc(4, 1))],
      ],
      [lfield(1, kv("service.name", av.str("svc"))), vfield(2, 3)],
    );
    const json = JSON.stringify({
      resourceSpans: [
        {
          resource: {
            attributes: [{ key: "service.name", value: { stringValue: "svc" } }],
            droppedAttributesCount: 3,
          },
          scopeSpans: [
            {
              scope: { name: "scope", version: "v1" },
              spans: [
                {
                  traceId: TRACE_ID.toString("hex").toUpperCase(),
                  spanId: "B7AD6B7169203301",
                  parentSpanId: PARENT_ID.toString("hex"),
                  name: "span-0",
                  kind: "SPAN_KIND_SERVER",
                  flags: 0x101,
                  startTimeUnixNano: "1700000000000000000",
                  endTimeUnixNano: "1700000000000000100",
                  attributes: [
                    { key: "neg", value: { intValue: "-9223372036854775808" } },
                    { key: "nan", value: { doubleValue: "NaN" } },
                    { key: "inf", value: { doubleValue: "-Infinity" } },
                    { key: "bytes", value: { bytesValue: "AQID+g" } },
                    {
                      key: "nested",
                      value: {
                        kvlistValue: {
                          values: [
                            {
                              key: "a",
                              value: {
                                arrayValue: {
                                  values: [{ intValue: "4611686018427387904" }, { boolValue: false }, {}],
                                },
                              },
                            },
                            { key: "b" },
                          ],
                        },
                      },
                    },
                    { key: "empty" },
                  ],
                  events: [{ timeUnixNano: "18446744073709551615", name: "ev" }],
                  status: { code: 1 },
                },
                { traceId: TRACE_ID.toString("hex"), spanId: "01010101" },
              ],
            },
          ],
        },
      ],
    });
    const fromProto = decodeTracesProto(proto);
    expect(fromProto.spans).toHaveLength(1);
    expect(fromProto.rejectReason).toBe("span 1: span_id must be 8 bytes, got 4");
    expect(decodeTracesJson(json)).toEqual(fromProto);
  });
});

describe("local_parent (the parent came in the same ResourceSpans)", () => {
  it("marks a span whose parent is in its own ResourceSpans, in any scope or order, and no other", () => {
    const id = (n: number, len: number) => Buffer.alloc(len, n);
    const [t, u] = [id(1, 16), id(2, 16)];
    const [p1, p2, c1, c2, c3, x] = [11, 12, 13, 14, 15, 16].map((n) => id(n, 8));
    const s = (traceId: Buffer, spanId: Buffer, parentSpanId?: Buffer): GenSpan => ({
      traceId,
      spanId,
      parentSpanId,
      name: "op",
      startNs: 1n,
      endNs: 2n,
    });
    const scope = (w: ProtoWriter, spans: GenSpan[]) =>
      w.message(2, (ss) => {
        for (const g of spans) ss.message(2, (sw) => writeSpan(sw, g));
      });
    const resource = (w: ProtoWriter) =>
      w.message(1, (res) =>
        res.message(1, (kv) => kv.string(1, "service.name").message(2, (v) => v.string(1, "a"))),
      );
    const body = new ProtoWriter()
      .message(1, (rs) => {
        resource(rs);
        // a child before its parent; a child whose parent is in the next ResourceSpans (same
        // service name: still not marked); a span of another trace naming p1's id as its parent
        scope(rs, [s(t, c1, p1), s(t, p1), s(t, c2, p2), s(u, x, p1)]);
        scope(rs, [s(t, c3, p1)]); // another scope of the same resource
      })
      .message(1, (rs) => {
        resource(rs);
        scope(rs, [s(t, p2, p1)]);
      })
      .finish();
    const want = [1, 0, 0, 0, 1, 0];
    // the decoder's spans through the encoders, and the transcoder's rows (checked equal to the
    // encoder's by transcode-parity)
    const decoded = decodeTracesProto(body);
    expect([...localParents(decoded.spans)]).toEqual(want);
    const { rows } = transcodeTracesProto(body, "t");
    expect(Array.from({ length: rows.count }, (_, i) => rows.body[rows.rowStarts[i + 1] - 1])).toEqual(want);
    expect(
      encodeSpans("t", decoded.spans)
        .toString()
        .trimEnd()
        .split("\n")
        .map((l) => Number(l.split("\t").at(-1))),
    ).toEqual(want);
  });
});
