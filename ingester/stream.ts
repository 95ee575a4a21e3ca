import { FLOW_INSERT_SETTINGS } from "../core/flows/flow-sink.js";
import { decodeFlowMessage } from "../core/kafka/flow-format.js";
import { type DecodedMessage, decodeSpanMessage, type RawMessage } from "../core/kafka/format.js";
import type { KafkaMetrics } from "../core/kafka/metrics.js";
import { SPAN_INSERT_SETTINGS } from "../core/pipeline/span-sink.js";
import type { InsertSettings } from "../core/store/store.js";

/**
 * What one ingester's topic carries: how a message is decoded and where its rows go. The consumer
 * group, batching, plans, deduplication tokens, retries and dead-lettering do not depend on it, so
 * spans and flows share all of that (ingester.ts, partition.ts, batch-writer.ts).
 */
export interface IngestStream {
  /** "spans" or "flows", for logs. */
  name: string;
  /** The ClickHouse table the rows are inserted into. */
  table: string;
  /** Insert settings besides `insert_deduplication_token`. */
  settings: InsertSettings;
  decode(msg: RawMessage): DecodedMessage;
  /** Counts a batch and the rows ClickHouse wrote. */
  observeBatch(metrics: KafkaMetrics, rows: number): void;
  countWritten(metrics: KafkaMetrics, rows: number): void;
}

/** `kafka.topic` → `spans`. OTLP messages without a tenant header get `defaultTenant`. */
export function spanStream(defaultTenant: string): IngestStream {
  return {
    name: "spans",
    table: "spans",
    settings: { ...SPAN_INSERT_SETTINGS },
    decode: (msg) => decodeSpanMessage(msg, defaultTenant),
    observeBatch: (m, rows) => m.ingestBatchSpans.observe(rows),
    countWritten: (m, rows) => m.ingestSpans.inc(rows),
  };
}

/** `kafka.flows.topic` → `flows` (rollups follow by materialised view), with the direct path's settings. */
export function flowStream(): IngestStream {
  return {
    name: "flows",
    table: "flows",
    settings: { ...FLOW_INSERT_SETTINGS },
    decode: decodeFlowMessage,
    observeBatch: (m, rows) => m.ingestBatchFlows.observe(rows),
    countWritten: (m, rows) => m.ingestFlows.inc(rows),
  };
}
