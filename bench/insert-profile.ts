/**
 * npm run bench:insert-profile — where the embedded insert CPU goes. The same decoded spans (512
 * spans × 10 attributes per request, batches of BENCH_BATCH rows) are inserted into one database
 * per variant: `spans` as a Null table (parsing only), `spans` alone, `spans` with each
 * materialized view alone, and with all of them. Variants alternate within each round; the
 * process's CPU time (chDB runs in-process, so its threads count) is reported per 100k spans,
 * the minimum over rounds (BENCH_VARIANTS: ";"-separated name parts). Background merges are stopped; after each variant's round its tables are
 * merged once (OPTIMIZE FINAL: one pass of what background merges repeat) and that CPU is shown too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@clickhouse/client";
import { loadConfig } from "../core/config/load.js";
import type { Span } from "../core/model/span.js";
import { decodeTracesProto } from "../core/otlp/index.js";
import { createInfileInserter } from "../core/store/chdb-infile.js";
import { loadMigrations, renderMigration, retentionDaysOf } from "../core/store/migrations.js";
import { encodeSpans, SPAN_COLUMNS } from "../core/store/span-encoder.js";
import { encodeSpansRowBinary } from "../core/store/span-row-binary.js";
import { generateRequest } from "../test/support/otlp-encode.js";
import { fmt } from "./support.js";

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY = process.env.BENCH_VARIANTS?.split(";");

/** Materialized views on `spans` (and what they cascade into). */
const SPAN_VIEWS = ["trace_index_mv", "operations_mv", "sm_arrivals_mv"];

interface Variant {
  name: string;
  /** Views kept on `spans`; every other view on spans is dropped. */
  views: string[];
  nullEngine?: boolean;
  /** Rewrites the rendered CREATE TABLE of `spans`. */
  shape?: (sql: string) => string;
  format?: "RowBinary";
}

const noSkipIndexes = (sql: string) => sql.replace(/,\s*INDEX[\s\S]*?\n\)/, "\n)");
const noMapIndexes = (sql: string) =>
  sql.replace(/\s*INDEX idx_(res_)?attr_\w+ [^\n]*,?/g, "").replace(/,(\s*\))/, "$1");
const lz4 = (sql: string) => sql.replaceAll("ZSTD(1)", "LZ4");
/** What migration 0010 does to the maps. */
const plainMapKeys = (sql: string) =>
  sql
    .replaceAll("Map(LowCardinality(String), LowCardinality(String))", "Map(String, LowCardinality(String))")
    .replaceAll("Map(LowCardinality(String), String)", "Map(String, String)");

const VARIANTS: Variant[] = (<Variant[]>[
  { name: "Null table (parse only)", views: [], nullEngine: true },
  { name: "spans only", views: [] },
  { name: "Null table (parse only), RowBinary", views: [], nullEngine: true, format: "RowBinary" },
  { name: "spans only, RowBinary", views: [], format: "RowBinary" },
  { name: "spans + all views, RowBinary", views: SPAN_VIEWS, format: "RowBinary" },
  ...SPAN_VIEWS.map((v) => ({ name: `spans + ${v}, RowBinary`, views: [v], format: "RowBinary" })),
  ...SPAN_VIEWS.map((v) => ({ name: `spans + ${v}`, views: [v] })),
  { name: "spans, no map skip indexes", views: [], shape: noMapIndexes },
  { name: "spans, no skip indexes", views: [], shape: noSkipIndexes },
  { name: "spans, LZ4", views: [], shape: lz4 },
  { name: "spans, LZ4, no map skip indexes", views: [], shape: (q: string) => lz4(noMapIndexes(q)) },
  { name: "spans + all views", views: SPAN_VIEWS },
  { name: "spans + all views, RowBinary, LZ4", views: SPAN_VIEWS, format: "RowBinary", shape: lz4 },
  { name: "spans only, RowBinary, plain map keys", views: [], format: "RowBinary", shape: plainMapKeys },
  {
    name: "spans + all views, RowBinary, plain map keys",
    views: SPAN_VIEWS,
    format: "RowBinary",
    shape: plainMapKeys,
  },
  {
    name: "spans + all views, RowBinary, no map skip indexes",
    views: SPAN_VIEWS,
    format: "RowBinary",
    shape: noMapIndexes,
  },
  { name: "Null + all views", views: SPAN_VIEWS, nullEngine: true },
]).filter((v) => !ONLY || ONLY.some((o) => v.name.includes(o)));

