/**
 * node dist/bench/decode.js — OTLP trace decode throughput on one core.
 *
 * Builds requests of 512 spans × 10 attributes with the OpenTelemetry JS SDK, encodes them once
 * with the SDK's own OTLP serializers (protobuf and JSON), then measures spans/s for:
 *   - Skald's protobuf transcoder (bytes → RowBinary rows of `spans`, what the receivers run),
 *   - Skald's protobuf decoder (bytes → Skald spans; the transcoder's definition and fallback),
 *   - protobufjs decoding the same bytes into message objects (reflection codegen from the
 *     official field definitions; no conversion to Skald spans, so it does less work),
 *   - Skald's JSON decoder (bytes → Skald spans, including UTF-8 decode and JSON.parse).
 * The decoders run in alternating rounds (BENCH_ROUNDS, default 3) of BENCH_SECONDS_PER_ROUND
 * (default 1) each; the best round is reported.
 */
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import protobuf from "protobufjs";
import { decodeTracesJson, decodeTracesProto, transcodeTracesProto } from "../core/otlp/index.js";

const SPANS = 512;
const REQUESTS = 8;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const secondsPerRound = Number(process.env.BENCH_SECONDS_PER_ROUND ?? 1);

/** A small deterministic PRNG (mulberry32). */
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

const ROUTES = ["/api/v1/orders/:id", "/api/v1/users/:id", "/api/v1/cart", "/healthz", "/api/v1/search"];
const METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"];
const OPS = ["SELECT orders", "INSERT order_items", "redis GET", "grpc payments.Charge", "kafka publish"];

/** Encodes one request of SPANS spans (traces of 32 spans: a server root and children) both ways. */
function buildRequest(seed: number): { proto: Uint8Array; json: Uint8Array } {
  const rnd = prng(seed);
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      "service.name": `checkout-${seed % 4}`,
      "service.version": "2.14.1",
      "service.instance.id": `checkout-${seed}-7d9f8c6b5-x2k4p`,
      "deployment.environment.name": "production",
      "host.name": "ip-10-0-12-34.eu-west-1.compute.internal",
      "k8s.namespace.name": "shop",
      "k8s.pod.name": `checkout-7d9f8c6b5-x2k4p-${seed}`,
      "telemetry.sdk.language": "nodejs",
      "telemetry.sdk.name": "opentelemetry",
      "telemetry.sdk.version": "2.12.1",
    }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const http = provider.getTracer("@opentelemetry/instrumentation-http", "0.200.0");
  const db = provider.getTracer("@opentelemetry/instrumentation-pg", "0.50.0");
  let t = 1_760_000_000_000 + seed * 1000;
  for (let n = 0; n < SPANS; ) {
    const route = ROUTES[Math.floor(rnd() * ROUTES.length)];
    const method = METHODS[Math.floor(rnd() * METHODS.length)];
    const status = rnd() < 0.05 ? 500 : 200;
    const root = http.startSpan(
      `${method} ${route}`,
      {
        kind: SpanKind.SERVER,
        startTime: t,
        attributes: {
          "http.request.method": method,
          "http.route": route,
          "url.path": route.replace(":id", String(Math.floor(rnd() * 100000))),
          "http.response.status_code": status,
          "server.address": "checkout.shop.svc.cluster.local",
          "server.port": 8080,
          "network.protocol.version": "1.1",
          "user_agent.original":
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0",
          "client.address": `10.0.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}`,
          "app.cache_hit": rnd() < 0.5,
        },
      },
      context.active(),
    );
    if (status === 500) {
      root.setStatus({ code: SpanStatusCode.ERROR, message: "upstream timeout" });
      root.addEvent(
        "exception",
        { "exception.type": "TimeoutError", "exception.message": "upstream timeout" },
        t + 5,
      );
    }
    n++;
    const parent = trace.setSpan(context.active(), root);
    for (let c = 0; c < 31 && n < SPANS; c++, n++) {
      const op = OPS[Math.floor(rnd() * OPS.length)];
      const child = db.startSpan(
        op,
        {
          kind: SpanKind.CLIENT,
          startTime: t + c,
          attributes: {
            "db.system.name": "postgresql",
            "db.namespace": "shop",
            "db.operation.name": op.split(" ")[0],
            "db.collection.name": op.split(" ")[1] ?? "",
            "db.query.text": `${op} WHERE id = $1 AND tenant_id = $2 LIMIT 100`,
            "server.address": "pg-primary.shop.svc.cluster.local",
            "server.port": 5432,
            "db.response.returned_rows": Math.floor(rnd() * 100),
            "app.retry": rnd() < 0.1,
            "app.latency_ms": rnd() * 20,
          },
        },
        parent,
      );
      child.end(t + c + rnd() * 3);
    }
    root.end(t + 40);
    t += 50;
  }
  const spans = exporter.getFinishedSpans();
  const proto = ProtobufTraceSerializer.serializeRequest(spans);
  const json = JsonTraceSerializer.serializeRequest(spans);
  if (!proto || !json || spans.length !== SPANS) throw new Error("failed to build the benchmark request");
  return { proto, json };
}

