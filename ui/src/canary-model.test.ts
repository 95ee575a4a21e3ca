import { describe, expect, it } from "vitest";
import { boxPlot, boxStats, histogram, quantile } from "./canary-model.js";

describe("canary histogram", () => {
  it("bins both sides on shared edges, the maximum in the last bin", () => {
    const h = histogram([1, 2, 2, 3], [3, 4, 5], 4);
    expect(h.edges).toEqual([1, 2, 3, 4, 5]);
    expect(h.baseline).toEqual([1, 2, 1, 0]);
    expect(h.canary).toEqual([0, 0, 1, 2]);
    expect(h.baseline.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it("handles one repeated value, gaps and no values", () => {
    expect(histogram([7, 7], [7], 2)).toEqual({ edges: [6.5, 7, 7.5], baseline: [0, 2], canary: [0, 1] });
    expect(histogram([Number.NaN], [], 3)).toEqual({ edges: [], baseline: [], canary: [] });
  });
});

describe("canary box plot", () => {
  it("gives quartiles, whiskers at the data inside 1.5 IQR, and the outliers beyond", () => {
    const happy = boxStats([9, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(happy).toEqual({
      n: 9,
      min: 1,
      q1: 3,
      median: 5,
      q3: 7,
      max: 9,
      mean: 5,
      whiskerLow: 1,
      whiskerHigh: 9,
      outliers: [],
    });
    // A bad canary: one slow request far outside the box is an outlier, the whisker stops at 8.
    const bad = boxStats([1, 2, 3, 4, 5, 6, 7, 8, 100]);
    expect(bad).toMatchObject({ q1: 3, median: 5, q3: 7, whiskerLow: 1, whiskerHigh: 8, outliers: [100] });
  });

  it("interpolates quartiles between order statistics", () => {
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10], 0.75)).toBe(10);
  });

  it("puts both sides on one scale and skips an empty side", () => {
    const p = boxPlot([1, 2, 3], [10, Number.NaN]);
    expect(p?.lo).toBe(1);
    expect(p?.hi).toBe(10);
    expect(p?.canary).toMatchObject({ n: 1, q1: 10, median: 10, q3: 10, outliers: [] });
    expect(boxPlot([], [Number.NaN])).toBeNull();
    expect(boxPlot([4, 4], [])).toMatchObject({ lo: 4, hi: 5, canary: null });
  });
});
