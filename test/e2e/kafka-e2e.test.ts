import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { type Admin, Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningApp, runRole } from "../../cli/app.js";
import { loadConfig } from "../../core/config/load.js";
import { createKafkaClient } from "../../core/kafka/client.js";
import { ensureTopics } from "../../core/kafka/topics.js";
import { createLogger } from "../../core/log.js";
import { decodeTracesProto } from "../../core/otlp/index.js";
import { openStore } from "../../core/store/store.js";
import {
  chClient,
  checksumOf,
  kafkaRoleConfig,
  spawnRole,
  storedChecksum,
  storedSpanCounts,
  waitFor,
} from "../../ingester/testing/harness.js";
import { graphql } from "../support/app.js";
import { type ClickHouseServer, freePort, startClickHouseServer } from "../support/clickhouse-server.js";
import { javaAvailable, KAFKA_VERSIONS, type KafkaBroker, startKafka } from "../support/kafka.js";
import { generateRequest } from "../support/otlp-encode.js";

// OpenTelemetry SDK → collector → Kafka → two ingesters (one group) → ClickHouse server → GraphQL,
// on Kafka 3.9 and 4.1; poison messages; `skald start` with SKALD_KAFKA_BROKERS as a process.
// Under CI=true nothing skips; locally only a missing Java skips.
const CI = process.env.CI === "true";
const java = javaAvailable();
const skip = !CI && !java.ok;
if (skip) console.warn(`Kafka end-to-end tests skipped: ${java.reason}`);

const PARTITIONS = 4;

const roleConfig = (broker: KafkaBroker, chUrl: string, extra: Record<string, unknown> = {}) =>
  kafkaRoleConfig(broker.brokers, chUrl, PARTITIONS, extra);

/** SDK traces: `traces` traces of 5 spans over gRPC or HTTP/protobuf; returns the span ids the SDK made. */
async function sdkTraces(exporter: SpanExporter, traces: number, tag: string): Promise<string[]> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": `shop-${tag}` }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxExportBatchSize: 256,
        scheduledDelayMillis: 50,
        maxQueueSize: 100_000,
      }),
      new SimpleSpanProcessor(memory),
    ],
  });
  const tracer = provider.getTracer("kafka-e2e", "1.0.0");
  for (let t = 0; t < traces; t++) {
    const root = tracer.startSpan(`GET /item/${t % 7}`, { kind: SpanKind.SERVER }, ROOT_CONTEXT);
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    for (let c = 0; c < 4; c++) {
      tracer.startSpan(`db.query.${c}`, { kind: SpanKind.CLIENT, attributes: { "db.n": c, tag } }, ctx).end();
    }
    root.end();
  }
  await provider.forceFlush();
  const ids = memory.getFinishedSpans().map((s) => s.spanContext().spanId);
  await provider.shutdown();
  return ids;
}

