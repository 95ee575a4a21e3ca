import { randomUUID } from "node:crypto";
import { notFound } from "../../core/errors.js";
import type { Store } from "../../core/store/store.js";
import { Params, type SqlRunner } from "../sql.js";
import { type CanaryConfig, parseCanaryConfig } from "./config.js";

/**
 * Canary configs (every version kept) and runs (one status row per change, latest wins) in
 * ClickHouse, always under one tenant. Writes are INSERT … SELECT with bound parameters.
 */

export interface StoredConfig {
  id: string;
  version: number;
  name: string;
  config: CanaryConfig;
  createdAt: number;
}

export type RunStatus = "running" | "succeeded" | "failed";

export interface StoredRun {
  id: string;
  status: RunStatus;
  service: string;
  configId: string;
  configVersion: number;
  fromNs: bigint;
  toNs: bigint;
  score: number;
  verdict: string;
  request: unknown;
  result: unknown;
  error: string;
  createdAtMs: number;
  updatedAtMs: number;
}

export class CanaryRepository {
  constructor(
    private readonly store: Store,
    private readonly sql: SqlRunner,
  ) {}

  private get db(): string {
    return this.store.database;
  }

  private async exec(sql: string, p: Params): Promise<void> {
    await this.store.client.command({ query: sql, query_params: p.values });
  }

  /** Stores a new config (id omitted) or a new version of an existing one; returns id and version. */
  async saveConfig(tenant: string, input: unknown, id?: string): Promise<StoredConfig> {
    const config = parseCanaryConfig(input);
    const configId = id ?? randomUUID();
    const latest = id ? await this.getConfig(tenant, id).catch(() => null) : null;
    if (id && !latest) throw notFound("CANARY_CONFIG_NOT_FOUND", `no canary config ${id}`);
    const version = (latest?.version ?? 0) + 1;
    const p = new Params();
    await this.exec(
      `INSERT INTO ${this.db}.canary_configs (tenant, id, version, name, body)
       SELECT ${p.bind("String", tenant)}, ${p.bind("String", configId)}, ${p.bind("UInt32", version)},
         ${p.bind("String", config.name)}, ${p.bind("String", JSON.stringify(config))}`,
      p,
    );
    return { id: configId, version, name: config.name, config, createdAt: Date.now() };
  }

  /** The latest version, or the given one; throws not_found. */
  async getConfig(tenant: string, id: string, version?: number): Promise<StoredConfig> {
    const p = new Params();
    const rows = await this.sql.rows<{
      id: string;
      version: number;
      name: string;
      body: string;
      created: string;
    }>(
      "canary_config",
      `SELECT id, version, name, body, toString(toUnixTimestamp64Milli(created_at)) AS created
       FROM ${this.db}.canary_configs FINAL
       WHERE tenant = ${p.bind("String", tenant)} AND id = ${p.bind("String", id)}
         ${version !== undefined ? `AND version = ${p.bind("UInt32", version)}` : ""}
       ORDER BY version DESC LIMIT 1`,
      p,
    );
    if (rows.length === 0)
      throw notFound(
        "CANARY_CONFIG_NOT_FOUND",
        `no canary config ${id}${version ? ` version ${version}` : ""}`,
      );
    return toStoredConfig(rows[0]);
  }

  /** Latest version of every config of the tenant, by name. */
  async listConfigs(tenant: string): Promise<StoredConfig[]> {
    const p = new Params();
    // Aliases differ from the column names: `max(version) AS version` would shadow the column
    // inside argMax(name, version) and ClickHouse refuses the nested aggregate.
    const rows = await this.sql.rows<{
      id: string;
      latest: number;
      latest_name: string;
      latest_body: string;
      latest_created: string;
    }>(
      "canary_configs",
      `SELECT id, max(version) AS latest, argMax(name, version) AS latest_name,
         argMax(body, version) AS latest_body,
         toString(toUnixTimestamp64Milli(argMax(created_at, version))) AS latest_created
       FROM ${this.db}.canary_configs WHERE tenant = ${p.bind("String", tenant)}
       GROUP BY id ORDER BY latest_name, id LIMIT 1000`,
      p,
    );
    return rows.map((r) =>
      toStoredConfig({
        id: r.id,
        version: r.latest,
        name: r.latest_name,
        body: r.latest_body,
        created: r.latest_created,
      }),
    );
  }

