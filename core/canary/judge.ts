import { classifyMetric } from "./classify.js";
import type {
  Classification,
  GroupScore,
  JudgeResult,
  MetricInput,
  MetricResult,
  ScoringConfig,
  Verdict,
} from "./types.js";

const CLASSES: Classification[] = ["Pass", "High", "Low", "Nodata", "NodataFailMetric", "Error"];

/**
 * Judges a run: classifies every metric, scores each group as
 *   100 × Pass / (Pass + High + Low + NodataFailMetric)   (muted metrics, Nodata and Error excluded),
 * and the run as the weighted sum of the group scores (weights normalised over the groups that
 * have something scored). The score is forced to 0 when a critical metric is High, Low, without
 * data or in error, when a metric crosses its critical effect size, or when at least half of the
 * unmuted metrics have no data (Nodata, NodataFailMetric or Error). Verdict by thresholds.
 * Pure; the same input gives the same output.
 */
export function judge(metrics: MetricInput[], scoring: ScoringConfig): JudgeResult {
  const results = metrics.map((m) => classifyMetric(m, scoring.confidenceLevel));
  const groups = scoreGroups(results, scoring);
  const reasons: string[] = [];
  let total = 0;
  let weights = 0;
  for (const g of groups) {
    if (g.score === null) continue;
    total += g.weight * g.score;
    weights += g.weight;
  }
  let score = weights > 0 ? total / weights : 0;

  const scored = results.filter((r) => !r.muted);
  for (const r of scored) {
    if (r.critical && r.classification !== "Pass") {
      reasons.push(`critical metric ${r.name} is ${r.classification}`);
    }
    if (r.criticalFailure) reasons.push(`${r.name} crossed its critical effect size`);
  }
  const noData = scored.filter(
    (r) =>
      r.classification === "Nodata" ||
      r.classification === "NodataFailMetric" ||
      r.classification === "Error",
  );
  if (scored.length > 0 && noData.length * 2 >= scored.length) {
    reasons.push(`${noData.length} of ${scored.length} metrics had no data`);
  }
  if (weights === 0 && reasons.length === 0) reasons.push("no metric could be scored");
  if (reasons.length > 0) score = 0;
  score = Math.round(score * 100) / 100;
  const verdict = verdictOf(score, scoring);
  for (const r of scored)
    if (r.classification !== "Pass" && r.classification !== "Nodata") reasons.push(r.explanation);
  if (reasons.length === 0) reasons.push(`every scored metric passed`);
  return { score, verdict, groups, results, reasons };
}

export function verdictOf(score: number, scoring: ScoringConfig): Verdict {
  if (score >= scoring.passThreshold) return "PASS";
  if (score >= scoring.marginalThreshold) return "MARGINAL";
  return "FAIL";
}

function scoreGroups(results: MetricResult[], scoring: ScoringConfig): GroupScore[] {
  const byGroup = new Map<string, MetricResult[]>();
  for (const r of results) byGroup.set(r.group, [...(byGroup.get(r.group) ?? []), r]);
  const out: GroupScore[] = [];
  for (const [name, rs] of byGroup) {
    const counts = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<Classification, number>;
    for (const r of rs) if (!r.muted) counts[r.classification]++;
    const denominator = counts.Pass + counts.High + counts.Low + counts.NodataFailMetric;
    out.push({
      name,
      score: denominator > 0 ? (100 * counts.Pass) / denominator : null,
      weight: scoring.groupWeights[name] ?? 1,
      counts,
    });
  }
  // Weights normalised to sum to 100 over the groups that have a score (Kayenta's convention).
  const sum = out.reduce((s, g) => s + (g.score === null ? 0 : g.weight), 0);
  for (const g of out) g.weight = sum > 0 && g.score !== null ? (100 * g.weight) / sum : 0;
  return out;
}
