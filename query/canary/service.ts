import { randomUUID } from "node:crypto";
import { invalidInput } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import type { Store } from "../../core/store/store.js";
import { createSqlRunner, type QueryObserver } from "../sql.js";
import { type AnalysisResult, analyse } from "./analysis.js";
import { type CanaryConfig, defaultCanaryConfig } from "./config.js";
import type { Selector } from "./extract.js";
import { CanaryRepository, type StoredRun } from "./store.js";

/** What a caller asks for: who is compared, over which window, under which config. */
export interface RunRequest {
  service: string;
  baseline: Selector;
  canary: Selector;
  fromNs: bigint;
  toNs: bigint;
  /** A stored config (latest version unless given), or an inline config, or the default. */
  configId?: string;
  configVersion?: number;
  config?: CanaryConfig;
}

/** The longest window a run may cover (the per-interval samples stay meaningful and bounded). */
const MAX_WINDOW_NS = 7n * 24n * 3600n * 1_000_000_000n;

/**
 * Runs analyses and keeps them. `analyseAndSave` answers when the run is judged; `start` returns
 * the run id at once and judges in the background (Kayenta's POST-then-poll flow). `close` waits
 * for background runs; it is safe to call twice.
 */
export class CanaryService {
  readonly repo: CanaryRepository;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly deps;

  constructor(
    store: Store,
    private readonly logger: Logger,
    observe?: QueryObserver,
  ) {
    const sql = createSqlRunner(store, logger, observe);
    this.repo = new CanaryRepository(store, sql);
    this.deps = { store, sql, limits: { maxExecutionSeconds: 30, maxResultRows: 100_000 } };
  }

  async analyseAndSave(tenant: string, req: RunRequest): Promise<StoredRun> {
    const run = await this.begin(tenant, req);
    return this.finish(tenant, run.run, run.config);
  }

  async start(tenant: string, req: RunRequest): Promise<string> {
    const { run, config } = await this.begin(tenant, req);
    const p = this.finish(tenant, run, config).catch((err) =>
      this.logger.error({ err, run: run.id }, "canary run failed"),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return run.id;
  }

  async close(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async begin(tenant: string, req: RunRequest): Promise<{ run: StoredRun; config: CanaryConfig }> {
    validate(req);
    let config = req.config ?? defaultCanaryConfig();
    let configId = "";
    let configVersion = 0;
    if (req.configId) {
      const stored = await this.repo.getConfig(tenant, req.configId, req.configVersion);
      config = stored.config;
      configId = stored.id;
      configVersion = stored.version;
    }
    const now = Date.now();
    const run: StoredRun = {
      id: randomUUID(),
      status: "running",
      service: req.service,
      configId,
      configVersion,
      fromNs: req.fromNs,
      toNs: req.toNs,
      score: 0,
      verdict: "",
      request: {
        ...req,
        fromNs: String(req.fromNs),
        toNs: String(req.toNs),
        config: req.configId ? undefined : config,
      },
      result: null,
      error: "",
      createdAtMs: now,
      updatedAtMs: now,
    };
    await this.repo.writeRun(tenant, run);
    return { run, config };
  }

  private async finish(tenant: string, run: StoredRun, config: CanaryConfig): Promise<StoredRun> {
    let done: StoredRun;
    let failure: unknown;
    try {
      const result: AnalysisResult = await analyse(this.deps, {
        tenant,
        service: run.service,
        baseline: (run.request as RunRequest).baseline,
        canary: (run.request as RunRequest).canary,
        fromNs: run.fromNs,
        toNs: run.toNs,
        config,
      });
      done = { ...run, status: "succeeded", score: result.score, verdict: result.verdict, result };
    } catch (err) {
      failure = err;
      done = { ...run, status: "failed", error: err instanceof Error ? err.message : String(err) };
    }
    done.updatedAtMs = Math.max(Date.now(), run.updatedAtMs + 0.001);
    await this.repo.writeRun(tenant, done);
    if (done.status === "failed") throw failure;
    return done;
  }
}

function validate(req: RunRequest): void {
  if (!req.service) throw invalidInput("CANARY_BAD_REQUEST", "service is required");
  for (const side of ["baseline", "canary"] as const) {
    const s = req[side];
    if (!s?.key || !Array.isArray(s.values) || s.values.length === 0) {
      throw invalidInput(
        "CANARY_BAD_REQUEST",
        `${side} selector needs a resource attribute key and at least one value`,
      );
    }
  }
  if (req.toNs <= req.fromNs) throw invalidInput("CANARY_BAD_REQUEST", "the window must end after it starts");
  if (req.toNs - req.fromNs > MAX_WINDOW_NS)
    throw invalidInput("CANARY_BAD_REQUEST", "the window may span at most 7 days");
}
