import type { Attributes } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatRfc3339Nanos } from "../../query/time.js";
import { startApp } from "../support/app.js";
import { STORE_TARGETS } from "../support/targets.js";
import { hrToNs, sendSdkTrace } from "./jaeger-trace.js";

/**
 * Contract tests of Jaeger's api/v3 over HTTP (OTLP/JSON traces in `{"result": …}`, RFC 3339
 * times, `{"error": {httpCode, message}}`) on a trace sent by the real OpenTelemetry SDK.
 */

type App = Awaited<ReturnType<typeof startApp>>;
// biome-ignore lint/suspicious/noExplicitAny: JSON under test
type Json = Record<string, any>;

/** The OTLP/JSON AnyValue of an SDK attribute value. */
function anyValue(v: unknown): Json {
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "number") return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  throw new Error(`unexpected attribute value ${String(v)}`);
}
const kvs = (a: Attributes | undefined) =>
  Object.entries(a ?? {}).map(([key, v]) => ({ key, value: anyValue(v) }));

describe.each(STORE_TARGETS)("Jaeger api/v3 on $name ClickHouse", (target) => {
  let app: App;
  let setup: Awaited<ReturnType<typeof target.setup>>;
  let base: string;
  let sent: Awaited<ReturnType<typeof sendSdkTrace>>;

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: (await res.json()) as Json };
  };
  const window = () => {
    const min = encodeURIComponent(formatRfc3339Nanos(BigInt(sent.baseSeconds - 60) * 1_000_000_000n));
    const max = encodeURIComponent(new Date((sent.baseSeconds + 120) * 1000).toISOString());
    return `query.start_time_min=${min}&query.start_time_max=${max}`;
  };

  beforeAll(async () => {
    setup = await target.setup();
    app = await startApp({ storage: setup.storage });
    base = new URL(app.listeners.graphql).origin;
    sent = await sendSdkTrace(app.listeners.otlpHttp, `v3-${target.name}`);
  });
  afterAll(async () => {
    await app?.shutdown();
    await setup?.cleanup();
  });

  it("lists services and operations", async () => {
    expect((await get("/api/v3/services")).body).toEqual({ services: ["cart", "cart-db", "gateway"] });
    expect((await get("/api/v3/operations?service=cart")).body).toEqual({
      operations: [
        { name: "GetCart", spanKind: "server" },
        { name: "orders publish", spanKind: "producer" },
      ],
    });
    expect((await get("/api/v3/operations?service=cart&span_kind=producer")).body).toEqual({
      operations: [{ name: "orders publish", spanKind: "producer" }],
    });
  });

  it("returns the trace by id as OTLP/JSON equal to what the SDK sent", async () => {
    const { status, body } = await get(`/api/v3/traces/${sent.traceId}`);
    expect(status).toBe(200);
    const resourceSpans: Json[] = body.result.resourceSpans;
    expect(resourceSpans).toHaveLength(3);
    const spans = new Map<string, { span: Json; resource: Json; scope: Json }>();
    for (const rs of resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const span of ss.spans) spans.set(span.spanId, { span, resource: rs.resource, scope: ss.scope });
    expect(spans.size).toBe(5);
    for (const r of sent.recorded) {
      const got = spans.get(r.spanContext().spanId);
      expect(got, r.name).toBeDefined();
      expect(got?.span).toMatchObject({
        traceId: sent.traceId,
        name: r.name,
        kind: r.kind + 1,
        startTimeUnixNano: hrToNs(r.startTime).toString(),
        endTimeUnixNano: hrToNs(r.endTime).toString(),
        attributes: kvs(r.attributes),
        events: r.events.map((e) => ({
          timeUnixNano: hrToNs(e.time).toString(),
          name: e.name,
          attributes: kvs(e.attributes),
        })),
        links: r.links.map((l) => ({
          traceId: l.context.traceId,
          spanId: l.context.spanId,
          attributes: kvs(l.attributes),
        })),
        status: {
          ...(r.status.code ? { code: r.status.code } : {}),
          ...(r.status.message ? { message: r.status.message } : {}),
        },
      });
      expect(got?.span.parentSpanId).toBe(r.parentSpanContext?.spanId);
      expect(got?.scope).toEqual({
        name: r.instrumentationScope.name,
        version: r.instrumentationScope.version,
      });
      expect(got?.resource.attributes).toEqual(expect.arrayContaining(kvs(r.resource.attributes)));
    }
  });

  it("searches with RFC 3339 times, attributes and durations", async () => {
    const attrs = encodeURIComponent(JSON.stringify({ "request.guid": `guid-v3-${target.name}` }));
    const q = `query.service_name=gateway&query.operation_name=${encodeURIComponent("GET /checkout")}&${window()}&query.attributes=${attrs}&query.duration_min=10ms&query.search_depth=5`;
    const { status, body } = await get(`/api/v3/traces?${q}`);
    expect(status).toBe(200);
    const ids = new Set(
      body.result.resourceSpans.flatMap((rs: Json) =>
        rs.scopeSpans.flatMap((ss: Json) => ss.spans.map((s: Json) => s.traceId)),
      ),
    );
    expect([...ids]).toEqual([sent.traceId]);
    // Jaeger's current camelCase names work the same
    const camel = await get(`/api/v3/traces?query.serviceName=cart-db&${window()}&query.searchDepth=5`);
    expect(camel.status).toBe(200);
  });

  it("answers 404 as Jaeger does when nothing is found", async () => {
    const none = { error: { httpCode: 404, message: "No traces found" } };
    expect(await get("/api/v3/traces/0123456789abcdef0123456789abcdef")).toEqual({ status: 404, body: none });
    expect(await get(`/api/v3/traces?query.service_name=gateway&${window()}&query.duration_min=1h`)).toEqual({
      status: 404,
      body: none,
    });
  });

  it.each([
    [
      "/api/v3/traces?query.start_time_min=yesterday&query.start_time_max=2026-01-01T00:00:00Z",
      "query.start_time_min",
    ],
    ["/api/v3/traces?query.service_name=gateway", "query.start_time_min"],
    ["/api/v3/traces?WINDOW&query.duration_min=soon", "query.duration_min"],
    ["/api/v3/traces?WINDOW&query.search_depth=many", "query.search_depth"],
    ["/api/v3/traces?WINDOW&query.attributes=%7Bbroken", "query.attributes"],
    ["/api/v3/traces/xyz", "trace_id"],
    ["/api/v3/operations", "service"],
  ])("rejects %s with a 400 naming %s", async (path, param) => {
    const { status, body } = await get(path.replace("WINDOW", window()));
    expect(status).toBe(400);
    expect(body.error.httpCode).toBe(400);
    expect(body.error.message).toContain(param);
  });
});