/** protobufjs reflection types for ExportTraceServiceRequest, from the official field definitions. */
function protobufjsRequestType(): protobuf.Type {
  const kv = { key: { type: "string", id: 1 }, value: { type: "AnyValue", id: 2 } };
  const root = protobuf.Root.fromJSON({
    nested: {
      otlp: {
        nested: {
          AnyValue: {
            oneofs: {
              value: {
                oneof: [
                  "stringValue",
                  "boolValue",
                  "intValue",
                  "doubleValue",
                  "arrayValue",
                  "kvlistValue",
                  "bytesValue",
                ],
              },
            },
            fields: {
              stringValue: { type: "string", id: 1 },
              boolValue: { type: "bool", id: 2 },
              intValue: { type: "int64", id: 3 },
              doubleValue: { type: "double", id: 4 },
              arrayValue: { type: "ArrayValue", id: 5 },
              kvlistValue: { type: "KeyValueList", id: 6 },
              bytesValue: { type: "bytes", id: 7 },
            },
          },
          ArrayValue: { fields: { values: { rule: "repeated", type: "AnyValue", id: 1 } } },
          KeyValueList: { fields: { values: { rule: "repeated", type: "KeyValue", id: 1 } } },
          KeyValue: { fields: kv },
          InstrumentationScope: {
            fields: {
              name: { type: "string", id: 1 },
              version: { type: "string", id: 2 },
              attributes: { rule: "repeated", type: "KeyValue", id: 3 },
              droppedAttributesCount: { type: "uint32", id: 4 },
            },
          },
          Resource: {
            fields: {
              attributes: { rule: "repeated", type: "KeyValue", id: 1 },
              droppedAttributesCount: { type: "uint32", id: 2 },
            },
          },
          ExportTraceServiceRequest: {
            fields: { resourceSpans: { rule: "repeated", type: "ResourceSpans", id: 1 } },
          },
          ResourceSpans: {
            fields: {
              resource: { type: "Resource", id: 1 },
              scopeSpans: { rule: "repeated", type: "ScopeSpans", id: 2 },
              schemaUrl: { type: "string", id: 3 },
            },
          },
          ScopeSpans: {
            fields: {
              scope: { type: "InstrumentationScope", id: 1 },
              spans: { rule: "repeated", type: "Span", id: 2 },
              schemaUrl: { type: "string", id: 3 },
            },
          },
          Span: {
            fields: {
              traceId: { type: "bytes", id: 1 },
              spanId: { type: "bytes", id: 2 },
              traceState: { type: "string", id: 3 },
              parentSpanId: { type: "bytes", id: 4 },
              flags: { type: "fixed32", id: 16 },
              name: { type: "string", id: 5 },
              kind: { type: "int32", id: 6 },
              startTimeUnixNano: { type: "fixed64", id: 7 },
              endTimeUnixNano: { type: "fixed64", id: 8 },
              attributes: { rule: "repeated", type: "KeyValue", id: 9 },
              droppedAttributesCount: { type: "uint32", id: 10 },
              events: { rule: "repeated", type: "Event", id: 11 },
              droppedEventsCount: { type: "uint32", id: 12 },
              links: { rule: "repeated", type: "Link", id: 13 },
              droppedLinksCount: { type: "uint32", id: 14 },
              status: { type: "Status", id: 15 },
            },
          },
          Event: {
            fields: {
              timeUnixNano: { type: "fixed64", id: 1 },
              name: { type: "string", id: 2 },
              attributes: { rule: "repeated", type: "KeyValue", id: 3 },
              droppedAttributesCount: { type: "uint32", id: 4 },
            },
          },
          Link: {
            fields: {
              traceId: { type: "bytes", id: 1 },
              spanId: { type: "bytes", id: 2 },
              traceState: { type: "string", id: 3 },
              attributes: { rule: "repeated", type: "KeyValue", id: 4 },
              droppedAttributesCount: { type: "uint32", id: 5 },
              flags: { type: "fixed32", id: 6 },
            },
          },
          Status: { fields: { message: { type: "string", id: 2 }, code: { type: "int32", id: 3 } } },
        },
      },
    },
  });
  return root.lookupType("otlp.ExportTraceServiceRequest");
}

