import type { Kafka } from "kafkajs";
import type { KafkaConfig } from "../config/schema.js";
import { retryable } from "../errors.js";
import { encodeFlowMessages } from "../kafka/flow-format.js";
import { createAckedProducer } from "../kafka/producer.js";
import { flowKafkaConfig } from "../kafka/topics.js";
import type { Logger } from "../log.js";
import type { SkaldMetrics } from "../metrics.js";
import type { FlowSink } from "./flow-sink.js";
import type { FlowMetrics } from "./metrics.js";

export interface KafkaFlowSinkDeps {
  kafka: Kafka;
  /** The whole `kafka` config; the flows topics come from `kafka.flows`. */
  config: KafkaConfig;
  metrics: SkaldMetrics;
  flowMetrics: FlowMetrics;
  logger: Logger;
}

/**
 * The collector's Kafka flow sink: each consume() call (a UDP datagram, a VPC Flow Logs request)
 * becomes one `flows-rowbinary/1` message (core/kafka/flow-format.ts) on `kafka.flows.topic`,
 * produced by the same acknowledged, bounded producer as the spans (core/kafka/producer.ts).
 * `consume` resolves once Kafka acknowledged it; it rejects with QUEUE_FULL when
 * `producer.maxInFlightBytes` are waiting for Kafka, and with KAFKA_TIMEOUT / KAFKA_UNAVAILABLE
 * when Kafka did not acknowledge: the UDP receivers count the flows dropped with that reason, the
 * VPC endpoint answers 429 / 503 with Retry-After. Nothing is buffered beyond that bound.
 */
export async function createKafkaFlowSink(deps: KafkaFlowSinkDeps): Promise<FlowSink> {
  const pc = deps.config.producer;
  const producer = await createAckedProducer({
    kafka: deps.kafka,
    config: flowKafkaConfig(deps.config),
    metrics: deps.metrics,
    logger: deps.logger,
  });
  const inFlight = new Set<Promise<void>>();
  let closed = false;
  return {
    consume(tenant, flows, receivedMs) {
      if (flows.length === 0) return Promise.resolve();
      if (closed)
        return Promise.reject(retryable("SHUTTING_DOWN", "Skald is shutting down", pc.retryAfterMs));
      const { messages, clamped } = encodeFlowMessages(tenant, receivedMs, flows, pc.maxMessageBytes);
      if (clamped > 0) deps.flowMetrics.clamped.inc(clamped);
      const sent = producer.send(messages);
      // flush() waits for these; settled either way
      const tracked = sent.then(
        () => undefined,
        () => undefined,
      );
      inFlight.add(tracked);
      void tracked.then(() => inFlight.delete(tracked));
      return sent;
    },
    async flush() {
      // Kafka sends start at once; "written" here means acknowledged (or answered) by Kafka.
      await Promise.all([...inFlight]);
    },
    shutdown() {
      closed = true;
      return producer.shutdown();
    },
  };
}
