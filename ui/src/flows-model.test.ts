import { describe, expect, it } from "vitest";
import { cellKey, formatBytes, heatmap, intensity } from "./flows-model.js";

const row = (source: string, destination: string, bytes: number) => ({
  source,
  destination,
  bytes,
  packets: 1,
  flows: 1,
});

describe("flow heatmap model", () => {
  it("keeps the busiest sources and destinations and their cells", () => {
    const h = heatmap([row("a", "x", 100), row("b", "x", 5), row("c", "y", 50), row("a", "y", 1)], 2);
    expect(h.sources).toEqual(["a", "c"]);
    expect(h.destinations).toEqual(["x", "y"]);
    expect(h.cells.get(cellKey("a", "y"))?.bytes).toBe(1);
    expect(h.cells.has(cellKey("b", "x"))).toBe(false);
    expect(h.max).toBe(100);
  });

  it("scales intensity logarithmically with a visible floor", () => {
    expect(intensity(0, 100)).toBe(0);
    expect(intensity(100, 100)).toBe(1);
    expect(intensity(1, 1e9)).toBe(0.08);
    expect(intensity(1e6, 1e9)).toBeGreaterThan(0.6);
  });

  it("formats bytes in decimal units", () => {
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1_234_567)).toBe("1.2 MB");
  });
});
