import { randomUUID } from "node:crypto";
import { asSkaldError, retryable, type SkaldError } from "../errors.js";

/** Writes one batch durably; the batcher retries it with the same token on failure. */
export type BatchWriter = (body: Buffer, rows: number, dedupToken: string) => Promise<void>;

export interface BatcherConfig {
  /** Flush when the open batch holds this many rows. */
  maxRows: number;
  /** Flush when the open batch's first row has waited this long. */
  maxDelayMs: number;
  /** Rows accepted and not yet written (queued plus in flight); beyond it `add` throws QUEUE_FULL. */
  maxQueuedRows: number;
  /** Write attempts per batch before its waiters are rejected as retryable. */
  attempts: number;
  /** Delay suggested to senders when throttled or when a write failed. */
  retryAfterMs: number;
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
}

/**
 * A bounded batcher: requests add pre-encoded rows and wait until the batch holding them is
 * written. Ownership: after `add`, the caller no longer touches `body`. The queue is bounded in
 * rows; when full, `add` rejects at once with a retryable QUEUE_FULL error (backpressure to the
 * sender), never blocking and never dropping what was already accepted. One batch is written at a
 * time, so writes happen in arrival order and memory stays bounded by `maxQueuedRows`.
 */
export class Batcher {
  private open: OpenBatch = { parts: [], rows: 0, waiters: [] };
  private readonly ready: OpenBatch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pendingRows = 0;
  private writing = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly config: BatcherConfig,
    private readonly write: BatchWriter,
    private readonly hooks: BatcherHooks = {},
  ) {}

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
          `ingest queue full (${this.pendingRows} of ${this.config.maxQueuedRows} spans waiting to be written)`,
          this.config.retryAfterMs,
        ),
      );
    }
    this.pendingRows += rows;
    this.hooks.onDepth?.(this.pendingRows);
    return new Promise<void>((resolve, reject) => {
      this.open.parts.push(body);
      this.open.rows += rows;
      this.open.waiters.push({ resolve, reject });
      if (this.open.rows >= this.config.maxRows) this.seal();
      else if (this.timer === undefined) this.timer = setTimeout(() => this.seal(), this.config.maxDelayMs);
    });
  }

  private seal(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.open.rows > 0) {
      this.ready.push(this.open);
      this.open = { parts: [], rows: 0, waiters: [] };
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      for (let batch = this.ready.shift(); batch; batch = this.ready.shift()) await this.flushBatch(batch);
    } finally {
      this.writing = false;
      if (this.pendingRows === 0) for (const done of this.idleWaiters.splice(0)) done();
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

  /** Writes everything queued now (used by tests and before shutdown). */
  async flush(): Promise<void> {
    this.seal();
    if (this.pendingRows === 0 && !this.writing) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new rows, writes everything accepted, then resolves. Safe to call twice. */
  async shutdown(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
