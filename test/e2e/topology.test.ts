import { spawnSync } from "node:child_process";
import type { ClickHouseClient } from "@clickhouse/client";
import { type HrTime, ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { type Admin, Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chClient, exactlyOnce, storedSpanCounts, waitFor } from "../../ingester/testing/harness.js";
import { javaAvailable } from "../support/kafka.js";
import { awsEnv, type MotoServer, startMoto } from "../support/moto.js";
import { startTopology, type Topology, type TopologyService } from "../support/topology.js";

// The distributed stack exactly as docker-compose.yml's "distributed" profile wires it, as local
// processes: ClickHouse (HTTP server), Kafka, `skald migrate`, two collectors, two ingesters, query
// and recorder, each configured only by the compose file's environment (test/support/topology.ts).
// The OpenTelemetry SDK sends each trace through both collectors (one service over gRPC, the other
// over HTTP/protobuf, as services behind the compose file's balancer do); one collector and one
// ingester are killed with SIGKILL under load. Nothing an export was acknowledged for is lost or
// doubled, and every trace whose exports were all acknowledged is whole, once, in GraphQL.
// Needs `npm run build`, Java (Kafka) and moto_server (the recorder's AWS).
const CI = process.env.CI === "true";
const java = javaAvailable();
const moto = spawnSync("moto_server", ["--help"], { encoding: "utf8" }).status === 0;
const skip = !CI && (!java.ok || !moto);
if (skip) console.warn(`topology test skipped: ${java.ok ? "moto_server not installed" : java.reason}`);

const SPANS_PER_SERVICE = 10;

/** One trace through the SDK: a frontend's spans and a backend's, the backend's root a child of the frontend's call. */
async function makeTrace(k: number): Promise<{ traceId: string; parts: ReadableSpan[][] }> {
  const parts: ReadableSpan[][] = [];
  const tracers = ["frontend", "backend"].map((service) => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        "service.name": service,
        "service.instance.id": `${service}-${k % 3}`,
      }),
      spanProcessors: [new SimpleSpanProcessor(memory)],
    });
    return { memory, provider, tracer: provider.getTracer("topology-test", "1.0.0") };
  });
  const base = Math.floor(Date.now() / 1000) - 30;
  const at = (ms: number): HrTime => [base + Math.floor(ms / 1000), (ms % 1000) * 1_000_000];
  const [front, back] = tracers.map((t) => t.tracer);
  const root = front.startSpan("GET /checkout", { kind: SpanKind.SERVER, startTime: at(0) }, ROOT_CONTEXT);
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  const call = front.startSpan("call backend", { kind: SpanKind.CLIENT, startTime: at(1) }, rootCtx);
  const serverSpan = back.startSpan(
    "POST /order",
    { kind: SpanKind.SERVER, startTime: at(2) },
    trace.setSpan(rootCtx, call),
  );
  for (let i = 0; i < SPANS_PER_SERVICE - 2; i++) {
    front.startSpan(`render ${i}`, { startTime: at(3 + i) }, rootCtx).end(at(4 + i));
  }
  for (let i = 0; i < SPANS_PER_SERVICE - 1; i++) {
    back.startSpan(`step ${i}`, { startTime: at(3 + i) }, trace.setSpan(rootCtx, serverSpan)).end(at(4 + i));
  }
  serverSpan.end(at(30));
  call.end(at(31));
  root.end(at(40));
  for (const t of tracers) {
    await t.provider.forceFlush();
    parts.push([...t.memory.getFinishedSpans()]);
    await t.provider.shutdown();
  }
  return { traceId: root.spanContext().traceId, parts };
}

const exportOnce = (exporter: SpanExporter, spans: ReadableSpan[]) =>
  new Promise<boolean>((resolve) =>
    exporter.export(spans, (r) => resolve(r.code === ExportResultCode.SUCCESS)),
  );

