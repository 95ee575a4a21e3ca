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

/**
 * Box plot of one sample (Tukey): quartiles by linear interpolation between order statistics
 * (R's default, type 7), whiskers at the most extreme values within 1.5 × IQR of the box, and
 * the values beyond them as outliers. Null for a sample without finite values.
 */
export interface BoxStats {
  n: number;
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
  mean: number;
  /** Lowest / highest value inside the fences (q1 − 1.5 IQR, q3 + 1.5 IQR). */
  whiskerLow: number;
  whiskerHigh: number;
  /** Values outside the fences, ascending. */
  outliers: number[];
}

/** The p-quantile (0..1) of an ascending, non-empty array. */
export function quantile(sorted: readonly number[], p: number): number {
  const at = (sorted.length - 1) * p;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

export function boxStats(values: readonly number[]): BoxStats | null {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const q1 = quantile(xs, 0.25);
  const q3 = quantile(xs, 0.75);
  const reach = 1.5 * (q3 - q1);
  const inside = xs.filter((v) => v >= q1 - reach && v <= q3 + reach);
  return {
    n: xs.length,
    min: xs[0],
    q1,
    median: quantile(xs, 0.5),
    q3,
    max: xs[xs.length - 1],
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
    whiskerLow: inside[0],
    whiskerHigh: inside[inside.length - 1],
    outliers: xs.filter((v) => v < q1 - reach || v > q3 + reach),
  };
}

/** Baseline and canary box plots on one scale [lo, hi] (both samples' extremes). */
export function boxPlot(
  baseline: readonly number[],
  canary: readonly number[],
): { baseline: BoxStats | null; canary: BoxStats | null; lo: number; hi: number } | null {
  const b = boxStats(baseline);
  const c = boxStats(canary);
  if (!b && !c) return null;
  const lo = Math.min(b?.min ?? Number.POSITIVE_INFINITY, c?.min ?? Number.POSITIVE_INFINITY);
  let hi = Math.max(b?.max ?? Number.NEGATIVE_INFINITY, c?.max ?? Number.NEGATIVE_INFINITY);
  if (hi === lo) hi = lo + 1;
  return { baseline: b, canary: c, lo, hi };
}
