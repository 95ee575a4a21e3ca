import type { PipelineConfig } from "../config/schema.js";
import type { SkaldMetrics } from "../metrics.js";
import type { Span, SpanRows } from "../model/span.js";
import { SPAN_COLUMNS } from "../store/span-encoder.js";
import { encodeSpansRowBinary } from "../store/span-row-binary.js";
import type { Store } from "../store/store.js";
import { Batcher } from "./batcher.js";

/** Where receivers hand decoded spans. */
export interface SpanSink {
  /**
   * Called once per accepted export request. Resolves when the spans are durable (stored, or
   * acknowledged by Kafka); rejects with a SkaldError (retryable when the sender should retry).
   * Ownership of `spans` passes to the sink.
   */
  consume(tenant: string, spans: Span[]): Promise<void>;
  /**
   * The same for spans already encoded as rows of `tenant` (the protobuf transcoder's output). The
   * rows' body is only valid during the call: whatever is kept must be copied before it returns.
   */
  consumeRows(tenant: string, rows: SpanRows): Promise<void>;
  /** Stops accepting and makes everything accepted durable. Safe before start and twice. */
  shutdown(): Promise<void>;
}

/**
 * Settings of every insert into `spans` (store sink and Kafka ingester) besides its token: a
 * retried block is dropped from the views' tables too (each keeps a log, migrations/0012).
 */
export const SPAN_INSERT_SETTINGS = { deduplicate_blocks_in_dependent_materialized_views: 1 } as const;

/**
 * The embedded/direct sink: encode as RowBinary → bounded batcher → ClickHouse `spans`. RowBinary
 * rather than TabSeparated: about 8x cheaper to encode here and half the parsing in ClickHouse
 * (bench/insert-profile.ts).
 */
export function createStoreSpanSink(store: Store, config: PipelineConfig, metrics: SkaldMetrics): SpanSink {
  metrics.queueCapacity.set(config.queueMaxRows);
  const batcher = new Batcher(
    {
      maxRows: config.batchMaxRows,
      maxDelayMs: config.batchMaxDelayMs,
      maxQueuedRows: config.queueMaxRows,
      attempts: config.insertAttempts,
      retryAfterMs: config.retryAfterMs,
      concurrency: config.insertConcurrency,
    },
    // Every batch carries its own dedup token, and its retries the same one: over HTTP a failed
    // insert may still have been written (a timeout after the server committed), and without a
    // token ClickHouse would drop a batch whose bytes equal an earlier one (the same spans sent
    // twice by a client are two acknowledged requests and are both kept).
    (body, _rows, token) =>
      store.insertRowBinary("spans", SPAN_COLUMNS, body, {
        insert_deduplication_token: token,
        ...SPAN_INSERT_SETTINGS,
      }),
    {
      onBatchWritten(rows, seconds) {
        metrics.batchSpans.observe(rows);
        metrics.insertSeconds.observe({ table: "spans" }, seconds);
      },
      onWriteFailed() {
        metrics.insertFailures.inc({ table: "spans" });
      },
      onDepth(rows) {
        metrics.queueDepth.set(rows);
      },
    },
  );
  return {
    consume(tenant, spans) {
      if (spans.length === 0) return Promise.resolve();
      return batcher.add(encodeSpansRowBinary(tenant, spans), spans.length);
    },
    consumeRows(_tenant, rows) {
      if (rows.count === 0) return Promise.resolve();
      // the transcoder's buffer: copied into the batch, as the transcoder reuses it (SpanRows.body)
      return batcher.addCopy(rows.body, rows.count);
    },
    shutdown: () => batcher.shutdown(),
  };
}
