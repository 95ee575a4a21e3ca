import { describe, expect, it } from "vitest";
import { formatDuration, normaliseDuration } from "./format.js";
import {
  barOf,
  blockOf,
  blockRange,
  blocksFor,
  hasChildren,
  Lanes,
  type Rows,
  rowsOf,
  selfTimeByService,
  type WaterfallSpan,
} from "./waterfall.js";

const T0 = 1_764_000_000_000_000_000n;

/** A span `[start, end)` in ms after T0, at `depth`, under `parent`. */
function span(
  id: string,
  depth: number,
  parent: string | null,
  start: number,
  end: number,
  service = "svc",
  descendantCount = 0,
): WaterfallSpan {
  return {
    spanId: id,
    parentSpanId: parent,
    name: `op-${id}`,
    serviceName: service,
    kind: "SERVER",
    depth,
    descendantCount,
    startTimeUnixNano: String(T0 + BigInt(start) * 1_000_000n),
    endTimeUnixNano: String(T0 + BigInt(end) * 1_000_000n),
    status: { code: "UNSET" },
  };
}

// root ─┬─ a ─── a1
//       │        └ a2 (depth 3)
//       └─ b
const TREE = [
  span("root", 0, null, 0, 100, "gateway", 4),
  span("a", 1, "root", 10, 60, "cart", 2),
  span("a1", 2, "a", 20, 40, "db", 1),
  span("a2", 3, "a1", 25, 30, "db"),
  span("b", 1, "root", 70, 90, "cart"),
];

const rowList = (r: Rows) => Array.from({ length: r.count }, (_, i) => r.position(i));

describe("span tree windowing", () => {
  it("shows every span when nothing is collapsed", () => {
    expect(rowList(rowsOf(TREE, 5, new Set()))).toEqual([0, 1, 2, 3, 4]);
  });

  it("hides the descendants of a collapsed span and nothing else", () => {
    expect(rowList(rowsOf(TREE, 5, new Set(["a"])))).toEqual([0, 1, 4]);
    expect(rowList(rowsOf(TREE, 5, new Set(["a1"])))).toEqual([0, 1, 2, 4]);
    expect(rowList(rowsOf(TREE, 5, new Set(["root"])))).toEqual([0]);
    // A collapsed span inside a collapsed subtree changes nothing further.
    expect(rowList(rowsOf(TREE, 5, new Set(["a", "a1"])))).toEqual([0, 1, 4]);
    const rows = rowsOf(TREE, 5, new Set(["a"]));
    expect([0, 1, 2, 3, 4].map((p) => rows.rowOf(p))).toEqual([0, 1, -1, -1, 2]);
  });

  it("collapses subtrees whose spans are not loaded yet, from their size", () => {
    // Only the root and position 600 are loaded of 10,000: collapsing the root leaves one row;
    // collapsing the span at 600 (100 below it) hides exactly those 100 unloaded positions.
    const at: Array<WaterfallSpan | undefined> = [];
    at[0] = span("r", 0, null, 0, 100, "svc", 9999);
    at[600] = span("x", 1, "r", 1, 2, "svc", 100);
    expect(rowsOf(at, 10_000, new Set(["r"])).count).toBe(1);
    const rows = rowsOf(at, 10_000, new Set(["x"]));
    expect(rows.count).toBe(9900);
    expect(rows.position(600)).toBe(600);
    expect(rows.position(601)).toBe(701);
    expect(rows.rowOf(650)).toBe(-1);
    expect(rows.rowOf(9999)).toBe(9899);
  });

  it("knows which spans have children, loaded or not", () => {
    expect(TREE.map((s) => hasChildren(s))).toEqual([true, true, true, false, false]);
    expect(hasChildren(undefined)).toBe(false);
  });

  it("fetches only the blocks a jump shows", () => {
    expect(blockRange(0)).toEqual([0, 500]);
    expect(blockRange(1)).toEqual([500, 4500]);
    expect(blockOf(499)).toBe(0);
    expect(blockOf(500)).toBe(1);
    expect(blockOf(99_999)).toBe(25);
    // The last 40 rows of a 100,000-span trace: one block, not the 25 before it.
    expect(blocksFor(99_960, 99_999, 100_000)).toEqual([25]);
    expect(blocksFor(4480, 4520, 100_000)).toEqual([1, 2]);
    expect(blocksFor(0, 10, 3)).toEqual([0]);
    expect(blocksFor(0, 10, 0)).toEqual([]);
  });

  it("windows a 100,000-span trace", () => {
    const many: WaterfallSpan[] = [span("r", 0, null, 0, 1000, "svc", 99_999)];
    for (let i = 1; i < 100_000; i++) many.push(span(`s${i}`, 1, "r", i % 900, (i % 900) + 5));
    expect(rowsOf(many, 100_000, new Set(["r"])).count).toBe(1);
    expect(rowsOf(many, 100_000, new Set()).count).toBe(100_000);
  });
});

describe("waterfall layout model", () => {
  it("places bars as fractions of the trace duration", () => {
    const b = barOf(TREE[1], T0, 100_000_000n);
    expect(b.left).toBeCloseTo(0.1, 10);
    expect(b.width).toBeCloseTo(0.5, 10);
  });

  it("gives a zero-length span a visible minimum width, clipped to the axis", () => {
    const z = span("z", 1, "root", 100, 100);
    const b = barOf(z, T0, 100_000_000n, 0.01);
    expect(b.left).toBe(1);
    expect(b.width).toBe(0);
    expect(barOf(span("y", 1, "root", 50, 50), T0, 100_000_000n, 0.01).width).toBe(0.01);
  });

  it("keeps nanosecond precision at epoch scale", () => {
    const s = { startTimeUnixNano: String(T0 + 1n), endTimeUnixNano: String(T0 + 3n) };
    const b = barOf(s, T0, 4n, 0);
    expect(b.left).toBe(0.25);
    expect(b.width).toBe(0.5);
  });

  it("assigns swimlanes by service in order of first appearance", () => {
    const lanes = new Lanes();
    lanes.addAll(TREE);
    expect(lanes.names).toEqual(["gateway", "cart", "db"]);
    expect(lanes.laneOf("db")).toBe(2);
    expect(lanes.laneOf("new")).toBe(3);
  });

  it("computes self time per service (children's overlap removed once)", () => {
    const stats = selfTimeByService(TREE);
    const by = Object.fromEntries(stats.map((s) => [s.service, s]));
    // gateway: 100 - (a 10..60 ∪ b 70..90 = 70) = 30 ms
    expect(by.gateway.selfNs).toBe(30_000_000);
    // cart: a 50 - 20 (a1) = 30, b 20 → 50 ms
    expect(by.cart.selfNs).toBe(50_000_000);
    // db: a1 20 - 5 = 15, a2 5 → 20 ms
    expect(by.db.selfNs).toBe(20_000_000);
    expect(by.cart.spans).toBe(2);
  });
});

describe("formatting", () => {
  it("formats durations with units", () => {
    expect(formatDuration("1500000000")).toBe("1.50 s");
    expect(formatDuration(340_000_000)).toBe("340 ms");
    expect(formatDuration(800)).toBe("800 ns");
    expect(formatDuration(null)).toBe("–");
  });

  it("accepts durations the Duration scalar takes and rejects others", () => {
    expect(normaliseDuration("250ms")).toBe("250ms");
    expect(normaliseDuration("12µs")).toBe("12us");
    expect(normaliseDuration("fast")).toBeNull();
    expect(normaliseDuration("")).toBeNull();
  });
});
