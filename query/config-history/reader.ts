import type { Store } from "../../core/store/store.js";
import { DEFAULT_LIMITS, type QueryLimits, queryLimitOptions } from "../sql.js";

/**
 * Reads config history (migrations/0003_config_history.sql). Every query is scoped to one tenant
 * and takes user text only as bound parameters. Times are bigint nanoseconds; `null` "at" = now.
 * Consecutive rows of a resource with the same hash (two recorders seeing one change) are one
 * version: readers keep the first.
 */
export interface ResourceState {
  type: string;
  id: string;
  account: string;
  region: string;
  /** When the current version was (last) recorded. */
  since: bigint;
  doc: string;
}

export interface VersionRecord {
  at: bigint;
  hash: string;
  deleted: boolean;
  doc: string;
  account: string;
  region: string;
}

export interface ChangeRecord {
  type: string;
  id: string;
  account: string;
  region: string;
  at: bigint;
  kind: "created" | "modified" | "deleted";
  hash: string;
  doc: string;
}

export interface IpHolder {
  type: string;
  id: string;
  account: string;
  region: string;
  since: bigint;
}

export interface CrawlRecord {
  type: string;
  account: string;
  region: string;
  startedAt: bigint;
  finishedAt: bigint;
  status: string;
  resources: number;
  changes: number;
  error: string;
}

const ns = (col: string) => `toString(toUnixTimestamp64Nano(${col}))`;
// the largest instant DateTime64(9) holds comfortably (year 2255); Int64 nanoseconds end in 2262
const FAR_FUTURE = 9_000_000_000_000_000_000n;
/**
 * Bucket size of each level of config_periods (migrations/0009_config_validity_levels.sql): level L
 * files intervals up to 4^L hours long under intDiv(time ns, 3600e9 * 4^L); level 8 (longer ones)
 * has one bucket, 0.
 */
const LEVEL_NS = [
  ...Array.from({ length: 8 }, (_, l) => 3_600_000_000_000n * 4n ** BigInt(l)),
  2n ** 63n - 1n,
];

export class ConfigHistoryReader {
  constructor(
    private readonly store: Store,
    /** Timeout and row cap of every query (config `limits`). */
    private readonly limits: QueryLimits = DEFAULT_LIMITS,
  ) {}

  private t(name: string): string {
    return `${this.store.database}.${name}`;
  }

