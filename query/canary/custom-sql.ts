import { invalidInput } from "../../core/errors.js";

/**
 * Guards for metric SQL written by users in a canary config. The SQL runs with bound parameters
 * only, under query-level SETTINGS (never session SETs: the embedded chDB session is shared, and a
 * SET would leak into every later query):
 *   readonly=1, max_execution_time, max_result_rows with result_overflow_mode='throw', and
 *   additional_table_filters restricting every tenant-keyed table to the request's tenant.
 * Validation rejects what would get around those: more than one statement, anything but a
 * SELECT/WITH, a SETTINGS/FORMAT/INTO OUTFILE clause of its own, table functions (merge() and
 * remote() read past the filters), and system tables.
 */

/** Blanks string literals, quoted identifiers and comments so keyword checks see only code. */
export function stripLiterals(sql: string): string {
  return sql
    .replace(/'(?:[^'\\]|\\.|'')*'/g, "''")
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/`(?:[^`\\]|\\.)*`/g, "``")
    .replace(/--[^\n]*/g, " ")
    .replace(/\/\*[\s\S]*?\*\//g, " ");
}

export function validateMetricSql(sql: string): string {
  const code = stripLiterals(sql).trim().replace(/;\s*$/, "");
  const bad = (why: string) => invalidInput("CANARY_SQL_INVALID", `metric SQL ${why}`);
  if (code.includes(";")) throw bad("must be a single statement");
  if (!/^(SELECT|WITH)\b/i.test(code)) throw bad("must be a SELECT (or WITH … SELECT)");
  if (/\b(SETTINGS|FORMAT|OUTFILE)\b/i.test(code))
    throw bad("may not carry SETTINGS, FORMAT or INTO OUTFILE");
  if (/\b(FROM|JOIN)\s+[A-Za-z_][\w.]*\s*\(/i.test(code)) throw bad("may not call table functions");
  if (/\b(system|information_schema|INFORMATION_SCHEMA)\s*\./.test(code))
    throw bad("may not read system tables");
  if (
    /\b(ARRAY\s+JOIN\s+)?(url|file|remote|remoteSecure|s3|hdfs|mysql|postgresql|jdbc|odbc|executable|merge|cluster|clusterAllReplicas)\s*\(/i.test(
      code,
    )
  ) {
    throw bad("may not call table functions");
  }
  return sql.trim().replace(/;\s*$/, "");
}

export interface SqlLimits {
  maxExecutionSeconds: number;
  maxResultRows: number;
}

/** The query-level SETTINGS clause for metric SQL; `tables` are fully qualified tenant-keyed tables. */
export function sandboxSettings(tenant: string, tables: string[], limits: SqlLimits): string {
  // The tenant matches core/tenant.ts's pattern (letters, digits, _ . -): no quote can appear.
  if (!/^[A-Za-z0-9_.-]+$/.test(tenant)) throw invalidInput("TENANT_INVALID", "bad tenant");
  const filters = tables.map((t) => `'${t}':'tenant = ''${tenant}'''`).join(", ");
  return ` SETTINGS max_execution_time=${limits.maxExecutionSeconds}, max_result_rows=${limits.maxResultRows}, result_overflow_mode='throw', additional_table_filters={${filters}}, readonly=1`;
}
