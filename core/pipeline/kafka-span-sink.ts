import type { Kafka } from "kafkajs";
import type { KafkaConfig } from "../config/schema.js";
import { retryable } from "../errors.js";
import { encodeRowMessages } from "../kafka/format.js";
import { createAckedProducer } from "../kafka/producer.js";
import type { Logger } from "../log.js";
import type { SkaldMetrics } from "../metrics.js";
import { encodeSpanRows } from "../store/span-row-binary.js";
import type { SpanSink } from "./span-sink.js";

export interface KafkaSpanSinkDeps {
  kafka: Kafka;
  config: KafkaConfig;
  metrics: SkaldMetrics;
  logger: Logger;
}

/**
 * The collector's Kafka sink: each accepted request becomes one message per partition its traces
 * map to (format in core/kafka/format.ts), produced to `kafka.topic` with acks=all by an idempotent producer
 * (core/kafka/producer.ts: group commit, bounded bytes, send timeout); `consume` resolves only
 * when Kafka acknowledged every message of the request.
 *
 * Beyond `producer.maxInFlightBytes` waiting for Kafka, `consume` rejects at once with QUEUE_FULL
 * (429 / UNAVAILABLE with a retry delay); a request not acknowledged within
 * `producer.sendTimeoutMs`, or whose send failed, is answered 503.
 */
export async function createKafkaSpanSink(deps: KafkaSpanSinkDeps): Promise<SpanSink> {
  const pc = deps.config.producer;
  const producer = await createAckedProducer(deps);
  let closed = false;
  const sink: SpanSink = {
    consume(tenant, spans) {
      return sink.consumeRows(tenant, encodeSpanRows(tenant, spans));
    },
    consumeRows(tenant, rows) {
      if (rows.count === 0) return Promise.resolve();
      if (closed)
        return Promise.reject(retryable("SHUTTING_DOWN", "Skald is shutting down", pc.retryAfterMs));
      return producer.send(encodeRowMessages(tenant, rows, pc.maxMessageBytes, producer.partitions));
    },
    shutdown() {
      closed = true;
      return producer.shutdown();
    },
  };
  return sink;
}
