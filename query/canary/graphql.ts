import type { JudgeResult, MetricResult } from "../../core/canary/index.js";
import { invalidInput, SkaldError } from "../../core/errors.js";
import type { QueryContext } from "../graphql/resolvers.js";
import type { AnalysisResult } from "./analysis.js";
import { parseCanaryConfig } from "./config.js";
import type { Selector } from "./extract.js";
import type { CanaryService } from "./service.js";
import type { StoredConfig, StoredRun } from "./store.js";

/**
 * GraphQL for canary analysis. The contract the acceptance checks use is
 *   canaryAnalysis(service, baseline, canary, from, to) { score verdict }
 * with baseline/canary as service.version values and the default config; everything else here
 * (selectors, stored configs, runs, per-metric results, zones, signatures) is additive.
 */
export const CANARY_SDL = /* GraphQL */ `
enum CanaryVerdict { PASS MARGINAL FAIL }
enum CanaryClassification { Pass High Low Nodata NodataFailMetric Error }

"A set of instances by a resource attribute: service.version, service.instance.id, k8s.pod.name, …"
input CanarySelectorInput { key: String!, values: [String!]! }

extend type Query {
  """
  Judges \`canary\` against \`baseline\` (service.version values, unless the selectors are given)
  over [from, to) on SERVER spans of \`service\`, with a stored config (\`configId\`, latest version
  unless \`configVersion\`), an inline config (\`configJson\`), or the default config. The run is saved.
  """
  canaryAnalysis(
    service: String!, baseline: String!, canary: String!, from: DateTime!, to: DateTime!,
    baselineSelector: CanarySelectorInput, canarySelector: CanarySelectorInput,
    configId: ID, configVersion: Int, configJson: String
  ): CanaryRun!
  "A saved run by id, or null."
  canaryRun(id: ID!): CanaryRun
  "Saved runs, newest first (first: default 20, at most 200)."
  canaryRuns(service: String, first: Int): [CanaryRun!]!
  "A stored canary config (latest version unless \`version\`), or null."
  canaryConfig(id: ID!, version: Int): CanaryConfig
  "Latest version of every stored canary config."
  canaryConfigs: [CanaryConfig!]!
}

type Mutation {
  "Stores a canary config (JSON, see the README) as a new config, or as a new version of \`id\`."
  saveCanaryConfig(id: ID, json: String!): CanaryConfig!
}

type CanaryConfig { id: ID!, version: Int!, name: String!, json: String! }

type CanaryRun {
  id: ID!
  "running, succeeded or failed"
  status: String!
  service: String!
  from: DateTime!
  to: DateTime!
  configId: String
  configVersion: Int
  "Overall score 0..100 (0 while running or failed)."
  score: Float!
  "Null while running or when the run failed."
  verdict: CanaryVerdict
  "Why the score is what it is, most important first."
  reasons: [String!]!
  error: String
  "Overall (all zones together) per-metric results."
  metrics: [CanaryMetricResult!]!
  groups: [CanaryGroupScore!]!
  "The same judgement per zone."
  zones: [CanaryZoneResult!]!
  "Baseline and canary series per metric, overall (zone null) and per zone."
  signatures(metric: String): [CanarySignature!]!
}

type CanaryZoneResult { zone: String!, score: Float!, verdict: CanaryVerdict!, metrics: [CanaryMetricResult!]!, groups: [CanaryGroupScore!]! }
type CanaryGroupScore { name: String!, score: Float, weight: Float! }

type CanaryMetricResult {
  name: String!
  group: String!
  classification: CanaryClassification!
  "higher, lower, same or unknown (not significant)"
  observed: String!
  direction: String!
  critical: Boolean!
  muted: Boolean!
  criticalFailure: Boolean!
  pValue: Float
  "exact or asymptotic"
  method: String
  "Hodges-Lehmann shift canary − baseline and its confidence interval."
  shiftEstimate: Float
  shiftLower: Float
  shiftUpper: Float
  confidenceLevel: Float
  effectSizeMeasure: String
  "Null when infinite (a rise from a zero baseline)."
  effectSize: Float
  baseline: CanarySampleStats!
  canary: CanarySampleStats!
  explanation: String!
}

type CanarySampleStats { count: Int!, mean: Float, median: Float, min: Float, max: Float, removed: Int! }
type CanarySignature { metric: String!, zone: String, baseline: [CanaryPoint!]!, canary: [CanaryPoint!]! }
type CanaryPoint { "Interval start." time: DateTime!, value: Float }
`;

const finite = (v: number | null | undefined) => (typeof v === "number" && Number.isFinite(v) ? v : null);

