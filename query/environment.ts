import { invalidInput } from "../core/errors.js";
import { Params, type SqlRunner } from "./sql.js";

/**
 * Deployment environments, from the resource attribute of the semantic conventions: the newer
 * `deployment.environment.name` when set, else the older `deployment.environment`. Neither key is
 * in a rollup, so these reads scan the spans of the window (tenant and time prune by the sort key;
 * a wanted environment also uses the bloom filter on resource attribute values).
 */
export const ENVIRONMENT_KEYS = ["deployment.environment.name", "deployment.environment"] as const;

/** The environment of a span row as a ClickHouse expression ("" when neither key is set). */
export const ENVIRONMENT_EXPR = `if(resource_attributes['${ENVIRONMENT_KEYS[0]}'] != '', resource_attributes['${ENVIRONMENT_KEYS[0]}'], resource_attributes['${ENVIRONMENT_KEYS[1]}'])`;

/** A condition on span rows: their environment is `environment` (bound through `p`). */
export function environmentCondition(environment: string, p: Params): string {
  const env = p.bind("String", environment);
  // `has(mapValues(…))` is the form the bloom filter on resource attribute values serves.
  return `(has(mapValues(resource_attributes), ${env}) AND ${ENVIRONMENT_EXPR} = ${env})`;
}

export interface EnvironmentWindow {
  fromNs: bigint;
  toNs: bigint;
}

function scope(tenant: string, w: EnvironmentWindow, p: Params): string[] {
  if (w.fromNs > w.toNs) throw invalidInput("BAD_TIME_RANGE", "`from` is after `to`");
  return [
    `tenant = ${p.bind("String", tenant)}`,
    `start_time >= ${p.time(w.fromNs)}`,
    `start_time <= ${p.time(w.toNs)}`,
  ];
}

/** Environments of a tenant's spans that started in the window, sorted; unnamed ones left out. */
export async function listEnvironments(
  sql: SqlRunner,
  tenant: string,
  w: EnvironmentWindow,
): Promise<string[]> {
  const p = new Params();
  const rows = await sql.rows<{ env: string }>(
    "list_environments",
    `SELECT ${ENVIRONMENT_EXPR} AS env FROM ${sql.table("spans")}
     WHERE ${scope(tenant, w, p).join(" AND ")} AND env != ''
     GROUP BY env ORDER BY env`,
    p,
  );
  return rows.map((r) => r.env);
}

export interface EnvironmentService {
  name: string;
  /** Spans of the service in the environment and window (decimal string, as ServiceInfo). */
  spanCount: string;
  lastSeenNs: bigint;
}

/** Services with spans of `environment` that started in the window, by name. */
export async function servicesInEnvironment(
  sql: SqlRunner,
  tenant: string,
  environment: string,
  w: EnvironmentWindow,
): Promise<EnvironmentService[]> {
  const p = new Params();
  const where = scope(tenant, w, p);
  where.push(environmentCondition(environment, p));
  const rows = await sql.rows<{ service_name: string; spans: string; last_ns: string }>(
    "environment_services",
    `SELECT service_name, toString(count()) AS spans, toString(toUnixTimestamp64Nano(max(start_time))) AS last_ns
     FROM ${sql.table("spans")} WHERE ${where.join(" AND ")}
     GROUP BY service_name ORDER BY service_name`,
    p,
  );
  return rows.map((r) => ({ name: r.service_name, spanCount: r.spans, lastSeenNs: BigInt(r.last_ns) }));
}
