/**
 * Cluster layout of the migrations (storage.cluster set). The same migration files are rewritten,
 * statement by statement, before their placeholders are rendered:
 *
 *   CREATE TABLE {database}.t ...            → {database}.t_local, Replicated engine, every node
 *                                              + {database}.t, a Distributed table over t_local
 *   CREATE MATERIALIZED VIEW ... TO x FROM y → TO x_local FROM y_local (a view fires on the node
 *                                              whose local table took the insert, so it must read
 *                                              and write local tables)
 *   ALTER TABLE {database}.t ...             → on t_local; column changes also on t
 *   ALTER TABLE {database}.v MODIFY QUERY SELECT ... FROM y
 *                                            → v keeps its name, reads y_local (as CREATE
 *                                              MATERIALIZED VIEW)
 *   CREATE TABLE ... AS SELECT ... FROM {database}.y
 *                                            → t_local filled FROM y_local: each node copies its
 *                                              own rows (only right when t and y share a sharding key)
 *   DROP TABLE IF EXISTS {database}.t        → t and t_local, every node
 *   DROP VIEW IF EXISTS {database}.v         → v, every node (views keep their names)
 *   CREATE VIEW ... AS SELECT ... FROM {database}.t
 *                                            → v on every node, reading the Distributed table t
 *   INSERT INTO {database}.t SELECT ... FROM {database}.y
 *                                            → as written, once: the Distributed tables read every
 *                                              shard and send each row to its shard by t's key
 *   REBUILD {database}.t AS {database}.n    → as written: the migration runner lays out its copy,
 *                                              exchange and drop (rebuildStatements, migrations.ts)
 *
 * Readers and writers keep using the plain names (`spans`, `trace_index`, ...): on a cluster those
 * are the Distributed tables, so no query changes between single node and cluster.
 */

/** Suffix of the per-node (replicated) table behind each Distributed table. */
export const LOCAL_SUFFIX = "_local";

/**
 * How rows of each table are spread over shards (the Distributed table's sharding key). Spans and
 * everything derived per span go by trace id, so a whole trace lives on one shard (trace-by-id
 * reads one shard's rows; the service-map pairing joins parent and child within a shard). Tables
 * read with FINAL go by the key their rows collapse on, so every version of one row is on one shard.
 * Aggregates filled by materialized views stay where their source rows landed; their key only
 * matters for direct inserts, and readers always sum across shards.
 */
export const SHARDING_KEYS: Readonly<Record<string, string>> = {
  spans: "cityHash64(trace_id)",
  spans_by_trace: "cityHash64(trace_id)", // 0021: spans sorted by trace, the copy REBUILD fills
  trace_index: "cityHash64(trace_id)",
  operations: "cityHash64(tenant, service_name)",
  sm_spans: "cityHash64(trace_id)", // 0002; replaced by sm_half_edges in 0011
  // ids kept as bytes: hashed as the hex text spans are sharded by, so a trace's half edges sit
  // on its spans' shard whether a view or a direct insert wrote them
  sm_half_edges: "cityHash64(lower(hex(trace_id)))",
  sm_arrivals: "cityHash64(lower(hex(trace_id)))", // 0017: sm_half_edges sorted by arrival first
  sm_edges_1m: "cityHash64(tenant, source, target_kind, target)",
  sm_edges_10m: "cityHash64(tenant, source, target_kind, target)",
  sm_edges_1m_v2: "cityHash64(tenant, source, target_kind, target)", // 0014: 256-row granules
  sm_edges_10m_v2: "cityHash64(tenant, source, target_kind, target)",
  sm_edges_1h: "cityHash64(tenant, source, target_kind, target)",
  sm_windows: "cityHash64(window_end)",
  sm_window_slices: "cityHash64(window_end)", // 0016
  sm_edges_stage: "cityHash64(window_end)", // 0022: a window's calls before it is published
  sm_red_stage: "cityHash64(window_end)",
  sm_publishing: "cityHash64(window_end)",
  // 0025: a window's pending CLIENT/PRODUCER spans, on their trace's shard like sm_arrivals
  sm_pending: "cityHash64(lower(hex(trace_id)))",
  sm_resolved: "cityHash64(lower(hex(trace_id)))",
  sm_red_1m: "cityHash64(tenant, service)",
  sm_red_1m_v2: "cityHash64(tenant, service)", // 0015: 256-row granules
  sm_red_1h: "cityHash64(tenant, service)",
  sm_service_red_1m: "cityHash64(tenant, service)",
  sm_service_red_1m_v2: "cityHash64(tenant, service)", // 0014: 256-row granules
  sm_service_red_1h: "cityHash64(tenant, service)",
  config_versions: "cityHash64(tenant, collection, id)",
  config_ip_holders: "cityHash64(tenant, ip)",
  config_crawls: "cityHash64(tenant, collection, account, region)",
  config_intervals: "cityHash64(tenant, collection, id)",
  // filled from config_intervals (at creation and by views on the local tables): same key
  config_periods: "cityHash64(tenant, collection, id)",
  config_current: "cityHash64(tenant, collection, id)",
  canary_configs: "cityHash64(tenant, id)",
  canary_runs: "cityHash64(tenant, id)",
  flows: "cityHash64(src_addr, dst_addr)",
  flows_minute: "cityHash64(src_addr, dst_addr)",
  flows_minute_pairs: "cityHash64(src_addr, dst_addr)",
  flows_hour_pairs: "cityHash64(src_addr, dst_addr)",
  audit_log: "cityHash64(tenant, event_id)",
};

