import { describe, expect, it } from "vitest";
import { SkaldError } from "../errors.js";
import { Batcher, type BatcherConfig } from "./batcher.js";

const config = (over: Partial<BatcherConfig> = {}): BatcherConfig => ({
  maxRows: 100,
  maxDelayMs: 20,
  maxQueuedRows: 1000,
  attempts: 3,
  retryAfterMs: 500,
  ...over,
});

const rowsOf = (n: number, tag = "r") =>
  Buffer.from(Array.from({ length: n }, (_, i) => `${tag}${i}\n`).join(""));

/** A writer that records batches and can be held open to simulate a slow store. */
function recorder() {
  const batches: Array<{ rows: number; lines: string[]; token: string }> = [];
  const releasers: Array<() => void> = [];
  let hold = false;
  let inFlight = 0;
  let maxInFlight = 0;
  const write = async (body: Buffer, rows: number, token: string) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    if (hold) await new Promise<void>((r) => releasers.push(r));
    inFlight--;
    batches.push({ rows, lines: body.toString().trim().split("\n"), token });
  };
  return {
    batches,
    write,
    hold: () => (hold = true),
    release: () => {
      hold = false;
      for (const r of releasers.splice(0)) r();
    },
    maxInFlight: () => maxInFlight,
  };
}

describe("Batcher", () => {
  it("writes a lone request after maxDelayMs and resolves only once it is written", async () => {
    const rec = recorder();
    const b = new Batcher(config(), rec.write);
    await b.add(rowsOf(3), 3);
    expect(rec.batches).toHaveLength(1);
    expect(rec.batches[0].rows).toBe(3);
  });

  it("seals at maxRows and groups what arrives while the writer is busy", async () => {
    const rec = recorder();
    const b = new Batcher(config({ maxRows: 10 }), rec.write);
    rec.hold();
    const first = b.add(rowsOf(10, "a"), 10); // full: written at once, held
    const later = Array.from({ length: 5 }, (_, i) => b.add(rowsOf(2, `b${i}-`), 2));
    await new Promise((r) => setTimeout(r, 60));
    rec.release();
    await Promise.all([first, ...later]);
    expect(rec.batches.map((x) => x.rows)).toEqual([10, 10]);
    expect(rec.batches[1].lines).toHaveLength(10);
  });

  it("refuses with a retryable QUEUE_FULL when the queue is full, and accepts again after", async () => {
    const rec = recorder();
    const b = new Batcher(config({ maxQueuedRows: 10 }), rec.write);
    rec.hold();
    const first = b.add(rowsOf(8), 8);
    const refused = await b.add(rowsOf(5), 5).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SkaldError);
    expect((refused as SkaldError).code).toBe("QUEUE_FULL");
    expect((refused as SkaldError).kind).toBe("retryable");
    expect((refused as SkaldError).retryAfterMs).toBe(500);
    rec.release();
    await first;
    await b.add(rowsOf(5), 5);
    expect(rec.batches.reduce((n, x) => n + x.rows, 0)).toBe(13);
  });

  it("retries a failed write with the same token, then rejects as retryable", async () => {
    const tokens: string[] = [];
    let failures = 2;
    const b = new Batcher(config(), async (_body, _rows, token) => {
      tokens.push(token);
      if (failures-- > 0) throw new Error("store down");
    });
    await b.add(rowsOf(1), 1);
    expect(tokens).toHaveLength(3);
    expect(new Set(tokens).size).toBe(1);

    const always = new Batcher(config({ attempts: 2 }), async () => {
      throw new Error("store down");
    });
    const err = await always.add(rowsOf(1), 1).catch((e: unknown) => e as SkaldError);
    expect(err).toMatchObject({ kind: "retryable", code: "STORE_UNAVAILABLE" });
    expect(always.depth).toBe(0);
  });

  it("runs up to `concurrency` writes at once", async () => {
    const rec = recorder();
    const b = new Batcher(config({ maxRows: 5, concurrency: 2 }), rec.write);
    rec.hold();
    const all = Array.from({ length: 6 }, (_, i) => b.add(rowsOf(5, `c${i}-`), 5));
    await new Promise((r) => setTimeout(r, 30));
    expect(rec.maxInFlight()).toBe(2);
    rec.release();
    await Promise.all(all);
    expect(rec.batches.reduce((n, x) => n + x.rows, 0)).toBe(30);
  });

  it("addCopy takes a copy: the caller reuses its buffer at once, and every batch holds exactly its rows", async () => {
    const rec = recorder();
    const b = new Batcher(config({ maxRows: 10 }), rec.write);
    const shared = Buffer.alloc(128 * 1024);
    const expected: string[] = [];
    const pending: Promise<void>[] = [];
    const send = (rows: number, tag: string) => {
      const body = rowsOf(rows, tag);
      body.copy(shared);
      pending.push(b.addCopy(shared.subarray(0, body.length), rows));
      shared.fill(0x78); // the caller's next request overwrites it
      expected.push(...body.toString().trim().split("\n"));
    };
    // a batch in flight while the next one fills, then batches of growing size one after another
    // (each may take the copy buffer of one already written), and owned bodies mixed in
    rec.hold();
    send(10, "held-");
    for (let i = 0; i < 4; i++) send(2, `filling${i}-`);
    send(3, `${"y".repeat(30_000)}-grown-`); // more than the batch's first buffer: it grows
    pending.push(b.add(rowsOf(2, "owned-"), 2));
    expected.push(...rowsOf(2, "owned-").toString().trim().split("\n"));
    await new Promise((r) => setTimeout(r, 40));
    rec.release();
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i <= round; i++) send(1 + ((round + i) % 9), `r${round}.${i}-`);
      await Promise.all(pending);
    }
    expect(rec.batches.length).toBeGreaterThan(6);
    for (const batch of rec.batches) expect(batch.lines).toHaveLength(batch.rows);
    expect(rec.batches.flatMap((x) => x.lines).sort()).toEqual(expected.sort());
    expect(b.depth).toBe(0);
  });

  it("shutdown writes everything accepted and refuses new rows", async () => {
    const rec = recorder();
    const b = new Batcher(config({ maxDelayMs: 10_000 }), rec.write);
    const pending = [b.add(rowsOf(4), 4), b.add(rowsOf(6), 6)];
    await b.shutdown();
    await Promise.all(pending);
    expect(rec.batches.reduce((n, x) => n + x.rows, 0)).toBe(10);
    await expect(b.add(rowsOf(1), 1)).rejects.toMatchObject({ code: "SHUTTING_DOWN" });
    await b.shutdown();
  });
});
