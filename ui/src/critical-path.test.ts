import { describe, expect, it } from "vitest";
import { criticalPath, type PathSpan } from "./critical-path.js";

const T0 = 1_764_000_000_000_000_000n;
const MS = 1_000_000;

/** A span [start, end) in ms after T0. */
function s(id: string, parent: string | null, start: number, end: number): PathSpan {
  return {
    spanId: id,
    parentSpanId: parent,
    startTimeUnixNano: String(T0 + BigInt(start * MS)),
    endTimeUnixNano: String(T0 + BigInt(end * MS)),
  };
}

const path = (spans: PathSpan[]) =>
  criticalPath(spans).segments.map((x) => `${x.spanId} ${x.start / MS}-${x.end / MS}`);

describe("critical path", () => {
  it("walks sequential calls and the parent's own time between them", () => {
    expect(path([s("root", null, 0, 100), s("a", "root", 10, 40), s("b", "root", 50, 90)])).toEqual([
      "root 0-10",
      "a 10-40",
      "root 40-50",
      "b 50-90",
      "root 90-100",
    ]);
  });

  it("follows the parallel call that finished last and skips the one that ran alongside", () => {
    const cp = criticalPath([s("root", null, 0, 100), s("slow", "root", 10, 90), s("fast", "root", 10, 50)]);
    expect([...cp.spanIds].sort()).toEqual(["root", "slow"]);
  });

  it("keeps an earlier call that finished before the chosen one started", () => {
    // fetch (5-30) then, in parallel, render (35-80) and log (35-40): fetch and render are on it.
    expect(
      path([
        s("root", null, 0, 100),
        s("fetch", "root", 5, 30),
        s("render", "root", 35, 80),
        s("log", "root", 35, 40),
      ]),
    ).toEqual(["root 0-5", "fetch 5-30", "root 30-35", "render 35-80", "root 80-100"]);
  });

  it("descends into the grandchild that decides a child's end", () => {
    expect(
      path([s("root", null, 0, 100), s("a", "root", 0, 100), s("a1", "a", 20, 60), s("a2", "a", 70, 100)]),
    ).toEqual(["a 0-20", "a1 20-60", "a 60-70", "a2 70-100"]);
  });

  it("counts an asynchronous child only up to its parent's end", () => {
    expect(path([s("root", null, 0, 50), s("async", "root", 40, 80)])).toEqual(["root 0-40", "async 40-50"]);
  });

  it("starts at the root that ends last when parents are missing, and covers it exactly", () => {
    const cp = criticalPath([
      s("early", null, 0, 30),
      s("orphan", "never-arrived", 10, 120),
      s("kid", "orphan", 20, 110),
    ]);
    expect(cp.segments.map((x) => x.spanId)).toEqual(["orphan", "kid", "orphan"]);
    const covered = cp.segments.reduce((sum, x) => sum + (x.end - x.start), 0);
    expect(covered).toBe(110 * MS);
    // Contiguous: each segment starts where the previous ended.
    for (let i = 1; i < cp.segments.length; i++) expect(cp.segments[i].start).toBe(cp.segments[i - 1].end);
  });

  it("handles an empty trace and a 50,000-deep chain without overflowing the stack", () => {
    expect(criticalPath([]).segments).toEqual([]);
    const chain = Array.from({ length: 50_000 }, (_, i) =>
      s(`c${i}`, i ? `c${i - 1}` : null, i, 100_000 - i),
    );
    const cp = criticalPath(chain);
    expect(cp.spanIds.size).toBe(50_000);
    expect(cp.segments[0]).toEqual({ spanId: "c0", start: 0, end: MS });
  });
});
