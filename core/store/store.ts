import { Readable } from "node:stream";
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import type { StorageConfig } from "../config/schema.js";
import { configError } from "../errors.js";
import { readCertificateFile, readKeyPair } from "../tls.js";
import { createInfileInserter } from "./chdb-infile.js";
import { inlineParams } from "./inline-params.js";

/**
 * The one handle to ClickHouse. Reads go through `client` (@clickhouse/client); inserts of
 * pre-encoded bytes go through `insertTsv` (chDB's zero-copy passthrough when embedded) and
 * `insertRowBinary` (a spool file read by INSERT ... FROM INFILE when embedded), and a byte stream
 * over HTTP otherwise.
 */
export interface Store {
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly kind: "embedded" | "server";
  /** Cluster name, or "" on a single node. */
  readonly cluster: string;
  /**
   * Inserts TabSeparated rows. Resolves once ClickHouse has written them. The caller must not
   * mutate `body` until the promise settles. Safe to call concurrently.
   */
  insertTsv(
    table: string,
    columns: readonly string[],
    body: Buffer,
    settings?: InsertSettings,
  ): Promise<void>;
  /**
   * Inserts RowBinary rows (core/store/row-binary.ts) of exactly `columns`. Same contract as
   * `insertTsv`. The cheaper path for ClickHouse: no text to unescape.
   */
  insertRowBinary(
    table: string,
    columns: readonly string[],
    body: Buffer,
    settings?: InsertSettings,
  ): Promise<void>;
  /** Closes the connection; safe to call twice. */
  close(): Promise<void>;
}

export type InsertSettings = Record<string, string | number>;

interface ChdbRawInsert {
  rawInsert(params: {
    table: string;
    values: Buffer;
    format: "TabSeparated";
    columns?: ReadonlyArray<string>;
    settings?: Record<string, string | number | boolean>;
  }): Promise<unknown>;
  queryAsync(sql: string): Promise<unknown>;
}

export async function openStore(config: StorageConfig): Promise<Store> {
  const settings: InsertSettings = {
    ...(config.fsyncInserts ? { fsync_after_insert: 1, fsync_part_directory: 1 } : {}),
    // On a cluster, writes go to Distributed tables: answer only once the shards hold the rows
    // (the default queues them on the node first, which would acknowledge before they are durable).
    ...(config.cluster ? { distributed_foreground_insert: 1 } : {}),
    // Queries such as the service-map pairing read a Distributed table filtered by an IN subquery
    // over a Distributed table, which ClickHouse refuses by default on more than one shard
    // ("Double-distributed IN/JOIN subqueries is denied"). GLOBAL IN computes the set once over
    // the whole cluster, so the answer is the single node's (a linked trace on another shard
    // included); the cost is shipping the set to the shards.
    ...(config.cluster ? { distributed_product_mode: "global" } : {}),
  };
  const tls = clickhouseTlsOf(config);
  if (config.url) {
    const client = createClient({
      url: config.url,
      username: config.username,
      password: config.password,
      ...tls,
      request_timeout: config.requestTimeoutMs,
      compression: { request: false, response: true },
      clickhouse_settings: { ...settings, output_format_json_quote_64bit_integers: 1 },
    });
    return serverStore(client, config);
  }
  const { mkdirSync } = await import("node:fs");
  const { join } = await import("node:path");
  mkdirSync(config.dataDir, { recursive: true });
  const { createChdbConnection } = await import("chdb/connection");
  const connection = createChdbConnection({ path: config.dataDir });
  const client = createClient({
    connection,
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
  } as Parameters<typeof createClient>[0]);
  inlineQueryParams(client);
  const raw = (connection as unknown as { chdb: ChdbRawInsert }).chdb;
  const infile = createInfileInserter((sql) => raw.queryAsync(sql), join(config.dataDir, "insert-spool"));
  let closed = false;
  return {
    client,
    database: config.database,
    kind: "embedded",
    cluster: "",
    async insertTsv(table, columns, body, extra) {
      await raw.rawInsert({
        table: `${config.database}.${table}`,
        values: body,
        format: "TabSeparated",
        columns,
        settings: { ...settings, ...extra },
      });
    },
    async insertRowBinary(table, columns, body, extra) {
      await infile.insert(`${config.database}.${table}`, columns, body, "RowBinary", {
        ...settings,
        ...extra,
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
      await connection.close();
    },
  };
}

/**
 * @clickhouse/client `tls` from `storage.tls` (read now, at start-up): the CA the server's
 * certificate is checked against, plus a client certificate for mutual TLS.
 */
export function clickhouseTlsOf(config: StorageConfig): {
  tls?: { ca_cert: Buffer } | { ca_cert: Buffer; cert: Buffer; key: Buffer };
} {
  if (!config.tls) return {};
  if (!config.url?.toLowerCase().startsWith("https:")) {
    throw configError("storage.tls: needs an https:// storage.url (SKALD_CLICKHOUSE_URL)");
  }
  const ca = readCertificateFile("storage.tls.caFile", config.tls.caFile).pem;
  const pair = readKeyPair("storage.tls", config.tls.certFile, config.tls.keyFile);
  return { tls: pair ? { ca_cert: ca, ...pair } : { ca_cert: ca } };
}

function serverStore(client: ClickHouseClient, config: StorageConfig): Store {
  let closed = false;
  return {
    client,
    database: config.database,
    kind: "server",
    cluster: config.cluster,
    async insertTsv(table, columns, body, extra) {
      await client.insert({
        table: `${config.database}.${table}`,
        columns: columns as [string, ...string[]],
        format: "TabSeparated",
        values: Readable.from([body], { objectMode: false }),
        clickhouse_settings: extra,
      });
    },
    async insertRowBinary(table, columns, body, extra) {
      // @clickhouse/client's insert() knows no binary formats; exec() streams any body
      const cols = columns.map((c) => `\`${c}\``).join(", ");
      const rs = await client.exec({
        query: `INSERT INTO ${config.database}.${table} (${cols}) FORMAT RowBinary`,
        values: Readable.from([body], { objectMode: false }),
        clickhouse_settings: extra,
      });
      rs.stream.resume();
      await new Promise<void>((resolve, reject) => {
        rs.stream.once("end", resolve);
        rs.stream.once("error", reject);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

/**
 * Makes the embedded client write query parameters into the SQL text (inline-params.ts) so that
 * chDB runs those queries concurrently instead of through its global parameter queue.
 */
function inlineQueryParams(client: ClickHouseClient): void {
  type Params = { query: string; query_params?: Record<string, unknown> };
  const rewrite = <T extends Params>(p: T): T => {
    if (!p.query_params || Object.keys(p.query_params).length === 0) return p;
    const sql = inlineParams(p.query, p.query_params);
    return sql === null ? p : { ...p, query: sql, query_params: undefined };
  };
  const target = client as unknown as Record<"query" | "command" | "exec", (p: Params) => unknown>;
  for (const method of ["query", "command", "exec"] as const) {
    const original = target[method].bind(client);
    target[method] = (p: Params) => original(rewrite(p));
  }
}
