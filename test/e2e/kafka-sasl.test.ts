import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { ROOT_CONTEXT, SpanKind } from "@opentelemetry/api";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runRole } from "../../cli/app.js";
import { loadConfig } from "../../core/config/load.js";
import { createKafkaClient } from "../../core/kafka/client.js";
import { createLogger } from "../../core/log.js";
import { graphql, startApp } from "../support/app.js";
import { javaAvailable, type KafkaBroker, startKafka } from "../support/kafka.js";
import { makeTestPki, type TestPki } from "../support/tls.js";

// Skald → Kafka over SASL_SSL on a real broker (4.1, single KRaft node from test/support/kafka.ts):
// the whole pipeline with SCRAM-SHA-512, each mechanism's handshake, and a wrong password.
// Under CI=true nothing skips; locally only a missing Java skips.
const CI = process.env.CI === "true";
const java = javaAvailable();
const skip = !CI && !java.ok;
if (skip) console.warn(`Kafka SASL tests skipped: ${java.reason}`);

const USER = "skald-collector";
const PASSWORD = "correct-horse-battery-staple";
const WRONG = "not-the-password-4711";

/** A logger at trace level whose lines are kept, to check what reaches the logs. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: "trace" }, stream), text: () => lines.join("") };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(skip)("Kafka with SASL over TLS on a real broker", () => {
  let pki: TestPki;
  let broker: KafkaBroker;
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), "skald-sasl-"));
    dirs.push(d);
    return d;
  };
  const kafka = (mechanism: string, password: string) => ({
    brokers: broker.secureBrokers,
    partitions: 1,
    ssl: { caFile: pki.caFile },
    sasl: { mechanism, username: USER, password },
    ingester: { batchMaxDelayMs: 200, sessionTimeoutMs: 6000 },
  });

  beforeAll(async () => {
    pki = makeTestPki();
    broker = await startKafka({
      version: "4.1",
      secure: {
        username: USER,
        password: PASSWORD,
        tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile },
      },
    });
  }, 180_000);
  afterAll(async () => {
    await broker?.destroy();
    pki?.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("skald start produces and consumes over SASL_SSL (SCRAM-SHA-512): a span sent over OTLP is read back", async () => {
    const app = await startApp({ storage: { dataDir: dataDir() }, kafka: kafka("scram-sha-512", PASSWORD) });
    try {
      expect(app.listeners.kafka).toContain(broker.secureBrokers[0]);
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ "service.name": "sasl-shop" }),
        spanProcessors: [new SimpleSpanProcessor(new ProtoExporter({ url: app.listeners.otlpHttp }))],
      });
      const span = provider.getTracer("sasl").startSpan("GET /cart", { kind: SpanKind.SERVER }, ROOT_CONTEXT);
      span.end();
      await provider.forceFlush();
      await provider.shutdown();
      const traceId = span.spanContext().traceId;
      const names = await waitFor("the span in ClickHouse", async () => {
        const res = await graphql<{ trace: { spans: Array<{ name: string }> } | null }>(
          app.graphqlUrl,
          "query ($id: ID!) { trace(id: $id) { spans { name } } }",
          { id: traceId },
        );
        return res.data?.trace ? res.data.trace.spans.map((s) => s.name) : undefined;
      });
      expect(names).toEqual(["GET /cart"]);
    } finally {
      await app.shutdown();
    }
  }, 120_000);

  it.each(["plain", "scram-sha-256", "scram-sha-512"])("authenticates with %s", async (mechanism) => {
    const config = loadConfig({ env: {}, overrides: { kafka: kafka(mechanism, PASSWORD) } });
    const admin = createKafkaClient(config.kafka, createLogger("silent"), "test").admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.map((b) => `${b.host}:${b.port}`)).toEqual(broker.secureBrokers);
    } finally {
      await admin.disconnect();
    }
  });

  it("a wrong password is refused with a clear error; neither password is in it or in the logs", async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        "storage.dataDir": dataDir(),
        "otlp.grpcPort": 0,
        "otlp.httpPort": 0,
        "flows.enabled": false,
        kafka: kafka("scram-sha-256", WRONG),
      },
    });
    const logs = capturingLogger();
    let message = "";
    try {
      const app = await runRole("collector", config, logs.logger);
      await app.shutdown();
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/SASL SCRAM SHA256 authentication failed/i);
    expect(message).not.toContain(WRONG);
    expect(message).not.toContain(PASSWORD);
    expect(logs.text()).not.toContain(WRONG);
    expect(logs.text()).not.toContain(PASSWORD);
  }, 60_000);

  it("a client that does not trust the broker's CA is refused", async () => {
    const config = loadConfig({
      env: {},
      overrides: { kafka: { ...kafka("plain", PASSWORD), ssl: { caFile: pki.otherCaFile } } },
    });
    const admin = createKafkaClient(config.kafka, createLogger("silent"), "test").admin();
    await expect(admin.connect()).rejects.toThrow(/certificate/i);
    await admin.disconnect();
  }, 60_000);
});
