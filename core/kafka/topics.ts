import type { Admin } from "kafkajs";
import type { KafkaConfig } from "../config/schema.js";
import { configError } from "../errors.js";
import type { Logger } from "../log.js";

/** Partition count of each topic, as found or created. */
export type TopicLayout = Record<string, number>;

/**
 * Creates the span and dead-letter topics with the configured partitions and replication if they
 * are missing (and `createTopics` is on), else verifies that they exist. An existing topic is never
 * changed: its partition count is used as it is (a different count than configured is only a
 * warning, since adding partitions would move traces between partitions). Safe to run from every
 * collector and ingester at once: "already exists" from a concurrent create counts as success.
 */
export async function ensureTopics(admin: Admin, config: KafkaConfig, logger: Logger): Promise<TopicLayout> {
  const wanted = [config.topic, config.deadLetterTopic];
  const existing = new Set(await admin.listTopics());
  const missing = wanted.filter((t) => !existing.has(t));
  if (missing.length > 0) {
    if (!config.createTopics) {
      throw configError(`kafka: topic(s) ${missing.join(", ")} missing and kafka.createTopics is off`);
    }
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: config.partitions,
          replicationFactor: config.replication,
        })),
      });
    } catch (err) {
      // another process created them first (or is creating them: their leaders are still being
      // elected, which kafkajs reports as an unknown topic); the metadata below verifies them
      if (!alreadyExists(err) && !hasType(err, ELECTING)) {
        throw configError(
          `kafka: cannot create topic(s) ${missing.join(", ")} with ${config.partitions} partitions and replication ${config.replication}: ${(err as Error).message}`,
        );
      }
    }
    logger.info(
      { topics: missing, partitions: config.partitions, replication: config.replication },
      "kafka topics created",
    );
  }
  const layout: TopicLayout = {};
  const meta = await topicMetadata(admin, wanted);
  for (const t of meta.topics) {
    layout[t.name] = t.partitions.length;
    const replicas = t.partitions[0]?.replicas.length ?? 0;
    if (t.name === config.topic && t.partitions.length !== config.partitions) {
      logger.warn(
        { topic: t.name, partitions: t.partitions.length, configured: config.partitions },
        "kafka topic has a different partition count than configured; using it as it is",
      );
    }
    if (replicas < config.replication) {
      logger.warn(
        { topic: t.name, replicas, configured: config.replication },
        "kafka topic has fewer replicas than configured",
      );
    }
  }
  return layout;
}

/** Errors of a topic that exists, or is being created, but has no leader yet. */
const ELECTING = ["UNKNOWN_TOPIC_OR_PARTITION", "LEADER_NOT_AVAILABLE"];

/** Whether `err`, the cause kafkajs wrapped in it after its own retries, or a per-topic error is one of `types`. */
function hasType(err: unknown, types: string[]): boolean {
  for (
    let e = err as { type?: string; cause?: unknown; topicErrors?: Array<{ type?: string }> } | undefined;
    e;
  ) {
    if ((e.type && types.includes(e.type)) || e.topicErrors?.some((t) => t.type && types.includes(t.type)))
      return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** A create refused only because another process created the topics first. */
function alreadyExists(err: unknown): boolean {
  const e = err as { message?: string; type?: string; topicErrors?: Array<{ type?: string }> };
  if (e.type === "TOPIC_ALREADY_EXISTS" || /already exists/i.test(String(e.message))) return true;
  return (
    (e.topicErrors?.length ?? 0) > 0 && (e.topicErrors ?? []).every((t) => t.type === "TOPIC_ALREADY_EXISTS")
  );
}

/**
 * Topic metadata, retried for up to ~10 s while the broker does not know the topics yet: another
 * collector or ingester created them a moment ago and their leaders are still being elected
 * (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE), which happens when several start at once.
 */
async function topicMetadata(admin: Admin, topics: string[]) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.fetchTopicMetadata({ topics });
    } catch (err) {
      if (!hasType(err, ELECTING) || attempt >= 40) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * The Kafka settings of the flows stream: `kafka` with its topic, dead-letter topic and group
 * replaced by `kafka.flows.*`. The producer, topic creation, ingester and dead-lettering code reads
 * `topic`, `deadLetterTopic` and `group`, so handing it this view runs the same machinery on flows.
 */
export function flowKafkaConfig(config: KafkaConfig): KafkaConfig {
  return {
    ...config,
    topic: config.flows.topic,
    deadLetterTopic: config.flows.deadLetterTopic,
    group: config.flows.group,
  };
}