describe.skipIf(skip)("the distributed topology of docker-compose.yml, as processes", () => {
  let topo: Topology;
  let aws: MotoServer;
  let db: ClickHouseClient;
  let admin: Admin;

  beforeAll(async () => {
    aws = await startMoto();
    const shell = awsEnv(aws.url);
    // ${AWS_*} in the compose file come from the shell running compose; the endpoint is moto's
    topo = await startTopology({
      shellEnv: shell,
      extra: { recorder: { AWS_ENDPOINT_URL: shell.AWS_ENDPOINT_URL } },
    });
    db = chClient(topo.ch.url);
    admin = new Kafka({
      clientId: "topology",
      brokers: topo.broker.brokers,
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
  }, 180_000);

  afterAll(async () => {
    await admin?.disconnect();
    await db?.close();
    await topo?.destroy();
    await aws?.stop();
  }, 60_000);

  it("runs every role of the profile from the compose file's environment", () => {
    expect(topo.services.map((s) => s.role).sort()).toEqual(
      ["collector", "collector", "ingester", "ingester", "migrate", "query", "recorder"].sort(),
    );
    for (const s of topo.services) {
      expect(
        Object.keys(s.env).filter((k) => !k.startsWith("SKALD_") && !k.startsWith("AWS_")),
        s.name,
      ).toEqual([]);
    }
  });

  it("kill -9 of a collector and an ingester under load: every acknowledged span once, every whole trace once in GraphQL", async () => {
    const [c1, c2] = topo.byRole("collector");
    const [i1] = topo.byRole("ingester");
    const port = (s: TopologyService, key: string) => s.ports[key];
    // per collector: a gRPC exporter and an HTTP/protobuf exporter, failing fast when it is gone
    const exporters = [c1, c2].map((c) => ({
      grpc: new GrpcExporter({
        url: `http://127.0.0.1:${port(c, "SKALD_OTLP_GRPC_PORT")}`,
        timeoutMillis: 5000,
      }),
      http: new ProtoExporter({
        url: `http://127.0.0.1:${port(c, "SKALD_OTLP_HTTP_PORT")}/v1/traces`,
        timeoutMillis: 5000,
      }),
    }));
    // what the compose file's balancer does: a collector that failed a request gets no new ones
    const down = new Set<number>();
    const route = (preferred: number) => (down.has(preferred) ? 1 - preferred : preferred);

    const acked: string[] = [];
    const failed: string[] = [];
    const whole: Array<{ traceId: string; spanIds: string[] }> = [];
    let exports = 0;
    let ackedAfterKill = 0;
    let killed = false;
    let stop = false;
    const sender = async (n: number) => {
      for (let k = n; !stop; k += 4) {
        const { traceId, parts } = await makeTrace(k);
        const results = await Promise.all(
          parts.map(async (spans, part) => {
            const target = route((k + part) % 2);
            const ok = await exportOnce(part === 0 ? exporters[target].grpc : exporters[target].http, spans);
            exports++;
            const ids = spans.map((s) => s.spanContext().spanId);
            if (ok) {
              acked.push(...ids);
              if (killed) ackedAfterKill += ids.length;
            } else {
              failed.push(...ids);
              down.add(target);
            }
            return ok;
          }),
        );
        if (results.every(Boolean))
          whole.push({ traceId, spanIds: parts.flat().map((s) => s.spanContext().spanId) });
      }
    };
    const senders = [0, 1, 2, 3].map(sender);
    await waitFor(async () => acked.length >= 4000, 60_000, 100);
    await Promise.all([c1.process.kill(), i1.process.kill()]);
    killed = true;
    await waitFor(async () => ackedAfterKill >= 4000, 60_000, 100);
    stop = true;
    await Promise.all(senders);
    await Promise.all(exporters.flatMap((e) => [e.grpc.shutdown(), e.http.shutdown()]));
    console.log(
      `exports: ${exports}; spans acknowledged ${acked.length} (${ackedAfterKill} after the kill), failed ${failed.length}; whole traces ${whole.length}`,
    );
    expect(ackedAfterKill).toBeGreaterThanOrEqual(4000);

    // the surviving ingester takes over the dead one's partitions and catches up
    const topic = "skald.spans";
    const drained = await waitFor(async () => {
      const [t] = await admin.fetchOffsets({ groupId: "skald-ingesters", topics: [topic] });
      const committed = t.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      const high = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
      return committed === high;
    }, 90_000);
    expect(drained, topo.byRole("ingester")[1].process.output()).toBe(true);

    const result = exactlyOnce(acked, failed, await storedSpanCounts(db));
    console.log(`exactly-once check: ${JSON.stringify(result)}`);
    expect(result).toMatchObject({
      written: acked.length,
      readBack: acked.length,
      lost: 0,
      duplicated: 0,
      unknown: 0,
    });

    // every trace whose exports were all acknowledged, through the query role's GraphQL
    const [query] = topo.byRole("query");
    const graphql = `http://127.0.0.1:${port(query, "SKALD_HTTP_PORT")}/graphql`;
    const problems: string[] = [];
    const check = async ({ traceId, spanIds }: { traceId: string; spanIds: string[] }) => {
      const res = await fetch(graphql, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          query: "query ($id: ID!) { trace(id: $id) { traceId spans { spanId serviceName } } }",
          variables: { id: traceId },
        }),
      });
      const body = (await res.json()) as { data?: { trace: { spans: Array<{ spanId: string }> } | null } };
      const got = (body.data?.trace?.spans ?? []).map((s) => s.spanId).sort();
      if (JSON.stringify(got) !== JSON.stringify([...spanIds].sort()))
        problems.push(`${traceId}: ${got.length} spans, expected ${spanIds.length}`);
    };
    for (let i = 0; i < whole.length; i += 8) await Promise.all(whole.slice(i, i + 8).map(check));
    expect(problems.slice(0, 10)).toEqual([]);
    expect(whole.length).toBeGreaterThan(200);
  }, 300_000);

  it("the recorder records the account's configuration; every surviving service reports ready", async () => {
    const crawled = await waitFor(async () => {
      const rs = await db.query({
        query: "SELECT count() AS n FROM skald.config_crawls WHERE status = 'success'",
        format: "JSONEachRow",
      });
      return Number((await rs.json<{ n: string }>())[0].n) > 0;
    }, 60_000);
    expect(crawled, topo.byRole("recorder")[0].process.output()).toBe(true);
    for (const s of topo.services) {
      if (s.role === "migrate" || s.process.child.signalCode !== null) continue;
      const p = s.ports.SKALD_METRICS_PORT ?? s.ports.SKALD_HTTP_PORT;
      const res = await fetch(`http://127.0.0.1:${p}/readyz`);
      expect(res.status, s.name).toBe(200);
    }
  }, 90_000);
});
