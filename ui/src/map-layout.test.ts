import { describe, expect, it } from "vitest";
import { COLUMN_GAP, layeredLayout, MAX_ROWS } from "./map-layout.js";

describe("service map layout", () => {
  it("puts callers left of callees and keeps unconnected nodes", () => {
    const r = layeredLayout({
      nodes: ["service:gateway", "service:cart", "database:pg", "service:lonely"],
      edges: [
        { source: "service:gateway", target: "service:cart" },
        { source: "service:cart", target: "database:pg" },
      ],
    });
    const p = r.positions;
    expect(p["service:cart"].x - p["service:gateway"].x).toBe(COLUMN_GAP);
    expect(p["database:pg"].x - p["service:cart"].x).toBe(COLUMN_GAP);
    expect(p["service:lonely"]).toBeDefined();
    expect(p["service:lonely"].x).toBe(p["service:gateway"].x);
  });

  it("survives cycles and self calls, placing every node once", () => {
    const r = layeredLayout({
      nodes: ["a", "b", "c"],
      edges: [
        { source: "a", target: "b" },
        { source: "b", target: "c" },
        { source: "c", target: "a" },
        { source: "b", target: "b" },
      ],
    });
    expect(Object.keys(r.positions).sort()).toEqual(["a", "b", "c"]);
    const xs = new Set(Object.values(r.positions).map((q) => q.x));
    expect(xs.size).toBe(3);
  });

  it("orders a rank by its callers so edges do not cross", () => {
    // a1→b1, a2→b2 with names that sort the other way round in rank 1.
    const r = layeredLayout({
      nodes: ["a1", "a2", "z-b1", "b2"],
      edges: [
        { source: "a1", target: "z-b1" },
        { source: "a2", target: "b2" },
      ],
    });
    const p = r.positions;
    expect(p.a1.y < p.a2.y).toBe(p["z-b1"].y < p.b2.y);
  });

  it("lays out 500 nodes with distinct positions", () => {
    const nodes = Array.from({ length: 500 }, (_, i) => `service:s${i}`);
    const edges = nodes.slice(1).map((t, i) => ({ source: nodes[Math.floor(i / 3)], target: t }));
    const r = layeredLayout({ nodes, edges });
    const seen = new Set(Object.values(r.positions).map((q) => `${q.x},${q.y}`));
    expect(seen.size).toBe(500);
    expect(r.width).toBeGreaterThan(0);
    // Wide ranks wrap: no column is taller than MAX_ROWS nodes, so the map stays near a screen tall.
    const perColumn = new Map<number, number>();
    for (const q of Object.values(r.positions)) perColumn.set(q.x, (perColumn.get(q.x) ?? 0) + 1);
    expect(Math.max(...perColumn.values())).toBeLessThanOrEqual(MAX_ROWS);
    expect(r.height).toBeLessThanOrEqual(2 * 70 + (MAX_ROWS - 1) * 90);
    // Callers stay left of their callees.
    for (const e of edges) expect(r.positions[e.source].x).toBeLessThan(r.positions[e.target].x);
  });
});
