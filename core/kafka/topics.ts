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
      if (!/already exists/i.test(String((err as Error).message))) {
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
  const meta = await admin.fetchTopicMetadata({ topics: wanted });
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
