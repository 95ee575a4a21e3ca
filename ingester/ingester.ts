import type { Admin, Consumer, EachBatchPayload, Kafka, Producer } from "kafkajs";
import type { KafkaConfig } from "../core/config/schema.js";
import { type KafkaMetrics, kafkaMetrics } from "../core/kafka/metrics.js";
import { ensureTopics } from "../core/kafka/topics.js";
import type { Logger } from "../core/log.js";
import type { SkaldMetrics } from "../core/metrics.js";
import type { Store } from "../core/store/store.js";
import type { Entry } from "./batch.js";
import { BatchWriter } from "./batch-writer.js";
import { PartitionState } from "./partition.js";
import { decodePlan } from "./plan.js";
import { type IngestStream, spanStream } from "./stream.js";

export interface IngesterDeps {
  kafka: Kafka;
  store: Store;
  /** `topic`, `deadLetterTopic` and `group` say what is consumed (flowKafkaConfig for flows). */
  config: KafkaConfig;
  /** Tenant of OTLP messages without a skald-tenant header. */
  defaultTenant: string;
  /** What the topic carries; default: spans. */
  stream?: IngestStream;
  metrics: SkaldMetrics;
  logger: Logger;
  /** Fault injection for tests only: SIGKILL this process after that many inserts, before their commit. */
  crashAfterInserts?: number;
}

