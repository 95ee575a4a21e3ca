import { normalSf } from "./normal.js";

/**
 * Two-sided Mann-Whitney U test, written to agree with `scipy.stats.mannwhitneyu(x, y,
 * alternative="two-sided", method="auto", use_continuity=True)`:
 *   - statistic U1 = R1 - n1(n1+1)/2 for the first sample (mid-ranks for ties);
 *   - method: asymptotic when both samples have more than 8 values or any value is tied,
 *     exact otherwise;
 *   - exact: p = 2 * P(U >= max(U1, U2)) from the null distribution of U, clipped to 1;
 *   - asymptotic: z = (max(U1, U2) - n1 n2 / 2 - 0.5) / sigma with the tie-corrected
 *     sigma^2 = n1 n2 / 12 * ((n + 1) - sum(t^3 - t) / (n (n - 1))), p = 2 * sf(z), clipped to 1.
 * Pure function; inputs are not modified. Both samples must be non-empty and free of NaN.
 */
export interface MannWhitneyResult {
  /** U of the first sample (x). */
  u: number;
  pValue: number;
  method: "exact" | "asymptotic";
  /** Whether any value occurs more than once across both samples. */
  ties: boolean;
}

export interface Ranked {
  /** Sum of the mid-ranks of x's values in the pooled sample. */
  rankSumX: number;
  /** sum over tie groups of (t^3 - t). */
  tieTerm: number;
  ties: boolean;
}

/** Ranks the pooled samples once (O((n1 + n2) log(n1 + n2))). */
export function rankPooled(x: ArrayLike<number>, y: ArrayLike<number>): Ranked {
  const xs = Float64Array.from(x).sort();
  const ys = Float64Array.from(y).sort();
  // Merge the two sorted samples, walking tie groups that may span both.
  let i = 0;
  let j = 0;
  let rank = 0; // ranks consumed so far
  let rankSumX = 0;
  let tieTerm = 0;
  let ties = false;
  while (i < xs.length || j < ys.length) {
    const v = j >= ys.length || (i < xs.length && xs[i] <= ys[j]) ? xs[i] : ys[j];
    let cx = 0;
    let cy = 0;
    while (i < xs.length && xs[i] === v) {
      i++;
      cx++;
    }
    while (j < ys.length && ys[j] === v) {
      j++;
      cy++;
    }
    const t = cx + cy;
    const midRank = rank + (t + 1) / 2;
    rankSumX += cx * midRank;
    rank += t;
    if (t > 1) {
      ties = true;
      tieTerm += t * t * t - t;
    }
  }
  return { rankSumX, tieTerm, ties };
}

export function mannWhitneyU(x: ArrayLike<number>, y: ArrayLike<number>): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError("Mann-Whitney U needs two non-empty samples");
  const r = rankPooled(x, y);
  const u1 = r.rankSumX - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const big = Math.max(u1, u2);
  const exact = !(n1 > 8 && n2 > 8) && !r.ties;
  let p: number;
  if (exact) {
    p = 2 * exactSf(Math.round(big), n1, n2);
  } else {
    const n = n1 + n2;
    const s = Math.sqrt(((n1 * n2) / 12) * (n + 1 - r.tieTerm / (n * (n - 1))));
    const z = (big - (n1 * n2) / 2 - 0.5) / s;
    p = 2 * normalSf(z);
  }
  return { u: u1, pValue: Math.min(1, Math.max(0, p)), method: exact ? "exact" : "asymptotic", ties: r.ties };
}

/**
 * P(U >= k) under the null for sample sizes m and n without ties. By symmetry this is
 * P(U <= mn - k); see exactCdf.
 */
export function exactSf(k: number, m: number, n: number): number {
  const kc = m * n - k;
  if (kc < 0) return 0;
  return exactCdf(m, n, kc)[kc];
}

/**
 * P(U <= u) for u = 0..upTo under the null (no ties), from the counts of U = 0..upTo: the
 * coefficients of the Gaussian binomial [m+n choose m]_q truncated at q^upTo, computed exactly in
 * BigInt as the product over i = 1..min(m,n) of (1 - q^(max+i)) / (1 - q^i), divided by C(m+n, m).
 * Cost O(min(m,n) * upTo) BigInt additions: meant for the small samples the exact method serves.
 */
export function exactCdf(m: number, n: number, upTo: number): number[] {
  const small = Math.min(m, n);
  const large = Math.max(m, n);
  const c: bigint[] = new Array(upTo + 1).fill(0n);
  c[0] = 1n;
  for (let i = 1; i <= small; i++) {
    const up = large + i;
    for (let j = upTo; j >= up; j--) c[j] -= c[j - up];
    for (let j = i; j <= upTo; j++) c[j] += c[j - i];
  }
  let total = 1n;
  for (let i = 1; i <= small; i++) total = (total * BigInt(large + i)) / BigInt(i);
  const out: number[] = new Array(upTo + 1);
  let cum = 0n;
  for (let j = 0; j <= upTo; j++) {
    cum += c[j];
    out[j] = ratio(cum > total ? total : cum, total);
  }
  return out;
}

/** a / b (0 <= a <= b) as a double, keeping relative precision however large the integers are. */
function ratio(a: bigint, b: bigint): number {
  if (a === 0n) return 0;
  const scale = b.toString(2).length - a.toString(2).length + 64;
  const q = (a << BigInt(scale)) / b; // 64 or 65 significant bits
  return Number(q) / 2 ** scale;
}
