/**
 * Round trip through the real OpenTelemetry JS SDK: spans recorded by a BasicTracerProvider are
 * serialized by @opentelemetry/otlp-transformer (the exporters' own protobuf and JSON serializers),
 * decoded by Skald, and compared with what the SDK recorded. Also: hostile variants of those bytes
 * (every truncation, seeded random mutations) must decode or throw OtlpDecodeError, nothing else.
 */
import { context, type HrTime, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { TraceState } from "@opentelemetry/core";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { beforeAll, describe, expect, it } from "vitest";
import type { Attr, AttrType, DecodedTraces, Span } from "../model/span.js";
import { decodeTracesJson, OtlpDecodeError } from "./index.js";
// the decoder, checked against the transcoder on every input (transcode-parity.ts)
import { decodeTracesProto } from "./transcode-parity.js";

// ---------------------------------------------------------------------------------------------------
// Expected values, computed from the SDK's own records with an independent implementation of the
// canonical forms documented in core/model/span.ts.

const INT64_MIN = -(2 ** 63);
const INT64_END = 2 ** 63;

/** The JSON-ready form of a value inside an array/kvlist canonical text. */
function jsonReady(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") {
    if (Number.isInteger(v) && v >= INT64_MIN && v < INT64_END) {
      return Number.isSafeInteger(v) ? v : BigInt(v).toString();
    }
    return Number.isFinite(v) ? v : String(v);
  }
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  if (Array.isArray(v)) return v.map(jsonReady);
  if (typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonReady(x)]),
    );
  }
  return v;
}

function canonical(v: unknown): { value: string; type: AttrType } {
  if (v === null || v === undefined) return { value: "", type: "empty" };
  if (typeof v === "string") return { value: v, type: "string" };
  if (typeof v === "boolean") return { value: String(v), type: "bool" };
  if (typeof v === "number") {
    if (Number.isInteger(v) && v >= INT64_MIN && v < INT64_END)
      return { value: BigInt(v).toString(), type: "int" };
    return { value: String(v), type: "double" };
  }
  if (v instanceof Uint8Array) return { value: Buffer.from(v).toString("base64"), type: "bytes" };
  if (Array.isArray(v)) return { value: JSON.stringify(jsonReady(v)), type: "array" };
  return { value: JSON.stringify(jsonReady(v)), type: "kvlist" };
}

function expectedAttrs(attrs: Record<string, unknown> | undefined): Attr[] {
  return Object.entries(attrs ?? {}).map(([key, v]) => ({ key, ...canonical(v) }));
}

function hrToNs(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);
}

function expectedSpan(s: ReadableSpan): Span {
  const ctx = s.spanContext();
  const resourceAttrs = expectedAttrs(s.resource.attributes as Record<string, unknown>);
  const serviceName = resourceAttrs.find((a) => a.key === "service.name" && a.type === "string")?.value;
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? "",
    traceState: ctx.traceState?.serialize() ?? "",
    flags: spanFlags(ctx.traceFlags, s.parentSpanContext?.isRemote),
    name: s.name,
    kind: s.kind + 1,
    startTimeUnixNano: hrToNs(s.startTime),
    endTimeUnixNano: hrToNs(s.endTime),
    attributes: expectedAttrs(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
    events: s.events.map((e) => ({
      timeUnixNano: hrToNs(e.time),
      name: e.name,
      attributes: expectedAttrs(e.attributes),
      droppedAttributesCount: e.droppedAttributesCount ?? 0,
    })),
    droppedEventsCount: s.droppedEventsCount,
    links: s.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      traceState: l.context.traceState?.serialize() ?? "",
      attributes: expectedAttrs(l.attributes),
      droppedAttributesCount: l.droppedAttributesCount ?? 0,
      flags: spanFlags(l.context.traceFlags, l.context.isRemote),
    })),
    droppedLinksCount: s.droppedLinksCount,
    statusCode: s.status.code,
    statusMessage: s.status.message ?? "",
    resource: {
      attributes: resourceAttrs,
      droppedAttributesCount: 0,
      serviceName: serviceName || "unknown_service",
    },
    scope: { name: s.instrumentationScope.name, version: s.instrumentationScope.version ?? "" },
  };
}