  private async rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    const rs = await this.store.client.query({
      ...queryLimitOptions(this.store, this.limits),
      query,
      query_params: params,
      format: "JSONEachRow",
    });
    return rs.json<T>();
  }

  /**
   * Live resources of `types` at `at`: the latest row per resource at or before `at` that is not a
   * deletion marker. `ids` narrows to those ids; `needles` keeps only documents containing every
   * needle (a cheap pre-filter before the JSON filter runs in JS).
   */
  async resourcesAt(
    tenant: string,
    types: string[],
    at: bigint | null,
    opts: { ids?: string[]; needles?: string[]; limit?: number; withDoc?: boolean } = {},
  ): Promise<ResourceState[]> {
    // Without documents only id, time and deletion columns are read (much less than the docs).
    const needsDoc = opts.withDoc !== false || (opts.needles ?? []).length > 0;
    if (!needsDoc) return this.liveAt(tenant, types, at, opts.ids, opts.limit);
    // the live versions' documents, looked up by their full key in config_versions
    const live = this.liveSql(at, opts.ids);
    const rows = await this.rows<{ c: string; id: string; a: string; r: string; s: string; doc: string }>(
      `SELECT collection AS c, id, account AS a, region AS r, ${ns("seen_at")} AS s, doc
        FROM ${this.t("config_versions")}
        WHERE tenant = {tenant:String} AND collection IN {types:Array(String)}
          ${opts.ids ? "AND id IN {ids:Array(String)}" : ""}
          AND (tenant, collection, id, account, region, seen_at) IN (
            SELECT {tenant:String}, collection, id, account, region, since FROM (${live.sql}))
          ${(opts.needles ?? []).map((_, i) => `AND position(doc, {n${i}:String}) > 0`).join(" ")}
        ORDER BY c, id, a, r
        LIMIT 1 BY c, id, a, r
        ${opts.limit ? `LIMIT ${Math.floor(opts.limit)}` : ""}`,
      {
        tenant,
        types,
        ...live.params,
        ...Object.fromEntries((opts.needles ?? []).map((n, i) => [`n${i}`, n])),
      },
    );
    return rows.map((r) => ({
      type: r.c,
      id: r.id,
      account: r.a,
      region: r.r,
      since: BigInt(r.s),
      doc: r.doc,
    }));
  }

  /**
   * Resources live at `at` (collection, id, account, region, since), from the validity intervals
   * (migrations/0009_config_validity_levels.sql): the bucket containing `at` of each level of
   * config_periods (closed intervals) and config_current (open ones). Per resource the interval
   * with the latest start wins, so a stale open row not yet merged away is outvoted by the version
   * that followed it. Needs {tenant} and {types} bound by the caller.
   */
  private liveSql(at: bigint | null, ids: string[] | undefined) {
    const t = at ?? BigInt(Date.now()) * 1_000_000n;
    // integers computed here, not user text
    const buckets = LEVEL_NS.map((size, level) => `(${level}, ${t < 0n ? 0n : t / size})`).join(", ");
    const idFilter = ids ? "AND id IN {ids:Array(String)}" : "";
    const sql = `SELECT collection, id, account, region, max(valid_from) AS since
        FROM (
          SELECT collection, id, account, region, valid_from, deleted FROM ${this.t("config_periods")}
            WHERE tenant = {tenant:String} AND collection IN {types:Array(String)}
              AND (level, bucket) IN (${buckets}) ${idFilter}
              AND valid_from <= fromUnixTimestamp64Nano({at:Int64}, 'UTC')
              AND valid_to > fromUnixTimestamp64Nano({at:Int64}, 'UTC')
          UNION ALL
          SELECT collection, id, account, region, valid_from, deleted FROM ${this.t("config_current")}
            WHERE tenant = {tenant:String} AND collection IN {types:Array(String)} ${idFilter}
              AND valid_from <= fromUnixTimestamp64Nano({at:Int64}, 'UTC'))
        GROUP BY collection, id, account, region
        HAVING argMax(deleted, valid_from) = 0`;
    return { sql, params: { at: t.toString(), ids: ids ?? [] } };
  }

  /** Ids live at `at` (see liveSql): reads no documents. */
  private async liveAt(
    tenant: string,
    types: string[],
    at: bigint | null,
    ids: string[] | undefined,
    limit: number | undefined,
  ): Promise<ResourceState[]> {
    const live = this.liveSql(at, ids);
    // JSONCompact: one JSON document of arrays parses much faster than 10,000 objects
    const rs = await this.store.client.query({
      ...queryLimitOptions(this.store, this.limits),
      query: `SELECT collection AS c, id, account AS a, region AS r, ${ns("since")} AS s FROM (${live.sql})
        ORDER BY c, id, a, r
        ${limit ? `LIMIT ${Math.floor(limit)}` : ""}`,
      query_params: { tenant, types, ...live.params },
      format: "JSONCompact",
    });
    const { data } = await rs.json<[string, string, string, string, string]>();
    return data.map(([c, id, a, r, s]) => ({
      type: c,
      id,
      account: a,
      region: r,
      since: BigInt(s),
      doc: "",
    }));
  }

  /** Every version of one resource, oldest first, duplicates collapsed. */
  async versions(tenant: string, type: string, id: string): Promise<VersionRecord[]> {
    return (await this.history(tenant, type, [id], null)).get(id) ?? [];
  }

  /**
   * Versions (oldest first, duplicates collapsed) of the given ids, or of every resource of the
   * collection when `ids` is null, recorded before `until`; keyed by id.
   */
  async history(
    tenant: string,
    type: string,
    ids: string[] | null,
    until: bigint | null,
  ): Promise<Map<string, VersionRecord[]>> {
    const rows = await this.rows<{
      id: string;
      s: string;
      hash: string;
      deleted: number;
      doc: string;
      a: string;
      r: string;
    }>(
      `SELECT id, ${ns("seen_at")} AS s, hash, deleted, doc, account AS a, region AS r
        FROM ${this.t("config_versions")} FINAL
        WHERE tenant = {tenant:String} AND collection = {type:String}
          ${ids ? "AND id IN {ids:Array(String)}" : ""}
          AND seen_at <= fromUnixTimestamp64Nano({until:Int64}, 'UTC')
        ORDER BY id, seen_at, account, region`,
      { tenant, type, ids: ids ?? [], until: (until ?? FAR_FUTURE).toString() },
    );
    const out = new Map<string, VersionRecord[]>();
    const last = new Map<string, string>();
    for (const r of rows) {
      const scope = `${r.id}\u0000${r.a}\u0000${r.r}`;
      const key = Number(r.deleted) === 1 ? "\u0000deleted" : r.hash;
      if (last.get(scope) === key) continue;
      last.set(scope, key);
      const list = out.get(r.id) ?? [];
      list.push({
        at: BigInt(r.s),
        hash: r.hash,
        deleted: Number(r.deleted) === 1,
        doc: r.doc,
        account: r.a,
        region: r.r,
      });
      out.set(r.id, list);
    }
    return out;
  }

  /** Versions and deletions first recorded in [since, until), with their kind, oldest first. */
  async changes(
    tenant: string,
    since: bigint,
    until: bigint | null,
    types: string[] | null,
  ): Promise<ChangeRecord[]> {
    const rows = await this.rows<{
      c: string;
      id: string;
      a: string;
      r: string;
      s: string;
      hash: string;
      deleted: number;
      prev: string;
      doc: string;
    }>(
      `SELECT c, id, a, r, s, hash, deleted, prev, doc FROM (
          SELECT collection AS c, id, account AS a, region AS r, seen_at, ${ns("seen_at")} AS s, hash, deleted, doc,
            lagInFrame(if(deleted = 1, '\\0deleted', hash), 1, '\\0none') OVER (
              PARTITION BY collection, id, account, region ORDER BY seen_at
              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prev
          FROM ${this.t("config_versions")} FINAL
          WHERE tenant = {tenant:String}
            ${types ? "AND collection IN {types:Array(String)}" : ""}
            AND seen_at < fromUnixTimestamp64Nano({until:Int64}, 'UTC')
            AND (collection, id) IN (
              SELECT collection, id FROM ${this.t("config_versions")}
              WHERE tenant = {tenant:String}
                ${types ? "AND collection IN {types:Array(String)}" : ""}
                AND seen_at >= fromUnixTimestamp64Nano({since:Int64}, 'UTC')
                AND seen_at < fromUnixTimestamp64Nano({until:Int64}, 'UTC'))
        )
        WHERE seen_at >= fromUnixTimestamp64Nano({since:Int64}, 'UTC')
          AND prev != if(deleted = 1, '\\0deleted', hash)
        ORDER BY seen_at, c, id`,
      { tenant, types: types ?? [], since: since.toString(), until: (until ?? FAR_FUTURE).toString() },
    );
    return rows.map((r) => ({
      type: r.c,
      id: r.id,
      account: r.a,
      region: r.r,
      at: BigInt(r.s),
      hash: r.hash,
      doc: r.doc,
      kind:
        Number(r.deleted) === 1
          ? "deleted"
          : r.prev === "\u0000none" || r.prev === "\u0000deleted"
            ? "created"
            : "modified",
    }));
  }

  /** Resources holding `ip` at `at` (instances, network interfaces, load balancers…). */
  async whoHad(tenant: string, ip: string, at: bigint): Promise<IpHolder[]> {
    const rows = await this.rows<{ c: string; id: string; a: string; r: string; s: string }>(
      `SELECT collection AS c, id, account AS a, region AS r, ${ns("max(seen_at)")} AS s
        FROM ${this.t("config_ip_holders")}
        WHERE tenant = {tenant:String} AND ip = {ip:String}
          AND seen_at <= fromUnixTimestamp64Nano({at:Int64}, 'UTC')
        GROUP BY collection, id, account, region
        HAVING argMax(held, seen_at) = 1
        ORDER BY c, id`,
      { tenant, ip, at: at.toString() },
    );
    const holders = rows.map((r) => ({ type: r.c, id: r.id, account: r.a, region: r.r, since: BigInt(r.s) }));
    return this.resolveElasticIp(tenant, holders, at);
  }

  /**
   * An elastic IP's holder is what DescribeAddresses names (its InstanceId and NetworkInterfaceId):
   * instance and interface documents can still show a moved address until their next crawl (and
   * moto never clears it from the old interface). The address record itself is not a holder.
   */
  private async resolveElasticIp(tenant: string, holders: IpHolder[], at: bigint): Promise<IpHolder[]> {
    const eips = holders.filter((h) => h.type === "addresses");
    if (eips.length === 0) return holders;
    const docs = await this.resourcesAt(tenant, ["addresses"], at, { ids: eips.map((e) => e.id) });
    const named = new Set<string>();
    for (const d of docs) {
      const doc = JSON.parse(d.doc) as { InstanceId?: string; NetworkInterfaceId?: string };
      if (doc.InstanceId) named.add(`instances/${doc.InstanceId}`);
      if (doc.NetworkInterfaceId) named.add(`networkInterfaces/${doc.NetworkInterfaceId}`);
    }
    return holders.filter(
      (h) =>
        h.type !== "addresses" &&
        (!["instances", "networkInterfaces"].includes(h.type) || named.has(`${h.type}/${h.id}`)),
    );
  }

  /** Crawl log rows in [since, until) (all when since is null), newest first. */
  async crawls(
    tenant: string,
    since: bigint | null,
    until: bigint | null,
    types: string[] | null,
  ): Promise<CrawlRecord[]> {
    const rows = await this.rows<{
      c: string;
      a: string;
      r: string;
      s: string;
      f: string;
      status: string;
      resources: number;
      changes: number;
      error: string;
    }>(
      `SELECT collection AS c, account AS a, region AS r, ${ns("started_at")} AS s, ${ns("finished_at")} AS f,
          toString(status) AS status, resources, changes, error
        FROM ${this.t("config_crawls")} FINAL
        WHERE tenant = {tenant:String}
          ${types ? "AND collection IN {types:Array(String)}" : ""}
          AND started_at >= fromUnixTimestamp64Nano({since:Int64}, 'UTC')
          AND started_at < fromUnixTimestamp64Nano({until:Int64}, 'UTC')
        ORDER BY started_at DESC`,
      {
        tenant,
        types: types ?? [],
        since: (since ?? 0n).toString(),
        until: (until ?? FAR_FUTURE).toString(),
      },
    );
    return rows.map((r) => ({
      type: r.c,
      account: r.a,
      region: r.r,
      startedAt: BigInt(r.s),
      finishedAt: BigInt(r.f),
      status: r.status,
      resources: Number(r.resources),
      changes: Number(r.changes),
      error: r.error,
    }));
  }

  /** Collections that have any recorded row (for listing and 404s). */
  async types(tenant: string): Promise<string[]> {
    const rows = await this.rows<{ c: string }>(
      `SELECT DISTINCT collection AS c FROM ${this.t("config_crawls")} WHERE tenant = {tenant:String} ORDER BY c`,
      { tenant },
    );
    return rows.map((r) => r.c);
  }
}
