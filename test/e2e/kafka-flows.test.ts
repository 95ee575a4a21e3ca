import { createSocket } from "node:dgram";
import { type Admin, Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningApp, runRole } from "../../cli/app.js";
import type { FlowRecord } from "../../core/flows/model.js";
import { emptyFlow } from "../../core/flows/model.js";
import {
  BASIC_FIELDS,
  basicRecord,
  ipfixMessage,
  ipfixTemplate,
  set,
} from "../../core/flows/testing/build.js";
import { encodeFlowMessages, FORMAT_FLOWS_ROWBINARY_V1 } from "../../core/kafka/flow-format.js";
import { HEADER_FORMAT, HEADER_ROWS, HEADER_TENANT } from "../../core/kafka/format.js";
import { createLogger } from "../../core/log.js";
import { chClient, kafkaRoleConfig, waitFor } from "../../ingester/testing/harness.js";
import { type ClickHouseServer, startClickHouseServer } from "../support/clickhouse-server.js";
import { javaAvailable, type KafkaBroker, startKafka } from "../support/kafka.js";

// IPFIX over UDP → collector (Kafka flow sink) → skald.flows → ingester → ClickHouse server; poison
// messages → skald.flows.dlq; a replayed batch is not stored twice; `skald start` with Kafka.
// Kafka 3.9 only: the consumer-group, plan and token machinery is the spans' one, which
// kafka-e2e.test.ts runs on 3.9 and 4.1; flows add a topic, a format and a sink.
// Under CI=true nothing skips; locally only a missing Java skips (as kafka-e2e.test.ts).
const CI = process.env.CI === "true";
const java = javaAvailable();
const skip = !CI && !java.ok;
if (skip) console.warn(`Kafka flow end-to-end tests skipped: ${java.reason}`);

const PARTITIONS = 4;
const logger = createLogger("silent");

const roleConfig = (broker: KafkaBroker, chUrl: string, extra: Record<string, unknown> = {}) =>
  kafkaRoleConfig(broker.brokers, chUrl, PARTITIONS, extra);

/** Sends IPFIX datagrams of `perPacket` records each to 127.0.0.1:port; returns count and bytes sent. */
async function sendIpfix(
  port: number,
  domain: number,
  packets: number,
  perPacket: number,
): Promise<{ flows: number; bytes: number }> {
  const u = createSocket("udp4");
  const send = (b: Buffer) =>
    new Promise<void>((ok, fail) => u.send(b, port, "127.0.0.1", (err) => (err ? fail(err) : ok())));
  const now = Date.now();
  const secs = Math.floor(now / 1000);
  let bytes = 0;
  try {
    await send(
      ipfixMessage({ domain, seq: 0, exportSecs: secs, sets: [set(2, ipfixTemplate(256, BASIC_FIELDS))] }),
    );
    for (let p = 0; p < packets; p++) {
      const records: Buffer[] = [];
      for (let r = 0; r < perPacket; r++) {
        const i = p * perPacket + r;
        const b = 100 + ((i * 37) % 9000);
        bytes += b;
        records.push(
          basicRecord(
            `10.${domain}.${i >> 8}.${i & 255}`,
            "10.9.0.1",
            1024 + i,
            443,
            6,
            b,
            2,
            now - 5000,
            now,
          ),
        );
      }
      await send(
        ipfixMessage({
          domain,
          seq: p * perPacket,
          exportSecs: secs,
          sets: [set(256, Buffer.concat(records))],
        }),
      );
      // a loopback socket buffer is large, but a collector sharing 2 cores must keep up
      if (p % 20 === 19) await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    u.close();
  }
  return { flows: packets * perPacket, bytes };
}

/** Rows, summed bytes and flows stored more than once, of one observation domain. */
async function storedFlows(chUrl: string, domain: number) {
  const db = chClient(chUrl);
  try {
    const rs = await db.query({
      query: `SELECT count() AS n, toString(sum(bytes)) AS bytes,
                (SELECT count() FROM (SELECT src_addr, src_port, flow_start FROM skald.flows WHERE domain = {d:UInt32}
                   GROUP BY src_addr, src_port, flow_start HAVING count() > 1)) AS dup
              FROM skald.flows WHERE domain = {d:UInt32}`,
      query_params: { d: domain },
      format: "JSONEachRow",
    });
    const [row] = await rs.json<{ n: string | number; bytes: string; dup: string | number }>();
    return { flows: Number(row.n), bytes: Number(row.bytes), duplicated: Number(row.dup) };
  } finally {
    await db.close();
  }
}

/** What each rollup (per-minute by ports, per-minute and per-hour by pair) counted of flowsOf(domain). */
async function rollupFlows(chUrl: string, domain: number): Promise<number[]> {
  const db = chClient(chUrl);
  try {
    const rs = await db.query({
      query: `SELECT [(SELECT sum(flows) FROM skald.flows_minute WHERE startsWith(src_addr, {p:String})),
                (SELECT sum(flows) FROM skald.flows_minute_pairs WHERE startsWith(src_addr, {p:String})),
                (SELECT sum(flows) FROM skald.flows_hour_pairs WHERE startsWith(src_addr, {p:String}))] AS r`,
      query_params: { p: `10.${domain}.0.` },
      format: "JSONEachRow",
    });
    return (await rs.json<{ r: Array<string | number> }>())[0].r.map(Number);
  } finally {
    await db.close();
  }
}

async function scrape(app: RunningApp, name: string): Promise<number> {
  const text = await (await fetch(app.listeners.metrics)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
}

function flowsOf(domain: number, n: number): FlowRecord[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    ...emptyFlow("ipfix", "192.0.2.9", domain),
    startMs: now - 2000,
    endMs: now,
    srcAddr: `10.${domain}.0.${i}`,
    dstAddr: "10.9.0.2",
    srcPort: 2000 + i,
    dstPort: 53,
    protocol: 17,
    bytes: 1000 + i,
    packets: 1,
  }));
}

