/**
 * bench:flows — (1) IPFIX records decoded and stored per second: pre-built IPFIX messages (30
 * records each, one template per domain, as exporters send them) go through the collector's
 * decoder and the flow sink into embedded ClickHouse (raw table + three rollups), once per address
 * shape (see Shape; FLOWS_BENCH_SHAPES picks them), each into a fresh store; the clock stops when
 * the last batch is written. (2) flowMatrix over 24 h from the rollups: flows generated
 * server-side (INSERT … SELECT through the same materialized views), then flowMatrix ADDRESS, ZONE
 * and SERVICE latency percentiles. FLOWS_BENCH_DECODE (default 4,000,000 per shape) and
 * FLOWS_BENCH_ROWS (default 5,000,000; the target scale, 100,000,000, generates in about ten
 * minutes) set the sizes; 0 skips a part. FLOWS_BENCH_BATCH overrides flows.batchMaxRows.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../core/config/load.js";
import { FlowDecoder } from "../core/flows/decoder.js";
import { createStoreFlowSink } from "../core/flows/flow-sink.js";
import { createFlowMetrics } from "../core/flows/metrics.js";
import { BASIC_FIELDS, basicRecord, ipfixMessage, ipfixTemplate, set } from "../core/flows/testing/build.js";
import { createMetrics } from "../core/metrics.js";
import { migrate, retentionDaysOf } from "../core/store/migrations.js";
import { openStore } from "../core/store/store.js";
import { holderLabels } from "../query/flows/holder-labels.js";
import { FlowReader } from "../query/flows/reader.js";
import { createSqlRunner } from "../query/sql.js";
import { waitForMerges } from "./support.js";

const DECODE = Number(process.env.FLOWS_BENCH_DECODE ?? 4_000_000);
const ROWS = Number(process.env.FLOWS_BENCH_ROWS ?? 5_000_000);
/** Distinct (source, destination) pairs in the generated day: 200 hosts with 10 peers each. */
const PAIRS = 2000;
const PER_MSG = 30;

/**
 * Who talks to whom in the decode + store run. `estate`: 20,000 client addresses calling 250
 * servers on five well-known ports, each call from a new ephemeral port (a client's port repeats
 * only after 28,000 calls), so address pairs repeat within a minute, as in a data centre, and
 * client ports do not. `unique`: every flow
 * a new source address, the worst case for every rollup (each holds as many rows as the raw table).
 */
type Shape = "estate" | "unique";

function messages(now: number, shape: Shape): Buffer[] {
  const out: Buffer[] = [];
  const secs = Math.floor(now / 1000);
  const ports = [443, 80, 5432, 6379, 9092];
  for (let m = 0; m < Math.ceil(DECODE / PER_MSG); m++) {
    const recs: Buffer[] = [];
    for (let i = 0; i < PER_MSG; i++) {
      const k = m * PER_MSG + i;
      const c = k % 20_000;
      const server = (c * 7919) % 250;
      recs.push(
        shape === "unique"
          ? basicRecord(
              `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`,
              "10.200.0.1",
              1024 + (k % 50000),
              443,
              6,
              1500 + (k % 900),
              3,
              now - 5000,
              now,
            )
          : basicRecord(
              `10.${c >> 8}.${c & 255}.${1 + (c % 7)}`,
              `10.200.${server}.1`,
              32768 + (Math.floor(k / 20_000) % 28_000),
              ports[server % ports.length],
              server % 5 === 3 ? 17 : 6,
              200 + (k % 60000),
              1 + (k % 40),
              now - 5000,
              now,
            ),
      );
    }
    const sets = [set(256, Buffer.concat(recs))];
    if (m % 100 === 0) sets.unshift(set(2, ipfixTemplate(256, BASIC_FIELDS)));
    out.push(ipfixMessage({ domain: 1, seq: m * PER_MSG, exportSecs: secs, sets }));
  }
  return out;
}

/**
 * Decodes and stores DECODE flows of one shape into a fresh embedded store, as the UDP receiver
 * does: requests are not awaited one by one (UDP has no one to answer); the loop only waits when
 * the sink's bounded queue would otherwise refuse flows. The clock stops when the last batch is
 * written; CPU is the whole process's (decode, encode, ClickHouse inserts, views and merges).
 */