function metricView(r: MetricResult) {
  return {
    ...r,
    pValue: finite(r.pValue),
    shiftEstimate: finite(r.shift?.estimate),
    shiftLower: finite(r.shift?.lower),
    shiftUpper: finite(r.shift?.upper),
    confidenceLevel: r.shift?.level ?? null,
    effectSizeMeasure: r.effectSize?.measure ?? null,
    effectSize: finite(r.effectSize?.value),
    baseline: {
      ...r.baseline,
      mean: finite(r.baseline.mean),
      median: finite(r.baseline.median),
      min: finite(r.baseline.min),
      max: finite(r.baseline.max),
    },
    canary: {
      ...r.canary,
      mean: finite(r.canary.mean),
      median: finite(r.canary.median),
      min: finite(r.canary.min),
      max: finite(r.canary.max),
    },
  };
}

const groupsView = (j: JudgeResult) =>
  j.groups.map((g) => ({ name: g.name, score: finite(g.score), weight: g.weight }));

function runView(run: StoredRun) {
  const result = run.result as AnalysisResult | null;
  return {
    id: run.id,
    status: run.status,
    service: run.service,
    from: run.fromNs,
    to: run.toNs,
    configId: run.configId || null,
    configVersion: run.configVersion || null,
    score: run.score,
    verdict: run.status === "succeeded" ? run.verdict : null,
    reasons: result?.reasons ?? (run.error ? [run.error] : []),
    error: run.error || null,
    metrics: (result?.overall.results ?? []).map(metricView),
    groups: result ? groupsView(result.overall) : [],
    zones: (result?.zones ?? []).map((z) => ({
      zone: z.zone,
      score: z.result.score,
      verdict: z.result.verdict,
      metrics: z.result.results.map(metricView),
      groups: groupsView(z.result),
    })),
    signatures: ({ metric }: { metric?: string | null }) =>
      (result?.signatures ?? [])
        .filter((s) => !metric || s.metric === metric)
        .map((s) => ({
          ...s,
          baseline: s.baseline.map((p) => ({ time: BigInt(p.t) * 1_000_000_000n, value: finite(p.value) })),
          canary: s.canary.map((p) => ({ time: BigInt(p.t) * 1_000_000_000n, value: finite(p.value) })),
        })),
  };
}

const configView = (c: StoredConfig) => ({
  id: c.id,
  version: c.version,
  name: c.name,
  json: JSON.stringify(c.config),
});

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidInput("CANARY_CONFIG_INVALID", `${what} is not valid JSON`);
  }
}

/** The value, or null when it does not exist (not_found); other errors propagate. */
async function orNull<T>(get: () => Promise<T>): Promise<T | null> {
  try {
    return await get();
  } catch (err) {
    if (err instanceof SkaldError && err.kind === "not_found") return null;
    throw err;
  }
}

interface AnalysisArgs {
  service: string;
  baseline: string;
  canary: string;
  from: bigint;
  to: bigint;
  baselineSelector?: Selector | null;
  canarySelector?: Selector | null;
  configId?: string | null;
  configVersion?: number | null;
  configJson?: string | null;
}

export function canaryResolvers(service: CanaryService) {
  return {
    Query: {
      async canaryAnalysis(_: unknown, a: AnalysisArgs, ctx: QueryContext) {
        const run = await service.analyseAndSave(ctx.tenant, {
          service: a.service,
          baseline: a.baselineSelector ?? { key: "service.version", values: [a.baseline] },
          canary: a.canarySelector ?? { key: "service.version", values: [a.canary] },
          fromNs: a.from,
          toNs: a.to,
          configId: a.configId ?? undefined,
          configVersion: a.configVersion ?? undefined,
          config: a.configJson ? parseCanaryConfig(parseJson(a.configJson, "configJson")) : undefined,
        });
        return runView(run);
      },
      async canaryRun(_: unknown, a: { id: string }, ctx: QueryContext) {
        return orNull(async () => runView(await service.repo.getRun(ctx.tenant, a.id)));
      },
      async canaryRuns(_: unknown, a: { service?: string | null; first?: number | null }, ctx: QueryContext) {
        const first = Math.min(Math.max(a.first ?? 20, 1), 200);
        return (await service.repo.listRuns(ctx.tenant, { service: a.service ?? undefined }, first)).map(
          runView,
        );
      },
      async canaryConfig(_: unknown, a: { id: string; version?: number | null }, ctx: QueryContext) {
        return orNull(async () =>
          configView(await service.repo.getConfig(ctx.tenant, a.id, a.version ?? undefined)),
        );
      },
      async canaryConfigs(_: unknown, __: unknown, ctx: QueryContext) {
        return (await service.repo.listConfigs(ctx.tenant)).map(configView);
      },
    },
    Mutation: {
      async saveCanaryConfig(_: unknown, a: { id?: string | null; json: string }, ctx: QueryContext) {
        return configView(
          await service.repo.saveConfig(ctx.tenant, parseJson(a.json, "json"), a.id ?? undefined),
        );
      },
    },
  };
}
