/**
 * npm run bench:recorder — the config-history recorder and its queries, in process on the
 * embedded store.
 *  1. Crawl cycle over BENCH_RESOURCES (default 10,000) instance-like documents from a generic HTTP
 *     source: the first crawl (everything new), an unchanged crawl (rows written: target 0), and a
 *     crawl with 1% changed. Prints time per cycle and rows written.
 *  2. A year (BENCH_HOURS, default 8,760) of hourly crawls of BENCH_RESOURCES slots, generated inside
 *     ClickHouse (INSERT … SELECT FROM numbers(), deterministic hashes, so every run has the same
 *     history): BENCH_PROFILE=mixed (default) gives each slot a period of 1 h (2% of slots), 6 h
 *     (8%), 1 day (20%), 1 week (30%) or 30 days (40%), so most resources are unchanged most hours;
 *     BENCH_PROFILE=hourly changes every resource every hour (the issue's 87.6M versions). Every 4th
 *     change replaces the instance (deletion marker + a new id); each slot owns two private IPs and
 *     every 2nd change moves it to the other one, so IPs pass between instances. Rows go where the
 *     recorder writes them (config_versions, config_ip_holders, config_intervals and, through the
 *     views, config_periods/config_current, with the deleted ids removed as the recorder does).
 *     Then waits for background merges (a year of history would be merged) and prints p50/p99 of
 *     `resources(type, at) { id }` (and the store query alone) and `whoHad(ip, at) { type id }`
 *     over GraphQL at random times and addresses.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { runRole } from "../cli/app.js";
import { loadConfig } from "../core/config/load.js";
import { createLogger } from "../core/log.js";
import type { Store } from "../core/store/store.js";
import { freePort } from "../test/support/clickhouse-server.js";
import { percentile, waitForMerges } from "./support.js";

const RESOURCES = Number(process.env.BENCH_RESOURCES ?? 10_000);
const HOURS = Number(process.env.BENCH_HOURS ?? 8_760);
const RUNS = Number(process.env.BENCH_RUNS ?? 100);
/** "mixed" (default): resources change every 1 h to 30 days; "hourly": every resource every hour. */
const PROFILE = process.env.BENCH_PROFILE === "hourly" ? "hourly" : "mixed";
/** Every this many changes of a slot, its instance is replaced (deleted, a new id takes its place). */
const REPLACE_EVERY = 4;

