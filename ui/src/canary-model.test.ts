import { describe, expect, it } from "vitest";
import { histogram } from "./canary-model.js";

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
