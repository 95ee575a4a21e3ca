/**
 * A batch plan: the offset range [first, end] of the next batch of one partition, recorded as the
 * metadata of the group's committed offset (committed offset = first) BEFORE the batch is inserted.
 * Whoever owns the partition next (this process after a restart, or another ingester after a
 * rebalance) reads it back and cuts its first batch at exactly `end`, so the replayed insert has
 * the same offsets, hence the same ClickHouse deduplication token, and is dropped by ClickHouse if
 * the first attempt had already been written.
 */
export interface BatchPlan {
  first: number;
  end: number;
}

const PREFIX = "skald-plan/1:";

export function encodePlan(plan: BatchPlan): string {
  return `${PREFIX}${plan.first}-${plan.end}`;
}

/** The plan in committed-offset metadata, if any and if it starts at the committed offset. */
export function decodePlan(
  metadata: string | null | undefined,
  committedOffset: number,
): BatchPlan | undefined {
  if (!metadata?.startsWith(PREFIX)) return undefined;
  const m = /^(\d+)-(\d+)$/.exec(metadata.slice(PREFIX.length));
  if (!m) return undefined;
  const plan = { first: Number(m[1]), end: Number(m[2]) };
  if (plan.first !== committedOffset || plan.end < plan.first) return undefined;
  return plan;
}

/**
 * The ClickHouse insert_deduplication_token of a batch: the Kafka cluster, topic, partition and
 * offset range identify its content exactly (a Kafka log never changes), across processes and
 * restarts. Bisected sub-batches (a poison message in the batch) use their own first-last offsets
 * with a "~" suffix, which is just as deterministic.
 */
export function dedupToken(
  clusterId: string,
  topic: string,
  partition: number,
  first: number,
  end: number,
  sub = false,
): string {
  return `skald-ingest/${clusterId}/${topic}/${partition}/${first}-${end}${sub ? "~" : ""}`;
}