// ---------------------------------------------------------------------------------------------------
// The SDK fixture.

const ALL_ATTRIBUTES = {
  str: "hello",
  "str.empty": "",
  "str.unicode": "héllo wörld — 世界 🎉",
  "str.long": "x".repeat(300),
  "str.json": 'quote " backslash \\ newline \n',
  "bool.true": true,
  "bool.false": false,
  "int.zero": 0,
  "int.pos": 42,
  "int.neg": -42,
  "int.max_safe": Number.MAX_SAFE_INTEGER,
  "int.min_safe": Number.MIN_SAFE_INTEGER,
  "int.big": 2 ** 60,
  "int.big_neg": -(2 ** 62),
  "int.min64": -(2 ** 63),
  double: Math.PI,
  "double.neg": -0.5,
  "double.tiny": 5e-324,
  "double.small": 1e-7,
  "arr.str": ["a", "b", "ü"],
  "arr.int": [1, -2, 2 ** 60],
  "arr.bool": [true, false],
  "arr.double": [1.5, -2.25],
  "arr.empty": [],
  "arr.with_null": ["a", null, "c"],
};

/** Attribute values the API does not accept on spans but OTLP carries (set on the recorded span). */
const ANY_VALUE_ATTRIBUTES = {
  "bytes.value": new Uint8Array([0, 1, 2, 0xfe, 0xff]),
  "bytes.empty": new Uint8Array([]),
  "kvlist.value": {
    region: "eu-west-1",
    zones: ["a", "b"],
    limits: { cpu: 2.5, memory: 2 ** 34, burst: -(2 ** 60), enabled: true },
    blob: new Uint8Array([104, 105]),
    nothing: null,
  },
  "arr.mixed": ["s", 1, true, 1.5, [1, [2, [3]]], { k: "v" }],
};

const REMOTE_PARENT = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
  traceFlags: 1,
  isRemote: true,
  traceState: new TraceState("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
};

function recordSpans(): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor(exporter);
  const providerA = new BasicTracerProvider({
    resource: resourceFromAttributes({
      "service.name": "checkout",
      "service.version": "1.2.3",
      "host.cpu.count": 8,
      "deployment.meta": { region: "eu", zones: ["a", "b"], replicas: 3 },
      "build.digest": new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
    } as unknown as Record<string, string>),
    spanProcessors: [processor],
  });
  const providerB = new BasicTracerProvider({
    resource: resourceFromAttributes({ "k8s.pod.name": "worker-0", "process.pid": 1234 }),
    spanProcessors: [processor],
  });
  const a1 = providerA.getTracer("scope-a", "1.0.0");
  const a2 = providerA.getTracer("scope-b");
  const b1 = providerB.getTracer("scope-c", "0.0.1-beta");

  const t0 = 1_760_000_000;
  const root = a1.startSpan("GET /orders/:id", {
    kind: SpanKind.SERVER,
    startTime: [t0, 123_456_789],
    attributes: ALL_ATTRIBUTES,
  });
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  const kinds = [SpanKind.INTERNAL, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER];
  const children = kinds.map((kind, i) =>
    a1.startSpan(
      `child-${SpanKind[kind]}`,
      {
        kind,
        startTime: [t0, 200_000_000 + i],
        attributes: { "child.index": i, "child.kind": SpanKind[kind] },
      },
      rootCtx,
    ),
  );
  const client = children[1];
  client.addEvent("retry", { attempt: 2, "backoff.ms": 12.5, reason: "connection reset" }, [t0, 250_000_001]);
  client.addEvent("no-attributes", [t0 + 1, 0]);
  client.setStatus({ code: SpanStatusCode.ERROR, message: "connection reset by peer — ünïcode" });
  children[0].setStatus({ code: SpanStatusCode.OK });
  client.addLink({ context: root.spanContext(), attributes: { "link.reason": "caused-by", "link.n": 7 } });
  client.addLink({ context: REMOTE_PARENT });
  children.forEach((c, i) => {
    c.end([t0, 300_000_000 + i]);
  });

  const remote = a2.startSpan(
    "consume orders",
    { kind: SpanKind.CONSUMER, startTime: [t0 + 2, 999_999_999] },
    trace.setSpanContext(ROOT_CONTEXT, REMOTE_PARENT),
  );
  remote.end([t0 + 3, 1]);
  root.end([t0, 999_000_000]);

  const other = b1.startSpan("background job", { startTime: [t0 + 5, 5] }, ROOT_CONTEXT);
  const otherChild = b1.startSpan(
    "step",
    { kind: SpanKind.INTERNAL, startTime: [t0 + 5, 6] },
    trace.setSpan(context.active(), other),
  );
  otherChild.end([t0 + 5, 7]);
  other.end([t0 + 6, 0]);

  const spans = exporter.getFinishedSpans();
  // Values the API refuses on spans but OTLP allows: put them on the recorded span directly.
  const recordedRoot = spans.find((s) => s.name === "GET /orders/:id")!;
  Object.assign(recordedRoot.attributes, ANY_VALUE_ATTRIBUTES);
  return spans;
}

