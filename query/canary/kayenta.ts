import type { FastifyInstance, FastifyRequest } from "fastify";
import type { MetricResult } from "../../core/canary/index.js";
import { httpStatusOf, retryAfterSeconds } from "../../core/error-mapping.js";
import { asSkaldError, invalidInput } from "../../core/errors.js";
import { principalOf } from "../auth.js";
import { parseRfc3339Nanos } from "../time.js";
import type { AnalysisResult } from "./analysis.js";
import { type CanaryConfig, parseCanaryConfig } from "./config.js";
import type { CanaryService, RunRequest } from "./service.js";
import type { StoredRun } from "./store.js";

/**
 * Kayenta-shaped REST under /kayenta, for deployment tools (Argo Rollouts' Kayenta provider,
 * Spinnaker-style scripts): base URL http://<skald>:8080/kayenta.
 *   POST /canaryConfig                 body: a Skald canary config → { canaryConfigId }
 *   PUT  /canaryConfig/:id             new version → { canaryConfigId }
 *   GET  /canaryConfig/:id             the latest version (with id and version)
 *   GET  /canaryConfig                 [{ id, name, version, updatedTimestamp }]
 *   POST /canary/:configId             body: CanaryExecutionRequest → { canaryExecutionId }
 *   POST /canary                       body: { canaryConfig, executionRequest } → { canaryExecutionId }
 *   GET  /canary/:executionId          CanaryExecutionStatusResponse; poll until complete
 * Every request is scoped to the tenant header, like every other edge.
 */

interface Scope {
  scope?: string;
  location?: string;
  start?: string;
  end?: string;
  step?: number;
  extendedScopeParams?: Record<string, string>;
}
interface ExecutionRequest {
  scopes?: Record<string, { controlScope?: Scope; experimentScope?: Scope }>;
  thresholds?: { pass?: number; marginal?: number };
}

export async function registerKayentaRoutes(app: FastifyInstance, service: CanaryService): Promise<void> {
  await app.register(
    async (k) => {
      k.setErrorHandler((err, _req, reply) => {
        const e =
          (err as { statusCode?: number }).statusCode === 400
            ? invalidInput("BAD_REQUEST", (err as Error).message)
            : asSkaldError(err);
        const retry = retryAfterSeconds(e);
        if (retry !== undefined) reply.header("retry-after", String(retry));
        reply.status(httpStatusOf(e)).send({ error: e.code, message: e.message });
      });
      const tenant = (req: FastifyRequest) => principalOf(req).tenant;

      k.post("/canaryConfig", async (req) => ({
        canaryConfigId: (await service.repo.saveConfig(tenant(req), req.body)).id,
      }));
      k.put<{ Params: { id: string } }>("/canaryConfig/:id", async (req) => ({
        canaryConfigId: (await service.repo.saveConfig(tenant(req), req.body, req.params.id)).id,
      }));
      k.get<{ Params: { id: string } }>("/canaryConfig/:id", async (req) => {
        const c = await service.repo.getConfig(tenant(req), req.params.id);
        return { ...c.config, id: c.id, version: c.version };
      });
      k.get("/canaryConfig", async (req) =>
        (await service.repo.listConfigs(tenant(req))).map((c) => ({
          id: c.id,
          name: c.name,
          version: c.version,
          updatedTimestamp: c.createdAt,
          updatedTimestampIso: new Date(c.createdAt).toISOString(),
        })),
      );
      k.post<{ Params: { configId: string }; Querystring: Record<string, string> }>(
        "/canary/:configId",
        async (req, reply) => {
          const t = tenant(req);
          const stored = await service.repo.getConfig(t, req.params.configId);
          const run = toRunRequest(req.body as ExecutionRequest, req.query, stored.config);
          const id = await service.start(t, {
            ...run,
            configId: stored.id,
            configVersion: stored.version,
            config: run.config,
          });
          return reply.status(200).send({ canaryExecutionId: id });
        },
      );
      k.post<{ Querystring: Record<string, string> }>("/canary", async (req) => {
        const body = (req.body ?? {}) as { canaryConfig?: unknown; executionRequest?: ExecutionRequest };
        const cfg = parseCanaryConfig(body.canaryConfig);
        const run = toRunRequest(body.executionRequest ?? {}, req.query, cfg);
        return { canaryExecutionId: await service.start(tenant(req), run) };
      });
      k.get<{ Params: { id: string } }>("/canary/:id", async (req) =>
        statusResponse(await service.repo.getRun(tenant(req), req.params.id)),
      );
    },
    { prefix: "/kayenta" },
  );
}

