import { randomUUID } from "node:crypto";
import { asSkaldError, retryable, type SkaldError } from "../errors.js";

/** Writes one batch durably; the batcher retries it with the same token on failure. */
export type BatchWriter = (body: Buffer, rows: number, dedupToken: string) => Promise<void>;

export interface BatcherConfig {
  /** Seal the open batch when it holds this many rows. */
  maxRows: number;
  /** Seal the open batch once its first row has waited this long and a writer is free. */
  maxDelayMs: number;
  /** Rows accepted and not yet written (queued plus in flight); beyond it `add` throws QUEUE_FULL. */
  maxQueuedRows: number;
  /** Write attempts per batch before its waiters are rejected as retryable. */
  attempts: number;
  /** Delay suggested to senders when throttled or when a write failed. */
  retryAfterMs: number;
  /** Batches written at the same time (default 1). */
  concurrency?: number;
}

export interface BatcherHooks {
  onBatchWritten?(rows: number, seconds: number): void;
  onWriteFailed?(err: unknown, attempt: number): void;
  onDepth?(rows: number): void;
}

interface Waiter {
  resolve(): void;
  reject(err: SkaldError): void;
}

interface OpenBatch {
  parts: Buffer[];
  rows: number;
  waiters: Waiter[];
  openedAt: number;
}

const emptyBatch = (): OpenBatch => ({ parts: [], rows: 0, waiters: [], openedAt: 0 });

/**
 * A bounded batcher with group commit: requests add pre-encoded rows and wait until the batch
 * holding them is written. Ownership: after `add`, the caller no longer touches `body`.
 *
 * Batches grow while writers are busy: the open batch is sealed when it reaches `maxRows`, or
 * when a writer is free and its first row has waited `maxDelayMs`. So under light load a request
 * waits at most `maxDelayMs` plus one write, and under heavy load batches are as large as what
 * arrived during the previous write, which is what keeps the part count low in ClickHouse.
 * The queue is bounded in rows; when full, `add` rejects at once with a retryable QUEUE_FULL
 * error (backpressure to the sender), never blocking and never dropping what was accepted.
 */
export class Batcher {
  private open: OpenBatch = emptyBatch();
  private readonly ready: OpenBatch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pendingRows = 0;
  private writers = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly concurrency: number;

  constructor(
    private readonly config: BatcherConfig,
    private readonly write: BatchWriter,
    private readonly hooks: BatcherHooks = {},
  ) {
    this.concurrency = Math.max(1, config.concurrency ?? 1);
  }

  /** Rows accepted and not yet written. */
  get depth(): number {
    return this.pendingRows;
  }

  /**
   * Queues rows; resolves when they are durably written, rejects with a retryable error when the
   * queue is full, the batcher is shutting down, or every write attempt failed.
   */
  add(body: Buffer, rows: number): Promise<void> {
    if (rows === 0) return Promise.resolve();
    if (this.closed) {
      return Promise.reject(retryable("SHUTTING_DOWN", "Skald is shutting down", this.config.retryAfterMs));
    }
    if (this.pendingRows > 0 && this.pendingRows + rows > this.config.maxQueuedRows) {
      return Promise.reject(
        retryable(
          "QUEUE_FULL",
          `ingest queue full (${this.pendingRows} of ${this.config.maxQueuedRows} rows waiting to be written)`,
          this.config.retryAfterMs,
        ),
      );
    }
    this.pendingRows += rows;
    this.hooks.onDepth?.(this.pendingRows);
    return new Promise<void>((resolve, reject) => {
      if (this.open.rows === 0) this.open.openedAt = performance.now();
      this.open.parts.push(body);
      this.open.rows += rows;
      this.open.waiters.push({ resolve, reject });
      if (this.open.rows >= this.config.maxRows) this.seal();
      this.kick();
    });
  }

  private seal(): void {
    if (this.open.rows === 0) return;
    this.ready.push(this.open);
    this.open = emptyBatch();
  }

  /** Starts writes while writers are free; arms the timer for a young open batch. */
  private kick(): void {
    while (this.writers < this.concurrency) {
      if (this.ready.length === 0) {
        const age = performance.now() - this.open.openedAt;
        if (this.open.rows === 0 || age < this.config.maxDelayMs) break;
        this.seal();
      }
      const batch = this.ready.shift();
      if (!batch) break;
      this.writers++;
      void this.flushBatch(batch).finally(() => {
        this.writers--;
        this.kick();
        if (this.pendingRows === 0 && this.writers === 0)
          for (const done of this.idleWaiters.splice(0)) done();
      });
    }
    // Armed only when a writer is free: a busy writer calls kick() itself when it finishes.
    if (this.open.rows > 0 && this.timer === undefined && this.writers < this.concurrency) {
      const wait = Math.max(1, this.config.maxDelayMs - (performance.now() - this.open.openedAt));
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, wait);
    }
  }

  private async flushBatch(batch: OpenBatch): Promise<void> {
    const body = batch.parts.length === 1 ? batch.parts[0] : Buffer.concat(batch.parts);
    const token = randomUUID();
    let lastError: SkaldError | undefined;
    for (let attempt = 1; attempt <= this.config.attempts; attempt++) {
      const started = performance.now();
      try {
        await this.write(body, batch.rows, token);
        this.hooks.onBatchWritten?.(batch.rows, (performance.now() - started) / 1000);
        lastError = undefined;
        break;
      } catch (err) {
        this.hooks.onWriteFailed?.(err, attempt);
        lastError = asSkaldError(err);
        if (attempt < this.config.attempts) await sleep(Math.min(5000, 100 * 2 ** attempt));
      }
    }
    this.pendingRows -= batch.rows;
    this.hooks.onDepth?.(this.pendingRows);
    if (lastError === undefined) for (const w of batch.waiters) w.resolve();
    else {
      const err = retryable(
        "STORE_UNAVAILABLE",
        `could not write to storage: ${lastError.message}`,
        this.config.retryAfterMs,
        lastError,
      );
      for (const w of batch.waiters) w.reject(err);
    }
  }

  /** Writes everything queued now, whatever its age (used by tests and before shutdown). */
  async flush(): Promise<void> {
    this.seal();
    this.kick();
    if (this.pendingRows === 0 && this.writers === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new rows, writes everything accepted, then resolves. Safe to call twice. */
  async shutdown(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
