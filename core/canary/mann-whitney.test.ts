import { describe, expect, it } from "vitest";
import { scipyAvailable, scipyMannWhitney } from "../../test/support/scipy.js";
import { hodgesLehmann, kthDifference } from "./hodges-lehmann.js";
import { mannWhitneyU } from "./mann-whitney.js";
import { normalSf } from "./normal.js";
import { logNormal, seededRandom } from "./random.js";

const rand = seededRandom(20261128);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const sample = (n: number, draw: () => number) => Array.from({ length: n }, draw);

/** 240 pairs: tiny, small exact, tied, identical, constant, larger shifted, a few big ones. */
function generatePairs(): Array<{ kind: string; x: number[]; y: number[] }> {
  const pairs: Array<{ kind: string; x: number[]; y: number[] }> = [];
  for (let i = 0; i < 40; i++) {
    pairs.push({ kind: "tiny", x: sample(int(1, 3), rand), y: sample(int(1, 4), rand) });
  }
  for (let i = 0; i < 50; i++) {
    const shift = rand() * 2;
    pairs.push({
      kind: "small-exact",
      x: sample(int(2, 8), () => logNormal(rand, 100, 0.3)),
      y: sample(int(1, 30), () => logNormal(rand, 100 + shift * 40, 0.3)),
    });
  }
  for (let i = 0; i < 50; i++) {
    const top = int(2, 12);
    pairs.push({
      kind: "ties",
      x: sample(int(1, 40), () => int(0, top)),
      y: sample(int(1, 40), () => int(0, top)),
    });
  }
  for (let i = 0; i < 20; i++) {
    const x = sample(int(1, 25), () => Math.round(rand() * 1000) / 10);
    pairs.push({ kind: "identical", x, y: [...x] });
  }
  for (let i = 0; i < 10; i++) {
    const v = int(0, 5);
    pairs.push({ kind: "constant", x: sample(int(1, 20), () => v), y: sample(int(1, 20), () => v) });
  }
  for (let i = 0; i < 60; i++) {
    const ratio = 1 + (rand() - 0.3) * 0.6;
    pairs.push({
      kind: "asymptotic",
      x: sample(int(9, 120), () => logNormal(rand, 50, 0.4)),
      y: sample(int(9, 120), () => logNormal(rand, 50 * ratio, 0.4)),
    });
  }
  for (let i = 0; i < 10; i++) {
    pairs.push({
      kind: "big",
      x: sample(int(500, 1500), () => Math.round(logNormal(rand, 20, 0.5))),
      y: sample(int(500, 1500), () => Math.round(logNormal(rand, 21, 0.5))),
    });
  }
  return pairs;
}

describe.runIf(scipyAvailable() || process.env.CI)("Mann-Whitney U against scipy.stats.mannwhitneyu", () => {
  const pairs = generatePairs();
  const reference = scipyMannWhitney(pairs);

  it(`agrees on U, p-value and method for ${pairs.length} pairs`, () => {
    expect(pairs.length).toBeGreaterThanOrEqual(200);
    let exact = 0;
    for (const [i, pair] of pairs.entries()) {
      const ours = mannWhitneyU(pair.x, pair.y);
      const ref = reference[i];
      const where = `${pair.kind} #${i} (n1=${pair.x.length}, n2=${pair.y.length})`;
      expect(ours.method, where).toBe(ref.method);
      expect(Math.abs(ours.u - ref.u), where).toBeLessThanOrEqual(1e-9);
      const tolerance = ours.method === "exact" ? 1e-9 : 1e-6;
      expect(Math.abs(ours.pValue - ref.p), `${where}: p ${ours.pValue} vs ${ref.p}`).toBeLessThanOrEqual(
        tolerance,
      );
      if (ours.method === "exact") exact++;
    }
    expect(exact).toBeGreaterThan(40);
  });

  it("Hodges-Lehmann estimate equals the brute-force median of pairwise differences", () => {
    for (const [i, pair] of pairs.entries()) {
      const hl = hodgesLehmann(pair.x, pair.y).estimate;
      expect(Math.abs(hl - reference[i].hl), `${pair.kind} #${i}`).toBeLessThanOrEqual(
        1e-9 * Math.max(1, Math.abs(reference[i].hl)),
      );
    }
  });
});

describe("Hodges-Lehmann order statistics", () => {
  it("k-th difference matches sorting every difference, ties included", () => {
    for (let t = 0; t < 30; t++) {
      const x = Float64Array.from(sample(int(1, 90), () => int(0, 20))).sort();
      const y = Float64Array.from(sample(int(1, 90), () => logNormal(rand, 10, 0.5))).sort();
      const all: number[] = [];
      for (const a of x) for (const b of y) all.push(b - a);
      all.sort((a, b) => a - b);
      for (const k of [
        1,
        2,
        Math.ceil(all.length / 3),
        Math.ceil(all.length / 2),
        all.length - 1,
        all.length,
      ]) {
        if (k >= 1) expect(kthDifference(x, y, k)).toBe(all[k - 1]);
      }
    }
  });

  it("confidence interval brackets the estimate and narrows as samples grow", () => {
    const draw = (n: number, m: number) => sample(n, () => logNormal(rand, m, 0.2));
    const small = hodgesLehmann(draw(20, 100), draw(20, 130));
    const large = hodgesLehmann(draw(2000, 100), draw(2000, 130));
    for (const r of [small, large]) {
      expect(r.lower).toBeLessThanOrEqual(r.estimate);
      expect(r.upper).toBeGreaterThanOrEqual(r.estimate);
      expect(r.lower).toBeGreaterThan(0);
    }
    expect(large.upper - large.lower).toBeLessThan(small.upper - small.lower);
    expect(large.estimate).toBeGreaterThan(20);
    expect(large.estimate).toBeLessThan(40);
  });

  it("a constant million-value pair is judged without materialising 10^12 differences", () => {
    const x = new Float64Array(1_000_000).fill(5);
    const r = hodgesLehmann(x, x);
    expect([r.estimate, r.lower, r.upper]).toEqual([0, 0, 0]);
    expect(mannWhitneyU(x, x).pValue).toBe(1);
  });
});

describe("normal tail", () => {
  it("matches known values", () => {
    expect(normalSf(0)).toBeCloseTo(0.5, 15);
    expect(Math.abs(normalSf(1.959963984540054) - 0.025)).toBeLessThan(1e-15);
    expect(Math.abs(normalSf(5) / 2.866515718791939e-7 - 1)).toBeLessThan(1e-12);
    expect(Math.abs(normalSf(-3) - 0.9986501019683699)).toBeLessThan(1e-15);
  });
});
