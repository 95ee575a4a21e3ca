import { type Admin, CompressionTypes, Kafka, type logCreator, logLevel, Partitioners } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { javaAvailable, KAFKA_VERSIONS, type KafkaBroker, startKafka } from "./kafka.js";

// A real Kafka broker per version (3.9 and 4.1), driven with the client Skald uses (kafkajs).
// Under CI=true nothing skips: a missing Java fails the suite. Locally only a missing Java skips
// (the jars are fetched by startKafka when the cache lacks them).
const CI = process.env.CI === "true";
const java = javaAvailable();
const skip = !CI && !java.ok;
if (skip) console.warn(`Kafka broker tests skipped: ${java.reason}`);

const TOPIC = "spans";
const COUNT = 1_000;

// kafkajs logs every error response at ERROR, also the retriable ones a fresh broker gives while
// it loads __consumer_offsets / __transaction_state; those it retries, and a real failure still
// throws. Everything else is printed.
const RETRIABLE = /coordinator is loading|coordinator is not available|Restarting the consumer/i;
const quietRetriable: logCreator =
  () =>
  ({ namespace, label, log }) => {
    const { message, ...rest } = log;
    if (RETRIABLE.test(`${message} ${String(rest.error ?? "")}`)) return;
    console.error(`kafkajs ${label} [${namespace}] ${message} ${JSON.stringify(rest)}`);
  };

function client(broker: KafkaBroker, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: broker.brokers,
    logLevel: logLevel.WARN,
    logCreator: quietRetriable,
  });
}

async function produce(kafka: Kafka, from: number, count: number): Promise<void> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    const batch = 100;
    for (let start = from; start < from + count; start += batch) {
      const messages = [];
      for (let id = start; id < Math.min(start + batch, from + count); id++) {
        messages.push({ key: `span-${id}`, value: JSON.stringify({ id }) });
      }
      await producer.send({ topic: TOPIC, acks: -1, compression: CompressionTypes.GZIP, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

interface Received {
  /** How often each id arrived. */
  counts: Map<number, number>;
  /** The partition of each key. */
  partitions: Map<string, number>;
}

/** Consumes with group `groupId` until `expected` messages arrived, then 1 s more to catch duplicates. */
async function consume(kafka: Kafka, admin: Admin, groupId: string, expected: number): Promise<Received> {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 500, // disconnect() waits for the fetch in flight
  });
  const got: Received = { counts: new Map(), partitions: new Map() };
  let total = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let done: () => void = () => {};
    const reached = new Promise<void>((r) => {
      done = r;
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const { id } = JSON.parse(message.value!.toString()) as { id: number };
        got.counts.set(id, (got.counts.get(id) ?? 0) + 1);
        got.partitions.set(message.key!.toString(), partition);
        if (++total >= expected) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      reached,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`group ${groupId}: ${total} of ${expected} messages within 60 s`)),
          60_000,
        );
      }),
    ]);
    clearTimeout(timer);
    await new Promise((r) => setTimeout(r, 1_000));
    // wait until the group's committed offsets cover what it consumed, so a later run resumes there
    const deadline = Date.now() + 15_000;
    for (;;) {
      const [topic] = await admin.fetchOffsets({ groupId, topics: [TOPIC] });
      const committed = topic.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      const high = await highWatermarkSum(admin);
      if (committed === high) break;
      if (Date.now() > deadline) throw new Error(`group ${groupId} committed ${committed} of ${high}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await consumer.disconnect();
  }
  return got;
}

async function highWatermarkSum(admin: Admin): Promise<number> {
  // Right after a restart a partition may still be electing its leader ("not the leader for
  // that topic-partition"): ask again for a while, as a client would.
  for (let attempt = 1; ; attempt++) {
    try {
      const offsets = await admin.fetchTopicOffsets(TOPIC);
      return offsets.reduce((n, p) => n + Number(p.high), 0);
    } catch (err) {
      if (attempt >= 40) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function expectExactlyOnce(got: Received, from: number, count: number): void {
  const missing: number[] = [];
  const duplicated: number[] = [];
  for (let id = from; id < from + count; id++) {
    const n = got.counts.get(id) ?? 0;
    if (n === 0) missing.push(id);
    if (n > 1) duplicated.push(id);
  }
  const unexpected = [...got.counts.keys()].filter((id) => id < from || id >= from + count);
  expect({ missing, duplicated, unexpected }).toEqual({ missing: [], duplicated: [], unexpected: [] });
}

for (const version of KAFKA_VERSIONS) {
  describe.skipIf(skip)(
    `Kafka ${version} broker with kafkajs${skip ? ` (skipped: ${java.reason})` : ""}`,
    () => {
      let broker: KafkaBroker;
      let kafka: Kafka;
      let admin: Admin;

      beforeAll(async () => {
        const t0 = Date.now();
        broker = await startKafka({ version, partitions: 4 });
        console.log(`Kafka ${broker.version} serving on ${broker.brokers[0]} after ${Date.now() - t0} ms`);
        kafka = client(broker, `skald-test-${version}`);
        admin = kafka.admin();
        await admin.connect();
      }, 300_000); // includes fetching the jars on a machine without the cache

      afterAll(async () => {
        await admin?.disconnect();
        await broker?.destroy();
      }, 60_000);

      it("delivers 1,000 keyed messages from an idempotent gzip producer exactly once to a group", async () => {
        expect(
          await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 4 }], waitForLeaders: true }),
        ).toBe(true);
        const [meta] = (await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics;
        expect(meta.partitions).toHaveLength(4);

        await produce(kafka, 0, COUNT);
        // the log holds each message once: no retried batch was appended twice
        expect(await highWatermarkSum(admin)).toBe(COUNT);

        const got = await consume(kafka, admin, "ingesters", COUNT);
        expectExactlyOnce(got, 0, COUNT);
        // keyed messages spread over all 4 partitions
        expect(new Set(got.partitions.values()).size).toBe(4);
      }, 120_000);

      it("keeps topics, messages and committed offsets across a restart and a crash", async () => {
        await admin.disconnect();
        const t0 = Date.now();
        await broker.restart();
        console.log(`Kafka ${broker.version} restarted in ${Date.now() - t0} ms`);
        admin = kafka.admin();
        await admin.connect();
        expect(await admin.listTopics()).toContain(TOPIC);
        expect(await highWatermarkSum(admin)).toBe(COUNT);

        await produce(kafka, COUNT, COUNT);
        expect(await highWatermarkSum(admin)).toBe(2 * COUNT);
        // the first group resumes from its committed offsets: only the new messages
        expectExactlyOnce(await consume(kafka, admin, "ingesters", COUNT), COUNT, COUNT);
        // a new group reads everything, old and new, once
        expectExactlyOnce(await consume(kafka, admin, "replay", 2 * COUNT), 0, 2 * COUNT);

        // SIGKILL, then recovery of the same log dir
        await admin.disconnect();
        await broker.kill();
        await broker.restart();
        admin = kafka.admin();
        await admin.connect();
        expect(await highWatermarkSum(admin)).toBe(2 * COUNT);
      }, 180_000);
    },
  );
}