  /** Writes a run's state; call with status "running" first, then once more when it ends. */
  async writeRun(tenant: string, run: StoredRun): Promise<void> {
    const p = new Params();
    await this.exec(
      `INSERT INTO ${this.db}.canary_runs (tenant, id, updated_at, created_at, status, service, config_id,
         config_version, window_start, window_end, score, verdict, request, result, error)
       SELECT ${p.bind("String", tenant)}, ${p.bind("String", run.id)},
         fromUnixTimestamp64Micro(${p.bind("Int64", BigInt(Math.round(run.updatedAtMs * 1000)))}),
         fromUnixTimestamp64Micro(${p.bind("Int64", BigInt(Math.round(run.createdAtMs * 1000)))}),
         ${p.bind("String", run.status)}, ${p.bind("String", run.service)}, ${p.bind("String", run.configId)},
         ${p.bind("UInt32", run.configVersion)}, ${p.time(run.fromNs)}, ${p.time(run.toNs)},
         ${p.bind("Float64", run.score)}, ${p.bind("String", run.verdict)},
         ${p.bind("String", JSON.stringify(run.request ?? null))}, ${p.bind("String", JSON.stringify(run.result ?? null))},
         ${p.bind("String", run.error)}`,
      p,
    );
  }

  async getRun(tenant: string, id: string): Promise<StoredRun> {
    const runs = await this.queryRuns(tenant, { id }, 1);
    if (runs.length === 0) throw notFound("CANARY_RUN_NOT_FOUND", `no canary run ${id}`);
    return runs[0];
  }

  /** Newest first. */
  async listRuns(tenant: string, filter: { service?: string }, limit: number): Promise<StoredRun[]> {
    return this.queryRuns(tenant, filter, limit);
  }

  private async queryRuns(
    tenant: string,
    f: { id?: string; service?: string },
    limit: number,
  ): Promise<StoredRun[]> {
    const p = new Params();
    const where = [`tenant = ${p.bind("String", tenant)}`];
    if (f.id) where.push(`id = ${p.bind("String", f.id)}`);
    if (f.service) where.push(`service = ${p.bind("String", f.service)}`);
    const rows = await this.sql.rows<Record<string, string | number>>(
      "canary_runs",
      `SELECT id, argMax(status, updated_at) AS status, any(service) AS svc, any(config_id) AS config_id,
         any(config_version) AS config_version,
         toString(toUnixTimestamp64Nano(any(window_start))) AS from_ns, toString(toUnixTimestamp64Nano(any(window_end))) AS to_ns,
         argMax(score, updated_at) AS score, argMax(verdict, updated_at) AS verdict, any(request) AS request,
         argMax(result, updated_at) AS result, argMax(error, updated_at) AS error,
         toString(toUnixTimestamp64Milli(min(created_at))) AS created, toString(toUnixTimestamp64Milli(max(updated_at))) AS updated
       FROM ${this.db}.canary_runs WHERE ${where.join(" AND ")}
       GROUP BY id ORDER BY created DESC LIMIT ${p.bind("UInt32", limit)}`,
      p,
    );
    return rows.map((r) => ({
      id: String(r.id),
      status: r.status as RunStatus,
      service: String(r.svc),
      configId: String(r.config_id),
      configVersion: Number(r.config_version),
      fromNs: BigInt(r.from_ns),
      toNs: BigInt(r.to_ns),
      score: Number(r.score),
      verdict: String(r.verdict),
      request: JSON.parse(String(r.request)),
      result: JSON.parse(String(r.result)),
      error: String(r.error),
      createdAtMs: Number(r.created),
      updatedAtMs: Number(r.updated),
    }));
  }
}

function toStoredConfig(r: {
  id: string;
  version: number;
  name: string;
  body: string;
  created: string;
}): StoredConfig {
  return {
    id: r.id,
    version: Number(r.version),
    name: r.name,
    config: parseCanaryConfig(JSON.parse(r.body)),
    createdAt: Number(r.created),
  };
}
