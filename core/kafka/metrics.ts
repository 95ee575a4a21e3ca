import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Kafka metrics of the collector's sink and the ingester, on the process's registry. */
export interface KafkaMetrics {
  produceSeconds: Histogram<"topic">;
  producedMessages: Counter<"topic">;
  producedBytes: Counter<"topic">;
  produceFailures: Counter<"topic" | "reason">;
  produceInFlightBytes: Gauge<"topic">;
  producedAfterTimeout: Counter<"topic">;
  consumerLag: Gauge<"topic" | "partition">;
  ingestBatchSpans: Histogram;
  ingestBatchBytes: Histogram;
  ingestInsertSeconds: Histogram;
  ingestRetries: Counter<"stage">;
  ingestSpans: Counter;
  ingestBatchFlows: Histogram;
  ingestFlows: Counter;
  ingestReplayedBatches: Counter;
  deadLetters: Counter<"topic" | "reason">;
  rejectedSpans: Counter;
  pausedPartitions: Gauge;
}

const byRegistry = new WeakMap<Registry, KafkaMetrics>();

/** Creates the metrics once per registry (the sink and an ingester in one process share them). */
export function kafkaMetrics(registry: Registry): KafkaMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const m: KafkaMetrics = {
    produceSeconds: new Histogram({
      name: "skald_kafka_produce_duration_seconds",
      help: "Time from handing a produce request to Kafka until all replicas acknowledged it, by topic.",
      labelNames: ["topic"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    producedMessages: new Counter({
      name: "skald_kafka_produced_messages_total",
      help: "Messages (spans or flows) acknowledged by Kafka, by topic.",
      labelNames: ["topic"],
      registers,
    }),
    producedBytes: new Counter({
      name: "skald_kafka_produced_bytes_total",
      help: "Uncompressed message bytes acknowledged by Kafka, by topic.",
      labelNames: ["topic"],
      registers,
    }),
    produceFailures: new Counter({
      name: "skald_kafka_produce_failures_total",
      help: "Produce requests that failed or timed out (senders were answered 503), by topic and reason.",
      labelNames: ["topic", "reason"],
      registers,
    }),
    produceInFlightBytes: new Gauge({
      name: "skald_kafka_produce_in_flight_bytes",
      help: "Bytes accepted from receivers and not yet acknowledged by Kafka, by topic.",
      labelNames: ["topic"],
      registers,
    }),
    producedAfterTimeout: new Counter({
      name: "skald_kafka_produced_after_timeout_total",
      help: "Messages Kafka acknowledged after their sender had been answered 503 (a sender's retry stores them twice), by topic.",
      labelNames: ["topic"],
      registers,
    }),
    consumerLag: new Gauge({
      name: "skald_kafka_consumer_lag_messages",
      help: "Messages in a partition not yet written to ClickHouse and committed, per partition this ingester owns.",
      labelNames: ["topic", "partition"],
      registers,
    }),
    ingestBatchSpans: new Histogram({
      name: "skald_ingest_batch_spans",
      help: "Spans per ingester batch (one partition, contiguous offsets).",
      buckets: [1, 10, 100, 1000, 5000, 10000, 25000, 50000, 100000],
      registers,
    }),
    ingestBatchBytes: new Histogram({
      name: "skald_ingest_batch_bytes",
      help: "Bytes per ingester batch.",
      buckets: [1e3, 1e4, 1e5, 1e6, 4e6, 16e6, 64e6],
      registers,
    }),
    ingestInsertSeconds: new Histogram({
      name: "skald_ingest_insert_duration_seconds",
      help: "Time to insert one ingester batch into ClickHouse (successful attempt).",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    ingestRetries: new Counter({
      name: "skald_ingest_retries_total",
      help: "Retried ingester steps (insert, dead-letter produce, offset commit), by stage.",
      labelNames: ["stage"],
      registers,
    }),
    ingestSpans: new Counter({
      name: "skald_ingest_spans_total",
      help: "Spans written to ClickHouse by the ingester (a deduplicated replay counts again).",
      registers,
    }),
    ingestBatchFlows: new Histogram({
      name: "skald_ingest_batch_flows",
      help: "Flow records per ingester batch of the flows topic (one partition, contiguous offsets).",
      buckets: [1, 10, 100, 1000, 10000, 50000, 100000, 250000],
      registers,
    }),
    ingestFlows: new Counter({
      name: "skald_ingest_flows_total",
      help: "Flow records written to ClickHouse by the ingester (a deduplicated replay counts again).",
      registers,
    }),
    ingestReplayedBatches: new Counter({
      name: "skald_ingest_replayed_batches_total",
      help: "Batches cut at a boundary recorded by an earlier owner of the partition (replays after a crash or rebalance).",
      registers,
    }),
    deadLetters: new Counter({
      name: "skald_ingest_dead_letters_total",
      help: "Messages sent to a dead-letter topic, by the topic they came from and reason class.",
      labelNames: ["topic", "reason"],
      registers,
    }),
    rejectedSpans: new Counter({
      name: "skald_ingest_rejected_spans_total",
      help: "Spans of OTLP messages that violate the data model (bad ids), dropped like OTLP partial success.",
      registers,
    }),
    pausedPartitions: new Gauge({
      name: "skald_ingest_paused_partitions",
      help: "Partitions whose fetching is paused (buffer full or ClickHouse unavailable).",
      registers,
    }),
  };
  byRegistry.set(registry, m);
  return m;
}
