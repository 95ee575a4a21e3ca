import type { Producer } from "kafkajs";
import type { KafkaConfig } from "../core/config/schema.js";
import type { RowFormat } from "../core/kafka/format.js";
import type { KafkaMetrics } from "../core/kafka/metrics.js";
import type { Logger } from "../core/log.js";
import type { Store } from "../core/store/store.js";
import type { Batch, Entry } from "./batch.js";
import { isDataError } from "./ch-errors.js";
import { dedupToken } from "./plan.js";
import type { IngestStream } from "./stream.js";

export const HEADER_DLQ_REASON = "skald-dlq-reason";
export const HEADER_DLQ_TOPIC = "skald-dlq-topic";
export const HEADER_DLQ_PARTITION = "skald-dlq-partition";
export const HEADER_DLQ_OFFSET = "skald-dlq-offset";
export const HEADER_DLQ_GROUP = "skald-dlq-group";

export interface BatchWriterDeps {
  store: Store;
  config: KafkaConfig;
  clusterId: string;
  dlqProducer: Producer;
  metrics: KafkaMetrics;
  logger: Logger;
  /** Where the rows go (spans or flows). */
  stream: IngestStream;
}

/** Thrown when the partition was lost (rebalance, shutdown timeout) while a step was retried. */
export class Abandoned extends Error {}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Writes one batch: dead-letters the messages that could not be decoded, inserts the others with
 * the batch's deduplication token, and bisects the batch when ClickHouse refuses its data. Every
 * step is retried with capped exponential backoff for as long as `live()` says the partition is
 * still ours; nothing here commits offsets (the caller does, after this resolves).
 */
export class BatchWriter {
  constructor(private readonly deps: BatchWriterDeps) {}

  async write(batch: Batch, live: () => boolean): Promise<void> {
    const { metrics } = this.deps;
    const poison = batch.entries.filter((e) => !e.decoded.ok);
    for (const e of poison)
      await this.deadLetter(batch.partition, e, e.decoded.ok ? "" : e.decoded.reason, "undecodable", live);
    const good = batch.entries.filter((e) => e.decoded.ok);
    if (good.length > 0) {
      const token = dedupToken(
        this.deps.clusterId,
        this.deps.config.topic,
        batch.partition,
        batch.first,
        batch.end,
      );
      await this.insert(batch.partition, good, token, live);
    }
    this.deps.stream.observeBatch(metrics, batch.rows);
    metrics.ingestBatchBytes.observe(batch.bytes);
  }

  /**
   * Inserts entries grouped by row format and column list (one group in practice; two while a
   * rolling upgrade mixes collector versions), bisecting on data errors.
   */
  private async insert(
    partition: number,
    entries: Entry[],
    token: string,
    live: () => boolean,
  ): Promise<void> {
    const groups = new Map<string, { format: RowFormat; columns: readonly string[]; entries: Entry[] }>();
    for (const e of entries) {
      if (!e.decoded.ok) continue;
      const key = `${e.decoded.format}\u0000${e.decoded.columns.join(",")}`;
      const g = groups.get(key);
      if (g) g.entries.push(e);
      else groups.set(key, { format: e.decoded.format, columns: e.decoded.columns, entries: [e] });
    }
    let n = 0;
    for (const g of groups.values()) {
      const t = groups.size === 1 ? token : `${token}#${n++}`;
      await this.insertGroup(partition, g.format, g.columns, g.entries, t, live);
    }
  }

  private async insertGroup(
    partition: number,
    format: RowFormat,
    columns: readonly string[],
    entries: Entry[],
    token: string,
    live: () => boolean,
  ): Promise<void> {
    const { store, metrics, logger, config, stream } = this.deps;
    const bodies: Buffer[] = [];
    let rows = 0;
    for (const e of entries) {
      if (!e.decoded.ok) continue;
      bodies.push(e.decoded.body);
      rows += e.decoded.rows;
    }
    if (rows === 0) return;
    const body = bodies.length === 1 ? bodies[0] : Buffer.concat(bodies);
    for (let attempt = 1; ; attempt++) {
      if (!live()) throw new Abandoned("partition no longer owned");
      const started = performance.now();
      try {
        const settings = { ...stream.settings, insert_deduplication_token: token };
        if (format === "RowBinary") await store.insertRowBinary(stream.table, columns, body, settings);
        else await store.insertTsv(stream.table, columns, body, settings);
        metrics.ingestInsertSeconds.observe((performance.now() - started) / 1000);
        stream.countWritten(metrics, rows);
        return;
      } catch (err) {
        if (isDataError(err)) {
          if (entries.length === 1) {
            await this.deadLetter(
              partition,
              entries[0],
              `ClickHouse refused the rows: ${(err as Error).message}`,
              "refused",
              live,
            );
            return;
          }
          // Bisect: each half gets a token from its own offsets, so a replay bisects identically.
          const mid = entries.length >> 1;
          for (const half of [entries.slice(0, mid), entries.slice(mid)]) {
            const sub = dedupToken(
              this.deps.clusterId,
              config.topic,
              partition,
              half[0].offset,
              half[half.length - 1].offset,
              true,
            );
            await this.insertGroup(partition, format, columns, half, sub, live);
          }
          return;
        }
        metrics.ingestRetries.inc({ stage: "insert" });
        const delay = Math.min(config.ingester.retryMaxDelayMs, 100 * 2 ** Math.min(attempt, 16));
        if (attempt === 1 || attempt % 10 === 0) {
          logger.warn(
            { err, partition, attempt, retryInMs: delay },
            "insert into ClickHouse failed; retrying the same batch",
          );
        }
        await sleep(delay);
      }
    }
  }

  /** Produces the original message, with the reason and origin in headers, to the dead-letter topic. */
  private async deadLetter(
    partition: number,
    e: Entry,
    reason: string,
    kind: string,
    live: () => boolean,
  ): Promise<void> {
    const { config, dlqProducer, metrics, logger } = this.deps;
    const headers: Record<string, Buffer | string> = {};
    for (const [k, v] of Object.entries(e.headers)) {
      if (v === undefined) continue;
      headers[k] = Array.isArray(v) ? v[v.length - 1] : v;
    }
    headers[HEADER_DLQ_REASON] = reason.slice(0, 4000);
    headers[HEADER_DLQ_TOPIC] = config.topic;
    headers[HEADER_DLQ_PARTITION] = String(partition);
    headers[HEADER_DLQ_OFFSET] = String(e.offset);
    headers[HEADER_DLQ_GROUP] = config.group;
    for (let attempt = 1; ; attempt++) {
      if (!live()) throw new Abandoned("partition no longer owned");
      try {
        await dlqProducer.send({
          topic: config.deadLetterTopic,
          acks: -1,
          messages: [{ key: e.key, value: e.value, headers }],
        });
        metrics.deadLetters.inc({ topic: config.topic, reason: kind });
        logger.warn({ partition, offset: e.offset, reason }, "message dead-lettered");
        return;
      } catch (err) {
        metrics.ingestRetries.inc({ stage: "dead_letter" });
        if (attempt === 1 || attempt % 10 === 0)
          logger.warn({ err, attempt }, "dead-letter produce failed; retrying");
        await sleep(Math.min(config.ingester.retryMaxDelayMs, 100 * 2 ** Math.min(attempt, 16)));
      }
    }
  }
}
