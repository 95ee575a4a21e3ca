import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { StorageConfig } from "../config/schema.js";
import { packageRoot } from "../paths.js";
import { clusterStatements, LOCAL_SUFFIX, REBUILD, sqlString, storageTable } from "./cluster.js";
import type { Store } from "./store.js";

/**
 * Migrations are numbered SQL files in `migrations/`, rendered for single node or cluster from the
 * same text. Placeholders:
 *   {database}                     the configured database
 *   {on_cluster}                   "" or ON CLUSTER '<cluster>'
 *   {engine:<Family>}              <Family>, or Replicated<Family>(keeper path, replica) on a cluster
 *   {ttl:<class>:<time expr>}      TTL <time expr> + toIntervalDay(<days of class>)
 * Every statement is idempotent (IF NOT EXISTS), so a migration interrupted halfway re-runs safely.
 *
 * One statement is Skald's own, for what ClickHouse cannot ALTER (a sort key):
 *   REBUILD {database}.<table> AS {database}.<new table>
 * copies every row of <table> into <new table> (created by an earlier statement of the migration,
 * empty, with a COMMENT no earlier layout of <table> had), exchanges the two names and drops the
 * old table (rebuildTable below). Views that read <table> follow the name, so they see neither the
 * copy nor a gap. It is idempotent as well: a REBUILD stopped halfway starts its copy again, and
 * one stopped after the exchange (the table carries the new comment) only drops.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface RenderContext {
  database: string;
  cluster: string;
  retentionDays: Record<string, number>;
  /** Per-tenant exceptions: retention class → tenant → days. */
  tenantDays?: Record<string, Record<string, number>>;
}

export interface TtlBinding {
  table: string;
  retentionClass: string;
  expression: string;
}

export function retentionDaysOf(storage: StorageConfig): Record<string, number> {
  return {
    spans: storage.retention.spansDays,
    flows: storage.retention.flowsDays,
    flow_rollups: storage.retention.flowRollupsDays,
    audit: storage.retention.auditDays,
  };
}

/** Per-tenant retention (storage.retention.tenants) as retention class → tenant → days. */
export function tenantRetentionOf(storage: StorageConfig): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const classOf = {
    spansDays: "spans",
    flowsDays: "flows",
    flowRollupsDays: "flow_rollups",
    auditDays: "audit",
  } as const;
  for (const [tenant, days] of Object.entries(storage.retention.tenants)) {
    for (const [key, cls] of Object.entries(classOf)) {
      const d = days[key as keyof typeof classOf];
      if (d !== undefined) out[cls] = { ...out[cls], [tenant]: d };
    }
  }
  return out;
}

export function loadMigrations(dir = join(packageRoot(), "migrations")): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(dir, file), "utf8");
      return {
        version: Number(file.slice(0, 4)),
        name: file.replace(/\.sql$/, ""),
        sql,
        checksum: createHash("sha256").update(sql).digest("hex").slice(0, 16),
      };
    });
}

/** REBUILD (cluster.ts) rendered: database, table, new table. */
const REBUILD_RENDERED = /^REBUILD (\w+)\.(\w+) AS \1\.(\w+)$/;

const stripComments = (sql: string): string => sql.replace(/^\s*--.*$/gm, "");

/**
 * Splits a migration into statements (on `;` at end of line) and renders its placeholders. On a
 * cluster each statement is first laid out as local Replicated tables behind Distributed ones
 * (core/store/cluster.ts).
 */
export function renderMigration(sql: string, ctx: RenderContext): string[] {
  const onCluster = ctx.cluster ? `ON CLUSTER ${sqlString(ctx.cluster)}` : "";
  return stripComments(sql)
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .flatMap((statement) => (ctx.cluster ? clusterStatements(statement, ctx.cluster) : [statement]))
    .map((statement) => {
      const table = /CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS \{database\}\.(\w+)/.exec(
        statement,
      )?.[1];
      return statement
        .replaceAll("{database}", ctx.database)
        .replaceAll("{on_cluster}", onCluster)
        .replace(/\{engine:(\w+)\}/g, (_, family: string) =>
          ctx.cluster
            ? `Replicated${family}('/clickhouse/tables/{shard}/${ctx.database}/${table}', '{replica}')`
            : family,
        )
        .replace(/\{ttl:(\w+):([^}]+)\}/g, (_, cls: string, expr: string) => ttlClause(expr, ctx, cls));
    });
}

function ttlClause(expression: string, ctx: RenderContext, retentionClass: string): string {
  return `TTL ${expression} + toIntervalDay(${ttlDays(ctx, retentionClass)})`;
}

/**
 * The days of a retention class as SQL: a number, or with per-tenant exceptions
 * `multiIf(tenant = 'a', 30, tenant = 'b', 3, 7)` (every table with a TTL has a tenant column).
 * Written the way ClickHouse prints it back, so an unchanged retention is recognised.
 */
