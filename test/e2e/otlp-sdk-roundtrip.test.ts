import {
  type Attributes,
  type Context,
  type HrTime,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql, type startApp as StartApp, startApp } from "../support/app.js";
import { STORE_TARGETS } from "../support/targets.js";

type App = Awaited<ReturnType<typeof StartApp>>;

const TRACE_QUERY = `query ($id: ID!) {
  trace(id: $id) {
    traceId
    spans {
      spanId parentSpanId serviceName name kind depth traceState
      startTimeUnixNano endTimeUnixNano
      status { code message }
      attributes { key value type }
      resource { serviceName attributes { key value type } }
      scope { name version }
      events { timeUnixNano name attributes { key value type } }
      links { traceId spanId attributes { key value type } }
    }
  }
}`;

const hrToNs = (t: HrTime) => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();

/** The canonical {key, value, type} Skald promises for an SDK attribute value. */
function canonical(attrs: Attributes): Array<{ key: string; value: string; type: string }> {
  return Object.entries(attrs).map(([key, v]) => {
    if (typeof v === "string") return { key, value: v, type: "string" };
    if (typeof v === "boolean") return { key, value: String(v), type: "bool" };
    if (typeof v === "number") return { key, value: String(v), type: Number.isInteger(v) ? "int" : "double" };
    return { key, value: JSON.stringify(v), type: "array" };
  });
}

const KIND_NAMES = ["INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];

/** Builds one multi-service trace through the real SDK and returns what the SDK recorded. */
async function sendTrace(
  makeExporter: () => SpanExporter,
  tag: string,
): Promise<{ traceId: string; recorded: ReadableSpan[] }> {
  const memory = new InMemorySpanExporter();
  const providers: BasicTracerProvider[] = [];
  const tracerFor = (service: string, extra: Attributes = {}) => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": service, "service.version": "1.2.3", ...extra }),
      spanProcessors: [new SimpleSpanProcessor(makeExporter()), new SimpleSpanProcessor(memory)],
    });
    providers.push(provider);
    return provider.getTracer(`lib-${service}`, "0.9.1");
  };
  const gateway = tracerFor("gateway", { "host.cores": 8, "deployment.canary": false });
  const cart = tracerFor("cart");
  const db = tracerFor("cart-db");
  const base = Math.floor(Date.now() / 1000) - 60;
  const at = (ms: number, nanos = 0): HrTime => [
    base + Math.floor(ms / 1000),
    (ms % 1000) * 1_000_000 + nanos,
  ];

  const root = gateway.startSpan(
    "GET /checkout",
    {
      kind: SpanKind.SERVER,
      startTime: at(0, 123_457),
      attributes: {
        "request.guid": `guid-${tag}`,
        "http.status_code": 500,
        "http.ratio": 0.25,
        "retry.enabled": true,
        "tags.list": ["a", "b"],
        "int.list": [1, 2, 3],
        "unicode.é": "naïve ☃",
      },
    },
    ROOT_CONTEXT,
  );
  root.addEvent("auth.checked", { "user.id": "u-1", attempts: 2 }, at(1, 999));
  const ctx: Context = trace.setSpan(ROOT_CONTEXT, root);
  const call = gateway.startSpan("cart.get", { kind: SpanKind.CLIENT, startTime: at(2, 1) }, ctx);
  const server = cart.startSpan(
    "GetCart",
    { kind: SpanKind.SERVER, startTime: at(3, 7) },
    trace.setSpan(ctx, call),
  );
  const query = db.startSpan(
    "SELECT carts",
    {
      kind: SpanKind.CLIENT,
      startTime: at(4, 5),
      attributes: { "db.system": "postgresql" },
      links: [{ context: root.spanContext(), attributes: { "link.reason": "audit" } }],
    },
    trace.setSpan(ctx, server),
  );
  query.setStatus({ code: SpanStatusCode.ERROR, message: "deadlock detected" });
  query.end(at(9, 3));
  const producer = cart.startSpan(
    "orders publish",
    { kind: SpanKind.PRODUCER, startTime: at(10) },
    trace.setSpan(ctx, server),
  );
  producer.end(at(11));
  server.setStatus({ code: SpanStatusCode.OK });
  server.end(at(12, 42));
  call.end(at(13));
  root.setStatus({ code: SpanStatusCode.ERROR, message: "upstream failed" });
  root.end(at(20, 1));
  for (const p of providers) await p.forceFlush();
  // read before shutdown: shutting the in-memory exporter down clears it
  const recorded = [...memory.getFinishedSpans()];
  for (const p of providers) await p.shutdown();
  return { traceId: root.spanContext().traceId, recorded };
}

