import { limitsSchema } from "../core/config/schema.js";
import { SkaldError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { Store } from "../core/store/store.js";

/**
 * The one path from the query layer to ClickHouse. Contract for every caller:
 *  - user input is bound through `Params` (`{pN:Type}` placeholders), never spliced into SQL;
 *    only identifiers written in code (database, table, column names) are interpolated;
 *  - every statement is scoped to one tenant;
 *  - failures surface as SkaldError without SQL text (ClickHouse messages quote the query),
 *    the full error goes to the log only.
 */

/** Observes each store round trip, e.g. for a latency histogram. */
export type QueryObserver = (query: string, seconds: number, ok: boolean) => void;

export interface SqlRunner {
  /** `name` labels the query in logs and metrics; rows come back as JSONEachRow objects. */
  rows<T>(name: string, sql: string, params: Params): Promise<T[]>;
  /** Same, JSONCompactEachRow: one array per row, for large results. */
  compactRows<T extends unknown[]>(name: string, sql: string, params: Params): Promise<T[]>;
  /** `database.table`, for interpolation (the database name is validated by the config schema). */
  table(name: "spans" | "trace_index" | "operations"): string;
  /** The store queried (readers that coordinate with this process's writers look it up). */
  readonly store?: Store;
  /** Where the runner logs, for readers that warn about what they read. */
  readonly logger?: Logger;
}

/** Accumulates bound parameters; `bind` returns the placeholder to put in the SQL text. */
export class Params {
  readonly values: Record<string, unknown> = {};
  private n = 0;

  bind(type: string, value: unknown): string {
    const name = `p${this.n++}`;
    this.values[name] = typeof value === "bigint" ? value.toString() : value;
    return `{${name}:${type}}`;
  }

  /** A DateTime64(9) expression for an exact nanosecond instant. */
  time(ns: bigint): string {
    return `fromUnixTimestamp64Nano(${this.bind("Int64", ns)})`;
  }
}

/** Per-query limits (config `limits`): how long a query may run and how many rows it may return. */
export interface QueryLimits {
  queryTimeoutSeconds: number;
  queryMaxResultRows: number;
}

/** The configuration's defaults, for readers built without a configuration (tools, tests). */
export const DEFAULT_LIMITS: QueryLimits = limitsSchema.parse({});

/**
 * Options every read query to ClickHouse carries: a server applies the limits per request and
 * cancels the query itself when time is up. chDB would apply them as session-wide SETs (reaching
 * the ingest and pairing jobs' statements too), so there the query is abandoned by the abort
 * signal alone. A fresh object per query (the abort signal starts counting when created).
 */
export function queryLimitOptions(store: Store, limits: QueryLimits = DEFAULT_LIMITS) {
  return {
    clickhouse_settings:
      store.kind === "server"
        ? {
            max_execution_time: limits.queryTimeoutSeconds,
            max_result_rows: String(limits.queryMaxResultRows),
            result_overflow_mode: "throw" as const,
          }
        : undefined,
    abort_signal: AbortSignal.timeout(limits.queryTimeoutSeconds * 1000 + 1000),
  };
}

export function createSqlRunner(
  store: Store,
  logger?: Logger,
  observe?: QueryObserver,
  limits: QueryLimits = DEFAULT_LIMITS,
): SqlRunner {
  async function run<T>(
    name: string,
    sql: string,
    params: Params,
    format: "JSONEachRow" | "JSONCompactEachRow",
  ) {
    const started = performance.now();
    let ok = false;
    try {
      const rs = await store.client.query({
        query: sql,
        query_params: params.values,
        format,
        ...queryLimitOptions(store, limits),
      });
      const rows = await rs.json<T>();
      ok = true;
      return rows;
    } catch (err) {
      throw storeError(name, err, logger);
    } finally {
      observe?.(name, (performance.now() - started) / 1000, ok);
    }
  }
  return {
    rows: (name, sql, params) => run(name, sql, params, "JSONEachRow"),
    compactRows: (name, sql, params) => run(name, sql, params, "JSONCompactEachRow"),
    table: (name) => `${store.database}.${name}`,
    store,
    logger,
  };
}

/** ClickHouse error types that mean "too busy or too big right now", not a bug in the query. */
const BUSY_TYPES = new Set([
  "TIMEOUT_EXCEEDED",
  "TOO_MANY_SIMULTANEOUS_QUERIES",
  "MEMORY_LIMIT_EXCEEDED",
  "TOO_MANY_ROWS_OR_BYTES",
  "QUERY_WAS_CANCELLED",
  "SOCKET_TIMEOUT",
  "NETWORK_ERROR",
]);

/**
 * Translates a client failure. ClickHouse server errors carry `code` (a number as text) and
 * `type`; chDB's connection throws its own class of the same shape, so this duck-types.
 */
export function storeError(query: string, err: unknown, logger?: Logger): SkaldError {
  if (err instanceof SkaldError) return err;
  const e = err as { code?: unknown; type?: unknown; message?: unknown };
  const chType = typeof e?.type === "string" && /^\d+$/.test(String(e.code)) ? e.type : undefined;
  logger?.error({ err, query }, "store query failed");
  if (chType === undefined && (err as Error)?.name === "TimeoutError") {
    return new SkaldError(
      "limit",
      "QUERY_TIMEOUT",
      "the query ran longer than limits.queryTimeoutSeconds and was cancelled",
    );
  }
  if (chType === "TIMEOUT_EXCEEDED") {
    return new SkaldError(
      "limit",
      "QUERY_TIMEOUT",
      "the query ran longer than limits.queryTimeoutSeconds and was cancelled",
      { cause: err },
    );
  }
  if (chType === "TOO_MANY_ROWS_OR_BYTES") {
    return new SkaldError(
      "limit",
      "RESULT_TOO_LARGE",
      "the query's result exceeds limits.queryMaxResultRows; narrow it or page",
      { cause: err },
    );
  }
  if (chType === undefined) {
    return new SkaldError("retryable", "STORE_UNAVAILABLE", "the trace store is unavailable; retry later", {
      retryAfterMs: 1000,
      cause: err,
    });
  }
  if (BUSY_TYPES.has(chType)) {
    return new SkaldError("retryable", "STORE_BUSY", `the trace store could not answer in time (${chType})`, {
      retryAfterMs: 1000,
      cause: err,
    });
  }
  return new SkaldError("permanent", "STORE_QUERY_FAILED", `the trace store rejected the query (${chType})`, {
    cause: err,
  });
}
