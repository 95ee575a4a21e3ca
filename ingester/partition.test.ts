import { describe, expect, it } from "vitest";
import type { DecodedMessage } from "../core/kafka/format.js";
import { createLogger } from "../core/log.js";
import type { Batch, Entry } from "./batch.js";
import type { BatchWriter } from "./batch-writer.js";
import { PartitionState } from "./partition.js";
import { decodePlan } from "./plan.js";

const config = {
  batchMaxRows: 10,
  batchMaxBytes: 1 << 20,
  batchMaxDelayMs: 50,
  partitionMaxBytes: 1 << 20,
  retryMaxDelayMs: 10,
  sessionTimeoutMs: 6000,
  shutdownTimeoutMs: 1000,
};

function entries(from: number, count: number, rows = 1): Entry[] {
  const decoded: DecodedMessage = {
    ok: true,
    format: "TabSeparated",
    columns: [],
    body: Buffer.from("x\n"),
    rows,
    rejected: 0,
  };
  return Array.from({ length: count }, (_, i) => ({
    offset: from + i,
    key: null,
    value: Buffer.from("x\n"),
    headers: {},
    decoded,
    bytes: 2,
  }));
}

function harness(committed: number, metadata: string | null, failWrites = 0) {
  const written: Array<{ first: number; end: number; replay: boolean }> = [];
  const commits: Array<{ offset: number; metadata: string }> = [];
  let failures = failWrites;
  const writer = {
    async write(batch: Batch) {
      if (failures-- > 0) throw new Error("boom");
      written.push({ first: batch.first, end: batch.end, replay: batch.replay });
    },
  } as unknown as BatchWriter;
  const state = new PartitionState(3, committed, decodePlan(metadata, committed), {
    config,
    writer,
    logger: createLogger("silent"),
    async commit(_p, offset, meta) {
      commits.push({ offset, metadata: meta });
    },
    pause() {},
    resume() {},
    onCommitted() {},
    onReplay() {},
  });
  return { state, written, commits };
}

describe("PartitionState", () => {
  it("cuts batches by rows, records each plan before writing, commits the next offset after", async () => {
    const h = harness(0, null);
    h.state.add(entries(0, 25));
    await h.state.drain();
    h.state.tick(performance.now() + 1000);
    await h.state.drain();
    expect(h.written).toEqual([
      { first: 0, end: 9, replay: false },
      { first: 10, end: 19, replay: false },
      { first: 20, end: 24, replay: false },
    ]);
    // plan of batch 1, then each following plan rides on the previous batch's commit (or its end)
    expect(h.commits[0]).toEqual({ offset: 0, metadata: "skald-plan/1:0-9" });
    expect(h.commits.at(-1)).toEqual({ offset: 25, metadata: "" });
    for (const c of h.commits.filter((c) => c.metadata !== "")) {
      const plan = decodePlan(c.metadata, c.offset);
      expect(plan).toBeDefined();
      expect(h.written.some((w) => w.first === plan?.first && w.end === plan?.end)).toBe(true);
    }
  });

  it("replays a recorded plan at exactly its boundaries, whatever the size limit says", async () => {
    const h = harness(100, "skald-plan/1:100-104");
    h.state.add(entries(100, 3));
    h.state.tick(performance.now() + 1000); // age does not cut a planned batch
    await h.state.drain();
    expect(h.written).toEqual([]);
    h.state.add(entries(103, 20));
    await h.state.drain();
    expect(h.written[0]).toEqual({ first: 100, end: 104, replay: true });
    expect(h.commits[0].offset).toBe(105); // its plan was committed by the previous owner
    expect(h.written[1]).toEqual({ first: 105, end: 114, replay: false });
  });

  it("a planned range that is gone (retention) is skipped", async () => {
    const h = harness(100, "skald-plan/1:100-104");
    h.state.add(entries(200, 2));
    h.state.tick(performance.now() + 1000);
    await h.state.drain();
    expect(h.written).toEqual([{ first: 200, end: 201, replay: false }]);
  });

  it("does not write or commit once abandoned (partition lost in a rebalance)", async () => {
    const h = harness(0, null);
    h.state.abandon();
    h.state.add(entries(0, 30));
    await h.state.drain();
    expect(h.written).toEqual([]);
    expect(h.commits).toEqual([]);
  });
});
