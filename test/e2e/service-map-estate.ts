import {
  type Attributes,
  type HrTime,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/**
 * A generated estate of 16 services with a known call graph, recorded through the real
 * OpenTelemetry SDK. Every call's ground truth (edge, duration and error as Skald must count them,
 * see core/service-map/pairing.ts) is recorded alongside the spans.
 */
type Callee =
  | { svc: string }
  | { virtual: string; kind: string; attrs: Attributes }
  | { consumer: string; queue: string };

export const GRAPH: Record<string, Callee[]> = {
  gateway: [
    { svc: "auth" },
    { svc: "catalog" },
    { svc: "cart" },
    { svc: "checkout" },
    { svc: "search" },
    { svc: "recommendations" },
  ],
  auth: [{ svc: "users" }],
  users: [
    {
      virtual: "database:postgresql@users-db",
      kind: "db",
      attrs: { "db.system": "postgresql", "server.address": "users-db" },
    },
  ],
  catalog: [
    { svc: "pricing" },
    {
      virtual: "cache:redis@cache-1",
      kind: "cache",
      attrs: { "db.system": "redis", "server.address": "cache-1" },
    },
  ],
  pricing: [],
  search: [{ virtual: "external:geo-api", kind: "ext", attrs: { "peer.service": "geo-api" } }],
  cart: [
    { svc: "inventory" },
    {
      virtual: "cache:redis@cache-1",
      kind: "cache",
      attrs: { "db.system": "redis", "server.address": "cache-1" },
    },
  ],
  inventory: [
    {
      virtual: "database:postgresql@inventory-db",
      kind: "db",
      attrs: { "db.system": "postgresql", "server.address": "inventory-db" },
    },
  ],
  checkout: [{ svc: "payment" }, { svc: "shipping" }, { svc: "orders" }],
  payment: [
    { virtual: "external:stripe-api", kind: "ext", attrs: { "peer.service": "stripe-api" } },
    { svc: "fraud" },
  ],
  fraud: [],
  shipping: [{ virtual: "external:api.ups.com", kind: "ext", attrs: { "server.address": "api.ups.com" } }],
  orders: [
    {
      virtual: "database:postgresql@orders-db",
      kind: "db",
      attrs: { "db.system": "postgresql", "server.address": "orders-db" },
    },
    { consumer: "notifications", queue: "order-events" },
    {
      virtual: "queue:audit-log",
      kind: "queue",
      attrs: { "messaging.system": "kafka", "messaging.destination.name": "audit-log" },
    },
  ],
  notifications: [{ svc: "email" }],
  email: [],
  recommendations: [
    {
      virtual: "database:cassandra@reco-db",
      kind: "db",
      attrs: { "db.system": "cassandra", "server.address": "reco-db" },
    },
  ],
};

export interface TruthCall {
  edge: string;
  durationNs: number;
  error: boolean;
}

export interface Estate {
  spans: ReadableSpan[];
  calls: TruthCall[];
  /** Distinct services (16). */
  services: string[];
  close(): Promise<void>;
}

/** A deterministic pseudo-random generator (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateEstate(traces: number, baseMs: number, seed = 7): Estate {
  const memory = new InMemorySpanExporter();
  const providers = new Map<string, BasicTracerProvider>();
  const tracers = new Map<string, Tracer>();
  const tracer = (svc: string): Tracer => {
    let t = tracers.get(svc);
    if (!t) {
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({
          "service.name": svc,
          "service.version": "1.0.0",
          "service.instance.id": `${svc}-0`,
        }),
        spanProcessors: [new SimpleSpanProcessor(memory)],
      });
      providers.set(svc, provider);
      t = provider.getTracer("estate");
      tracers.set(svc, t);
    }
    return t;
  };
  const rand = rng(seed);
  const calls: TruthCall[] = [];
  const at = (ns: number): HrTime => [Math.floor(ns / 1e9), ns % 1e9];
  const dur = () => Math.floor(1e6 + rand() * rand() * 400e6); // 1 ms .. 401 ms, skewed
  const fail = () => rand() < 0.1;

  /** Service `svc` handles a request as `entry` (its SERVER/CONSUMER span) from t0 for d ns. */
  function handle(svc: string, entry: Span, t0: number): void {
    const ctx = trace.setSpan(ROOT_CONTEXT, entry);
    let t = t0 + 1000;
    for (const callee of GRAPH[svc]) {
      const d = dur();
      const err = fail();
      if ("svc" in callee) {
        const client = tracer(svc).startSpan(
          `call ${callee.svc}`,
          { kind: SpanKind.CLIENT, startTime: at(t) },
          ctx,
        );
        const server = tracer(callee.svc).startSpan(
          `serve ${callee.svc}`,
          { kind: SpanKind.SERVER, startTime: at(t + 100) },
          trace.setSpan(ctx, client),
        );
        handle(callee.svc, server, t + 100);
        if (fail()) server.setStatus({ code: SpanStatusCode.ERROR });
        server.end(at(t + Math.max(200, d - 1000)));
        if (err) client.setStatus({ code: SpanStatusCode.ERROR });
        client.end(at(t + d));
        calls.push({ edge: `service:${svc}->service:${callee.svc}`, durationNs: d, error: err });
      } else if ("virtual" in callee) {
        const kind = callee.kind === "queue" ? SpanKind.PRODUCER : SpanKind.CLIENT;
        const span = tracer(svc).startSpan(
          `${callee.kind} op`,
          { kind, startTime: at(t), attributes: callee.attrs },
          ctx,
        );
        if (err) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end(at(t + d));
        calls.push({ edge: `service:${svc}->${callee.virtual}`, durationNs: d, error: err });
      } else {
        const attrs = { "messaging.system": "kafka", "messaging.destination.name": callee.queue };
        const producer = tracer(svc).startSpan(
          "publish",
          { kind: SpanKind.PRODUCER, startTime: at(t), attributes: attrs },
          ctx,
        );
        producer.end(at(t + 500_000));
        const consumer = tracer(callee.consumer).startSpan(
          "consume",
          { kind: SpanKind.CONSUMER, startTime: at(t + 1_000_000) },
          trace.setSpan(ctx, producer),
        );
        handle(callee.consumer, consumer, t + 1_000_000);
        if (err) consumer.setStatus({ code: SpanStatusCode.ERROR });
        consumer.end(at(t + 1_000_000 + d));
        calls.push({ edge: `service:${svc}->service:${callee.consumer}`, durationNs: d, error: err });
      }
      t += 2000;
    }
  }

  for (let i = 0; i < traces; i++) {
    const t0 = (baseMs + i * 200) * 1e6;
    const root = tracer("gateway").startSpan(
      "GET /",
      { kind: SpanKind.SERVER, startTime: at(t0) },
      ROOT_CONTEXT,
    );
    handle("gateway", root, t0);
    root.end(at(t0 + 900e6));
  }
  return {
    spans: [...memory.getFinishedSpans()],
    calls,
    services: [...providers.keys()].sort(),
    async close() {
      for (const p of providers.values()) await p.shutdown();
    },
  };
}

/** The value at rank q*(n-1) of sorted values, and its two neighbouring order statistics. */
export function exactQuantileBracket(sorted: number[], q: number): [number, number] {
  const r = q * (sorted.length - 1);
  return [sorted[Math.floor(r)], sorted[Math.ceil(r)]];
}

export function shuffle<T>(items: T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
