import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/load.js";
import { clusterStatements, SHARDING_KEYS } from "./cluster.js";
import { loadMigrations, rebuildStatements, renderMigration, retentionDaysOf } from "./migrations.js";
import { openStore, type Store } from "./store.js";

// A Keeper-backed cluster cannot run on this machine, so the cluster layout is checked two ways:
// every statement goes through ClickHouse's own parser (chDB's formatQuery, the parser behind
// EXPLAIN AST), and the generated text is checked for what a cluster needs.
const retentionDays = retentionDaysOf(loadConfig({ env: {} }).storage);
const migrations = loadMigrations();
const CLUSTER = "skald_cluster";
const render = (cluster: string) =>
  migrations.flatMap((m) =>
    renderMigration(m.sql, { database: "skald", cluster, retentionDays }).map((sql) => ({ m: m.name, sql })),
  );
/** Skald's own REBUILD step (not ClickHouse SQL): its statements are checked on their own below. */
const isRebuild = (s: { sql: string }) => s.sql.startsWith("REBUILD ");
const single = render("").filter((s) => !isRebuild(s));
const cluster = render(CLUSTER).filter((s) => !isRebuild(s));

const createdTable = (sql: string) => /^CREATE TABLE IF NOT EXISTS skald\.(\w+)/.exec(sql)?.[1];
const createdView = (sql: string) => /^CREATE MATERIALIZED VIEW IF NOT EXISTS skald\.(\w+)/.exec(sql)?.[1];
const singleTables = single.map((s) => createdTable(s.sql)).filter((t): t is string => t !== undefined);
/** Tables a later migration drops (still created, so still laid out, by the earlier one). */
const droppedTables = new Set(single.map((s) => /^DROP TABLE IF EXISTS skald\.(\w+)/.exec(s.sql)?.[1]));

