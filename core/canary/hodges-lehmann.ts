import { exactCdf } from "./mann-whitney.js";
import { normalQuantile } from "./normal.js";

/**
 * Hodges-Lehmann estimate of the shift canary − baseline: the median of all n1·n2 pairwise
 * differences y_j − x_i, with a distribution-free confidence interval from order statistics of
 * those differences (Bauer 1972; what R's wilcox.test(conf.int = TRUE) reports):
 *   [D_(k), D_(N+1−k)] with N = n1 n2 and k − 1 the largest u with P(U <= u) <= (1 − level) / 2,
 * using the exact null distribution of U when both samples are small and free of ties (the rule of
 * mannWhitneyU), otherwise the tie-corrected normal approximation k = floor(N/2 − z·sigma).
 * The n1·n2 differences are never materialised: order statistics are found by bisection on the
 * value with O(n1 + n2) counting, so 1M × 1M samples are fine.
 */
export interface ShiftEstimate {
  estimate: number;
  lower: number;
  upper: number;
  level: number;
}

export function hodgesLehmann(
  baseline: ArrayLike<number>,
  canary: ArrayLike<number>,
  level = 0.98,
  tie?: { tieTerm: number; ties: boolean },
): ShiftEstimate {
  const x = Float64Array.from(baseline).sort();
  const y = Float64Array.from(canary).sort();
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError("Hodges-Lehmann needs two non-empty samples");
  const total = n1 * n2;
  const estimate =
    total % 2 === 1
      ? kthDifference(x, y, (total + 1) / 2)
      : (kthDifference(x, y, total / 2) + kthDifference(x, y, total / 2 + 1)) / 2;
  const k = ciRank(n1, n2, level, tie);
  return { estimate, lower: kthDifference(x, y, k), upper: kthDifference(x, y, total + 1 - k), level };
}

/** The rank k (1-based) of the lower confidence bound among the N ordered differences. */
function ciRank(n1: number, n2: number, level: number, tie?: { tieTerm: number; ties: boolean }): number {
  const total = n1 * n2;
  const alpha = (1 - level) / 2;
  if (!(n1 > 8 && n2 > 8) && !tie?.ties) {
    // Largest u with P(U <= u) <= alpha; P(U <= u) = P(U >= N - u) = exactSf(N - u).
    const cdf = exactCdf(n1, n2, Math.floor(total / 2));
    let u = -1;
    while (u + 1 < cdf.length && cdf[u + 1] <= alpha) u++;
    return Math.max(1, u + 1);
  }
  const n = n1 + n2;
  const tieTerm = tie?.tieTerm ?? 0;
  const sigma = Math.sqrt((total / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const k = Math.floor(total / 2 - normalQuantile(1 - alpha) * sigma);
  return Math.min(Math.max(1, k), Math.ceil(total / 2));
}

/** Number of differences y_j − x_i <= d (x, y sorted ascending). */
function countAtMost(x: Float64Array, y: Float64Array, d: number): number {
  let count = 0;
  let j = 0;
  // For increasing x_i, the y_j <= x_i + d form a growing prefix of y.
  for (let i = 0; i < x.length; i++) {
    while (j < y.length && y[j] - x[i] <= d) j++;
    count += j;
  }
  return count;
}

/** The k-th smallest (1-based) of the differences y_j − x_i (x, y sorted ascending). */
export function kthDifference(x: Float64Array, y: Float64Array, k: number): number {
  let lo = y[0] - x[x.length - 1]; // smallest difference
  let hi = y[y.length - 1] - x[0]; // largest difference
  if (k <= 1) return lo;
  if (k >= x.length * y.length) return hi;
  // Invariant: count(<= lo) < k <= count(<= hi). Narrow until few differences remain between.
  lo = nextDown(lo);
  let below = countAtMost(x, y, lo);
  for (let iter = 0; iter < 200; iter++) {
    const within = countAtMost(x, y, hi) - below;
    if (within <= 4096) break;
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) return hi; // nothing lies strictly between: every difference in (lo, hi] is hi
    const c = countAtMost(x, y, mid);
    if (c >= k) hi = mid;
    else {
      lo = mid;
      below = c;
    }
  }
  // Collect the differences in (lo, hi] and pick the (k − below)-th.
  const between: number[] = [];
  let start = 0;
  let end = 0;
  for (let i = 0; i < x.length; i++) {
    while (start < y.length && y[start] - x[i] <= lo) start++;
    while (end < y.length && y[end] - x[i] <= hi) end++;
    for (let j = Math.min(start, end); j < end; j++) {
      const d = y[j] - x[i];
      if (d > lo && d <= hi) between.push(d);
    }
  }
  return Float64Array.from(between).sort()[k - below - 1]; // typed sort: numeric, no comparator calls
}

function nextDown(v: number): number {
  if (v === 0) return -Number.MIN_VALUE;
  const buf = new Float64Array([v]);
  const bits = new BigInt64Array(buf.buffer);
  bits[0] += v > 0 ? -1n : 1n;
  return buf[0];
}