describe.each(STORE_TARGETS)("OpenTelemetry SDK → Skald → GraphQL on $name ClickHouse", (target) => {
  let app: App;
  let setup: Awaited<ReturnType<typeof target.setup>>;

  beforeAll(async () => {
    setup = await target.setup();
    app = await startApp({ storage: setup.storage });
  });
  afterAll(async () => {
    await app?.shutdown();
    await setup?.cleanup();
  });

  const exporters: Array<[string, () => SpanExporter]> = [
    ["gRPC", () => new GrpcExporter({ url: `http://${app.listeners.otlpGrpc}` })],
    ["HTTP/protobuf", () => new ProtoExporter({ url: app.listeners.otlpHttp })],
    ["HTTP/JSON", () => new JsonExporter({ url: app.listeners.otlpHttp })],
  ];

  it.each(exporters)("a multi-service trace sent over %s comes back exactly", async (name, makeExporter) => {
    const { traceId, recorded } = await sendTrace(makeExporter, name);
    expect(recorded).toHaveLength(5);
    const res = await graphql<{ trace: { traceId: string; spans: Array<Record<string, unknown>> } }>(
      app.graphqlUrl,
      TRACE_QUERY,
      { id: traceId },
    );
    expect(res.errors).toBeUndefined();
    const got = res.data?.trace;
    expect(got?.traceId).toBe(traceId);
    expect(got?.spans).toHaveLength(5);
    // waterfall order: every parent before its children
    const seen = new Set<string>();
    for (const s of got?.spans ?? []) {
      if (s.parentSpanId) expect(seen.has(s.parentSpanId as string)).toBe(true);
      seen.add(s.spanId as string);
    }
    const byId = new Map((got?.spans ?? []).map((s) => [s.spanId as string, s]));
    for (const r of recorded) {
      const s = byId.get(r.spanContext().spanId);
      expect(s, r.name).toBeDefined();
      expect(s).toMatchObject({
        parentSpanId: r.parentSpanContext?.spanId ?? null,
        serviceName: r.resource.attributes["service.name"],
        name: r.name,
        kind: KIND_NAMES[r.kind],
        startTimeUnixNano: hrToNs(r.startTime),
        endTimeUnixNano: hrToNs(r.endTime),
        status: { code: ["UNSET", "OK", "ERROR"][r.status.code], message: r.status.message ?? "" },
        scope: { name: r.instrumentationScope.name, version: r.instrumentationScope.version },
      });
      expect(s?.attributes).toEqual(canonical(r.attributes));
      expect((s?.resource as { attributes: unknown[] } | undefined)?.attributes).toEqual(
        expect.arrayContaining(canonical(r.resource.attributes)),
      );
      expect(s?.events).toEqual(
        r.events.map((e) => ({
          timeUnixNano: hrToNs(e.time),
          name: e.name,
          attributes: canonical(e.attributes ?? {}),
        })),
      );
      expect(s?.links).toEqual(
        r.links.map((l) => ({
          traceId: l.context.traceId,
          spanId: l.context.spanId,
          attributes: canonical(l.attributes ?? {}),
        })),
      );
    }
    const root = got?.spans[0];
    expect(root?.depth).toBe(0);
    expect(root?.name).toBe("GET /checkout");
  });

  it("lists services and operations, and finds a trace by a request GUID", async () => {
    const services = await graphql<{ services: Array<{ name: string }> }>(
      app.graphqlUrl,
      "{ services { name } }",
    );
    expect(services.data?.services.map((s) => s.name).sort()).toEqual(["cart", "cart-db", "gateway"]);
    const found = await graphql<{ traceByAttribute: Array<{ traceId: string }> }>(
      app.graphqlUrl,
      `query ($v: String!) { traceByAttribute(key: "request.guid", value: $v) { traceId } }`,
      { v: "guid-gRPC" },
    );
    expect(found.errors).toBeUndefined();
    expect(found.data?.traceByAttribute).toHaveLength(1);
  });
});