describe("cluster mode of the migrations, parsed by ClickHouse", () => {
  let store: Store;
  let dir: string;
  /** ClickHouse's parser: the statement formatted back, or the parse error. */
  const parse = async (sql: string): Promise<string> => {
    const rs = await store.client.query({
      query: "SELECT formatQuery({sql:String}) AS q",
      query_params: { sql },
      format: "JSONEachRow",
    });
    return (await rs.json<{ q: string }>())[0].q;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "skald-cluster-sql-"));
    store = await openStore(loadConfig({ env: {}, overrides: { "storage.dataDir": dir } }).storage);
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the parser check has teeth: a broken statement is rejected", async () => {
    await expect(
      parse(`CREATE TABLE t ON CLUSTER '${CLUSTER}' (a String) ENGINE = MergeTree ORDER BY a a`),
    ).rejects.toThrow(/Syntax error/);
  });

  it("every statement of every migration parses, with ON CLUSTER kept", async () => {
    expect(cluster.length).toBeGreaterThan(single.length);
    const failures: string[] = [];
    for (const { m, sql } of cluster) {
      try {
        const formatted = await parse(sql);
        // a copy between tables runs once, through the Distributed tables (no ON CLUSTER)
        if (!formatted.includes(`ON CLUSTER ${CLUSTER}`) && !formatted.startsWith("INSERT INTO"))
          failures.push(`${m}: ON CLUSTER lost: ${formatted}`);
      } catch (err) {
        failures.push(`${m}: ${(err as Error).message.split("\n")[0]}\n${sql}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("a REBUILD keeps the same name on the single node and runs as ClickHouse statements on a cluster", async () => {
    const rebuilds = render(CLUSTER).filter(isRebuild);
    expect(rebuilds.map((s) => s.sql)).toEqual(["REBUILD skald.spans AS skald.spans_by_trace"]);
    expect(
      render("")
        .filter(isRebuild)
        .map((s) => s.sql),
    ).toEqual(rebuilds.map((s) => s.sql));
    const sql = rebuildStatements("skald", CLUSTER, "spans", "spans_by_trace", ["tenant", "events.time"]);
    expect(sql.copy).toBe(
      "INSERT INTO skald.spans_by_trace (`tenant`, `events.time`) SELECT `tenant`, `events.time` FROM skald.spans",
    );
    expect(sql.exchange).toBe(
      `EXCHANGE TABLES skald.spans_local AND skald.spans_by_trace_local ON CLUSTER '${CLUSTER}'`,
    );
    expect(sql.drop).toEqual([
      `DROP TABLE IF EXISTS skald.spans_by_trace ON CLUSTER '${CLUSTER}' SYNC`,
      `DROP TABLE IF EXISTS skald.spans_by_trace_local ON CLUSTER '${CLUSTER}' SYNC`,
    ]);
    for (const statement of [sql.empty, sql.copy, sql.count, sql.exchange, ...sql.drop]) {
      expect(await parse(statement)).toBeTruthy();
    }
  });

  it("every sharding key is a valid expression over its table's columns", async () => {
    // the single-node tables have the same columns as the local tables of a cluster
    const db = "shard_keys";
    await store.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    for (const m of migrations) {
      for (const sql of renderMigration(m.sql, { database: db, cluster: "", retentionDays })) {
        if (!sql.startsWith("REBUILD ")) await store.client.command({ query: sql });
      }
    }
    for (const table of singleTables.filter((t) => !droppedTables.has(t))) {
      const key = SHARDING_KEYS[table];
      const rs = await store.client.query({
        query: `DESCRIBE (SELECT ${key} AS k FROM ${db}.${table})`,
        format: "JSONEachRow",
      });
      expect(
        (await rs.json<{ type: string }>()).map((r) => r.type),
        table,
      ).toEqual(["UInt64"]);
    }
  }, 60_000);
});

describe("cluster mode of the migrations, generated text", () => {
  it("single-node SQL has none of the cluster layout", () => {
    for (const { sql } of single) {
      expect(sql).not.toMatch(/ON CLUSTER|Replicated|Distributed|_local\b/);
    }
  });

  it("every table has a sharding key", () => {
    expect(singleTables.length).toBeGreaterThan(10);
    for (const table of singleTables) expect(Object.keys(SHARDING_KEYS), table).toContain(table);
  });

  it("each table becomes a Replicated local table on every node plus a Distributed table of the same name", () => {
    for (const table of singleTables) {
      const local = cluster.find((s) => createdTable(s.sql) === `${table}_local`)?.sql ?? "";
      const family = /ENGINE = (\w+)/.exec(single.find((s) => createdTable(s.sql) === table)?.sql ?? "")?.[1];
      expect(local, table).toContain(
        `CREATE TABLE IF NOT EXISTS skald.${table}_local ON CLUSTER '${CLUSTER}'`,
      );
      expect(local, table).toContain(
        `ENGINE = Replicated${family}('/clickhouse/tables/{shard}/skald/${table}_local', '{replica}')`,
      );
      const dist = cluster.find((s) => createdTable(s.sql) === table)?.sql;
      expect(dist, table).toBe(
        `CREATE TABLE IF NOT EXISTS skald.${table} ON CLUSTER '${CLUSTER}' AS skald.${table}_local\n` +
          `ENGINE = Distributed('${CLUSTER}', skald, ${table}_local, ${SHARDING_KEYS[table]})`,
      );
      // the Distributed table comes right after its local table (CREATE ... AS needs it)
      const at = cluster.findIndex((s) => createdTable(s.sql) === table);
      expect(createdTable(cluster[at - 1].sql)).toBe(`${table}_local`);
    }
  });

  it("a trace lands on one shard: spans and everything per span are sharded by trace id", () => {
    for (const table of ["spans", "trace_index"]) {
      expect(cluster.find((s) => createdTable(s.sql) === table)?.sql).toMatch(/, cityHash64\(trace_id\)\)$/);
    }
    // half edges keep the ids as bytes: hashed as the hex text the spans are sharded by
    for (const table of ["sm_half_edges", "sm_arrivals"]) {
      expect(cluster.find((s) => createdTable(s.sql) === table)?.sql).toMatch(
        /, cityHash64\(lower\(hex\(trace_id\)\)\)\)$/,
      );
    }
  });

  it("a copy between tables runs once, through the Distributed tables", () => {
    const copy = "INSERT INTO {database}.sm_arrivals\nSELECT * FROM {database}.sm_half_edges";
    expect(clusterStatements(copy, CLUSTER)).toEqual([copy]);
    const rendered = cluster.filter((s) => s.sql.startsWith("INSERT INTO"));
    expect(rendered.map((s) => s.m)).toEqual(["0017_service_map_arrivals"]);
    expect(rendered[0].sql).toMatch(/^INSERT INTO skald\.sm_arrivals \(tenant, /);
    expect(rendered[0].sql).toContain("FROM skald.sm_half_edges\n");
  });

  it("materialized views read and write local tables only", () => {
    const views = cluster.filter((s) => createdView(s.sql));
    expect(views.length).toBe(single.filter((s) => createdView(s.sql)).length);
    for (const { sql } of views) {
      const view = createdView(sql);
      expect(sql, view).toMatch(/ TO skald\.\w+_local AS\n/);
      const refs = [...sql.matchAll(/skald\.(\w+)/g)].map((r) => r[1]).filter((name) => name !== view);
      expect(refs.length, view).toBeGreaterThanOrEqual(2);
      for (const ref of refs) expect(ref, view).toMatch(/_local$/);
    }
    const traceIndex = views.find((v) => createdView(v.sql) === "trace_index_mv")?.sql ?? "";
    expect(traceIndex).toContain("TO skald.trace_index_local");
    expect(traceIndex).toContain("FROM skald.spans_local");
    // a view's query replaced in place keeps the view's name and reads the local tables
    const modified = cluster.filter((s) =>
      /^ALTER TABLE skald\.\w+ ON CLUSTER \S+\s+MODIFY QUERY/.test(s.sql),
    );
    expect(modified.map((s) => s.m)).toEqual([
      "0018_service_map_local_parent",
      "0024_service_map_local_parents_unreferenced",
    ]);
    for (const { sql } of modified) {
      expect(sql).toMatch(/^ALTER TABLE skald\.sm_arrivals_mv ON CLUSTER/);
      expect(sql).toContain("FROM skald.spans_local");
      expect(sql).not.toMatch(/skald\.spans\b(?!_local)/);
    }
  });

  it("retention TTLs stay on the local tables", () => {
    for (const { sql } of cluster) {
      if (/ENGINE = Distributed/.test(sql)) expect(sql).not.toContain("TTL");
    }
    expect(cluster.find((s) => createdTable(s.sql) === "spans_local")?.sql).toContain(
      "TTL toDateTime(start_time) + toIntervalDay(7)",
    );
  });

  it("ALTERs go to the local table; column changes to the Distributed table too", () => {
    expect(clusterStatements("ALTER TABLE {database}.spans {on_cluster} ADD COLUMN x String", "c")).toEqual([
      "ALTER TABLE {database}.spans_local {on_cluster} ADD COLUMN x String",
      "ALTER TABLE {database}.spans {on_cluster} ADD COLUMN x String",
    ]);
    expect(clusterStatements("ALTER TABLE {database}.spans {on_cluster} MODIFY TTL day", "c")).toEqual([
      "ALTER TABLE {database}.spans_local {on_cluster} MODIFY TTL day",
    ]);
  });

  it("refuses what it cannot lay out: a table without a sharding key, an unknown statement", () => {
    expect(() =>
      clusterStatements("CREATE TABLE IF NOT EXISTS {database}.new_table {on_cluster} (a String)", "c"),
    ).toThrow(/no sharding key for table new_table/);
    expect(() => clusterStatements("TRUNCATE TABLE {database}.spans", "c")).toThrow(/cannot lay out/);
  });

  it("DROPs reach every node: a table and its local table, a view under its own name", () => {
    expect(clusterStatements("DROP TABLE IF EXISTS {database}.sm_spans {on_cluster}", "c")).toEqual([
      "DROP TABLE IF EXISTS {database}.sm_spans {on_cluster}",
      "DROP TABLE IF EXISTS {database}.sm_spans_local {on_cluster}",
    ]);
    expect(clusterStatements("DROP VIEW IF EXISTS {database}.sm_spans_mv {on_cluster}", "c")).toEqual([
      "DROP VIEW IF EXISTS {database}.sm_spans_mv {on_cluster}",
    ]);
  });
});