let spans: ReadableSpan[];
let protoBytes: Uint8Array;
let jsonBytes: Uint8Array;

beforeAll(() => {
  spans = recordSpans();
  protoBytes = ProtobufTraceSerializer.serializeRequest(spans)!;
  jsonBytes = JsonTraceSerializer.serializeRequest(spans)!;
});

function bySpanId(d: DecodedTraces): Map<string, Span> {
  return new Map(d.spans.map((s) => [s.spanId, s]));
}

describe("OpenTelemetry JS SDK round trip", () => {
  it("records the fixture as intended", () => {
    expect(spans).toHaveLength(8);
    const root = spans.find((s) => s.name === "GET /orders/:id")!;
    expect(Object.keys(root.attributes)).toEqual([
      ...Object.keys(ALL_ATTRIBUTES),
      ...Object.keys(ANY_VALUE_ATTRIBUTES),
    ]);
  });

  for (const [format, decode] of [
    ["protobuf", () => decodeTracesProto(protoBytes)],
    ["JSON", () => decodeTracesJson(jsonBytes)],
  ] as const) {
    it(`decodes every span the SDK recorded (${format})`, () => {
      const decoded = decode();
      expect(decoded.rejected).toBe(0);
      expect(decoded.rejectReason).toBe("");
      expect(decoded.spans).toHaveLength(spans.length);
      const got = bySpanId(decoded);
      for (const s of spans) {
        expect(got.get(s.spanContext().spanId), s.name).toEqual(expectedSpan(s));
      }
    });

    it(`shares Resource and Scope objects between spans of the same group (${format})`, () => {
      const got = bySpanId(decode());
      const of = (name: string) => got.get(spans.find((s) => s.name === name)!.spanContext().spanId)!;
      const root = of("GET /orders/:id");
      const child = of("child-CLIENT");
      const remote = of("consume orders");
      const other = of("background job");
      expect(child.resource).toBe(root.resource);
      expect(child.scope).toBe(root.scope);
      expect(remote.resource).toBe(root.resource);
      expect(remote.scope).not.toBe(root.scope);
      expect(other.resource).not.toBe(root.resource);
      expect(of("step").resource).toBe(other.resource);
      expect(root.resource.serviceName).toBe("checkout");
      expect(other.resource.serviceName).toBe("unknown_service");
    });
  }

  it("gives deep-equal results from both decoders", () => {
    const fromProto = decodeTracesProto(protoBytes);
    const fromJson = decodeTracesJson(jsonBytes);
    expect(fromJson).toEqual(fromProto);
    // Same for JSON given as a string.
    expect(decodeTracesJson(Buffer.from(jsonBytes).toString("utf8"))).toEqual(fromProto);
  });

  it("spells the attribute values canonically", () => {
    const root = decodeTracesProto(protoBytes).spans.find((s) => s.name === "GET /orders/:id")!;
    const attr = (key: string) => {
      const a = root.attributes.find((x) => x.key === key)!;
      return [a.type, a.value];
    };
    expect(attr("int.big")).toEqual(["int", "1152921504606846976"]);
    expect(attr("int.min64")).toEqual(["int", "-9223372036854775808"]);
    expect(attr("int.neg")).toEqual(["int", "-42"]);
    expect(attr("double.neg")).toEqual(["double", "-0.5"]);
    expect(attr("double.tiny")).toEqual(["double", "5e-324"]);
    expect(attr("bool.false")).toEqual(["bool", "false"]);
    expect(attr("arr.int")).toEqual(["array", '[1,-2,"1152921504606846976"]']);
    expect(attr("arr.with_null")).toEqual(["array", '["a",null,"c"]']);
    expect(attr("arr.empty")).toEqual(["array", "[]"]);
    expect(attr("bytes.value")).toEqual(["bytes", "AAEC/v8="]);
    expect(attr("bytes.empty")).toEqual(["bytes", ""]);
    expect(attr("kvlist.value")).toEqual([
      "kvlist",
      '{"region":"eu-west-1","zones":["a","b"],"limits":{"cpu":2.5,"memory":17179869184,"burst":"-1152921504606846976",' +
        '"enabled":true},"blob":"aGk=","nothing":null}',
    ]);
    expect(attr("arr.mixed")).toEqual(["array", '["s",1,true,1.5,[1,[2,[3]]],{"k":"v"}]']);
    expect(attr("str.unicode")).toEqual(["string", "héllo wörld — 世界 🎉"]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Hostile variants of the real bytes.

/** Decodes, returning "ok" or "error"; anything other than OtlpDecodeError fails the test. */
function outcome(decode: () => DecodedTraces): "ok" | "error" {
  try {
    const d = decode();
    expect(Array.isArray(d.spans)).toBe(true);
    return "ok";
  } catch (err) {
    if (!(err instanceof OtlpDecodeError)) throw err;
    return "error";
  }
}

/** mulberry32: a small seeded PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Uint8Array, rnd: () => number): Buffer {
  let b = Buffer.from(src);
  const edits = 1 + Math.floor(rnd() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rnd() * b.length);
    const op = rnd();
    if (op < 0.5) b[at] = Math.floor(rnd() * 256);
    else if (op < 0.7) b[at] ^= 1 << Math.floor(rnd() * 8);
    else if (op < 0.8) b[at] = [0x00, 0x7f, 0x80, 0xff][Math.floor(rnd() * 4)];
    else if (op < 0.9) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(rnd() * 8))]);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(rnd() * 256)]), b.subarray(at)]);
  }
  return b;
}

describe("hostile variants of SDK-produced requests", () => {
  it("protobuf truncated at every byte offset decodes or throws OtlpDecodeError", () => {
    const counts = { ok: 0, error: 0 };
    for (let n = 0; n < protoBytes.length; n++) {
      counts[outcome(() => decodeTracesProto(protoBytes.subarray(0, n)))]++;
    }
    // A cut between two top-level resource_spans is a valid, shorter request.
    expect(counts.ok).toBeGreaterThanOrEqual(2);
    expect(counts.error).toBeGreaterThan(protoBytes.length * 0.9);
  });

  it("JSON truncated at every byte offset throws OtlpDecodeError", () => {
    for (let n = 0; n < jsonBytes.length; n += 1) {
      expect(outcome(() => decodeTracesJson(jsonBytes.subarray(0, n)))).toBe("error");
    }
  });

  it("protobuf with seeded random mutations decodes or throws OtlpDecodeError", () => {
    const rnd = prng(0x5ca1d);
    const counts = { ok: 0, error: 0 };
    for (let i = 0; i < 5000; i++) counts[outcome(() => decodeTracesProto(mutate(protoBytes, rnd)))]++;
    expect(counts.ok).toBeGreaterThan(0);
    expect(counts.error).toBeGreaterThan(0);
  });

  it("JSON with seeded random mutations decodes or throws OtlpDecodeError", () => {
    const rnd = prng(0xbeef);
    const counts = { ok: 0, error: 0 };
    for (let i = 0; i < 2000; i++) counts[outcome(() => decodeTracesJson(mutate(jsonBytes, rnd)))]++;
    expect(counts.ok).toBeGreaterThan(0);
    expect(counts.error).toBeGreaterThan(0);
  });
});