const instance = (i: number, version: number) => ({
  InstanceId: `i-${i.toString(16).padStart(17, "0")}`,
  ImageId: "ami-12c6146b",
  InstanceType: "m5.large",
  PrivateIpAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  Placement: { AvailabilityZone: "us-east-1a", Tenancy: "default" },
  SecurityGroups: [{ GroupId: "sg-0123456789abcdef0", GroupName: "web" }],
  State: { Code: 16, Name: "running" },
  Tags: [
    { Key: "Name", Value: `web-${i}` },
    { Key: "version", Value: String(version) },
  ],
  BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { VolumeId: `vol-${i}`, Status: "attached" } }],
});

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "skald-bench-recorder-"));
  let version = new Array<number>(RESOURCES).fill(0);
  const source = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ items: version.map((v, i) => instance(i, v)) }));
  });
  const sourcePort = await freePort();
  await new Promise<void>((r) => source.listen(sourcePort, "127.0.0.1", r));
  const config = loadConfig({
    env: {},
    overrides: {
      "storage.dataDir": dataDir,
      "otlp.grpcPort": 0,
      "otlp.httpPort": 0,
      "query.port": 0,
      "log.level": "warn",
      "recorder.intervalSeconds": 86_400,
      "recorder.http": [
        {
          name: "benchInstances",
          url: `http://127.0.0.1:${sourcePort}/`,
          itemsPath: "items",
          idPath: "InstanceId",
        },
      ],
    },
  });
  const app = await runRole("start", config, createLogger("warn"));
  try {
    const recorder = app.recorder!;
    const c = recorder.collections[0];
    const rows = async () => {
      const rs = await app.store.client.query({
        query: `SELECT count() AS n FROM ${app.store.database}.config_versions WHERE collection = 'benchInstances'`,
        format: "JSONEachRow",
      });
      return Number((await rs.json<{ n: string }>())[0].n);
    };
    const cycle = async (label: string) => {
      const before = await rows();
      const t0 = performance.now();
      const r = await recorder.crawl(c);
      const ms = performance.now() - t0;
      console.log(
        `crawl cycle, ${label}: ${ms.toFixed(0)} ms for ${r.resources} resources, ${(await rows()) - before} rows written (${r.status})`,
      );
    };
    await cycle("first (all new)");
    await cycle("unchanged");
    await cycle("unchanged again");
    version = version.map((v, i) => (i % 100 === 0 ? v + 1 : v));
    await cycle("1% changed");

    // A year of hourly crawls, generated inside ClickHouse (INSERT … SELECT over numbers()).
    const db = app.store.database;
    const startSec = Math.floor(Date.now() / 3_600_000) * 3600 - HOURS * 3600;
    const t0 = performance.now();
    const generated = await generateHistory(app.store, startSec);
    const genSec = (performance.now() - t0) / 1000;
    console.log(
      `generated ${PROFILE} history in ClickHouse: ${RESOURCES} resources × ${HOURS} hourly crawls, ${generated.versions.toLocaleString("en-US")} versions (${generated.deletions.toLocaleString("en-US")} of them deletions), ${generated.ips.toLocaleString("en-US")} IP rows, ${generated.periods.toLocaleString("en-US")} config_periods rows in ${genSec.toFixed(0)} s`,
    );
    const settled = await settleMerges(app.store, db);
    console.log(
      `  background merges settled after ${settled.seconds.toFixed(0)} s: ${settled.parts}; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")} (${cpus().length} cores)`,
    );
    const url = app.listeners.graphql;
    const time = async (query: string, vars: () => Record<string, unknown>, check: (d: never) => boolean) => {
      const out: number[] = [];
      for (let i = 0; i < RUNS + 5; i++) {
        const t = performance.now();
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-scope-orgid": "bench" },
          body: JSON.stringify({ query, variables: vars() }),
        });
        const body = (await res.json()) as { data?: never; errors?: unknown };
        if (body.errors || !body.data || !check(body.data))
          throw new Error(`bad answer: ${JSON.stringify(body).slice(0, 300)}`);
        if (i >= 5) out.push(performance.now() - t);
      }
      return out.sort((a, b) => a - b);
    };
    const randomAt = () =>
      new Date((startSec + 1800 + Math.floor(Math.random() * (HOURS - 1) * 3600)) * 1000).toISOString();
    const res = await time(
      'query ($at: DateTime) { resources(type: "instances", at: $at) { id } }',
      () => ({ at: randomAt() }),
      (d: { resources: unknown[] }) => d.resources.length === RESOURCES,
    );
    console.log(
      `resources(type, at) { id } over ${HOURS} h × ${RESOURCES} resources: p50 ${percentile(res, 50).toFixed(1)} ms, p99 ${percentile(res, 99).toFixed(1)} ms (${RUNS} random times, ${RESOURCES} ids each)`,
    );
    // the store's share: the same interval query without GraphQL and HTTP
    const { ConfigHistoryReader } = await import("../query/config-history/reader.js");
    const reader = new ConfigHistoryReader(app.store);
    const direct: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const rows = await reader.resourcesAt(
        "bench",
        ["instances"],
        BigInt(Date.parse(randomAt())) * 1_000_000n,
        {
          withDoc: false,
        },
      );
      if (rows.length !== RESOURCES) throw new Error(`expected ${RESOURCES} ids, got ${rows.length}`);
      direct.push(performance.now() - t);
    }
    direct.sort((a, b) => a - b);
    console.log(
      `  of which the store query: p50 ${percentile(direct, 50).toFixed(1)} ms, p99 ${percentile(direct, 99).toFixed(1)} ms`,
    );
    const who = await time(
      "query ($ip: String!, $at: DateTime!) { whoHad(ip: $ip, at: $at) { type id } }",
      () => {
        const k = Math.floor(Math.random() * 2 * RESOURCES);
        return { ip: `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`, at: randomAt() };
      },
      (d: { whoHad: unknown[] }) => d.whoHad.length <= 1,
    );
    console.log(
      `whoHad(ip, at) over ${generated.ips.toLocaleString("en-US")} IP rows: p50 ${percentile(who, 50).toFixed(1)} ms, p99 ${percentile(who, 99).toFixed(1)} ms (${RUNS} random ips and times)`,
    );
  } finally {
    await app.shutdown();
    source.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The history of part 2, written with INSERT … SELECT. Slot s changes at hours ph + j·k (j ≥ 1; hour
 * 0 creates it) for its period k and phase ph; change j belongs to instance generation intDiv(j, 4).
 * All changes of one hour share that hour's crawl time (a few seconds of jitter per hour).
 */
async function generateHistory(store: Store, startSec: number) {
  const db = store.database;
  const u = "cityHash64(number, 'period') % 100";
  const period =
    PROFILE === "hourly" ? "1" : `multiIf(${u} < 2, 1, ${u} < 10, 6, ${u} < 30, 24, ${u} < 60, 168, 720)`;
  // one row per change; small source blocks, since each slot expands into up to HOURS rows
  const events = `SELECT s, k, j, if(j = 0, 0, ph + j * k) AS e, ph + (j + 1) * k AS nx, nx < ${HOURS} AS hasNext,
      intDiv(j, ${REPLACE_EVERY}) AS g, j > 0 AND j % ${REPLACE_EVERY} = 0 AS replaced
    FROM (SELECT number AS s, toUInt32(${period}) AS k, toUInt32(cityHash64(number, 'phase') % k) AS ph,
        arrayJoin(range(toUInt32(1 + intDiv(${HOURS} - 1 - ph, k)))) AS j
      FROM numbers(${RESOURCES}) SETTINGS max_block_size = 64)`;
  const at = (hour: string) =>
    `fromUnixTimestamp64Nano(toInt64(${startSec} + (${hour}) * 3600 + cityHash64(toUInt32(${hour})) % 120) * 1000000000, 'UTC')`;
  const id = (gen: string) =>
    `concat('i-', leftPad(lower(hex(toUInt32(s))), 8, '0'), leftPad(lower(hex(toUInt32(${gen}))), 9, '0'))`;
  const ip = (change: string) => `IPv4NumToString(toUInt32(167772160 + 2 * s + intDiv(${change}, 2) % 2))`;
  const scope = "'bench', 'instances', 'acct', 'us-east-1'";
  const run = (query: string) => store.client.command({ query });
  await run(`INSERT INTO ${db}.config_versions (tenant, collection, account, region, id, seen_at, hash, deleted, doc)
    SELECT ${scope}, ${id("g")}, ${at("e")}, hex(cityHash64(s, j)), 0,
      concat('{"InstanceId":"', ${id("g")}, '","InstanceType":"m5.large","PrivateIpAddress":"', ${ip("j")},
        '","State":{"Code":16,"Name":"running"},"Tags":[{"Key":"Name","Value":"web-', toString(s),
        '"},{"Key":"version","Value":"', toString(j), '"}]}')
    FROM (${events})`);
  await run(`INSERT INTO ${db}.config_versions (tenant, collection, account, region, id, seen_at, hash, deleted, doc)
    SELECT ${scope}, ${id("g - 1")}, ${at("e")}, '', 1, '' FROM (${events}) WHERE replaced`);
  // the previous holder lets go, the new one takes it (every 2nd change, replacements included)
  await run(`INSERT INTO ${db}.config_ip_holders (tenant, ip, seen_at, collection, account, region, id, held)
    SELECT 'bench', x.1, ${at("e")}, 'instances', 'acct', 'us-east-1', x.2, x.3
    FROM (SELECT s, e, arrayJoin(if(j = 0, [(${ip("j")}, ${id("g")}, 1)],
        [(${ip("j - 1")}, ${id(`intDiv(j - 1, ${REPLACE_EVERY})`)}, 0), (${ip("j")}, ${id("g")}, 1)])) AS x
      FROM (${events}) WHERE j % 2 = 0)`);
  // intervals as the recorder leaves them once merged: each version closed by the next change (or
  // by its replacement's deletion), the last one open; deletion markers open
  await run(`INSERT INTO ${db}.config_intervals (tenant, collection, account, region, id, valid_from, valid_to, deleted, closed)
    SELECT ${scope}, ${id("g")}, ${at("e")}, if(hasNext, ${at("nx")}, toDateTime64('2255-01-01 00:00:00', 9, 'UTC')), 0, hasNext
    FROM (${events})`);
  await run(`INSERT INTO ${db}.config_intervals (tenant, collection, account, region, id, valid_from, valid_to, deleted, closed)
    SELECT ${scope}, ${id("g - 1")}, ${at("e")}, toDateTime64('2255-01-01 00:00:00', 9, 'UTC'), 1, 0
    FROM (${events}) WHERE replaced`);
  // what the recorder's per-crawl deletes leave: no rows for replaced instances. The recorder
  // deletes a few rows an hour and merges drop them; a year's deletions at once leave masked rows
  // in every part until merged, so merge them away here.
  await run(`DELETE FROM ${db}.config_current WHERE tenant = 'bench' AND deleted = 1`);
  await run(`OPTIMIZE TABLE ${db}.config_current FINAL`);
  const count = async (query: string) => {
    const rs = await store.client.query({ query, format: "JSONEachRow" });
    return Number((await rs.json<{ n: string }>())[0].n);
  };
  return {
    versions: await count(`SELECT count() AS n FROM ${db}.config_versions WHERE tenant = 'bench'`),
    deletions: await count(
      `SELECT count() AS n FROM ${db}.config_versions WHERE tenant = 'bench' AND deleted = 1`,
    ),
    ips: await count(`SELECT count() AS n FROM ${db}.config_ip_holders WHERE tenant = 'bench'`),
    periods: await count(`SELECT count() AS n FROM ${db}.config_periods WHERE tenant = 'bench'`),
  };
}

/**
 * Waits (up to BENCH_SETTLE_SECONDS, default 900) until no merge of the config tables has run for
 * 10 s: a year of history would have been merged long since, and merges compete for the 2 cores.
 */
async function settleMerges(store: Store, db: string) {
  const tables = [
    "config_versions",
    "config_ip_holders",
    "config_intervals",
    "config_periods",
    "config_current",
  ];
  const seconds = await waitForMerges(store, db, {
    tables,
    limitSeconds: Number(process.env.BENCH_SETTLE_SECONDS ?? 900),
  });
  const rs = await store.client.query({
    query: `SELECT table, count() AS n FROM system.parts WHERE active AND database = '${db}'
      AND table IN (${tables.map((t) => `'${t}'`).join(", ")})
      GROUP BY table ORDER BY table`,
    format: "JSONEachRow",
  });
  const parts = (await rs.json<{ table: string; n: string }>()).map((r) => `${r.table} ${r.n}`).join(", ");
  return { seconds, parts: `active parts ${parts}` };
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
