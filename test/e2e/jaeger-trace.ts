import {
  type Attributes,
  type HrTime,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/**
 * One multi-service trace sent through the real OpenTelemetry SDK (OTLP/HTTP protobuf), for the
 * Jaeger API contract tests: gateway → cart → cart-db with a link, an event, an error and typed
 * attributes. Returns what the SDK recorded, which is what the API must give back.
 */
export async function sendSdkTrace(
  otlpHttpUrl: string,
  tag: string,
): Promise<{ traceId: string; recorded: ReadableSpan[]; baseSeconds: number }> {
  const memory = new InMemorySpanExporter();
  const providers: BasicTracerProvider[] = [];
  const tracerFor = (service: string, extra: Attributes = {}) => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": service, "service.version": "1.2.3", ...extra }),
      spanProcessors: [
        new SimpleSpanProcessor(new OTLPTraceExporter({ url: otlpHttpUrl })),
        new SimpleSpanProcessor(memory),
      ],
    });
    providers.push(provider);
    return provider.getTracer(`lib-${service}`, "0.9.1");
  };
  const gateway = tracerFor("gateway", { "host.cores": 8, "deployment.canary": false });
  const cart = tracerFor("cart");
  const db = tracerFor("cart-db");
  const baseSeconds = Math.floor(Date.now() / 1000) - 60;
  const at = (ms: number, nanos = 0): HrTime => [
    baseSeconds + Math.floor(ms / 1000),
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
      },
    },
    ROOT_CONTEXT,
  );
  root.addEvent("auth.checked", { "user.id": "u-1", attempts: 2 }, at(1, 999));
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
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
  const recorded = [...memory.getFinishedSpans()];
  for (const p of providers) await p.shutdown();
  return { traceId: root.spanContext().traceId, recorded, baseSeconds };
}

export const hrToNs = (t: HrTime): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
export const hrToMicros = (t: HrTime): number => Number(hrToNs(t) / 1000n);

/** The Jaeger tag Jaeger's OTLP translator makes of an SDK attribute value. */
export function jaegerTag(key: string, v: unknown): { key: string; type: string; value: unknown } {
  if (typeof v === "string") return { key, type: "string", value: v };
  if (typeof v === "boolean") return { key, type: "bool", value: v };
  if (typeof v === "number") return { key, type: Number.isInteger(v) ? "int64" : "float64", value: v };
  return { key, type: "string", value: JSON.stringify(v) };
}