function ttlDays(ctx: RenderContext, retentionClass: string): string {
  const days = ctx.retentionDays[retentionClass];
  if (days === undefined) throw new Error(`migration uses unknown retention class "${retentionClass}"`);
  const exceptions = Object.entries(ctx.tenantDays?.[retentionClass] ?? {}).sort(([a], [b]) =>
    a < b ? -1 : 1,
  );
  if (exceptions.length === 0) return String(days);
  const arms = exceptions.map(([tenant, d]) => `tenant = ${sqlString(tenant)}, ${d}`);
  return `multiIf(${arms.join(", ")}, ${days})`;
}

/** Tables whose TTL follows a retention class, read from the migrations' placeholders. */
export function ttlBindings(migrations: Migration[]): TtlBinding[] {
  const out: TtlBinding[] = [];
  const rebuilt = new Set<string>();
  for (const m of migrations) {
    for (const statement of stripComments(m.sql).split(/;\s*$/m)) {
      const table = /CREATE TABLE IF NOT EXISTS \{database\}\.(\w+)/.exec(statement)?.[1];
      const ttl = /\{ttl:(\w+):([^}]+)\}/.exec(statement);
      if (table && ttl) out.push({ table, retentionClass: ttl[1], expression: ttl[2] });
      const rebuild = REBUILD.exec(statement.trim());
      if (rebuild) rebuilt.add(rebuild[2]);
    }
  }
  // a REBUILD's new table takes the old one's name (and keeps its TTL); its own name is gone
  return out.filter((b) => !rebuilt.has(b.table));
}

export interface MigrateResult {
  applied: string[];
  ttlChanged: string[];
}

/**
 * Applies pending migrations in order and records them in `schema_migrations`, then brings every
 * table's TTL in line with the configured retention. Safe to run repeatedly and concurrently with
 * itself (statements are idempotent; the record table deduplicates by version). `before` stops
 * short of a version, leaving the store as an older Skald left it (the upgrade tests start there).
 */
export async function migrate(
  store: Store,
  retentionDays: Record<string, number>,
  tenantDays: Record<string, Record<string, number>> = {},
  { before = Number.POSITIVE_INFINITY }: { before?: number } = {},
): Promise<MigrateResult> {
  const { client, database, cluster } = store;
  const onCluster = cluster ? ` ON CLUSTER ${sqlString(cluster)}` : "";
  const ctx: RenderContext = { database, cluster, retentionDays, tenantDays };
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}${onCluster}` });
  // On a cluster the record is replicated to every node of every shard (no {shard} in its path),
  // so `skald migrate` reads the same record whichever node it reaches.
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations${onCluster}
      (version UInt32, name String, checksum String, applied_at DateTime64(3) DEFAULT now64(3))
      ENGINE = ${cluster ? `ReplicatedReplacingMergeTree('/clickhouse/tables/${database}/schema_migrations', '{replica}')` : "ReplacingMergeTree"}
      ORDER BY version`,
  });
  const done = await client.query({
    query: `SELECT version FROM ${database}.schema_migrations FINAL`,
    format: "JSONEachRow",
  });
  const appliedVersions = new Set((await done.json<{ version: number }>()).map((r) => Number(r.version)));
  const migrations = loadMigrations().filter((m) => m.version < before);
  const applied: string[] = [];
  for (const m of migrations) {
    if (appliedVersions.has(m.version)) continue;
    const statements = renderMigration(m.sql, ctx);
    for (const statement of statements) {
      const rebuild = REBUILD_RENDERED.exec(statement);
      if (rebuild) await rebuildTable(store, rebuild[2], rebuild[3], rebuildMark(statements, rebuild[3], m));
      else await client.command({ query: statement });
    }
    await client.insert({
      table: `${database}.schema_migrations`,
      values: [{ version: m.version, name: m.name, checksum: m.checksum }],
      format: "JSONEachRow",
    });
    applied.push(m.name);
  }
  const ttlChanged = await applyRetention(store, ttlBindings(migrations), ctx);
  return { applied, ttlChanged };
}

/** The COMMENT of the new table a REBUILD fills, from the statement of its migration that creates it. */
function rebuildMark(statements: string[], next: string, m: Migration): string {
  const created = statements.find((s) =>
    new RegExp(`^CREATE TABLE IF NOT EXISTS \\w+\\.${next}(${LOCAL_SUFFIX})?\\s`).test(s),
  );
  const mark = created && /\bCOMMENT '([^'\\]+)'\s*$/.exec(created)?.[1];
  if (!mark) throw new Error(`migration ${m.name}: REBUILD needs ${next} created with a COMMENT before it`);
  return mark;
}

/**
 * REBUILD `table` AS `next`: copies every row of `table` into `next` (which the migration created
 * with the new layout), checks that both hold as many rows, exchanges the names and drops the old
 * rows. On a cluster the copy runs once through the Distributed tables (same sharding key, so each
 * row returns to its shard) and the local tables are exchanged on every node; the Distributed
 * tables point at the local ones by name and follow.
 *
 * Where a stopped run left off: `next` gone means done; `table` carrying `mark` (the new table's
 * comment) means the exchange happened and only the drop is left; otherwise `next` may hold part of
 * a copy, so it is emptied and the copy starts again.
 */
