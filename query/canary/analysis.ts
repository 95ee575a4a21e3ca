import { type JudgeResult, judge, type MetricInput, type Verdict } from "../../core/canary/index.js";
import { judgeConfigOf, scoringOf } from "./config.js";
import { type ExtractDeps, extractMetrics, OVERALL, type Point, type RunSpec } from "./extract.js";

/**
 * A canary analysis: metrics extracted from spans, judged overall (all zones together) and per
 * zone. The run's score and verdict are the overall judgement's; zone judgements show where a
 * problem is (one bad zone among three shows as that zone's FAIL).
 */
export interface AnalysisResult {
  score: number;
  verdict: Verdict;
  reasons: string[];
  overall: JudgeResult;
  zones: Array<{ zone: string; result: JudgeResult }>;
  /** Per metric and zone (null = overall): baseline and canary series for the signature view. */
  signatures: Array<{ metric: string; zone: string | null; baseline: Point[]; canary: Point[] }>;
}

export async function analyse(deps: ExtractDeps, spec: RunSpec): Promise<AnalysisResult> {
  const extracted = await extractMetrics(deps, spec);
  const scoring = scoringOf(spec.config);
  const zoneNames = new Set<string>();
  for (const e of extracted) for (const z of e.zones.keys()) if (z !== OVERALL) zoneNames.add(z);
  const inputsFor = (zone: string): MetricInput[] =>
    extracted.map((e) => {
      const s = e.zones.get(zone);
      return {
        config: judgeConfigOf(e.metric),
        baseline: s?.baseline.map((p) => p.value) ?? [],
        canary: s?.canary.map((p) => p.value) ?? [],
        error: e.error,
      };
    });
  const overall = judge(inputsFor(OVERALL), scoring);
  const zones = [...zoneNames].sort().map((zone) => ({ zone, result: judge(inputsFor(zone), scoring) }));
  const signatures = extracted.flatMap((e) =>
    [...e.zones].map(([zone, s]) => ({
      metric: e.metric.name,
      zone: zone === OVERALL ? null : zone,
      baseline: s.baseline,
      canary: s.canary,
    })),
  );
  return {
    score: overall.score,
    verdict: overall.verdict,
    reasons: overall.reasons,
    overall,
    zones,
    signatures,
  };
}