describe.skipIf(skip)("Kafka 3.9: IPFIX → collector → skald.flows → ingester → ClickHouse", () => {
  let broker: KafkaBroker;
  let ch: ClickHouseServer;
  let kafka: Kafka;
  let admin: Admin;
  const apps: RunningApp[] = [];
  let collector: RunningApp;
  let ingester: RunningApp;

  beforeAll(async () => {
    [broker, ch] = await Promise.all([startKafka({ partitions: PARTITIONS }), startClickHouseServer()]);
    kafka = new Kafka({ clientId: "kafka-flows", brokers: broker.brokers, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    const migrate = await runRole("migrate", roleConfig(broker, ch.url), logger);
    await migrate.shutdown();
    ingester = await runRole("ingester", roleConfig(broker, ch.url, { "kafka.metricsPort": 0 }), logger);
    apps.push(ingester);
    collector = await runRole("collector", roleConfig(broker, ch.url, { "kafka.metricsPort": 0 }), logger);
    apps.push(collector);
  }, 240_000);

  afterAll(async () => {
    for (const app of apps.reverse()) await app.shutdown().catch(() => undefined);
    await admin?.disconnect();
    await Promise.all([broker?.destroy(), ch?.destroy()]);
  }, 120_000);

  it("creates the flow topics and stores every IPFIX flow sent over UDP exactly once", async () => {
    const meta = await admin.fetchTopicMetadata({ topics: ["skald.flows", "skald.flows.dlq"] });
    expect(meta.topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual([
      ["skald.flows", PARTITIONS],
      ["skald.flows.dlq", PARTITIONS],
    ]);
    expect(collector.listeners.kafkaFlows).toBe("topic skald.flows (flows)");
    const port = Number(collector.listeners.ipfix.split(":").pop());
    const sent = await sendIpfix(port, 77, 200, 25);
    expect(await waitFor(async () => (await storedFlows(ch.url, 77)).flows >= sent.flows, 60_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 1000)); // a duplicate would show up by now
    expect(await storedFlows(ch.url, 77)).toEqual({ flows: sent.flows, bytes: sent.bytes, duplicated: 0 });
    // through the topic: one message per datagram with flows (the template datagram has none)
    const offsets = await admin.fetchTopicOffsets("skald.flows");
    expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(200);
    expect(await scrape(collector, "skald_flows_dropped_total")).toBe(0);
    const produced = (await (await fetch(collector.listeners.metrics)).text())
      .split("\n")
      .find((l) => l.startsWith('skald_kafka_produced_messages_total{topic="skald.flows"}'));
    expect(Number(produced?.split(" ").at(-1))).toBe(200);
    expect(await scrape(ingester, "skald_ingest_flows_total")).toBe(sent.flows);
    expect(
      await waitFor(async () => {
        const text = await (await fetch(ingester.listeners.metrics)).text();
        const lag = text
          .split("\n")
          .filter((l) => l.startsWith('skald_kafka_consumer_lag_messages{topic="skald.flows"'));
        return lag.length > 0 && lag.every((l) => l.endsWith(" 0"));
      }, 10_000),
    ).toBe(true);
  }, 120_000);

  it("VPC Flow Logs over HTTP go through Kafka too", async () => {
    const lines = [
      ...Array.from({ length: 30 }, (_, i) => {
        const t = Math.floor(Date.now() / 1000);
        return `2 123456789010 eni-abc 10.55.0.${i} 10.9.0.3 ${3000 + i} 80 6 4 ${500 + i} ${t - 10} ${t} ACCEPT OK`;
      }),
    ];
    const res = await fetch(`http://${collector.listeners.vpcFlowLogs.split("://")[1]}`, {
      method: "POST",
      body: `${lines.join("\n")}\n`,
    });
    expect(res.status).toBe(200);
    const db = chClient(ch.url);
    try {
      const count = async () => {
        const rs = await db.query({
          query:
            "SELECT count() AS n FROM skald.flows WHERE source_type = 'vpc' AND src_addr LIKE '10.55.0.%'",
          format: "JSONEachRow",
        });
        return Number((await rs.json<{ n: string }>())[0].n);
      };
      expect(await waitFor(async () => (await count()) === 30, 30_000)).toBe(true);
    } finally {
      await db.close();
    }
  }, 60_000);

  it("dead-letters poison messages on skald.flows with the reason; the others are stored", async () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const good1 = encodeFlowMessages("default", Date.now(), flowsOf(88, 20), 1 << 20).messages[0];
    const good2 = encodeFlowMessages("default", Date.now(), flowsOf(88, 40).slice(20), 1 << 20).messages[0];
    const h = (rows: number, tenant = "default") => ({
      [HEADER_FORMAT]: FORMAT_FLOWS_ROWBINARY_V1,
      [HEADER_TENANT]: tenant,
      [HEADER_ROWS]: String(rows),
    });
    // one partition, poison between good ones, so they share batches
    const base = { partition: 0, key: "192.0.2.9" };
    await producer.send({
      topic: "skald.flows",
      acks: -1,
      messages: [
        { ...base, value: good1.value, headers: good1.headers },
        { ...base, value: good1.value, headers: { ...h(20), [HEADER_FORMAT]: "flows-rowbinary/9" } },
        { ...base, value: good1.value.subarray(0, good1.value.length - 5), headers: h(20) },
        { ...base, value: good1.value, headers: h(20, "someone-else") },
        { ...base, value: good2.value, headers: good2.headers },
      ],
    });
    await producer.disconnect();

    const dead: Array<{ reason: string; topic: string; partition: string; group: string }> = [];
    const consumer = kafka.consumer({ groupId: "flows-dlq-reader", maxWaitTimeInMs: 200 });
    await consumer.connect();
    await consumer.subscribe({ topic: "skald.flows.dlq", fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const header = (name: string) => String(message.headers?.[name] ?? "");
        dead.push({
          reason: header("skald-dlq-reason"),
          topic: header("skald-dlq-topic"),
          partition: header("skald-dlq-partition"),
          group: header("skald-dlq-group"),
        });
      },
    });
    expect(await waitFor(async () => dead.length >= 3, 60_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    await consumer.disconnect();
    expect(dead).toHaveLength(3);
    expect(
      dead.every(
        (d) => d.topic === "skald.flows" && d.partition === "0" && d.group === "skald-flow-ingesters",
      ),
    ).toBe(true);
    const reasons = dead.map((d) => d.reason).join("\n");
    expect(reasons).toMatch(/unsupported skald-format "flows-rowbinary\/9"/);
    expect(reasons).toMatch(/flows-rowbinary\/1: row 20: truncated/);
    expect(reasons).toMatch(/flows-rowbinary\/1: row 1: tenant differs/);
    expect(await waitFor(async () => (await storedFlows(ch.url, 88)).flows >= 40, 30_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(await storedFlows(ch.url, 88)).toMatchObject({ flows: 40, duplicated: 0 });
    expect(await scrape(ingester, "skald_ingest_dead_letters_total")).toBe(3);
  }, 120_000);

  it("a batch replayed from its committed plan (crash after insert, before commit) is not stored twice", async () => {
    const topic = "replay.flows";
    const group = "replay-flow-ingesters";
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    const batch = encodeFlowMessages("default", Date.now(), flowsOf(99, 60), 1 << 20).messages[0];
    const messages = Array.from({ length: 10 }, (_, i) => {
      const m = encodeFlowMessages("default", Date.now(), flowsOf(99, 60).slice(i * 6, i * 6 + 6), 1 << 20)
        .messages[0];
      return { partition: 0, key: m.key, value: m.value, headers: m.headers };
    });
    expect(batch.rows).toBe(60);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();

    // The state an ingester leaves when it dies between insert and commit: offset 0 committed with
    // the plan of the batch [0, 9] it was writing.
    const commitPlan = async () => {
      const c = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100, sessionTimeout: 6000 });
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      const joined = new Promise<void>((r) => c.on(c.events.GROUP_JOIN, () => r()));
      await c.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
      await joined;
      await c.commitOffsets([{ topic, partition: 0, offset: "0", metadata: "skald-plan/1:0-9" }]);
      await c.disconnect();
    };
    const committed = async () => {
      const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return Number(t.partitions[0].offset);
    };
    const replayConfig = roleConfig(broker, ch.url, {
      "kafka.metricsPort": 0,
      "kafka.topic": "replay.spans",
      "kafka.deadLetterTopic": "replay.spans.dlq",
      "kafka.group": "replay-span-ingesters",
      "kafka.flows.topic": topic,
      "kafka.flows.deadLetterTopic": "replay.flows.dlq",
      "kafka.flows.group": group,
    });

    for (let run = 1; run <= 2; run++) {
      await commitPlan();
      expect(await committed()).toBe(0);
      const app = await runRole("ingester", replayConfig, logger);
      try {
        expect(await waitFor(async () => (await committed()) === 10, 60_000)).toBe(true);
        // it inserted the batch (again, on run 2) at the recorded boundaries...
        expect(await scrape(app, "skald_ingest_replayed_batches_total")).toBe(1);
        expect(await scrape(app, "skald_ingest_flows_total")).toBe(60);
      } finally {
        await app.shutdown();
      }
      // ...and ClickHouse kept one copy: same offsets, same token
      expect(await storedFlows(ch.url, 99)).toMatchObject({ flows: 60, duplicated: 0 });
      // the rollups too: a view's target checks the replayed block against its own log (0012)
      expect(await rollupFlows(ch.url, 99)).toEqual([60, 60, 60]);
    }
  }, 180_000);

  it("`skald start` with Kafka runs the flows ingester: flows land in ClickHouse through the topic", async () => {
    const start = await runRole(
      "start",
      roleConfig(broker, ch.url, {
        "kafka.topic": "start.spans",
        "kafka.deadLetterTopic": "start.spans.dlq",
        "kafka.group": "start-span-ingesters",
        "kafka.flows.topic": "start.flows",
        "kafka.flows.deadLetterTopic": "start.flows.dlq",
        "kafka.flows.group": "start-flow-ingesters",
      }),
      logger,
    );
    try {
      expect(start.listeners.flowIngester).toBe("group start-flow-ingesters on topic start.flows");
      const sent = await sendIpfix(Number(start.listeners.ipfix.split(":").pop()), 66, 20, 10);
      expect(await waitFor(async () => (await storedFlows(ch.url, 66)).flows >= sent.flows, 60_000)).toBe(
        true,
      );
      expect(await storedFlows(ch.url, 66)).toEqual({ flows: sent.flows, bytes: sent.bytes, duplicated: 0 });
      const offsets = await admin.fetchTopicOffsets("start.flows");
      expect(offsets.reduce((n, p) => n + Number(p.high), 0)).toBe(20);
    } finally {
      await start.shutdown();
    }
  }, 120_000);
  it("with Kafka down, VPC senders get 503 with Retry-After and UDP drops are counted (kafka_unavailable)", async () => {
    await broker.stop();
    try {
      const t = Math.floor(Date.now() / 1000);
      const res = await fetch(`http://${collector.listeners.vpcFlowLogs.split("://")[1]}`, {
        method: "POST",
        body: `2 123456789010 eni-abc 10.56.0.1 10.9.0.3 3000 80 6 4 500 ${t - 10} ${t} ACCEPT OK\n`,
        signal: AbortSignal.timeout(30_000),
      });
      expect(res.status).toBe(503);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      await sendIpfix(Number(collector.listeners.ipfix.split(":").pop()), 55, 1, 5);
      expect(
        await waitFor(async () => {
          const text = await (await fetch(collector.listeners.metrics)).text();
          return /skald_flows_dropped_total\{receiver="ipfix",reason="kafka_unavailable"\} 5/.test(text);
        }, 30_000),
      ).toBe(true);
    } finally {
      await broker.restart();
    }
  }, 120_000);
});
