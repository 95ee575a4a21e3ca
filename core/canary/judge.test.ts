import { describe, expect, it } from "vitest";
import { classifyMetric } from "./classify.js";
import { judge, verdictOf } from "./judge.js";
import { removeOutliers } from "./preprocess.js";
import { logNormal, seededRandom } from "./random.js";
import {
  defaultEffectSize,
  defaultScoringConfig,
  type MetricInput,
  type MetricJudgeConfig,
} from "./types.js";

const rand = seededRandom(7);
const series = (n: number, median: number, sigma = 0.1) =>
  Array.from({ length: n }, () => logNormal(rand, median, sigma));

function metric(name: string, over: Partial<MetricJudgeConfig> = {}): MetricJudgeConfig {
  return {
    name,
    group: "latency",
    direction: "increase",
    nanStrategy: "remove",
    effectSize: defaultEffectSize(),
    critical: false,
    mustHaveData: false,
    muted: false,
    unit: "ms",
    ...over,
  };
}

const input = (config: MetricJudgeConfig, baseline: number[], canary: number[]): MetricInput => ({
  config,
  baseline,
  canary,
});
const scoring = defaultScoringConfig();

describe("classification", () => {
  it("a 30% slower canary is High and says so in words", () => {
    const b = series(60, 135);
    const r = classifyMetric(
      input(
        metric("p95 latency of GET /checkout"),
        b,
        b.map((v) => v * 1.31),
      ),
      0.98,
    );
    expect(r.classification).toBe("High");
    expect(r.observed).toBe("higher");
    expect(r.explanation).toMatch(
      /^p95 latency of GET \/checkout was 31% higher in the canary \(median shift \+\d+(\.\d)? ms, 98% CI \+[\d.]+ ms\.\.\+[\d.]+ ms, p < 0\.001\): High; direction 'increase' is bad$/,
    );
    expect(r.shift!.lower).toBeGreaterThan(0);
  });

  it("a faster canary is Low with direction either, Pass with direction increase", () => {
    const b = series(40, 100);
    const c = b.map((v) => v * 0.7);
    const either = classifyMetric(input(metric("latency", { direction: "either" }), b, c), 0.98);
    expect(either.classification).toBe("Low");
    const increase = classifyMetric(input(metric("latency", { direction: "increase" }), b, c), 0.98);
    expect(increase.classification).toBe("Pass");
    expect(increase.observed).toBe("lower");
    expect(increase.explanation).toContain("only fails on an increase");
  });

  it("identical samples pass; noise alone passes", () => {
    const b = series(30, 50);
    expect(classifyMetric(input(metric("m"), b, [...b].reverse()), 0.98).observed).toBe("same");
    expect(classifyMetric(input(metric("m"), series(30, 50), series(30, 50)), 0.98).classification).toBe(
      "Pass",
    );
  });

  it("Nodata, NodataFailMetric, Error", () => {
    expect(classifyMetric(input(metric("m"), [1, 2], []), 0.98).classification).toBe("Nodata");
    const must = classifyMetric(input(metric("m", { mustHaveData: true }), [], [1]), 0.98);
    expect(must.classification).toBe("NodataFailMetric");
    expect(must.explanation).toBe(
      "m had no data in the baseline: NodataFailMetric; this metric must have data, so it counts as a failure",
    );
    const err = classifyMetric(
      { config: metric("m"), baseline: [], canary: [], error: "query timed out" },
      0.98,
    );
    expect(err.explanation).toBe("m could not be judged: query timed out: Error");
  });

  it("NaN strategy: remove drops, replace substitutes", () => {
    const b = [1, 2, Number.NaN, 3];
    expect(classifyMetric(input(metric("m"), b, [Number.NaN]), 0.98).classification).toBe("Nodata");
    const r = classifyMetric(
      input(metric("m", { nanStrategy: "replace", nanReplacement: 0 }), b, [Number.NaN]),
      0.98,
    );
    expect(r.baseline.count).toBe(4);
    expect(r.canary.count).toBe(1);
  });

  it("IQR outliers are removed with the factor", () => {
    expect(removeOutliers([1, 2, 3, 4, 5, 100], 1.5)).toEqual([1, 2, 3, 4, 5]);
    expect(removeOutliers([1, 2, 3, 4, 5, 100], 100)).toHaveLength(6);
    const b = series(30, 100);
    const c = [...b.slice(1), 1e6];
    const kept = classifyMetric(input(metric("m", { outliers: { factor: 3 } }), b, c), 0.98);
    expect(kept.canary.removed).toBe(1);
  });

  it("allowed and critical increase on the mean ratio; CLES as the measure", () => {
    const b = series(40, 100, 0.05);
    const c = b.map((v) => v * 1.05);
    const allowed = { ...defaultEffectSize(), allowedIncrease: 1.1 };
    expect(classifyMetric(input(metric("m", { effectSize: allowed }), b, c), 0.98).classification).toBe(
      "Pass",
    );
    const critical = { ...defaultEffectSize(), criticalIncrease: 1.04 };
    expect(classifyMetric(input(metric("m", { effectSize: critical }), b, c), 0.98).criticalFailure).toBe(
      true,
    );
    const cles = classifyMetric(
      input(
        metric("m", { effectSize: defaultEffectSize("cles") }),
        b,
        c.map((v) => v * 2),
      ),
      0.98,
    );
    expect(cles.effectSize).toEqual({ measure: "cles", value: 1 });
    expect(cles.classification).toBe("High");
  });
});

describe("scoring", () => {
  const b = series(30, 100);
  const slow = b.map((v) => v * 1.5);

  it("group score is 100 × Pass / (Pass + High + Low + NodataFailMetric), overall the weighted sum", () => {
    const r = judge(
      [
        input(metric("a", { group: "latency" }), b, slow),
        input(metric("b", { group: "latency" }), b, b),
        input(metric("c", { group: "errors" }), b, b),
        input(metric("d", { group: "errors", muted: true }), b, slow),
      ],
      { ...scoring, groupWeights: { latency: 3, errors: 1 } },
    );
    expect(r.groups.find((g) => g.name === "latency")).toMatchObject({ score: 50, weight: 75 });
    expect(r.groups.find((g) => g.name === "errors")).toMatchObject({ score: 100, weight: 25 });
    expect(r.score).toBe(62.5);
    expect(r.verdict).toBe("FAIL");
    expect(r.results.find((x) => x.name === "d")!.classification).toBe("High");
  });

  it("a failing critical metric, a critical effect or half the metrics without data force 0", () => {
    const crit = judge(
      [input(metric("a", { critical: true }), b, slow), input(metric("b"), b, b), input(metric("c"), b, b)],
      scoring,
    );
    expect(crit.score).toBe(0);
    expect(crit.reasons[0]).toBe("critical metric a is High");
    const half = judge([input(metric("a"), b, []), input(metric("b"), b, b)], scoring);
    expect(half.score).toBe(0);
    expect(half.reasons[0]).toBe("1 of 2 metrics had no data");
    const fine = judge(
      [input(metric("a"), b, []), input(metric("b"), b, b), input(metric("c"), b, b)],
      scoring,
    );
    expect(fine.score).toBe(100);
  });

  it("verdict thresholds", () => {
    expect(verdictOf(95, scoring)).toBe("PASS");
    expect(verdictOf(94.9, scoring)).toBe("MARGINAL");
    expect(verdictOf(75, scoring)).toBe("MARGINAL");
    expect(verdictOf(74.9, scoring)).toBe("FAIL");
  });
});