/** Kafka consumer group → ClickHouse. */
export interface Ingester {
  /** Joins the group and starts writing; resolves once consuming has started. */
  start(): Promise<void>;
  /**
   * Stops fetching, writes and commits the batches in hand (up to `shutdownTimeoutMs`), then leaves
   * the group so its partitions move on at once. Safe before start and twice.
   */
  shutdown(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The ingester: a member of consumer group `kafka.group` on `kafka.topic` (spans), or, given the flow
 * stream and flowKafkaConfig, `kafka.flows.group` on `kafka.flows.topic`. Per partition it cuts
 * batches of contiguous offsets, records each batch's range as offset-commit metadata before
 * inserting it with a token derived from that range, and commits the next offset only after
 * ClickHouse wrote it (see PartitionState and plan.ts for why a replay is then exactly-once).
 * kafkajs's own auto-commit is off; offsets move only here.
 */
export function createIngester(deps: IngesterDeps): Ingester {
  const { kafka, config, logger } = deps;
  const ic = config.ingester;
  const km: KafkaMetrics = kafkaMetrics(deps.metrics.registry);
  const topic = config.topic;
  const stream = deps.stream ?? spanStream(deps.defaultTenant);
  const states = new Map<number, PartitionState>();
  /** The last state of each partition, so a successor waits for its writer to stop. */
  const lastWriter = new Map<number, PartitionState>();
  const highWatermark = new Map<number, number>();
  const committedNext = new Map<number, number>();
  const paused = new Set<number>();
  let epoch = 0;
  let committedCache:
    | { epoch: number; offsets: Promise<Map<number, { offset: number; metadata: string | null }>> }
    | undefined;
  let admin: Admin | undefined;
  let consumer: Consumer | undefined;
  let dlqProducer: Producer | undefined;
  let writer: BatchWriter | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let inserts = 0;
  let stopping: Promise<void> | undefined;

  const updateLag = (partition: number) => {
    const hw = highWatermark.get(partition);
    const next = committedNext.get(partition);
    if (hw !== undefined && next !== undefined) {
      km.consumerLag.set({ topic, partition: String(partition) }, Math.max(0, hw - next));
    }
  };

  /** Forgets every partition: after a rebalance kafkajs re-reads from the committed offsets. */
  const resetPartitions = (why: string) => {
    epoch++;
    committedCache = undefined;
    for (const s of states.values()) s.abandon();
    states.clear();
    if (paused.size > 0 && consumer) consumer.resume([{ topic, partitions: [...paused] }]);
    paused.clear();
    km.pausedPartitions.set(0);
    logger.debug({ why, epoch }, "ingester partitions reset");
  };

  const committedOffsets = () => {
    if (committedCache?.epoch !== epoch) {
      const a = admin as Admin;
      const offsets = (async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            const [t] = await a.fetchOffsets({ groupId: config.group, topics: [topic] });
            return new Map(
              t.partitions.map((p) => [p.partition, { offset: Number(p.offset), metadata: p.metadata }]),
            );
          } catch (err) {
            if (attempt >= 5) throw err;
            await sleep(200 * attempt);
          }
        }
      })();
      committedCache = { epoch, offsets };
      offsets.catch(() => {
        if (committedCache?.offsets === offsets) committedCache = undefined;
      });
    }
    return committedCache.offsets;
  };

  const stateFor = async (partition: number): Promise<PartitionState | undefined> => {
    const existing = states.get(partition);
    if (existing) return existing;
    const myEpoch = epoch;
    const committed = (await committedOffsets()).get(partition) ?? { offset: -1, metadata: null };
    if (myEpoch !== epoch) return undefined; // a rebalance began meanwhile
    const again = states.get(partition);
    if (again) return again;
    const plan = decodePlan(committed.metadata, committed.offset);
    const predecessor = lastWriter.get(partition);
    const state = new PartitionState(partition, committed.offset, plan, {
      config: ic,
      writer: writer as BatchWriter,
      logger,
      before: predecessor ? predecessor.drain() : undefined,
      async commit(p, offset, metadata) {
        if (myEpoch !== epoch) throw new Error("partition reassigned");
        await (consumer as Consumer).commitOffsets([
          { topic, partition: p, offset: String(offset), metadata },
        ]);
      },
      pause(p) {
        if (myEpoch !== epoch) return;
        paused.add(p);
        km.pausedPartitions.set(paused.size);
        consumer?.pause([{ topic, partitions: [p] }]);
      },
      resume(p) {
        if (myEpoch !== epoch) return;
        paused.delete(p);
        km.pausedPartitions.set(paused.size);
        consumer?.resume([{ topic, partitions: [p] }]);
      },
      onCommitted(p, next) {
        committedNext.set(p, next);
        updateLag(p);
      },
      onFailed(p) {
        if (myEpoch !== epoch || states.get(p) !== state) return;
        // Forget the state and rewind kafkajs to the committed offset: the next batch starts a
        // fresh state there, with the recorded plan, as after a rebalance.
        states.delete(p);
        committedCache = undefined;
        void (async () => {
          const committed = (await committedOffsets()).get(p)?.offset ?? -1;
          const low = Number(
            (await (admin as Admin).fetchTopicOffsets(topic)).find((o) => o.partition === p)?.low ?? 0,
          );
          if (myEpoch === epoch)
            consumer?.seek({ topic, partition: p, offset: String(Math.max(committed, low)) });
        })().catch((err) =>
          logger.error(
            { err, partition: p },
            "cannot rewind the partition; it resumes after the next rebalance",
          ),
        );
      },
      onReplay() {
        km.ingestReplayedBatches.inc();
        logger.info(
          { partition, first: plan?.first, end: plan?.end },
          "replaying a batch at its recorded boundaries",
        );
      },
      afterInsert() {
        inserts++;
        if (deps.crashAfterInserts !== undefined && inserts >= deps.crashAfterInserts) {
          process.kill(process.pid, "SIGKILL");
        }
      },
    });
    states.set(partition, state);
    lastWriter.set(partition, state);
    if (committed.offset >= 0) committedNext.set(partition, committed.offset);
    return state;
  };

  const eachBatch = async ({ batch }: EachBatchPayload) => {
    if (stopping) return;
    const state = await stateFor(batch.partition);
    if (!state?.live) return;
    const entries: Entry[] = new Array(batch.messages.length);
    for (let i = 0; i < batch.messages.length; i++) {
      const m = batch.messages[i];
      const decoded = stream.decode(m);
      if (decoded.ok && decoded.rejected > 0) km.rejectedSpans.inc(decoded.rejected);
      entries[i] = {
        offset: Number(m.offset),
        key: m.key,
        value: m.value,
        headers: m.headers ?? {},
        decoded,
        bytes: (m.value?.length ?? 0) + (decoded.ok && decoded.body !== m.value ? decoded.body.length : 0),
      };
    }
    state.add(entries);
    highWatermark.set(batch.partition, Number(batch.highWatermark));
    updateLag(batch.partition);
  };

  /** Creates, connects and runs a consumer of the topic as a member of the group. */
  const startConsumer = async () => {
    const c = kafka.consumer({
      groupId: config.group,
      sessionTimeout: ic.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.min(3000, Math.floor(ic.sessionTimeoutMs / 5))),
      maxWaitTimeInMs: 250,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      allowAutoTopicCreation: false,
    });
    consumer = c;
    const ev = c.events;
    c.on(ev.REBALANCING, () => resetPartitions("rebalancing"));
    c.on(ev.GROUP_JOIN, (e) => {
      resetPartitions("joined");
      const mine = new Set<number>(e.payload.memberAssignment[topic] ?? []);
      for (const p of [...highWatermark.keys()]) {
        if (!mine.has(p)) {
          highWatermark.delete(p);
          committedNext.delete(p);
          km.consumerLag.remove({ topic, partition: String(p) });
        }
      }
      logger.info(
        { topic, group: config.group, partitions: [...mine].sort((a, b) => a - b) },
        "ingester joined the group",
      );
    });
    c.on(ev.CRASH, (e) => {
      resetPartitions("crash");
      logger.warn({ err: e.payload.error, restart: e.payload.restart }, "kafka consumer crashed");
      // kafkajs restarts the consumer itself after a retriable error only; after any other (a
      // group coordinator not found while the broker restarts, say) it stays disconnected and
      // the ingester would stop consuming for good. Build a new consumer instead.
      if (!e.payload.restart) scheduleRebuild(c);
    });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: 1,
      eachBatch,
    });
  };

  let rebuilds = 0;
  let rebuildTimer: NodeJS.Timeout | undefined;
  /** Replaces crashed consumer `c` after a backoff (1 s doubling to 30 s), until one runs again. */
  const scheduleRebuild = (c: Consumer) => {
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(rebuilds, 5));
    rebuilds++;
    clearTimeout(rebuildTimer);
    rebuildTimer = setTimeout(() => {
      if (stopping || consumer !== c) return;
      void (async () => {
        await c.disconnect().catch(() => undefined);
        try {
          await startConsumer();
          rebuilds = 0;
          logger.info({ topic, group: config.group }, "kafka consumer rebuilt after a crash");
        } catch (err) {
          logger.warn({ err }, "rebuilding the kafka consumer failed; trying again");
          const failed = consumer;
          if (failed && !stopping) scheduleRebuild(failed);
        }
      })();
    }, delay);
  };

  return {
    async start() {
      admin = kafka.admin();
      await admin.connect();
      await ensureTopics(admin, config, logger);
      const clusterId = (await admin.describeCluster()).clusterId;
      dlqProducer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
      await dlqProducer.connect();
      writer = new BatchWriter({
        store: deps.store,
        config,
        clusterId,
        dlqProducer,
        metrics: km,
        logger,
        stream,
      });
      await startConsumer();
      ticker = setInterval(
        () => {
          const now = performance.now();
          for (const s of states.values()) s.tick(now);
        },
        Math.max(10, Math.min(100, Math.floor(ic.batchMaxDelayMs / 4))),
      );
    },
    shutdown() {
      stopping ??= (async () => {
        if (ticker) clearInterval(ticker);
        clearTimeout(rebuildTimer);
        if (consumer) {
          consumer.pause([{ topic }]);
          const now = performance.now();
          for (const s of states.values()) s.tick(now, true);
          const drained = Promise.all([...states.values()].map((s) => s.drain()));
          let timer: NodeJS.Timeout | undefined;
          const timedOut = await Promise.race([
            drained.then(() => false),
            new Promise<boolean>((r) => {
              timer = setTimeout(() => r(true), ic.shutdownTimeoutMs);
            }),
          ]);
          clearTimeout(timer);
          if (timedOut)
            logger.warn("ingester shutdown: batches not written in time are left to the next owner");
          for (const s of states.values()) s.abandon();
          await consumer
            .disconnect()
            .catch((err) => logger.warn({ err }, "leaving the consumer group failed"));
        }
        await dlqProducer?.disconnect().catch(() => undefined);
        await admin?.disconnect().catch(() => undefined);
      })();
      return stopping;
    },
  };
}