for (const version of KAFKA_VERSIONS) {
  describe.skipIf(skip)(`Kafka ${version}: collector → Kafka → 2 ingesters → ClickHouse`, () => {
    // Some cases run on one version only; they are not declared at all on the other, so nothing
    // is reported as skipped (under CI=true no test may skip).
    const onlyOn39: typeof it = version === "3.9" ? it : ((() => undefined) as unknown as typeof it);
    let broker: KafkaBroker;
    let ch: ClickHouseServer;
    let admin: Admin;
    let kafka: Kafka;
    const apps: RunningApp[] = [];
    let collector: RunningApp;
    let ingesters: RunningApp[];
    let query: RunningApp;

    beforeAll(async () => {
      [broker, ch] = await Promise.all([
        startKafka({ version, partitions: PARTITIONS }),
        startClickHouseServer(),
      ]);
      kafka = new Kafka({ clientId: "kafka-e2e", brokers: broker.brokers, logLevel: logLevel.NOTHING });
      admin = kafka.admin();
      await admin.connect();
      const logger = createLogger("silent");
      const migrate = await runRole("migrate", roleConfig(broker, ch.url), logger);
      await migrate.shutdown();
      ingesters = [];
      for (let i = 0; i < 2; i++) {
        const ing = await runRole("ingester", roleConfig(broker, ch.url, { "kafka.metricsPort": 0 }), logger);
        apps.push(ing);
        ingesters.push(ing);
      }
      collector = await runRole("collector", roleConfig(broker, ch.url, { "kafka.metricsPort": 0 }), logger);
      apps.push(collector);
      query = await runRole("query", roleConfig(broker, ch.url), logger);
      apps.push(query);
    }, 240_000);

    afterAll(async () => {
      for (const app of apps.reverse()) await app.shutdown().catch(() => undefined);
      await admin?.disconnect();
      await Promise.all([broker?.destroy(), ch?.destroy()]);
    }, 120_000);

    it("creates the topics with the configured partitions", async () => {
      const meta = await admin.fetchTopicMetadata({ topics: ["skald.spans", "skald.spans.dlq"] });
      expect(meta.topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual([
        ["skald.spans", PARTITIONS],
        ["skald.spans.dlq", PARTITIONS],
      ]);
    });

    it("creates missing topics from many processes at once (collectors and ingesters starting together)", async () => {
      const config = roleConfig(broker, ch.url).kafka;
      const racing = { ...config, topic: "race.spans", deadLetterTopic: "race.spans.dlq" };
      // each with its own fail-fast client, as collectors have (a single retry budget of 5 s)
      const admins = Array.from({ length: 6 }, () =>
        createKafkaClient(config, createLogger("silent"), "collector", 5000).admin(),
      );
      await Promise.all(admins.map((a) => a.connect()));
      try {
        const layouts = await Promise.all(admins.map((a) => ensureTopics(a, racing, createLogger("silent"))));
        for (const layout of layouts)
          expect(layout).toEqual({ "race.spans": PARTITIONS, "race.spans.dlq": PARTITIONS });
      } finally {
        await Promise.all(admins.map((a) => a.disconnect()));
      }
    });

    it("stores every span the OpenTelemetry SDK sent exactly once, and GraphQL serves them", async () => {
      const grpcIds = await sdkTraces(
        new GrpcExporter({ url: `http://${collector.listeners.otlpGrpc}` }),
        200,
        "grpc",
      );
      const httpIds = await sdkTraces(new ProtoExporter({ url: collector.listeners.otlpHttp }), 200, "http");
      const sent = [...grpcIds, ...httpIds];
      expect(sent).toHaveLength(2000);
      const db = chClient(ch.url);
      try {
        const arrived = await waitFor(async () => (await storedChecksum(db)).rows >= sent.length, 60_000);
        expect(arrived).toBe(true);
        // give a replayed batch time to show up, were there one
        await new Promise((r) => setTimeout(r, 500));
        const counts = await storedSpanCounts(db);
        const missing = sent.filter((id) => counts.get(id) !== 1);
        expect(missing).toEqual([]);
        expect(counts.size).toBe(sent.length);
        expect(await storedChecksum(db)).toEqual({ rows: sent.length, checksum: checksumOf(sent) });
      } finally {
        await db.close();
      }

      // both group members wrote, as their /metrics say; the collector's shows produce latency
      const scrape = async (app: RunningApp, name: string) => {
        const text = await (await fetch(app.listeners.metrics)).text();
        const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
        return Number(line?.split(" ").at(-1) ?? 0);
      };
      for (const ing of ingesters) {
        expect(await scrape(ing, "skald_ingest_spans_total")).toBeGreaterThan(0);
        expect(await scrape(ing, "skald_ingest_batch_spans_count")).toBeGreaterThan(0);
        expect(await scrape(ing, "skald_kafka_consumer_lag_messages")).toBe(0);
      }
      expect(await scrape(collector, "skald_kafka_produce_duration_seconds_count")).toBeGreaterThan(0);
      expect(await scrape(collector, "skald_kafka_produced_messages_total")).toBeGreaterThan(0);
      const group = await admin.describeGroups(["skald-ingesters"]);
      expect(group.groups[0].members).toHaveLength(2);

      const services = await graphql<{ services: Array<{ name: string }> }>(
        query.listeners.graphql,
        "{ services { name } }",
      );
      expect(services.data?.services.map((s) => s.name).sort()).toEqual(["shop-grpc", "shop-http"]);
      const found = await graphql<{
        traces: { edges: Array<{ node: { traceId: string; spanCount: number } }> };
      }>(
        query.listeners.graphql,
        `{ traces(filter: { service: "shop-http" }, first: 1000) { edges { node { traceId spanCount } } } }`,
      );
      expect(found.errors).toBeUndefined();
      const nodes = found.data?.traces.edges.map((e) => e.node) ?? [];
      expect(nodes).toHaveLength(200);
      expect(nodes.every((n) => n.spanCount === 5)).toBe(true);
    }, 120_000);

    onlyOn39(
      "dead-letters poison messages with the reason; the others are stored",
      async () => {
        const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        const otel = generateRequest({ service: "otel-collector", count: 10, attrs: 2, perTrace: 10 });
        const viaCollector = generateRequest({ service: "via-collector", count: 50, attrs: 2 });
        // all into partition 0, poison between good ones, so they share batches
        const base = { partition: 0, key: "0123456789abcdef0123456789abcdef" };
        await producer.send({
          topic: "skald.spans",
          acks: -1,
          messages: [
            { ...base, value: otel.body }, // what an OpenTelemetry Collector's Kafka exporter writes
            { ...base, value: Buffer.from("x"), headers: { "skald-format": "spans-tsv/9" } },
            { ...base, value: Buffer.from([0x0a, 0xff, 0xff, 0xff]) }, // truncated OTLP protobuf
            {
              ...base,
              value: Buffer.from("default\tnot-a-trace\tid\n"),
              headers: { "skald-format": "spans-tsv/1", "skald-tenant": "default", "skald-rows": "1" },
            },
          ],
        });
        await producer.disconnect();
        const res = await fetch(collector.listeners.otlpHttp, {
          method: "POST",
          headers: { "content-type": "application/x-protobuf" },
          body: viaCollector.body as BodyInit,
        });
        expect(res.status).toBe(200);

        const dead: Array<{ reason: string; offset: string; partition: string; topic: string }> = [];
        const consumer = kafka.consumer({ groupId: `dlq-reader-${version}`, maxWaitTimeInMs: 200 });
        await consumer.connect();
        await consumer.subscribe({ topic: "skald.spans.dlq", fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            const h = (name: string) => String(message.headers?.[name] ?? "");
            dead.push({
              reason: h("skald-dlq-reason"),
              offset: h("skald-dlq-offset"),
              partition: h("skald-dlq-partition"),
              topic: h("skald-dlq-topic"),
            });
          },
        });
        expect(await waitFor(async () => dead.length >= 3, 60_000)).toBe(true);
        await new Promise((r) => setTimeout(r, 500));
        await consumer.disconnect();
        expect(dead).toHaveLength(3);
        expect(
          dead.every((d) => d.topic === "skald.spans" && d.partition === "0" && /^\d+$/.test(d.offset)),
        ).toBe(true);
        const reasons = dead.map((d) => d.reason).join("\n");
        expect(reasons).toMatch(/unsupported skald-format "spans-tsv\/9"/);
        expect(reasons).toMatch(/otlp-proto\/1: /);
        expect(reasons).toMatch(/ClickHouse refused the rows/);

        const db = chClient(ch.url);
        try {
          const good = [...otel.spanIds, ...viaCollector.spanIds];
          expect(
            await waitFor(async () => {
              const counts = await storedSpanCounts(db);
              return good.every((id) => counts.get(id) === 1);
            }, 30_000),
          ).toBe(true);
        } finally {
          await db.close();
        }
      },
      120_000,
    );

    onlyOn39(
      "`skald start` with SKALD_KAFKA_BROKERS puts Kafka between collector and ingester",
      async () => {
        const dataDir = mkdtempSync(join(tmpdir(), "skald-start-kafka-"));
        const httpPort = await freePort();
        const graphqlPort = await freePort();
        const topic = "start.spans";
        const skald = spawnRole("start", {
          SKALD_DATA_DIR: dataDir,
          SKALD_KAFKA_BROKERS: broker.brokers.join(","),
          SKALD_KAFKA_TOPIC: topic,
          SKALD_KAFKA_DLQ_TOPIC: "start.spans.dlq",
          SKALD_KAFKA_GROUP: "start-ingesters",
          SKALD_KAFKA_PARTITIONS: "2",
          SKALD_INGEST_BATCH_MAX_DELAY_MS: "200",
          SKALD_OTLP_GRPC_PORT: String(await freePort()),
          SKALD_OTLP_HTTP_PORT: String(httpPort),
          SKALD_HTTP_PORT: String(graphqlPort),
        });
        try {
          await skald.ready;
          expect(skald.output()).toContain(`Kafka      topic ${topic}`);
          const req = generateRequest({ service: "started", count: 400, attrs: 3 });
          const res = await fetch(`http://127.0.0.1:${httpPort}/v1/traces`, {
            method: "POST",
            headers: { "content-type": "application/x-protobuf" },
            body: req.body as BodyInit,
          });
          expect(res.status).toBe(200);
          const traceId = decodeTracesProto(req.body).spans[0].traceId;
          const url = `http://127.0.0.1:${graphqlPort}/graphql`;
          expect(
            await waitFor(async () => {
              const r = await graphql<{ trace: { spanCount: number } | null }>(
                url,
                `{ trace(id: "${traceId}") { spanCount } }`,
              );
              return r.data?.trace?.spanCount === 8;
            }, 30_000),
          ).toBe(true);
          // the spans went through the topic
          const offsets = await admin.fetchTopicOffsets(topic);
          // 400 spans of 50 traces in one request: one message for each of the 2 partitions
          expect(offsets.map((p) => Number(p.high))).toEqual([1, 1]);
          expect(await skald.stop()).toBe(0);
          const store = await openStore(
            loadConfig({ env: {}, overrides: { "storage.dataDir": dataDir } }).storage,
          );
          try {
            const rs = await store.client.query({
              query: `SELECT span_id FROM ${store.database}.spans`,
              format: "JSONCompactEachRow",
            });
            const ids = (await rs.json<[string]>()).map((r) => r[0]).sort();
            expect(ids).toEqual([...req.spanIds].sort());
          } finally {
            await store.close();
          }
        } finally {
          await skald.kill();
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
      120_000,
    );
  });
}
