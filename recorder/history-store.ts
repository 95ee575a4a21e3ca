import { sqlString, storageTable } from "../core/store/cluster.js";
import type { Store } from "../core/store/store.js";

/** What the recorder knows of one resource: its latest version's hash (or deletion). */
export interface KnownState {
  hash: string;
  deleted: boolean;
  tagged: boolean;
  /** seen_at of that latest row (ns): the start of its validity interval. */
  since: bigint;
}

export interface VersionRow {
  id: string;
  hash: string;
  deleted: boolean;
  doc: string;
  /** The resource's previous latest row (its interval is closed at this row's time). */
  previous?: { since: bigint; deleted: boolean };
}

export interface IpRow {
  ip: string;
  id: string;
  held: boolean;
}

export interface CrawlRow {
  startedAt: bigint;
  finishedAt: bigint;
  status: "success" | "failed" | "partial" | "discarded";
  resources: number;
  changes: number;
  error: string;
}

export interface Scope {
  tenant: string;
  collection: string;
  account: string;
  region: string;
}

/** Nanoseconds → ClickHouse DateTime64(9) text in UTC ("2026-11-28 21:49:53.123456789"). */
export function chTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, "0");
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}.${frac}`;
}

/** valid_to of an open interval. */
export const OPEN_END = "2255-01-01 00:00:00.000000000";

/**
 * The recorder's reads and writes of config history. Writes are JSONEachRow inserts of whole
 * crawls; rows are deterministic given (scope, id, seen_at, hash), so a retried insert is a
 * replay the ReplacingMergeTree collapses.
 */
export class HistoryStore {
  constructor(
    private readonly store: Store,
    private readonly recorderName: string,
  ) {}

  private table(name: string): string {
    return `${this.store.database}.${name}`;
  }

  /** Latest known state of every resource in scope (or of the given ids only). */
  async latest(scope: Scope, ids?: string[]): Promise<Map<string, KnownState>> {
    const rs = await this.store.client.query({
      query: `SELECT id, argMax(hash, seen_at) AS h, argMax(deleted, seen_at) AS d,
          argMax(position(doc, '"Tags":[{') > 0 OR position(doc, '"tags":{"') > 0, seen_at) AS t,
          toString(toUnixTimestamp64Nano(max(seen_at))) AS s
        FROM ${this.table("config_versions")}
        WHERE tenant = {tenant:String} AND collection = {collection:String}
          AND account = {account:String} AND region = {region:String}
          ${ids ? "AND id IN {ids:Array(String)}" : ""}
        GROUP BY id`,
      query_params: { ...scope, ids: ids ?? [] },
      format: "JSONEachRow",
    });
    const out = new Map<string, KnownState>();
    for (const r of await rs.json<{ id: string; h: string; d: number; t: number; s: string }>()) {
      out.set(r.id, { hash: r.h, deleted: Number(r.d) === 1, tagged: Number(r.t) === 1, since: BigInt(r.s) });
    }
    return out;
  }

  /** Latest IPs each resource held, for computing the IP rows of a new version. */
  async heldIps(scope: Scope, ids: string[]): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    if (ids.length === 0) return out;
    const rs = await this.store.client.query({
      query: `SELECT id, ip FROM ${this.table("config_ip_holders")}
        WHERE tenant = {tenant:String} AND collection = {collection:String} AND account = {account:String}
          AND region = {region:String} AND id IN {ids:Array(String)}
        GROUP BY id, ip HAVING argMax(held, seen_at) = 1`,
      query_params: { ...scope, ids },
      format: "JSONEachRow",
    });
    for (const r of await rs.json<{ id: string; ip: string }>()) {
      let set = out.get(r.id);
      if (!set) {
        set = new Set();
        out.set(r.id, set);
      }
      set.add(r.ip);
    }
    return out;
  }

  async writeVersions(scope: Scope, seenAt: bigint, rows: VersionRow[], ips: IpRow[]): Promise<void> {
    const at = chTime(seenAt);
    if (rows.length > 0) {
      await this.store.client.insert({
        table: this.table("config_versions"),
        format: "JSONEachRow",
        values: rows.map((r) => ({
          ...scope,
          id: r.id,
          seen_at: at,
          hash: r.hash,
          deleted: r.deleted ? 1 : 0,
          doc: r.doc,
        })),
      });
    }
    if (rows.length > 0) {
      const interval = (id: string, from: bigint, to: string, deleted: boolean, closed: boolean) => ({
        ...scope,
        id,
        valid_from: chTime(from),
        valid_to: to,
        deleted: deleted ? 1 : 0,
        closed: closed ? 1 : 0,
      });
      await this.store.client.insert({
        table: this.table("config_intervals"),
        format: "JSONEachRow",
        values: rows.flatMap((r) => [
          ...(r.previous ? [interval(r.id, r.previous.since, at, r.previous.deleted, true)] : []),
          interval(r.id, seenAt, OPEN_END, r.deleted, false),
        ]),
      });
    }
    // config_current (filled from config_intervals) keeps about the live resources only: a
    // deleted resource's rows go, so "live at T" does not read every resource that ever existed.
    const gone = rows.filter((r) => r.deleted).map((r) => r.id);
    if (gone.length > 0) {
      const cluster = this.store.cluster;
      await this.store.client.command({
        query: `DELETE FROM ${this.store.database}.${storageTable("config_current", cluster)}
          ${cluster ? `ON CLUSTER ${sqlString(cluster)}` : ""}
          WHERE tenant = {tenant:String} AND collection = {collection:String} AND account = {account:String}
            AND region = {region:String} AND id IN {ids:Array(String)}`,
        query_params: { ...scope, ids: gone },
      });
    }
    if (ips.length > 0) {
      await this.store.client.insert({
        table: this.table("config_ip_holders"),
        format: "JSONEachRow",
        values: ips.map((r) => ({ ...scope, ip: r.ip, id: r.id, seen_at: at, held: r.held ? 1 : 0 })),
      });
    }
  }

  async logCrawl(scope: Scope, crawl: CrawlRow): Promise<void> {
    await this.store.client.insert({
      table: this.table("config_crawls"),
      format: "JSONEachRow",
      values: [
        {
          ...scope,
          started_at: chTime(crawl.startedAt),
          finished_at: chTime(crawl.finishedAt),
          status: crawl.status,
          resources: crawl.resources,
          changes: crawl.changes,
          recorder: this.recorderName,
          error: crawl.error.slice(0, 2000),
        },
      ],
    });
  }
}