async function rebuildTable(store: Store, table: string, next: string, mark: string): Promise<void> {
  const { client, database, cluster } = store;
  const rows = async <T>(query: string): Promise<T[]> =>
    (await client.query({ query, format: "JSONEachRow" })).json<T>();
  const comment = async (name: string): Promise<string | undefined> =>
    (
      await rows<{ comment: string }>(
        `SELECT comment FROM system.tables
         WHERE database = ${sqlString(database)} AND name = ${sqlString(storageTable(name, cluster))}`,
      )
    )[0]?.comment;
  if ((await comment(next)) === undefined) return;
  const columns = (
    await rows<{ name: string }>(
      `SELECT name FROM system.columns
       WHERE database = ${sqlString(database)} AND table = ${sqlString(next)} ORDER BY position`,
    )
  ).map((c) => c.name);
  const sql = rebuildStatements(database, cluster, table, next, columns);
  if ((await comment(table)) !== mark) {
    await client.command({ query: sql.empty });
    await client.command({
      query: sql.copy,
      // every row once, whatever repeats (the copy's blocks are not retries); on a cluster the
      // Distributed insert has reached every shard when it returns
      clickhouse_settings: {
        insert_deduplicate: 0,
        ...(cluster ? { distributed_foreground_insert: 1 } : {}),
      },
    });
    const [counts] = await rows<{ old: string; copied: string }>(sql.count);
    if (counts.old !== counts.copied) {
      throw new Error(
        `migration: ${database}.${table} changed while it was copied to ${next} (${counts.old} rows against ` +
          `${counts.copied} copied): stop whatever writes to it (on a cluster, the ingesters) and run skald migrate again`,
      );
    }
    await client.command({ query: sql.exchange });
  }
  for (const query of sql.drop) await client.command({ query });
}

/** The statements of a REBUILD (exported for the cluster layout tests). */
export function rebuildStatements(
  database: string,
  cluster: string,
  table: string,
  next: string,
  columns: string[],
): { empty: string; copy: string; count: string; exchange: string; drop: string[] } {
  const onCluster = cluster ? ` ON CLUSTER ${sqlString(cluster)}` : "";
  const list = columns.map((c) => `\`${c}\``).join(", ");
  return {
    empty: `TRUNCATE TABLE ${database}.${storageTable(next, cluster)}${onCluster}`,
    copy: `INSERT INTO ${database}.${next} (${list}) SELECT ${list} FROM ${database}.${table}`,
    count: `SELECT (SELECT count() FROM ${database}.${table}) AS old, (SELECT count() FROM ${database}.${next}) AS copied`,
    exchange: `EXCHANGE TABLES ${database}.${storageTable(table, cluster)} AND ${database}.${storageTable(next, cluster)}${onCluster}`,
    drop: (cluster ? [next, storageTable(next, cluster)] : [next]).map(
      (name) => `DROP TABLE IF EXISTS ${database}.${name}${onCluster} SYNC`,
    ),
  };
}

/**
 * ALTERs each table whose TTL differs from the configured retention; returns the tables changed.
 * On a cluster the TTL lives on the local tables (a Distributed table stores nothing).
 */
async function applyRetention(store: Store, bindings: TtlBinding[], ctx: RenderContext): Promise<string[]> {
  const changed: string[] = [];
  for (const b of bindings) {
    const table = storageTable(b.table, ctx.cluster);
    const rs = await store.client.query({
      query:
        "SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {t:String}",
      query_params: { db: ctx.database, t: table },
      format: "JSONEachRow",
    });
    const rows = await rs.json<{ create_table_query: string }>();
    const days = ttlDays(ctx, b.retentionClass);
    if (rows.length === 0 || rows[0].create_table_query.includes(`toIntervalDay(${days})`)) continue;
    const onCluster = ctx.cluster ? ` ON CLUSTER ${sqlString(ctx.cluster)}` : "";
    await store.client.command({
      query: `ALTER TABLE ${ctx.database}.${table}${onCluster} MODIFY ${ttlClause(b.expression, ctx, b.retentionClass)}`,
    });
    changed.push(b.table);
  }
  return changed;
}

/** The TTL clause ClickHouse currently holds for a table, or "" (for tests and `skald migrate`). */
export async function currentTtl(store: Store, table: string): Promise<string> {
  const rs = await store.client.query({
    query: "SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {t:String}",
    query_params: { db: store.database, t: storageTable(table, store.cluster) },
    format: "JSONEachRow",
  });
  const rows = await rs.json<{ create_table_query: string }>();
  return /\bTTL (.+?)(?: SETTINGS |$)/.exec(rows[0]?.create_table_query ?? "")?.[1] ?? "";
}
