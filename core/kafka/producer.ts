import { CompressionTypes, type Kafka, type Message, Partitioners, type Producer } from "kafkajs";
import type { KafkaConfig } from "../config/schema.js";
import { retryable, type SkaldError } from "../errors.js";
import type { Logger } from "../log.js";
import type { SkaldMetrics } from "../metrics.js";
import { type KafkaMetrics, kafkaMetrics } from "./metrics.js";
import { kafkaPartitionOf } from "./partition.js";
import { ensureTopics } from "./topics.js";

export interface AckedProducerDeps {
  kafka: Kafka;
  /**
   * Producer settings (`producer.*`, compression) and the topics: `topic` is produced to,
   * `topic` and `deadLetterTopic` are created or verified at start (core/kafka/topics.ts).
   */
  config: KafkaConfig;
  metrics: SkaldMetrics;
  logger: Logger;
}

/**
 * One message to produce: to `partition` if given, else to the one `key` picks (murmur2, as Kafka's
 * default partitioner; core/kafka/partition.ts).
 */
export interface OutMessage {
  key: string | null;
  partition?: number;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Produces messages to one topic and says when Kafka acknowledged them: what a collector's Kafka
 * sink (spans, flows) needs to answer a sender only once its data is durable.
 */
export interface AckedProducer {
  /**
   * Resolves when Kafka acknowledged every message (acks=all); rejects with a retryable SkaldError:
   * QUEUE_FULL (bytes waiting for Kafka at `producer.maxInFlightBytes`), KAFKA_TIMEOUT (not
   * acknowledged within `producer.sendTimeoutMs`), KAFKA_UNAVAILABLE (the send failed) or
   * SHUTTING_DOWN.
   */
  send(messages: readonly OutMessage[]): Promise<void>;
  /** The topic's partition count, as found at start. */
  readonly partitions: number;
  /** Stops accepting; resolves once everything accepted is acknowledged or answered. Safe twice. */
  shutdown(): Promise<void>;
}

interface Pending {
  messages: Array<Message & { partition: number; value: Buffer }>;
  bytes: number;
  state: "queued" | "sending" | "settled";
  timer: NodeJS.Timeout | undefined;
  resolve(): void;
  reject(err: SkaldError): void;
}

/**
 * An idempotent producer (acks=all) to `config.topic`, with group commit and bounded buffering.
 *
 * Sending is "group commit": one produce request is in flight at a time (the idempotent producer
 * allows one per broker in kafkajs), and every `send` that arrives meanwhile joins the next one.
 * Low load costs one round trip per send; high load grows the produce requests instead of the
 * number of round trips.
 *
 * Bounds: bytes accepted and not yet acknowledged are capped (`producer.maxInFlightBytes`); beyond,
 * `send` rejects at once with QUEUE_FULL. A send not acknowledged within `producer.sendTimeoutMs`
 * rejects with KAFKA_TIMEOUT; if its messages were still queued they are withdrawn, so a sender's
 * retry cannot double them (one that was already on the wire may still land, counted in
 * `skald_kafka_produced_after_timeout_total`).
 *
 * Partitions are chosen here, with kafkajs's default (murmur2) partitioner over the partition count
 * found at start, so that the per-partition batch limit can be applied before sending.
 */
export async function createAckedProducer(deps: AckedProducerDeps): Promise<AckedProducer> {
  const { kafka, config, logger } = deps;
  const pc = config.producer;
  const topic = config.topic;
  const labels = { topic };
  const km: KafkaMetrics = kafkaMetrics(deps.metrics.registry);
  const admin = kafka.admin();
  await admin.connect();
  let partitions: number;
  try {
    partitions = (await ensureTopics(admin, config, logger))[topic];
  } finally {
    await admin.disconnect();
  }
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
    partitionId: i,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
  }));
  const compression = config.compression === "gzip" ? CompressionTypes.GZIP : CompressionTypes.None;

  const newProducer = () =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // kafkajs's own retries end before the send timeout, so a failed send is known failed (and
      // its senders answered 503) instead of landing after the sender gave up.
      retry: {
        initialRetryTime: 100,
        maxRetryTime: 1000,
        retries: 3,
      },
    });
  let producer: Producer = newProducer();
  await producer.connect();
  let connected = true;

  const queue: Pending[] = [];
  let inFlightBytes = 0;
  let sending = false;
  let closed = false;
  let idle: Array<() => void> = [];
  let stopping: Promise<void> | undefined;

  const release = (p: Pending) => {
    if (p.timer) clearTimeout(p.timer);
    inFlightBytes -= p.bytes;
    km.produceInFlightBytes.set(labels, inFlightBytes);
    if (inFlightBytes === 0) for (const done of idle.splice(0)) done();
  };

  const pump = async (): Promise<void> => {
    if (sending) return;
    sending = true;
    try {
      while (queue.length > 0) {
        // Take whole sends while every partition's share stays under the broker's batch limit.
        const batch: Pending[] = [];
        const perPartition = new Map<number, number>();
        while (queue.length > 0) {
          const next = queue[0];
          let fits = true;
          for (const m of next.messages) {
            const size = (perPartition.get(m.partition) ?? 0) + m.value.length;
            if (size > pc.maxPartitionBatchBytes && batch.length > 0) fits = false;
          }
          if (!fits) break;
          queue.shift();
          if (next.state !== "queued") continue; // timed out while queued: withdrawn
          for (const m of next.messages) {
            perPartition.set(m.partition, (perPartition.get(m.partition) ?? 0) + m.value.length);
          }
          next.state = "sending";
          batch.push(next);
        }
        if (batch.length === 0) continue;
        const messages = batch.flatMap((p) => p.messages);
        const started = performance.now();
        try {
          if (!connected) {
            await producer.connect();
            connected = true;
          }
          await producer.send({ topic, acks: -1, compression, timeout: pc.sendTimeoutMs, messages });
          km.produceSeconds.observe(labels, (performance.now() - started) / 1000);
          km.producedMessages.inc(labels, messages.length);
          km.producedBytes.inc(
            labels,
            batch.reduce((n, p) => n + p.bytes, 0),
          );
          for (const p of batch) {
            if (p.state === "sending") p.resolve();
            else km.producedAfterTimeout.inc(labels, p.messages.length);
            p.state = "settled";
            release(p);
          }
        } catch (err) {
          const reason =
            (err as Error).name === "KafkaJSNumberOfRetriesExceeded" ? "retries_exceeded" : "error";
          km.produceFailures.inc({ topic, reason });
          logger.warn(
            { err, topic, messages: messages.length },
            "kafka produce failed; senders are told to retry",
          );
          const e = retryable(
            "KAFKA_UNAVAILABLE",
            `Kafka did not acknowledge: ${(err as Error).message}`,
            pc.retryAfterMs,
          );
          for (const p of batch) {
            if (p.state === "sending") p.reject(e);
            p.state = "settled";
            release(p);
          }
          // A failed idempotent send leaves kafkajs's sequence numbers unknown; a fresh producer
          // (new producer id) starts clean.
          await producer.disconnect().catch(() => undefined);
          producer = newProducer();
          connected = false; // connected before the next send (the broker may still be down now)
        }
      }
    } finally {
      sending = false;
    }
  };

  return {
    partitions,
    send(out) {
      if (out.length === 0) return Promise.resolve();
      if (closed)
        return Promise.reject(retryable("SHUTTING_DOWN", "Skald is shutting down", pc.retryAfterMs));
      let bytes = 0;
      const messages = out.map((m) => {
        bytes += m.value.length;
        const partition =
          m.partition ??
          (m.key === null
            ? partitioner({ topic, partitionMetadata, message: { key: null, value: null } })
            : kafkaPartitionOf(m.key, partitions));
        return { key: m.key, value: m.value, headers: m.headers, partition };
      });
      if (inFlightBytes > 0 && inFlightBytes + bytes > pc.maxInFlightBytes) {
        km.produceFailures.inc({ topic, reason: "queue_full" });
        return Promise.reject(
          retryable(
            "QUEUE_FULL",
            `Kafka produce queue full (${inFlightBytes} of ${pc.maxInFlightBytes} bytes waiting for Kafka)`,
            pc.retryAfterMs,
          ),
        );
      }
      inFlightBytes += bytes;
      km.produceInFlightBytes.set(labels, inFlightBytes);
      return new Promise<void>((resolve, reject) => {
        const p: Pending = { messages, bytes, state: "queued", timer: undefined, resolve, reject };
        p.timer = setTimeout(() => {
          if (p.state === "settled") return;
          km.produceFailures.inc({ topic, reason: "timeout" });
          const wasQueued = p.state === "queued";
          p.state = "settled";
          reject(
            retryable(
              "KAFKA_TIMEOUT",
              `Kafka did not acknowledge within ${pc.sendTimeoutMs} ms`,
              pc.retryAfterMs,
            ),
          );
          // Withdrawn from the queue: its bytes are free now. One on the wire frees them when the send ends.
          if (wasQueued) release(p);
        }, pc.sendTimeoutMs);
        queue.push(p);
        void pump();
      });
    },
    shutdown() {
      stopping ??= (async () => {
        closed = true;
        // Everything accepted is either acknowledged or answered within sendTimeoutMs.
        if (inFlightBytes > 0) await new Promise<void>((r) => idle.push(r));
        idle = [];
        await producer.disconnect().catch(() => undefined);
      })();
      return stopping;
    },
  };
}
