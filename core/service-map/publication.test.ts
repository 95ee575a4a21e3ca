import { describe, expect, it } from "vitest";
import {
  LocalPublications,
  localPublications,
  type PublicationState,
  publicationStateOf,
  readPublished,
} from "./publication.js";

/** A fake clock and a scripted sequence of publication states, one per state() call. */
function script(states: Array<[published: number, publishing: number]>) {
  let clock = 0;
  let i = 0;
  const seen: PublicationState[] = [];
  const state = async (): Promise<PublicationState> => {
    const [published, publishing] = states[Math.min(i++, states.length - 1)];
    const s = { published: BigInt(published), publishing: BigInt(publishing) };
    seen.push(s);
    return s;
  };
  const options = {
    maxWaitMs: 1000,
    now: () => clock,
    sleep: async (ms: number) => {
      clock += ms;
    },
  };
  return { state, options, seen, elapsed: () => clock };
}

describe("readPublished", () => {
  it("reads once when no window is being published and nothing moves", async () => {
    const s = script([
      [30, 30],
      [30, 30],
    ]);
    let reads = 0;
    expect(await readPublished(s.state, async () => ++reads, undefined, s.options)).toBe(1);
    expect(reads).toBe(1);
    expect(s.elapsed()).toBe(0);
  });

  it("waits for a window in publication, then reads", async () => {
    // window 40 is being published for three looks, then recorded
    const s = script([
      [30, 40],
      [30, 40],
      [30, 40],
      [40, 40],
      [40, 40],
    ]);
    const read: number[] = [];
    const result = await readPublished(s.state, async () => read.push(s.seen.length), undefined, s.options);
    // the one read happened after the fourth state, the first quiet one
    expect(read).toEqual([4]);
    expect(result).toBe(1);
    expect(s.elapsed()).toBeGreaterThan(0);
  });

  it("reads again when a publication began or ended during the read", async () => {
    const s = script([
      [30, 30], // quiet
      [30, 40], // after the read: window 40 began publishing meanwhile
      [40, 40], // quiet again
      [40, 40],
    ]);
    let reads = 0;
    expect(await readPublished(s.state, async () => ++reads, undefined, s.options)).toBe(2);
    const t = script([
      [30, 30],
      [40, 40], // window 40 was published whole during the read: still read again
      [40, 40],
      [40, 40],
    ]);
    reads = 0;
    expect(await readPublished(t.state, async () => ++reads, undefined, t.options)).toBe(2);
  });

  it("takes an older publishing record than the watermark as quiet (windows from before migration 0022)", async () => {
    const s = script([
      [50, 0],
      [50, 0],
    ]);
    let reads = 0;
    await readPublished(s.state, async () => ++reads, undefined, s.options);
    expect(reads).toBe(1);
  });

  it("gives up on a publication that never ends, says so, and returns what it read", async () => {
    const s = script([[30, 40]]);
    const told: PublicationState[] = [];
    let reads = 0;
    const result = await readPublished(
      s.state,
      async () => ++reads,
      (st) => told.push(st),
      s.options,
    );
    expect(result).toBe(1);
    expect(reads).toBe(1);
    expect(told).toEqual([{ published: 30n, publishing: 40n }]);
    expect(s.elapsed()).toBeGreaterThanOrEqual(1000);
  });

  it("parses the state row, empty tables as 0", () => {
    expect(publicationStateOf({ published: "1700000000123", publishing: "1700000000456" })).toEqual({
      published: 1700000000123n,
      publishing: 1700000000456n,
    });
    expect(publicationStateOf({ published: "0", publishing: "" })).toEqual({ published: 0n, publishing: 0n });
    expect(publicationStateOf(undefined)).toEqual({ published: 0n, publishing: 0n });
  });
});

describe("LocalPublications (this process's jobs on an embedded store)", () => {
  it("is quiet between publications and moves at each begin and end", async () => {
    const p = new LocalPublications();
    const quiet = (s: PublicationState) => s.publishing <= s.published;
    const s0 = p.state();
    expect(quiet(s0)).toBe(true);
    p.begin();
    const s1 = p.state();
    expect(quiet(s1)).toBe(false);
    p.end();
    const s2 = p.state();
    expect(quiet(s2)).toBe(true);
    // a read that straddled the publication sees the state move
    expect(s2).not.toEqual(s0);
    // a reader waits for a publication in progress, and reads once it ended
    p.begin();
    let clock = 0;
    const reads: number[] = [];
    const result = readPublished(
      async () => p.state(),
      async () => reads.push(clock),
      undefined,
      {
        now: () => clock,
        sleep: async (ms) => {
          clock += ms;
          if (clock >= 30) p.end();
        },
      },
    );
    expect(await result).toBe(1);
    expect(reads[0]).toBeGreaterThanOrEqual(30);
  });

  it("does not answer for the store until a job's run has ended well", () => {
    // readers ask the store until then (a window an earlier process left half published)
    expect(new LocalPublications().ready).toBe(false);
  });

  it("is one tracker per store, made by the job, found by readers", () => {
    const store = {};
    expect(localPublications(store, false)).toBeUndefined();
    const made = localPublications(store, true);
    expect(made).toBeInstanceOf(LocalPublications);
    expect(localPublications(store, false)).toBe(made);
    expect(localPublications({}, false)).toBeUndefined();
  });
});
