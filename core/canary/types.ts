/**
 * The canary judge's vocabulary: how each metric is judged (MetricJudgeConfig), how the run is
 * scored (ScoringConfig), and what comes out (MetricResult, JudgeResult). Names follow Kayenta's
 * NetflixACAJudge where a concept is shared, so its users recognise them.
 */

/** Which change is bad: only an increase, only a decrease, or either. */
export type Direction = "increase" | "decrease" | "either";

export type Classification = "Pass" | "High" | "Low" | "Nodata" | "NodataFailMetric" | "Error";

export type Verdict = "PASS" | "MARGINAL" | "FAIL";

export interface EffectSizeConfig {
  /** meanRatio: mean(canary) / mean(baseline). cles: P(canary value > baseline value), ties half. */
  measure: "meanRatio" | "cles";
  /** A significant increase is High only when the effect exceeds this (meanRatio 1.0, cles 0.5). */
  allowedIncrease: number;
  /** A significant decrease is Low only when the effect is below this (meanRatio 1.0, cles 0.5). */
  allowedDecrease: number;
  /** High with an effect at or above this fails the whole run (score 0). */
  criticalIncrease?: number;
  /** Low with an effect at or below this fails the whole run (score 0). */
  criticalDecrease?: number;
}

export interface MetricJudgeConfig {
  name: string;
  /** Scoring group (Kayenta's metric group); groups are weighted in the overall score. */
  group: string;
  direction: Direction;
  /** remove: drop NaN values; replace: substitute nanReplacement (default 0). */
  nanStrategy: "remove" | "replace";
  nanReplacement?: number;
  /** IQR fences [Q1 − f·IQR, Q3 + f·IQR]; values outside are dropped before testing. */
  outliers?: { factor: number };
  effectSize: EffectSizeConfig;
  /** A critical metric that is High, Low, without data or in error forces the score to 0. */
  critical: boolean;
  /** No data on either side classifies as NodataFailMetric (counted as a failure) instead of Nodata. */
  mustHaveData: boolean;
  /** Reported but not scored. */
  muted: boolean;
  /** For explanations: "ms", "%" (values are ratios 0..1), "req/s", or "" */
  unit: string;
}

export interface ScoringConfig {
  /** Two-sided confidence level of the test and of the shift interval (default 0.98). */
  confidenceLevel: number;
  /** Relative weight per group; groups not listed weigh 1 each. Normalised to sum to 100. */
  groupWeights: Record<string, number>;
  /** Score at or above which the verdict is PASS (default 95) / MARGINAL (default 75). */
  passThreshold: number;
  marginalThreshold: number;
}

/** One metric's samples for the judge: one value per interval, baseline and canary. */
export interface MetricInput {
  config: MetricJudgeConfig;
  baseline: number[];
  canary: number[];
  /** Set when the metric could not be fetched; the metric classifies as Error. */
  error?: string;
}

export interface SampleStats {
  count: number;
  mean: number;
  median: number;
  min: number;
  max: number;
  /** Values dropped as NaN or outliers. */
  removed: number;
}

export interface MetricResult {
  name: string;
  group: string;
  classification: Classification;
  /** The direction actually observed when significant, even when it is not the bad one. */
  observed: "higher" | "lower" | "same" | "unknown";
  direction: Direction;
  critical: boolean;
  muted: boolean;
  /** The critical effect size was crossed: the run fails whatever the score. */
  criticalFailure: boolean;
  pValue: number | null;
  method: "exact" | "asymptotic" | null;
  u: number | null;
  /** Hodges-Lehmann shift canary − baseline and its confidence interval. */
  shift: { estimate: number; lower: number; upper: number; level: number } | null;
  effectSize: { measure: "meanRatio" | "cles"; value: number } | null;
  baseline: SampleStats;
  canary: SampleStats;
  /** One sentence a release engineer can act on. */
  explanation: string;
}

export interface GroupScore {
  name: string;
  /** 100 × Pass / (Pass + High + Low + NodataFailMetric), or null when nothing in it is scored. */
  score: number | null;
  weight: number;
  counts: Record<Classification, number>;
}

export interface JudgeResult {
  score: number;
  verdict: Verdict;
  groups: GroupScore[];
  results: MetricResult[];
  /** Why the score is what it is, most important first. */
  reasons: string[];
}

export function defaultScoringConfig(): ScoringConfig {
  return { confidenceLevel: 0.98, groupWeights: {}, passThreshold: 95, marginalThreshold: 75 };
}

export function defaultEffectSize(measure: "meanRatio" | "cles" = "meanRatio"): EffectSizeConfig {
  return measure === "meanRatio"
    ? { measure, allowedIncrease: 1, allowedDecrease: 1 }
    : { measure, allowedIncrease: 0.5, allowedDecrease: 0.5 };
}