interface Contender {
  name: string;
  /** Decodes request i and returns the number of spans decoded. */
  run(i: number): number;
  best: number;
}

function measure(c: Contender, seconds: number): number {
  let spans = 0;
  let i = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let now = start;
  while (now < deadline) {
    for (let k = 0; k < 8; k++) spans += c.run(i++ % REQUESTS);
    now = performance.now();
  }
  return spans / ((now - start) / 1000);
}

function main(): void {
  const requests = Array.from({ length: REQUESTS }, (_, i) => buildRequest(i + 1));
  const protoBytes = requests.map((r) => Buffer.from(r.proto));
  const jsonBytes = requests.map((r) => Buffer.from(r.json));
  const RequestType = protobufjsRequestType();

  // Sanity: every contender sees the same spans.
  for (const b of protoBytes) {
    const d = decodeTracesProto(b);
    if (d.spans.length !== SPANS || d.rejected !== 0) throw new Error("skald proto decode mismatch");
    if (transcodeTracesProto(b, "default").rows.count !== SPANS) throw new Error("skald transcode mismatch");
  }
  for (const b of jsonBytes) {
    if (decodeTracesJson(b).spans.length !== SPANS) throw new Error("skald json decode mismatch");
  }
  const pbjsCount = (m: protobuf.Message): number => {
    const o = m as unknown as { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> };
    let n = 0;
    for (const rs of o.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
    return n;
  };
  if (pbjsCount(RequestType.decode(protoBytes[0])) !== SPANS) throw new Error("protobufjs decode mismatch");

  const contenders: Contender[] = [
    {
      name: "transcode proto to rows (skald, the receivers' path)",
      run: (i) => transcodeTracesProto(protoBytes[i], "default").rows.count,
      best: 0,
    },
    { name: "decode proto (skald)", run: (i) => decodeTracesProto(protoBytes[i]).spans.length, best: 0 },
    { name: "decode proto (protobufjs)", run: (i) => pbjsCount(RequestType.decode(protoBytes[i])), best: 0 },
    { name: "decode json (skald)", run: (i) => decodeTracesJson(jsonBytes[i]).spans.length, best: 0 },
  ];
  console.log(
    `bench:decode: ${SPANS} spans × 10 attributes per request (proto ${protoBytes[0].length.toLocaleString("en-US")} bytes, ` +
      `json ${jsonBytes[0].length.toLocaleString("en-US")} bytes), ${rounds} rounds × ${secondsPerRound}s, node ${process.version}`,
  );
  for (const c of contenders) measure(c, 0.3); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) c.best = Math.max(c.best, measure(c, secondsPerRound));
  }
  for (const c of contenders) {
    console.log(`${c.name}: ${Math.round(c.best).toLocaleString("en-US")} spans/s`);
  }
}

main();