/** Maps Kayenta's scopes onto a run: scope values → selector values, extendedScopeParams.selector → key. */
function toRunRequest(
  body: ExecutionRequest,
  query: Record<string, string>,
  config: CanaryConfig,
): RunRequest {
  const scopes = body?.scopes ?? {};
  const pair = scopes.default ?? Object.values(scopes)[0];
  const control = pair?.controlScope;
  const experiment = pair?.experimentScope;
  if (!control?.scope || !experiment?.scope) {
    throw invalidInput(
      "CANARY_BAD_REQUEST",
      "executionRequest.scopes.default needs controlScope.scope and experimentScope.scope",
    );
  }
  const params = { ...control.extendedScopeParams, ...experiment.extendedScopeParams };
  const svc = params.service ?? query.application;
  if (!svc)
    throw invalidInput(
      "CANARY_BAD_REQUEST",
      "name the service in extendedScopeParams.service or ?application=",
    );
  const time = (text: string | undefined, what: string) => {
    if (!text) throw invalidInput("CANARY_BAD_REQUEST", `controlScope.${what} is required (RFC 3339)`);
    return parseRfc3339Nanos(text);
  };
  const selector = (s: Scope) => ({
    key: s.extendedScopeParams?.selector ?? params.selector ?? "service.version",
    values: String(s.scope)
      .split(",")
      .map((v) => v.trim())
      .filter(Boolean),
  });
  const step = control.step ?? experiment.step;
  const tuned: CanaryConfig = {
    ...config,
    stepSeconds: step && step > 0 ? Math.round(step) : config.stepSeconds,
    classifier: {
      ...config.classifier,
      scoreThresholds: {
        pass: body.thresholds?.pass ?? config.classifier.scoreThresholds.pass,
        marginal: body.thresholds?.marginal ?? config.classifier.scoreThresholds.marginal,
      },
    },
  };
  return {
    service: svc,
    baseline: selector(control),
    canary: selector(experiment),
    fromNs: time(control.start ?? experiment.start, "start"),
    toNs: time(control.end ?? experiment.end, "end"),
    config: parseCanaryConfig(tuned),
  };
}

const kayentaClass = (verdict: string) =>
  verdict === "PASS" ? "Pass" : verdict === "MARGINAL" ? "Marginal" : "Fail";

function metricResult(r: MetricResult) {
  return {
    name: r.name,
    classification: r.classification,
    classificationReason: r.explanation,
    groups: [r.group],
    critical: r.critical,
    muted: r.muted,
    experimentMetadata: { stats: r.canary },
    controlMetadata: { stats: r.baseline },
    resultMetadata: {
      pValue: r.pValue,
      method: r.method,
      shift: r.shift,
      effectSize: r.effectSize,
      ratio: r.effectSize?.measure === "meanRatio" ? r.effectSize.value : undefined,
      direction: r.direction,
      observed: r.observed,
    },
  };
}

/** CanaryExecutionStatusResponse: complete, status, and result.judgeResult.score.score. */
function statusResponse(run: StoredRun) {
  const result = run.result as AnalysisResult | null;
  const complete = run.status !== "running";
  const base = {
    id: run.id,
    complete,
    status: run.status === "failed" ? "terminal" : run.status,
    executionStatus:
      run.status === "running" ? "RUNNING" : run.status === "succeeded" ? "SUCCEEDED" : "TERMINAL",
    canaryConfigId: run.configId || undefined,
    startTimeMillis: run.createdAtMs,
    startTimeIso: new Date(run.createdAtMs).toISOString(),
    endTimeMillis: complete ? run.updatedAtMs : undefined,
    endTimeIso: complete ? new Date(run.updatedAtMs).toISOString() : undefined,
  };
  if (run.status === "failed") return { ...base, exception: { details: { error: run.error } } };
  if (!result) return base;
  return {
    ...base,
    result: {
      judgeResult: {
        judgeName: "SkaldMannWhitneyJudge-v1",
        score: {
          score: result.score,
          classification: kayentaClass(result.verdict),
          classificationReason: result.reasons.join("; "),
        },
        results: result.overall.results.map(metricResult),
        groupScores: result.overall.groups.map((g) => ({
          name: g.name,
          score: g.score ?? 0,
          classification: "",
          classificationReason: "",
        })),
        zones: result.zones.map((z) => ({
          zone: z.zone,
          score: z.result.score,
          classification: kayentaClass(z.result.verdict),
        })),
      },
      canaryDuration: `PT${Math.max(0, (run.updatedAtMs - run.createdAtMs) / 1000).toFixed(3)}S`,
    },
  };
}