const CREATE_TABLE = /^CREATE TABLE IF NOT EXISTS \{database\}\.(\w+)/;
const CREATE_MV = /^CREATE MATERIALIZED VIEW IF NOT EXISTS \{database\}\.(\w+)/;
const ALTER_TABLE = /^ALTER TABLE \{database\}\.(\w+)/;
const CREATE_VIEW = /^CREATE VIEW IF NOT EXISTS \{database\}\.(\w+)/;
const DROP = /^DROP (TABLE|VIEW) IF EXISTS \{database\}\.(\w+)/;
const INSERT_SELECT = /^INSERT INTO \{database\}\.\w+\s/;
/** Skald's REBUILD step of a migration (not ClickHouse SQL): the table and the new table it becomes. */
export const REBUILD = /^REBUILD \{database\}\.(\w+) AS \{database\}\.(\w+)$/;
const MODIFY_QUERY = /^ALTER TABLE \{database\}\.\w+ \{on_cluster\}\s+MODIFY QUERY\b/;
const COLUMN_CHANGE = /\b(ADD|DROP|MODIFY|RENAME|COMMENT) COLUMN\b/;

/** Single-quoted SQL string literal. */
export const sqlString = (s: string): string => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

/**
 * Rewrites one migration statement (placeholders not yet rendered) into its cluster statements.
 * Throws on a statement it does not know how to lay out, so a new kind of migration cannot
 * silently create a table only on the node `skald migrate` talked to.
 */
export function clusterStatements(statement: string, cluster: string, sharding = SHARDING_KEYS): string[] {
  const table = CREATE_TABLE.exec(statement)?.[1];
  if (table) {
    const key = sharding[table];
    if (!key) throw new Error(`cluster mode: no sharding key for table ${table} (add it to SHARDING_KEYS)`);
    const local = `${table}${LOCAL_SUFFIX}`;
    return [
      statement
        .replace(CREATE_TABLE, `CREATE TABLE IF NOT EXISTS {database}.${local}`)
        // tables an AS SELECT reads: the node's own local ones
        .replace(/(?<=\bFROM )\{database\}\.(\w+)/g, `{database}.$1${LOCAL_SUFFIX}`),
      `CREATE TABLE IF NOT EXISTS {database}.${table} {on_cluster} AS {database}.${local}\n` +
        `ENGINE = Distributed(${sqlString(cluster)}, {database}, ${local}, ${key})`,
    ];
  }
  const view = CREATE_MV.exec(statement)?.[1];
  if (view) return [onLocalTables(statement, view)];
  const altered = ALTER_TABLE.exec(statement)?.[1];
  if (altered && MODIFY_QUERY.test(statement)) return [onLocalTables(statement, altered)];
  if (altered) {
    const local = statement.replace(ALTER_TABLE, `ALTER TABLE {database}.${altered}${LOCAL_SUFFIX}`);
    return COLUMN_CHANGE.test(statement) ? [local, statement] : [local];
  }
  if (CREATE_VIEW.test(statement) || INSERT_SELECT.test(statement) || REBUILD.test(statement)) {
    return [statement];
  }
  const dropped = DROP.exec(statement);
  if (dropped) {
    if (dropped[1] === "VIEW") return [statement];
    return [
      statement,
      statement.replace(DROP, `DROP TABLE IF EXISTS {database}.${dropped[2]}${LOCAL_SUFFIX}`),
    ];
  }
  throw new Error(`cluster mode: cannot lay out this statement: ${statement.slice(0, 80)}`);
}

/**
 * A materialized view's statement with every table it names (TO and FROM) replaced by the local
 * one; the view itself keeps its name.
 */
function onLocalTables(statement: string, view: string): string {
  return statement.replace(/\{database\}\.(\w+)/g, (whole, name: string) =>
    name === view ? whole : `{database}.${name}${LOCAL_SUFFIX}`,
  );
}

/** The table that holds the rows (and the TTL) of `table`: itself, or its local table on a cluster. */
export function storageTable(table: string, cluster: string): string {
  return cluster ? `${table}${LOCAL_SUFFIX}` : table;
}
