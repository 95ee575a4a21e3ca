import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp } from "../support/app.js";
import { STORE_TARGETS } from "../support/targets.js";
import { hrToMicros, hrToNs, jaegerTag, sendSdkTrace } from "./jaeger-trace.js";

/**
 * Contract tests of Jaeger's legacy query API (what Grafana's Jaeger data source and the Jaeger UI
 * call) on a trace sent by the real OpenTelemetry SDK. The embedded target serves the API at the
 * root (Grafana's default), the server target under the prefix "/jaeger".
 */

type App = Awaited<ReturnType<typeof startApp>>;
// biome-ignore lint/suspicious/noExplicitAny: JSON under test
type Json = Record<string, any>;

const KINDS = ["internal", "server", "client", "producer", "consumer"];

describe.each(STORE_TARGETS)("Jaeger legacy API on $name ClickHouse", (target) => {
  const prefix = target.name === "server" ? "/jaeger" : "";
  let app: App;
  let setup: Awaited<ReturnType<typeof target.setup>>;
  let base: string;
  let sent: Awaited<ReturnType<typeof sendSdkTrace>>;

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { headers });
    return { status: res.status, body: (await res.json()) as Json };
  };

  beforeAll(async () => {
    setup = await target.setup();
    app = await startApp({ storage: setup.storage, "query.jaegerPrefix": prefix });
    base = `${new URL(app.listeners.graphql).origin}${prefix}`;
    sent = await sendSdkTrace(app.listeners.otlpHttp, target.name);
  });
  afterAll(async () => {
    await app?.shutdown();
    await setup?.cleanup();
  });

  it("Grafana's Save & test: /api/services is non-empty once data exists", async () => {
    const { status, body } = await get("/api/services");
    expect(status).toBe(200);
    expect(body).toEqual({
      data: ["cart", "cart-db", "gateway"],
      total: 3,
      limit: 0,
      offset: 0,
      errors: null,
    });
    const other = await get("/api/services", { "x-scope-orgid": "someone-else" });
    expect(other.body.data).toEqual([]);
    // with a prefix, nothing is served outside it
    const root = await fetch(`${new URL(app.listeners.graphql).origin}/api/services`);
    expect(root.status).toBe(prefix === "" ? 200 : 404);
  });

  it("lists operations both ways", async () => {
    expect((await get("/api/services/cart/operations")).body).toMatchObject({
      data: ["GetCart", "orders publish"],
      total: 2,
    });
    const ops = await get("/api/operations?service=cart&spanKind=server");
    expect(ops.body).toEqual({
      data: [{ name: "GetCart", spanKind: "server" }],
      total: 1,
      limit: 0,
      offset: 0,
      errors: null,
    });
  });

  it("returns the trace by id exactly as the SDK recorded it, in Jaeger's model", async () => {
    const { status, body } = await get(`/api/traces/${sent.traceId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ total: 0, limit: 0, offset: 0, errors: null });
    expect(body.data).toHaveLength(1);
    const t = body.data[0];
    expect(t.traceID).toBe(sent.traceId);
    expect(t.spans).toHaveLength(5);
    const byId = new Map<string, Json>(t.spans.map((s: Json) => [s.spanID, s]));
    for (const r of sent.recorded) expectSpan(byId.get(r.spanContext().spanId), r, t.processes);
    // one process per distinct resource
    expect(Object.keys(t.processes).sort()).toEqual(["p1", "p2", "p3"]);
  });

  it("answers 404 in Jaeger's error shape for an unknown trace", async () => {
    const { status, body } = await get("/api/traces/0123456789abcdef0123456789abcdef");
    expect(status).toBe(404);
    expect(body).toEqual({
      data: null,
      total: 0,
      limit: 0,
      offset: 0,
      errors: [{ code: 404, msg: "trace not found" }],
    });
  });

  it("finds the trace with the parameters Grafana sends (logfmt tags as JSON, µs range, lookback=custom)", async () => {
    const startUs = (sent.baseSeconds - 60) * 1_000_000;
    const endUs = (sent.baseSeconds + 120) * 1_000_000;
    const tags = encodeURIComponent(
      JSON.stringify({ "request.guid": `guid-${target.name}`, "http.status_code": "500" }),
    );
    const q = `service=gateway&operation=${encodeURIComponent("GET /checkout")}&tags=${tags}&start=${startUs}&end=${endUs}&lookback=custom&limit=20&minDuration=10ms&maxDuration=1s`;
    const { status, body } = await get(`/api/traces?${q}`);
    expect(status).toBe(200);
    expect(body.data.map((t: Json) => t.traceID)).toEqual([sent.traceId]);
    expect(body.data[0].spans).toHaveLength(5);
    // Jaeger UI's tag=k:v form and the translator's synthetic tags
    const ui = await get(
      `/api/traces?service=cart-db&tag=error:true&tag=db.system:postgresql&start=${startUs}&end=${endUs}`,
    );
    expect(ui.body.data.map((t: Json) => t.traceID)).toEqual([sent.traceId]);
    const none = await get(`/api/traces?service=gateway&minDuration=1s&start=${startUs}&end=${endUs}`);
    expect(none.body.data).toEqual([]);
    const byIds = await get(`/api/traces?traceID=${sent.traceId}&traceID=00000000000000000000000000000001`);
    expect(byIds.body.data).toHaveLength(1);
    expect(byIds.body.errors).toEqual([
      { code: 404, msg: "trace not found", traceID: "00000000000000000000000000000001" },
    ]);
  });

  it("serves the dependency graph Grafana asks for (endTs, lookback in ms) from the service map", async () => {
    const { status, body } = await get(`/api/dependencies?endTs=${Date.now()}&lookback=3600000`);
    expect(status).toBe(200);
    expect(body.data).toEqual([
      { parent: "cart", child: "cart-db", callCount: 1 },
      // the service map's virtual node for the database the cart-db client span calls (db.system)
      { parent: "cart-db", child: "postgresql", callCount: 1 },
      { parent: "gateway", child: "cart", callCount: 1 },
    ]);
  });

  it("returns every span of a trace larger than one read (paged through the span reader)", async () => {
    const traceId = "b".repeat(32);
    const startNs = BigInt(sent.baseSeconds) * 1_000_000_000n;
    await app.store.client.command({
      query: `INSERT INTO ${app.store.database}.spans (tenant, trace_id, span_id, parent_span_id, name, kind,
          service_name, start_time, duration_ns, status_code, resource_attributes)
        SELECT 'default', '${traceId}', leftPad(lower(hex(toUInt64(1000000 + number))), 16, '0'),
          if(number = 0, '', leftPad(lower(hex(toUInt64(1000000))), 16, '0')), 'step', 'INTERNAL', 'batch',
          fromUnixTimestamp64Nano(toInt64(${startNs} + number * 1000)), 500, 'UNSET', map('service.name', 'batch')
        FROM numbers(12000)`,
    });
    const { status, body } = await get(`/api/traces/${traceId}`);
    expect(status).toBe(200);
    const spans: Json[] = body.data[0].spans;
    expect(spans).toHaveLength(12000);
    expect(new Set(spans.map((s) => s.spanID)).size).toBe(12000);
    expect(spans.filter((s) => s.references.length === 0)).toHaveLength(1);
  });

  it.each([
    ["/api/traces?service=gateway&limit=ten", "limit"],
    ["/api/traces?service=gateway&minDuration=5parsecs", "minDuration"],
    ["/api/traces?service=gateway&start=yesterday", "start"],
    ["/api/traces?service=gateway&tags=%7Bbroken", "tags"],
    ["/api/traces?service=gateway&tag=nocolon", "tag"],
    ["/api/traces?service=gateway&minDuration=2s&maxDuration=1s", "maxDuration"],
    ["/api/traces", "service"],
    ["/api/operations", "service"],
    ["/api/traces/not-a-trace-id", "trace"],
    ["/api/dependencies?endTs=soon", "endTs"],
  ])("rejects %s with a 400 naming %s", async (path, param) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect(body).toMatchObject({ data: null, total: 0, limit: 0, offset: 0 });
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].code).toBe(400);
    expect(body.errors[0].msg).toContain(param);
  });
});

/** One Jaeger span against the SDK's record of it. */
function expectSpan(s: Json | undefined, r: ReadableSpan, processes: Record<string, Json>): void {
  expect(s, r.name).toBeDefined();
  if (!s) return;
  const refs = [];
  if (r.parentSpanContext)
    refs.push({ refType: "CHILD_OF", traceID: s.traceID, spanID: r.parentSpanContext.spanId });
  for (const l of r.links)
    refs.push({ refType: "FOLLOWS_FROM", traceID: l.context.traceId, spanID: l.context.spanId });
  expect(s).toMatchObject({
    operationName: r.name,
    references: refs,
    startTime: hrToMicros(r.startTime),
    duration: Number((hrToNs(r.endTime) - hrToNs(r.startTime)) / 1000n),
  });
  const expected = Object.entries(r.attributes).map(([k, v]) => jaegerTag(k, v));
  expected.push({ key: "otel.scope.name", type: "string", value: r.instrumentationScope.name });
  expected.push({ key: "otel.scope.version", type: "string", value: r.instrumentationScope.version });
  expected.push({ key: "span.kind", type: "string", value: KINDS[r.kind] });
  if (r.status.code === 1) expected.push({ key: "otel.status_code", type: "string", value: "OK" });
  if (r.status.code === 2) {
    expected.push({ key: "otel.status_code", type: "string", value: "ERROR" });
    expected.push({ key: "error", type: "bool", value: true });
  }
  if (r.status.message)
    expected.push({ key: "otel.status_description", type: "string", value: r.status.message });
  expect(s.tags).toEqual(expected);
  expect(s.logs).toEqual(
    r.events.map((e) => ({
      timestamp: hrToMicros(e.time),
      fields: [
        { key: "event", type: "string", value: e.name },
        ...Object.entries(e.attributes ?? {}).map(([k, v]) => jaegerTag(k, v)),
      ],
    })),
  );
  const process = processes[s.processID];
  expect(process.serviceName).toBe(r.resource.attributes["service.name"]);
  expect(process.tags).toEqual(
    expect.arrayContaining(
      Object.entries(r.resource.attributes)
        .filter(([k]) => k !== "service.name")
        .map(([k, v]) => jaegerTag(k, v)),
    ),
  );
}
