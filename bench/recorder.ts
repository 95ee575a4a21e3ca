/**
 * npm run bench:recorder — the config-history recorder and its queries, in process on the
 * embedded store.
 *  1. Crawl cycle over BENCH_RESOURCES (default 10,000) instance-like documents from a generic HTTP
 *     source: the first crawl (everything new), an unchanged crawl (rows written: target 0), and a
 *     crawl with 1% changed. Prints time per cycle and rows written.
 *  2. History of BENCH_RESOURCES resources changing every hour for BENCH_HOURS (default 8,760 = a
 *     year), generated server-side (INSERT … SELECT), each change moving the resource to another
 *     private IP. Prints p50/p99 of `resources(type, at) { id }` and `whoHad(ip, at) { type id }` over
 *     GraphQL at random times.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runRole } from "../cli/app.js";
import { loadConfig } from "../core/config/load.js";
import { createLogger } from "../core/log.js";
import { freePort } from "../test/support/clickhouse-server.js";
import { percentile } from "./support.js";

const RESOURCES = Number(process.env.BENCH_RESOURCES ?? 10_000);
const HOURS = Number(process.env.BENCH_HOURS ?? 8_760);
const RUNS = Number(process.env.BENCH_RUNS ?? 100);

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

    // A year of hourly changes, generated server-side.
    const db = app.store.database;
    const startSec = Math.floor(Date.now() / 1000) - HOURS * 3600;
    const total = RESOURCES * HOURS;
    const t0 = performance.now();
    const gen = (select: string, table: string) =>
      app.store.client.command({
        query: `INSERT INTO ${db}.${table} ${select} FROM numbers(${total})`,
      });
    // resource r at hour h = number r + h * R; its IP moves every hour: ip index (r + h) mod 2R
    const ipOf = (expr: string) =>
      `concat('10.', toString(intDiv(${expr}, 65536) % 256), '.', toString(intDiv(${expr}, 256) % 256), '.', toString(${expr} % 256))`;
    await gen(
      `SELECT 'bench', 'instances', 'acct', 'us-east-1', concat('i-', leftPad(toString(number % ${RESOURCES}), 17, '0')),
        fromUnixTimestamp64Nano(toInt64(${startSec} + intDiv(number, ${RESOURCES}) * 3600) * 1000000000, 'UTC'),
        hex(cityHash64(number)), 0,
        concat('{"InstanceId":"i-', leftPad(toString(number % ${RESOURCES}), 17, '0'), '","PrivateIpAddress":"',
          ${ipOf(`((number % ${RESOURCES}) + intDiv(number, ${RESOURCES})) % ${2 * RESOURCES}`)}, '","Version":', toString(intDiv(number, ${RESOURCES})), '}')`,
      "config_versions",
    );
    await gen(
      `SELECT 'bench', arrayJoin([${ipOf(`((number % ${RESOURCES}) + intDiv(number, ${RESOURCES})) % ${2 * RESOURCES}`)},
          ${ipOf(`((number % ${RESOURCES}) + intDiv(number, ${RESOURCES}) + ${2 * RESOURCES} - 1) % ${2 * RESOURCES}`)}]) AS ip,
        fromUnixTimestamp64Nano(toInt64(${startSec} + intDiv(number, ${RESOURCES}) * 3600) * 1000000000, 'UTC'),
        'instances', 'acct', 'us-east-1', concat('i-', leftPad(toString(number % ${RESOURCES}), 17, '0')),
        if(ip = ${ipOf(`((number % ${RESOURCES}) + intDiv(number, ${RESOURCES})) % ${2 * RESOURCES}`)}, 1, 0)`,
      "config_ip_holders",
    );
    await gen(
      `SELECT 'bench', 'instances', 'acct', 'us-east-1', concat('i-', leftPad(toString(number % ${RESOURCES}), 17, '0')),
        fromUnixTimestamp64Nano(toInt64(${startSec} + intDiv(number, ${RESOURCES}) * 3600) * 1000000000, 'UTC'),
        if(intDiv(number, ${RESOURCES}) = ${HOURS - 1}, toDateTime64('2255-01-01 00:00:00', 9, 'UTC'),
          fromUnixTimestamp64Nano(toInt64(${startSec} + (intDiv(number, ${RESOURCES}) + 1) * 3600) * 1000000000, 'UTC')),
        0, intDiv(number, ${RESOURCES}) < ${HOURS - 1}`,
      "config_intervals",
    );
    console.log(
      `generated ${total.toLocaleString("en-US")} versions (${RESOURCES} resources × ${HOURS} hours) and ${(2 * total).toLocaleString("en-US")} IP rows in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
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
      `whoHad(ip, at) over ${(2 * total).toLocaleString("en-US")} IP rows: p50 ${percentile(who, 50).toFixed(1)} ms, p99 ${percentile(who, 99).toFixed(1)} ms (${RUNS} random ips and times)`,
    );
  } finally {
    await app.shutdown();
    source.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
