/**
 * Histogram of a canary metric's baseline and canary values on shared bins (pure): the "happy"
 * canary overlaps the baseline, the "bad" one sits to one side.
 */
export interface Histogram {
  /** Bin edges, bins + 1 of them, ascending. */
  edges: number[];
  baseline: number[];
  canary: number[];
}

export function histogram(baseline: readonly number[], canary: readonly number[], bins = 12): Histogram {
  const all = [...baseline, ...canary].filter(Number.isFinite);
  if (all.length === 0) return { edges: [], baseline: [], canary: [] };
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const count = (xs: readonly number[]) => {
    const out = new Array<number>(bins).fill(0);
    for (const v of xs) {
      if (!Number.isFinite(v)) continue;
      out[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
    }
    return out;
  };
  return { edges, baseline: count(baseline), canary: count(canary) };
}
