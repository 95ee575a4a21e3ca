import type { SampleStats } from "./types.js";

/** NaN handling: drop NaN values, or replace them with `replacement`. Returns a new array. */
export function applyNanStrategy(
  values: readonly number[],
  strategy: "remove" | "replace",
  replacement = 0,
): number[] {
  return strategy === "remove"
    ? values.filter((v) => !Number.isNaN(v))
    : values.map((v) => (Number.isNaN(v) ? replacement : v));
}

/** Quantile with linear interpolation between order statistics (type 7, numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Drops values outside the IQR fences [Q1 − factor·IQR, Q3 + factor·IQR]. A sample with IQR 0
 * (mostly constant) keeps everything: fences of zero width would discard every real change.
 */
export function removeOutliers(values: readonly number[], factor: number): number[] {
  if (values.length < 4) return [...values];
  const sorted = Float64Array.from(values).sort();
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  const iqr = q3 - q1;
  if (iqr === 0) return [...values];
  const lo = q1 - factor * iqr;
  const hi = q3 + factor * iqr;
  return values.filter((v) => v >= lo && v <= hi);
}

export function describe(values: readonly number[], removed: number): SampleStats {
  if (values.length === 0)
    return { count: 0, mean: Number.NaN, median: Number.NaN, min: Number.NaN, max: Number.NaN, removed };
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    median: quantileSorted(sorted, 0.5),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    removed,
  };
}
