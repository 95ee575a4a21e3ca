import type { KafkaConfig } from "../core/config/schema.js";
import type { Logger } from "../core/log.js";
import { type Batch, type Entry, newBatch } from "./batch.js";
import { Abandoned, type BatchWriter } from "./batch-writer.js";
import { type BatchPlan, encodePlan } from "./plan.js";

export interface PartitionDeps {
  config: KafkaConfig["ingester"];
  writer: BatchWriter;
  logger: Logger;
  /** Commits `offset` (the next offset to read) with metadata; rejects if not possible now. */
  commit(partition: number, offset: number, metadata: string): Promise<void>;
  /** Fetching from this partition stops / starts again. */
  pause(partition: number): void;
  resume(partition: number): void;
  onCommitted(partition: number, nextOffset: number): void;
  /** The previous owner-state's writer of this partition, to wait for before writing. */
  before?: Promise<void>;
  onReplay(): void;
  /** The writer failed unexpectedly: the partition must be re-read from its committed offset. */
  onFailed?(partition: number): void;
  /** After each successful insert (tests' crash injection hooks in here). */
  afterInsert?(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The ingester's state for one partition it owns, for one ownership period (a rebalance makes a
 * fresh one). Messages accumulate into the open batch; a batch is sealed by rows, bytes or age (age
 * only while the writer is idle, so an outage grows batches instead of their number), or exactly at
 * the end of a plan recorded by the previous owner. Sealed batches are written one at a time, in
 * offset order: record the plan, insert, commit the next offset. Memory is bounded: when the bytes
 * held reach `partitionMaxBytes`, fetching from the partition pauses until a write frees them.
 */
export class PartitionState {
  private open: Batch;
  private readonly sealed: Batch[] = [];
  private held = 0;
  private paused = false;
  private writing: Promise<void> | undefined;
  private openedAt = 0;
  private dead = false;
  /** Next offset expected from Kafka (messages below were already seen). */
  private next: number;

  constructor(
    readonly partition: number,
    committed: number,
    private plan: BatchPlan | undefined,
    private readonly deps: PartitionDeps,
  ) {
    this.next = Math.max(0, committed);
    this.open = newBatch(partition, committed);
  }

  get live(): boolean {
    return !this.dead;
  }

  /** Drops the partition (lost in a rebalance, or shutdown gave up): nothing more is written or committed. */
  abandon(): void {
    this.dead = true;
  }

  /** Adds messages in offset order, as kafkajs delivers them. Returns once they are accounted for. */
  add(entries: Entry[]): void {
    for (const e of entries) {
      if (e.offset < this.next) continue; // a re-fetch of what this state already holds
      if (this.plan && e.offset > this.plan.end) this.sealAtPlan();
      if (this.open.entries.length === 0) {
        this.open.first = e.offset;
        this.openedAt = performance.now();
      }
      this.open.entries.push(e);
      this.open.end = e.offset;
      this.open.rows += e.decoded.ok ? e.decoded.rows : 1;
      this.open.bytes += e.bytes;
      this.held += e.bytes;
      this.next = e.offset + 1;
      if (this.plan) {
        if (e.offset === this.plan.end) this.sealAtPlan();
      } else if (
        this.open.rows >= this.deps.config.batchMaxRows ||
        this.open.bytes >= this.deps.config.batchMaxBytes
      ) {
        this.seal();
      }
    }
    // Never paused while a plan's end is still to come: the planned batch must be completed first.
    if (!this.paused && !this.plan && this.held >= this.deps.config.partitionMaxBytes) {
      this.paused = true;
      this.deps.pause(this.partition);
    }
    this.kick();
  }

  /** Seals the open batch if it is old enough and the writer is idle (called from a timer). */
  tick(now: number, force = false): void {
    if (this.dead || this.plan || this.open.entries.length === 0) return;
    const idle = this.writing === undefined && this.sealed.length === 0;
    if (force || (idle && now - this.openedAt >= this.deps.config.batchMaxDelayMs)) {
      this.seal();
      this.kick();
    }
  }

  /** Resolves when every sealed batch is written (or the state is abandoned). */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Whether the open batch waits for a plan's end (it must not be cut anywhere else). */
  get waitsForPlan(): boolean {
    return this.plan !== undefined;
  }

  private sealAtPlan(): void {
    const plan = this.plan as BatchPlan;
    this.plan = undefined;
    if (this.open.entries.length === 0) return; // the planned range is gone (retention): start afresh
    this.open.first = plan.first;
    this.open.end = plan.end;
    this.open.replay = true;
    this.open.planCommitted = true;
    this.deps.onReplay();
    this.seal();
  }

  private seal(): void {
    if (this.open.entries.length === 0) return;
    this.sealed.push(this.open);
    this.open = newBatch(this.partition, this.next);
  }

  private kick(): void {
    if (this.writing || this.sealed.length === 0 || this.dead) return;
    this.writing = this.writeAll().finally(() => {
      this.writing = undefined;
      // sealed while the last write was finishing
      if (this.sealed.length > 0 && !this.dead) this.kick();
    });
  }

  private async writeAll(): Promise<void> {
    const live = () => !this.dead;
    try {
      if (this.deps.before) await this.deps.before;
      for (let batch = this.sealed[0]; batch && live(); batch = this.sealed[0]) {
        if (!batch.planCommitted) {
          await this.retryCommit(batch.first, encodePlan({ first: batch.first, end: batch.end }), live);
          batch.planCommitted = true;
        }
        await this.deps.writer.write(batch, live);
        this.deps.afterInsert?.();
        this.sealed.shift();
        // The next batch's plan rides on this commit when it is already sealed.
        const following = this.sealed[0];
        if (following && !following.planCommitted && following.first === batch.end + 1) {
          await this.retryCommit(
            following.first,
            encodePlan({ first: following.first, end: following.end }),
            live,
          );
          following.planCommitted = true;
        } else {
          await this.retryCommit(batch.end + 1, "", live);
        }
        this.deps.onCommitted(this.partition, batch.end + 1);
        this.held -= batch.bytes;
        if (this.paused && this.held < this.deps.config.partitionMaxBytes / 2) {
          this.paused = false;
          this.deps.resume(this.partition);
        }
        // an old open batch waited for the writer
        this.tick(performance.now());
      }
    } catch (err) {
      if (err instanceof Abandoned) return;
      this.dead = true;
      this.deps.logger.error(
        { err, partition: this.partition },
        "partition writer failed; re-reading it from its committed offset",
      );
      this.deps.onFailed?.(this.partition);
    }
  }

  private async retryCommit(offset: number, metadata: string, live: () => boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (!live()) throw new Abandoned("partition no longer owned");
      try {
        await this.deps.commit(this.partition, offset, metadata);
        return;
      } catch (err) {
        if (!live()) throw new Abandoned("partition no longer owned");
        if (attempt === 1 || attempt % 10 === 0) {
          this.deps.logger.warn(
            { err, partition: this.partition, attempt },
            "offset commit failed; retrying",
          );
        }
        await sleep(Math.min(this.deps.config.retryMaxDelayMs, 100 * 2 ** Math.min(attempt, 16)));
      }
    }
  }
}