interface RawInsert {
  rawInsert(p: {
    table: string;
    values: Buffer;
    format: "TabSeparated";
    columns: readonly string[];
    settings: Record<string, string | number>;
  }): Promise<unknown>;
  queryAsync(sql: string): Promise<unknown>;
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "skald-insert-profile-"));
  const { createChdbConnection } = await import("chdb/connection");
  const connection = createChdbConnection({ path: dataDir });
  const client = createClient({ connection } as Parameters<typeof createClient>[0]);
  const raw = (connection as unknown as { chdb: RawInsert }).chdb;
  // every migration but 0010: variants reshape `spans` themselves (0010 = plain map keys)
  const migrations = loadMigrations().filter((m) => m.version !== 10);

  for (const [i, v] of VARIANTS.entries()) {
    const db = `p${i}`;
    await client.command({ query: `CREATE DATABASE ${db}` });
    const ctx = {
      database: db,
      cluster: "",
      retentionDays: retentionDaysOf(loadConfig({ env: {} }).storage),
    };
    for (const m of migrations) {
      for (let s of renderMigration(m.sql, ctx)) {
        const view =
          /^CREATE MATERIALIZED VIEW IF NOT EXISTS \w+\.(\w+)/.exec(s)?.[1] ??
          /^ALTER TABLE \w+\.(\w+)\s+MODIFY QUERY/.exec(s)?.[1];
        if (view && SPAN_VIEWS.includes(view) && !v.views.includes(view)) continue;
        if (s.includes(`${db}.spans `) && s.startsWith("CREATE TABLE")) {
          if (v.shape) s = v.shape(s);
          if (v.nullEngine) s = noSkipIndexes(s).replace(/ENGINE = MergeTree[\s\S]*$/, "ENGINE = Null");
        }
        await client.command({ query: s });
      }
    }
  }

  const decoded: Span[][] = [];
  let spans: Span[] = [];
  for (let n = 0; n < ROWS; n += 512) {
    spans.push(
      ...decodeTracesProto(generateRequest({ service: `svc-${n % 8}`, count: 512, attrs: 10 }).body).spans,
    );
    if (spans.length >= BATCH || n + 512 >= ROWS) {
      decoded.push(spans);
      spans = [];
    }
  }
  const rows = decoded.reduce((s, b) => s + b.length, 0);
  // encode three times, time the last (warm JIT)
  let batches: Buffer[] = [];
  let binary: Buffer[] = [];
  let encodeMs = 0;
  let binaryMs = 0;
  for (let r = 0; r < 3; r++) {
    let t0 = performance.now();
    batches = decoded.map((b) => encodeSpans("default", b));
    encodeMs = performance.now() - t0;
    t0 = performance.now();
    // per request of 512, as the receivers encode
    binary = decoded.map((b) => {
      const parts: Buffer[] = [];
      for (let i = 0; i < b.length; i += 512)
        parts.push(encodeSpansRowBinary("default", b.slice(i, i + 512)));
      return Buffer.concat(parts);
    });
    binaryMs = performance.now() - t0;
  }
  const binaryBytes = binary.reduce((s, b) => s + b.length, 0);
  const inserter = createInfileInserter((sql) => raw.queryAsync(sql), join(dataDir, "spool"));
  const bytes = batches.reduce((s, b) => s + b.length, 0);
  console.log(
    `bench:insert-profile: ${fmt(rows)} spans in ${batches.length} batches, TSV ${(bytes / rows).toFixed(0)} B/span, ` +
      `encode ${((encodeMs / rows) * 100_000).toFixed(0)} ms per 100k spans (one core); ` +
      `RowBinary ${(binaryBytes / rows).toFixed(0)} B/span, encode ${((binaryMs / rows) * 100_000).toFixed(0)} ms per 100k spans`,
  );

  // Merges run in background threads of this process and would be charged to whichever variant
  // happens to be measured; stopped here, so the figures are the insert path alone.
  const tablesOf = async (db: string) => {
    const rs = await client.query({
      query: "SELECT name FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree'",
      query_params: { db },
      format: "JSONEachRow",
    });
    return (await rs.json<{ name: string }>()).map((r) => `${db}.${r.name}`);
  };
  for (const [i] of VARIANTS.entries()) {
    for (const t of await tablesOf(`p${i}`)) await client.command({ query: `SYSTEM STOP MERGES ${t}` });
  }
  /** CPU of merging everything the variant's inserts left into one part per partition. */
  const mergeCpu = async (db: string): Promise<number> => {
    const u0 = process.cpuUsage();
    for (const t of await tablesOf(db)) {
      await client.command({ query: `SYSTEM START MERGES ${t}` });
      await client.command({ query: `OPTIMIZE TABLE ${t} FINAL` });
      await client.command({ query: `SYSTEM STOP MERGES ${t}` });
    }
    const u = process.cpuUsage(u0);
    return (u.user + u.system) / 1000;
  };
  const merges: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  const wall: Record<string, number[]> = {};
  let seq = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, v] of VARIANTS.entries()) {
      const u0 = process.cpuUsage();
      const t0 = performance.now();
      if (v.format === "RowBinary") {
        for (const body of binary) {
          await inserter.insert(`p${i}.spans`, SPAN_COLUMNS, body, "RowBinary", {
            insert_deduplication_token: `p-${seq++}`,
          });
        }
      } else
        for (const body of batches) {
          await raw.rawInsert({
            table: `p${i}.spans`,
            values: body,
            format: "TabSeparated",
            columns: SPAN_COLUMNS,
            settings: { insert_deduplication_token: `p-${seq++}` },
          });
        }
      const t1 = performance.now();
      const u = process.cpuUsage(u0);
      cpu[v.name] = [...(cpu[v.name] ?? []), ((u.user + u.system) / 1000 / rows) * 100_000];
      wall[v.name] = [...(wall[v.name] ?? []), ((t1 - t0) / rows) * 100_000];
      // one merge pass over this round's parts (rounds before are merged already)
      merges[v.name] = [...(merges[v.name] ?? []), ((await mergeCpu(`p${i}`)) / rows) * 100_000];
    }
  }
  // the minimum over rounds: the machine is shared, and contention only ever adds time
  const median = (xs: number[]) => Math.min(...xs);
  const baseOf = (v: Variant) => median(cpu[v.format ? `spans only, ${v.format}` : "spans only"] ?? [0]);
  console.log(
    "variant | insert CPU ms per 100k spans (min of rounds) | wall ms | vs spans only | one merge pass CPU ms",
  );
  for (const v of VARIANTS) {
    const c = median(cpu[v.name]);
    const base = baseOf(v);
    console.log(
      `${v.name} | ${c.toFixed(0)} | ${median(wall[v.name]).toFixed(0)} | ${base ? `${c - base >= 0 ? "+" : ""}${(c - base).toFixed(0)}` : "-"} | ${median(merges[v.name]).toFixed(0)}`,
    );
  }
  await client.close();
  await connection.close();
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
