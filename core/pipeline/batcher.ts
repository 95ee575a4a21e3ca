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
  /** Bodies handed over by `add`. */
  parts: Buffer[];
  /** Bodies copied in by `addCopy`, one after the other: `copied[0, used)`. */
  copied: Buffer | undefined;
  used: number;
  rows: number;
  waiters: Waiter[];
  openedAt: number;
}

const emptyBatch = (): OpenBatch => ({
  parts: [],
  copied: undefined,
  used: 0,
  rows: 0,
  waiters: [],
  openedAt: 0,
});

/** The least a batch's copy buffer starts with. */
const MIN_COPY_BYTES = 64 * 1024;

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
  /** Bytes of the last batch sealed: what the next one's copy buffer starts with. */
  private lastBatchBytes = 0;
  /** A copy buffer whose batch was written, kept for the next batch (see addCopy). */
  private spare: Buffer | undefined;

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
    return this.queue(body, rows, false);
  }

  /**
   * As `add`, for a body the caller keeps using (a view of a buffer it reuses): its bytes are
   * copied into the open batch before this returns. The batch's rows then sit in one buffer, so
   * the write needs no concatenation, and the buffer of a written batch is used again for a later
   * one: with a copy per request and a concatenation per batch, some 50 MB a second of short-lived
   * buffers on bench:ingest's load kept the garbage collector busy.
   */
  addCopy(body: Uint8Array, rows: number): Promise<void> {
    return this.queue(body, rows, true);
  }

  private queue(body: Uint8Array, rows: number, copy: boolean): Promise<void> {
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
      if (copy) this.copyIn(body);
      else this.open.parts.push(body as Buffer);
      this.open.rows += rows;
      this.open.waiters.push({ resolve, reject });
      if (this.open.rows >= this.config.maxRows) this.seal();
      this.kick();
    });
  }

  /** Appends `body` to the open batch's copy buffer, which grows by doubling. */
  private copyIn(body: Uint8Array): void {
    const batch = this.open;
    const need = batch.used + body.length;
    if (batch.copied === undefined || need > batch.copied.length) {
      let size = Math.max(MIN_COPY_BYTES, batch.copied?.length ?? 0, Math.ceil(this.lastBatchBytes * 1.25));
      while (size < need) size *= 2;
      let next: Buffer;
      if (this.spare !== undefined && this.spare.length >= size) {
        next = this.spare;
        this.spare = undefined;
      } else {
        next = Buffer.allocUnsafe(size);
      }
      if (batch.copied !== undefined) batch.copied.copy(next, 0, 0, batch.used);
      batch.copied = next;
    }
    batch.copied.set(body, batch.used);
    batch.used = need;
  }

  private seal(): void {
    if (this.open.rows === 0) return;
    this.lastBatchBytes = this.open.used;
    // a spare from a busier time, much larger than batches now are, is let go
    if (this.spare !== undefined && this.spare.length > 4 * Math.max(MIN_COPY_BYTES, this.lastBatchBytes))
      this.spare = undefined;
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
    const copied = batch.copied?.subarray(0, batch.used);
    const bodies = copied === undefined ? batch.parts : [copied, ...batch.parts];
    const body = bodies.length === 1 ? bodies[0] : Buffer.concat(bodies);
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
    // the write is over (every attempt): its copy buffer can take a later batch's rows
    if (batch.copied !== undefined && (this.spare === undefined || batch.copied.length > this.spare.length))
      this.spare = batch.copied;
    batch.copied = undefined;
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
