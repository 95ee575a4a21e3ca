import { explain } from "./explain.js";
import { hodgesLehmann } from "./hodges-lehmann.js";
import { mannWhitneyU, rankPooled } from "./mann-whitney.js";
import { applyNanStrategy, describe, removeOutliers } from "./preprocess.js";
import type { MetricInput, MetricResult } from "./types.js";

/**
 * Classifies one metric, canary against baseline:
 *   1. Error if it could not be fetched; NaN strategy; Nodata (or NodataFailMetric when the metric
 *      must have data) if either side is empty; optional IQR outlier removal.
 *   2. Identical samples pass. Otherwise a two-sided Mann-Whitney U test: a change is significant
 *      when p < 1 − confidenceLevel; its sign is the sign of the Hodges-Lehmann shift (or of the
 *      mean difference when the shift is 0, e.g. mostly-zero error ratios).
 *   3. A significant increase is High when the direction makes increases bad and the effect size
 *      exceeds allowedIncrease; a significant decrease is Low likewise. Crossing the critical
 *      effect size marks a critical failure (the run scores 0).
 * Pure; never throws for bad data (it classifies as Error instead).
 */
export function classifyMetric(input: MetricInput, confidenceLevel: number): MetricResult {
  const cfg = input.config;
  const base: Omit<MetricResult, "classification" | "explanation" | "baseline" | "canary"> = {
    name: cfg.name,
    group: cfg.group,
    observed: "unknown",
    direction: cfg.direction,
    critical: cfg.critical,
    muted: cfg.muted,
    criticalFailure: false,
    pValue: null,
    method: null,
    u: null,
    shift: null,
    effectSize: null,
  };
  if (input.error !== undefined) {
    const r: MetricResult = {
      ...base,
      classification: "Error",
      baseline: describe([], 0),
      canary: describe([], 0),
      explanation: "",
    };
    r.explanation = explain(r, cfg.unit, input.error);
    return r;
  }
  let b = applyNanStrategy(input.baseline, cfg.nanStrategy, cfg.nanReplacement ?? 0);
  let c = applyNanStrategy(input.canary, cfg.nanStrategy, cfg.nanReplacement ?? 0);
  if (cfg.outliers && b.length > 0 && c.length > 0) {
    b = removeOutliers(b, cfg.outliers.factor);
    c = removeOutliers(c, cfg.outliers.factor);
  }
  const r: MetricResult = {
    ...base,
    classification: "Pass",
    baseline: describe(b, input.baseline.length - b.length),
    canary: describe(c, input.canary.length - c.length),
    explanation: "",
  };
  if (b.length === 0 || c.length === 0) {
    r.classification = cfg.mustHaveData ? "NodataFailMetric" : "Nodata";
    r.explanation = explain(r, cfg.unit, "");
    return r;
  }
  try {
    judgeSamples(r, input, b, c, confidenceLevel);
  } catch (err) {
    r.classification = "Error";
    r.explanation = explain(r, cfg.unit, err instanceof Error ? err.message : String(err));
  }
  return r;
}

function judgeSamples(r: MetricResult, input: MetricInput, b: number[], c: number[], level: number): void {
  const cfg = input.config;
  const mw = mannWhitneyU(b, c);
  const ranked = rankPooled(b, c);
  const shift = hodgesLehmann(b, c, level, ranked);
  r.pValue = mw.pValue;
  r.method = mw.method;
  r.u = mw.u;
  r.shift = shift;
  const effect =
    cfg.effectSize.measure === "meanRatio"
      ? meanRatio(r.baseline.mean, r.canary.mean)
      : 1 - mw.u / (b.length * c.length); // U of the baseline counts baseline > canary pairs
  r.effectSize = { measure: cfg.effectSize.measure, value: effect };
  if (sameMultiset(b, c)) {
    r.observed = "same";
    r.explanation = explain(r, cfg.unit, "");
    return;
  }
  const significant = mw.pValue < 1 - level;
  const sign = shift.estimate !== 0 ? Math.sign(shift.estimate) : Math.sign(r.canary.mean - r.baseline.mean);
  if (!significant || sign === 0) {
    r.explanation = explain(r, cfg.unit, `not significant at ${level * 100}%`);
    return;
  }
  r.observed = sign > 0 ? "higher" : "lower";
  const es = cfg.effectSize;
  const label = es.measure === "meanRatio" ? "mean ratio" : "CLES";
  const fx = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : String(v));
  const badUp = cfg.direction !== "decrease";
  const badDown = cfg.direction !== "increase";
  let note: string;
  if (sign > 0 && !badUp) note = `direction '${cfg.direction}' only fails on a decrease`;
  else if (sign < 0 && !badDown) note = `direction '${cfg.direction}' only fails on an increase`;
  else if (sign > 0 && !(effect > es.allowedIncrease)) {
    note = `within the allowed increase (${label} ${fx(effect)} ≤ ${fx(es.allowedIncrease)})`;
  } else if (sign < 0 && !(effect < es.allowedDecrease)) {
    note = `within the allowed decrease (${label} ${fx(effect)} ≥ ${fx(es.allowedDecrease)})`;
  } else {
    r.classification = sign > 0 ? "High" : "Low";
    note = `direction '${cfg.direction}' is bad`;
    if (sign > 0 && es.criticalIncrease !== undefined && effect >= es.criticalIncrease) {
      r.criticalFailure = true;
      note += `; beyond the critical increase (${label} ${fx(effect)} ≥ ${fx(es.criticalIncrease)}): the run fails`;
    }
    if (sign < 0 && es.criticalDecrease !== undefined && effect <= es.criticalDecrease) {
      r.criticalFailure = true;
      note += `; beyond the critical decrease (${label} ${fx(effect)} ≤ ${fx(es.criticalDecrease)}): the run fails`;
    }
  }
  r.explanation = explain(r, cfg.unit, note);
}

/** mean(canary) / mean(baseline); a zero baseline gives Infinity for any rise, 1 for none. */
function meanRatio(baselineMean: number, canaryMean: number): number {
  if (baselineMean === 0) return canaryMean === 0 ? 1 : canaryMean > 0 ? Number.POSITIVE_INFINITY : 0;
  return canaryMean / baselineMean;
}

function sameMultiset(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
