import { z } from "zod";
import type { MetricJudgeConfig, ScoringConfig } from "../../core/canary/index.js";
import { invalidInput } from "../../core/errors.js";
import { validateMetricSql } from "./custom-sql.js";

/**
 * A canary config: which metrics to extract from spans and how the judge treats each, plus the
 * scoring. Stored as JSON and versioned (query/canary/store.ts). Shaped after Kayenta's
 * CanaryConfig: `metrics[]` with `groups`, `analysisConfigurations.canary` (direction, nanStrategy,
 * outliers, effectSize, critical, mustHaveData), and `classifier.groupWeights`.
 */

const builtinQuery = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("latency"),
      /** Per-interval quantile of SERVER span duration, in ms. */
      quantile: z.number().gt(0).lt(1).default(0.95),
      operation: z.string().optional(),
    })
    .strict(),
  z.object({ type: z.literal("errorRatio"), operation: z.string().optional() }).strict(),
  z.object({ type: z.literal("requestRate"), operation: z.string().optional() }).strict(),
  z
    .object({
      type: z.literal("sql"),
      /**
       * One SELECT returning `t` (interval start: DateTime or Unix seconds) and `value` (number), and
       * optionally `zone`. Bound parameters: {tenant:String} {service:String} {from:DateTime64(9)}
       * {to:DateTime64(9)} {step:UInt32} {selectorKey:String} {selectorValues:Array(String)}
       * {zoneKey:String}. Runs once per side, read-only, with time and row limits.
       */
      sql: z.string().min(1).max(20_000),
    })
    .strict(),
]);

const metricSchema = z
  .object({
    name: z.string().min(1).max(200),
    query: builtinQuery,
    groups: z.array(z.string().min(1)).min(1).max(1).default(["default"]),
    analysisConfigurations: z
      .object({
        canary: z
          .object({
            direction: z.enum(["increase", "decrease", "either"]).default("either"),
            nanStrategy: z.enum(["remove", "replace"]).default("remove"),
            nanReplacement: z.number().optional(),
            outliers: z
              .object({
                strategy: z.enum(["remove", "keep"]).default("keep"),
                outlierFactor: z.number().positive().default(3),
              })
              .strict()
              .optional(),
            effectSize: z
              .object({
                measure: z.enum(["meanRatio", "cles"]).default("meanRatio"),
                allowedIncrease: z.number().optional(),
                allowedDecrease: z.number().optional(),
                criticalIncrease: z.number().optional(),
                criticalDecrease: z.number().optional(),
              })
              .strict()
              .default({}),
            critical: z.boolean().default(false),
            mustHaveData: z.boolean().default(false),
            muted: z.boolean().default(false),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
  })
  .strict();

export const canaryConfigSchema = z
  .object({
    name: z.string().min(1).max(200).default("default"),
    description: z.string().max(2000).default(""),
    /** Compare per zone as well as overall, grouping by this resource attribute ("" = overall only). */
    zoneKey: z.string().max(200).default("cloud.availability_zone"),
    /** Interval of the per-interval samples, seconds. */
    stepSeconds: z.number().int().min(1).max(86_400).default(60),
    /**
     * auto: the service map's per-minute rollup when it fits (whole minutes, selectors by
     * service.version or service.instance.id, quantiles 0.5/0.9/0.95/0.99; DDSketch, 1% relative
     * accuracy), else spans. spans: always raw spans (exact quantiles, any selector, any step).
     */
    source: z.enum(["auto", "spans"]).default("auto"),
    metrics: z.array(metricSchema).min(1).max(100),
    classifier: z
      .object({
        groupWeights: z.record(z.string(), z.number().nonnegative()).default({}),
        confidenceLevel: z.number().gt(0.5).lt(1).default(0.98),
        scoreThresholds: z
          .object({ pass: z.number().default(95), marginal: z.number().default(75) })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
  })
  .strict();

export type CanaryConfig = z.infer<typeof canaryConfigSchema>;
export type CanaryConfigInput = z.input<typeof canaryConfigSchema>;
export type CanaryMetricConfig = CanaryConfig["metrics"][number];
export type MetricQuery = CanaryMetricConfig["query"];

/** Validates user input into a config, or throws invalid_input naming the first bad key. */
export function parseCanaryConfig(input: unknown): CanaryConfig {
  const r = canaryConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw invalidInput(
      "CANARY_CONFIG_INVALID",
      `canary config ${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
  }
  for (const m of r.data.metrics) if (m.query.type === "sql") validateMetricSql(m.query.sql);
  return r.data;
}

/**
 * The default config: latency p50 and p95 (direction increase), error ratio (increase) and request
 * rate per instance (either), in three equally weighted groups, 60 s intervals, per zone.
 */
export function defaultCanaryConfig(): CanaryConfig {
  return parseCanaryConfig({
    name: "skald-default",
    description: "Latency, errors and traffic of SERVER spans, compared per interval",
    metrics: [
      {
        name: "p50 latency",
        query: { type: "latency", quantile: 0.5 },
        groups: ["latency"],
        analysisConfigurations: { canary: { direction: "increase" } },
      },
      {
        name: "p95 latency",
        query: { type: "latency", quantile: 0.95 },
        groups: ["latency"],
        analysisConfigurations: { canary: { direction: "increase" } },
      },
      {
        name: "error ratio",
        query: { type: "errorRatio" },
        groups: ["errors"],
        analysisConfigurations: { canary: { direction: "increase" } },
      },
      {
        name: "request rate per instance",
        query: { type: "requestRate" },
        groups: ["traffic"],
        analysisConfigurations: { canary: { direction: "either" } },
      },
    ],
  });
}

/** The judge's view of a metric config (defaults for the effect size filled in). */
export function judgeConfigOf(m: CanaryMetricConfig): MetricJudgeConfig {
  const a = m.analysisConfigurations.canary;
  const neutral = a.effectSize.measure === "meanRatio" ? 1 : 0.5;
  const unit =
    m.query.type === "latency"
      ? "ms"
      : m.query.type === "errorRatio"
        ? "%"
        : m.query.type === "requestRate"
          ? "req/s"
          : "";
  return {
    name: m.name,
    group: m.groups[0],
    direction: a.direction,
    nanStrategy: a.nanStrategy,
    nanReplacement: a.nanReplacement,
    outliers: a.outliers?.strategy === "remove" ? { factor: a.outliers.outlierFactor } : undefined,
    effectSize: {
      measure: a.effectSize.measure,
      allowedIncrease: a.effectSize.allowedIncrease ?? neutral,
      allowedDecrease: a.effectSize.allowedDecrease ?? neutral,
      criticalIncrease: a.effectSize.criticalIncrease,
      criticalDecrease: a.effectSize.criticalDecrease,
    },
    critical: a.critical,
    mustHaveData: a.mustHaveData,
    muted: a.muted,
    unit,
  };
}

export function scoringOf(c: CanaryConfig): ScoringConfig {
  return {
    confidenceLevel: c.classifier.confidenceLevel,
    groupWeights: c.classifier.groupWeights,
    passThreshold: c.classifier.scoreThresholds.pass,
    marginalThreshold: c.classifier.scoreThresholds.marginal,
  };
}