async function decodeAndStore(shape: Shape, overrides: Record<string, unknown>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "skald-bench-flows-"));
  const config = loadConfig({ env: {}, overrides: { ...overrides, "storage.dataDir": dir } });
  const store = await openStore(config.storage);
  try {
    await migrate(store, retentionDaysOf(config.storage));
    const metrics = createMetrics({ defaultMetrics: false });
    const sink = createStoreFlowSink(store, config.flows, metrics, createFlowMetrics(metrics.registry));
    const decoder = new FlowDecoder();
    const now = Date.now();
    const msgs = messages(now, shape);
    let t = performance.now();
    let n = 0;
    const probe = new FlowDecoder();
    for (const m of msgs) n += probe.decode(m, "192.0.2.1", now).flows.length;
    const decodeOnly = (n / (performance.now() - t)) * 1000;
    t = performance.now();
    const cpu0 = process.cpuUsage();
    const pending: Promise<void>[] = [];
    let dropped = 0;
    const window = Math.floor((config.flows.queueMaxRows * 0.8) / PER_MSG);
    for (const m of msgs) {
      const r = decoder.decode(m, "192.0.2.1", now);
      pending.push(sink.consume("bench", r.flows, now).catch(() => void dropped++));
      if (pending.length >= window) await Promise.all(pending.splice(0, Math.floor(window / 2)));
    }
    await Promise.all(pending);
    await sink.flush();
    const secs = (performance.now() - t) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await sink.shutdown();
    const counts = await (
      await store.client.query({
        query: `SELECT (SELECT count() FROM skald.flows WHERE tenant = 'bench') AS raw,
          (SELECT count() FROM skald.flows_minute FINAL WHERE tenant = 'bench') AS ports,
          (SELECT count() FROM skald.flows_minute_pairs FINAL WHERE tenant = 'bench') AS pairs`,
        format: "JSONEachRow",
      })
    ).json<{ raw: string; ports: string; pairs: string }>();
    const stored = Number(counts[0].raw);
    const fmt = (x: number) => Math.round(x).toLocaleString("en");
    console.log(
      `bench:flows IPFIX decode only (${shape}): ${fmt(decodeOnly)} flows/s (${fmt(n)} flows, one core)`,
    );
    console.log(
      `bench:flows IPFIX decode + store (${shape}; raw + 3 rollups, embedded chDB): ${fmt(stored / secs)} flows/s (${fmt(stored)} stored in ${secs.toFixed(1)} s, ${dropped} batches refused; ${(((cpu.user + cpu.system) / 1e6 / n) * 1e6).toFixed(2)} CPU-s per million flows; rollup rows: ${fmt(Number(counts[0].ports))} by ports, ${fmt(Number(counts[0].pairs))} by address pair; target 200,000)`,
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function main() {
  const overrides: Record<string, unknown> = {};
  if (process.env.FLOWS_BENCH_BATCH) overrides["flows.batchMaxRows"] = Number(process.env.FLOWS_BENCH_BATCH);
  for (const shape of (process.env.FLOWS_BENCH_SHAPES ?? "estate,unique").split(",") as Shape[])
    if (DECODE > 0) await decodeAndStore(shape, overrides);
  if (ROWS === 0) return;
  const dir = mkdtempSync(join(tmpdir(), "skald-bench-flows-"));
  const config = loadConfig({ env: {}, overrides: { ...overrides, "storage.dataDir": dir } });
  const store = await openStore(config.storage);
  try {
    await migrate(store, retentionDaysOf(config.storage));
    const now = Date.now();
    // (2) flowMatrix over 24 h of generated flows
    const day = 86_400;
    const end = Math.floor(now / 1000);
    const t = performance.now();
    await store.client.command({
      query: `INSERT INTO skald.flows (tenant, source_type, exporter, time_received, flow_start, flow_end, src_addr, dst_addr, src_port, dst_port, protocol, bytes, packets)
        SELECT 'matrix', 'ipfix', 'gen', toDateTime64(${end}, 6), toDateTime64(${end - day} + intDiv(number * ${day}, ${ROWS}), 6),
          toDateTime64(${end - day} + intDiv(number * ${day}, ${ROWS}), 6),
          concat('10.0.', toString(intDiv(number % ${PAIRS}, 10) % 200), '.1'),
          concat('10.1.', toString(intHash32(number % ${PAIRS}) % 200), '.1'),
          number % 60000, 443, 6, 100 + number % 1400, 1 + number % 10
        FROM numbers(${ROWS})`,
      clickhouse_settings: { max_insert_block_size: "1000000" },
    });
    const genSecs = (performance.now() - t) / 1000;
    // Config history for the groupings: an instance per address (zones a/b/c, 40 services), and a
    // twentieth of the addresses moving to a new instance in zone d at mid-day.
    const doc = (n: string, zone: string, svc: string) =>
      `concat('{"InstanceId":"i-', ${n}, '","Placement":{"AvailabilityZone":"', ${zone}, '"},"VpcId":"vpc-1","Tags":[{"Key":"service","Value":"', ${svc}, '"}]}')`;
    const addr = (n: string) =>
      `if(${n} < 200, concat('10.0.', toString(${n}), '.1'), concat('10.1.', toString(${n} - 200), '.1'))`;
    const at = (secs: number) => `toDateTime64(${secs}, 9)`;
    const history = [
      `INSERT INTO skald.config_versions (tenant, collection, account, region, id, seen_at, hash, deleted, doc)
        SELECT 'matrix', 'instances', 'acc', 'us-east-1', concat('i-', toString(number)), ${at(end - 2 * day)}, toString(number), 0,
          ${doc("toString(number)", "concat('us-east-1', ['a', 'b', 'c'][number % 3 + 1])", "concat('svc-', toString(number % 40))")}
        FROM numbers(400)`,
      `INSERT INTO skald.config_versions (tenant, collection, account, region, id, seen_at, hash, deleted, doc)
        SELECT 'matrix', 'instances', 'acc', 'us-east-1', concat('i-new-', toString(number)), ${at(end - day / 2)}, toString(number), 0,
          ${doc("concat('new-', toString(number))", "'us-east-1d'", "'svc-moved'")}
        FROM numbers(400) WHERE number % 20 = 0`,
      `INSERT INTO skald.config_ip_holders (tenant, ip, seen_at, collection, account, region, id, held)
        SELECT 'matrix', ${addr("number")}, ${at(end - 2 * day)}, 'instances', 'acc', 'us-east-1', concat('i-', toString(number)), 1
        FROM numbers(400)`,
      `INSERT INTO skald.config_ip_holders (tenant, ip, seen_at, collection, account, region, id, held)
        SELECT 'matrix', ${addr("number")}, ${at(end - day / 2)}, 'instances', 'acc', 'us-east-1', concat('i-', toString(number)), 0
        FROM numbers(400) WHERE number % 20 = 0`,
      `INSERT INTO skald.config_ip_holders (tenant, ip, seen_at, collection, account, region, id, held)
        SELECT 'matrix', ${addr("number")}, ${at(end - day / 2)}, 'instances', 'acc', 'us-east-1', concat('i-new-', toString(number)), 1
        FROM numbers(400) WHERE number % 20 = 0`,
    ];
    for (const query of history) await store.client.command({ query });
    // queried in the steady state a long-running store is in, not while the generated parts merge
    const settled = await waitForMerges(store, store.database);
    const reader = new FlowReader(store, createSqlRunner(store), holderLabels(store.database));
    const from = BigInt(end - day) * 1_000_000_000n;
    const to = BigInt(end + 60) * 1_000_000_000n;
    for (const group of ["ADDRESS", "ZONE", "SERVICE"] as const) {
      const lat: number[] = [];
      let rows = 0;
      for (let i = 0; i < 20; i++) {
        const s = performance.now();
        rows = (await reader.matrix({ tenant: "matrix", from, to, group, limit: 1000 })).length;
        lat.push(performance.now() - s);
      }
      console.log(
        `bench:flows flowMatrix ${group} over 24 h of ${ROWS.toLocaleString("en")} flows (generated in ${genSecs.toFixed(0)} s, merges quiet after ${settled.toFixed(0)} s more): p50 ${pct(lat, 0.5).toFixed(0)} ms, p99 ${pct(lat, 0.99).toFixed(0)} ms, ${rows} rows (target p99 < 500 ms at 100M)`,
      );
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
