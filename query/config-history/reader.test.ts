import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/load.js";
import { loadMigrations, migrate, renderMigration, retentionDaysOf } from "../../core/store/migrations.js";
import { openStore, type Store } from "../../core/store/store.js";
import { chTime, HistoryStore, type KnownState, OPEN_END, type Scope } from "../../recorder/history-store.js";
import { ConfigHistoryReader } from "./reader.js";

const HOUR = 3_600_000_000_000n;
const T0 = BigInt(Date.UTC(2025, 0, 1)) * 1_000_000n;

/**
 * A history written the way the recorder writes it, with resources whose versions last minutes,
 * hours, days, months and years (every level of config_periods), deletions and an id that comes
 * back. Returns the write steps in time order.
 */
function plan(): Array<{ at: bigint; id: string; deleted: boolean }> {
  const steps: Array<{ at: bigint; id: string; deleted: boolean }> = [];
  // every `period` from `start` until `end`, deleted at `end` when asked
  const life = (id: string, start: bigint, period: bigint, end: bigint, deleted: boolean) => {
    for (let at = start; at < end; at += period) steps.push({ at, id, deleted: false });
    if (deleted) steps.push({ at: end, id, deleted: true });
  };
  const year = 8_760n * HOUR;
  life("i-minutes", T0, HOUR / 6n, T0 + 6n * HOUR, false);
  life("i-hourly", T0 + 7n * 60_000_000_000n, HOUR + 61_000_000_000n, T0 + 5n * 24n * HOUR, true);
  life("i-daily", T0 + HOUR / 3n, 24n * HOUR + 1n, T0 + 60n * 24n * HOUR, false);
  life("i-weekly", T0 + 5n * HOUR, 7n * 24n * HOUR, T0 + year, true);
  life("i-monthly", T0 + 9n * HOUR, 30n * 24n * HOUR, T0 + 2n * year, false);
  life("i-years", T0 + 11n * HOUR, 2n * year + 12_345n, T0 + 5n * year, false);
  life("i-short", T0 + 100n * HOUR, HOUR, T0 + 103n * HOUR, true);
  // deleted, then back under the same id (HTTP sources name their items)
  life("i-back", T0 + 3n * HOUR, 50n * HOUR, T0 + 400n * HOUR, true);
  life("i-back", T0 + 900n * HOUR, 50n * HOUR, T0 + 1_000n * HOUR, false);
  return steps.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

describe("resources at a time, from the validity levels", () => {
  let store: Store;
  let dir: string;
  let reader: ConfigHistoryReader;
  let times: bigint[];
  const scope: Scope = { tenant: "t1", collection: "instances", account: "acct", region: "us-east-1" };
  const steps = plan();
  const known = new Map<string, KnownState>();
  let version = 0;
  const written: Array<{ at: bigint; id: string; deleted: boolean; hash: string }> = [];

  /** Through the recorder's store, or as a recorder before migration 0009 wrote (no deletes). */
  const write = async (history: HistoryStore | "before 0009", list: typeof steps) => {
    const versions: unknown[] = [];
    const intervals: unknown[] = [];
    for (const s of list) {
      const k = known.get(s.id);
      const hash = s.deleted ? "" : `h${version++}`;
      const previous = k ? { since: k.since, deleted: k.deleted } : undefined;
      const row = { id: s.id, hash, deleted: s.deleted, doc: s.deleted ? "" : `{"v":"${hash}"}`, previous };
      if (history !== "before 0009") await history.writeVersions(scope, s.at, [row], []);
      else {
        const at = chTime(s.at);
        const flag = (b: boolean) => (b ? 1 : 0);
        versions.push({ ...scope, id: s.id, seen_at: at, hash, deleted: flag(s.deleted), doc: row.doc });
        const interval = (from: bigint, to: string, deleted: boolean, closed: boolean) => ({
          ...scope,
          id: s.id,
          valid_from: chTime(from),
          valid_to: to,
          deleted: flag(deleted),
          closed: flag(closed),
        });
        if (previous) intervals.push(interval(previous.since, at, previous.deleted, true));
        intervals.push(interval(s.at, OPEN_END, s.deleted, false));
      }
      known.set(s.id, { hash, deleted: s.deleted, tagged: false, since: s.at });
      written.push({ ...s, hash });
    }
    if (versions.length > 0) {
      const table = (name: string) => `${store.database}.${name}`;
      await store.client.insert({ table: table("config_versions"), format: "JSONEachRow", values: versions });
      await store.client.insert({
        table: table("config_intervals"),
        format: "JSONEachRow",
        values: intervals,
      });
    }
  };

  /** What the record says at t: per id its last write at or before t, unless that was a deletion. */
  const expected = (t: bigint) => {
    const last = new Map<string, (typeof written)[number]>();
    for (const w of written) if (w.at <= t) last.set(w.id, w);
    return [...last.values()]
      .filter((w) => !w.deleted)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((w) => `${w.id}@${w.at}:${w.hash}`)
      .join(" ");
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "skald-config-reader-"));
    const config = loadConfig({ env: {}, overrides: { "storage.dataDir": dir } });
    store = await openStore(config.storage);
    // the first half of the history is written before migration 0009 exists, the rest after it
    const retentionDays = retentionDaysOf(config.storage);
    await store.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${store.database}` });
    for (const m of loadMigrations().filter((m) => m.version < 9)) {
      for (const sql of renderMigration(m.sql, { database: store.database, cluster: "", retentionDays })) {
        await store.client.command({ query: sql });
      }
    }
    const half = Math.floor(steps.length / 2);
    await write("before 0009", steps.slice(0, half));
    await migrate(store, retentionDays);
    await write(new HistoryStore(store, "test"), steps.slice(half));
    reader = new ConfigHistoryReader(store);
    // every step, just before and after it, and random instants in between
    let seed = 7;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return BigInt(seed);
    };
    const last = steps[steps.length - 1].at + 10n * HOUR;
    times = [
      ...steps.filter((_, i) => i % 4 === 0).flatMap((s) => [s.at - 1n, s.at]),
      ...Array.from({ length: 60 }, () => T0 - HOUR + ((random() * random()) % (last - T0))),
    ];
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("live ids, their since and their documents match the record at every step and in between", async () => {
    const mismatches: string[] = [];
    for (const t of times) {
      const want = expected(t);
      const ids = await reader.resourcesAt("t1", ["instances"], t, { withDoc: false });
      const idsGot = ids.map((r) => `${r.id}@${r.since}`).join(" ");
      if (idsGot !== want.replace(/:h\d+/g, "")) mismatches.push(`ids at ${t}: got ${idsGot} want ${want}`);
      const docs = await reader.resourcesAt("t1", ["instances"], t, { withDoc: true });
      const docsGot = docs
        .map((r) => `${r.id}@${r.since}:${(JSON.parse(r.doc) as { v: string }).v}`)
        .join(" ");
      if (docsGot !== want) mismatches.push(`docs at ${t}: got ${docsGot} want ${want}`);
    }
    expect(mismatches).toEqual([]);
    // and the answer is not trivially empty
    const mid = await reader.resourcesAt("t1", ["instances"], T0 + 920n * HOUR, { withDoc: false });
    expect(mid.map((r) => r.id)).toEqual([
      "i-back",
      "i-daily",
      "i-minutes",
      "i-monthly",
      "i-weekly",
      "i-years",
    ]);
  }, 120_000);

  it("a deleted resource leaves config_current; the rows there are about the live resources", async () => {
    const rs = await store.client.query({
      query: `SELECT id FROM ${store.database}.config_current WHERE tenant = 't1' GROUP BY id ORDER BY id`,
      format: "JSONEachRow",
    });
    expect((await rs.json<{ id: string }>()).map((r) => r.id)).toEqual([
      "i-back",
      "i-daily",
      "i-minutes",
      "i-monthly",
      "i-years",
    ]);
  });

  it("reads only the tenant's rows and the requested ids", async () => {
    const at = T0 + 920n * HOUR;
    expect(await reader.resourcesAt("t2", ["instances"], at, { withDoc: false })).toEqual([]);
    const some = await reader.resourcesAt("t1", ["instances"], at, {
      withDoc: false,
      ids: ["i-years", "i-x"],
    });
    expect(some.map((r) => r.id)).toEqual(["i-years"]);
  });
});
