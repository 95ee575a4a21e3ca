/**
 * bench:flows — (1) IPFIX records decoded and stored per second: pre-built IPFIX messages (30
 * records each, one template per domain, as exporters send them) go through the collector's
 * decoder and the flow sink into embedded ClickHouse (raw table + both rollups); the clock stops
 * when the last batch is written. (2) flowMatrix over 24 h from the rollups: flows generated
 * server-side (INSERT … SELECT through the same materialized views), then flowMatrix ADDRESS and
 * ZONE latency percentiles. FLOWS_BENCH_DECODE (default 2,000,000) and FLOWS_BENCH_ROWS
 * (default 5,000,000; the target scale is 100M, which takes too long to generate on
 * this shared 2-core machine) set the sizes.
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

const DECODE = Number(process.env.FLOWS_BENCH_DECODE ?? 2_000_000);
const ROWS = Number(process.env.FLOWS_BENCH_ROWS ?? 5_000_000);
/** Distinct (source, destination) pairs in the generated day: 200 hosts with 10 peers each. */
const PAIRS = 2000;
const PER_MSG = 30;

function messages(now: number): Buffer[] {
  const out: Buffer[] = [];
  const secs = Math.floor(now / 1000);
  for (let m = 0; m < Math.ceil(DECODE / PER_MSG); m++) {
    const recs: Buffer[] = [];
    for (let i = 0; i < PER_MSG; i++) {
      const k = m * PER_MSG + i;
      recs.push(
        basicRecord(
          `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`,
          "10.200.0.1",
          1024 + (k % 50000),
          443,
          6,
          1500 + (k % 900),
          3,
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

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "skald-bench-flows-"));
  const config = loadConfig({ env: {}, overrides: { "storage.dataDir": dir } });
  const store = await openStore(config.storage);
  try {
    await migrate(store, retentionDaysOf(config.storage));
    const metrics = createMetrics({ defaultMetrics: false });
    const fm = createFlowMetrics(metrics.registry);
    const sink = createStoreFlowSink(store, config.flows, metrics, fm);
    const decoder = new FlowDecoder();
    const now = Date.now();
    const msgs = messages(now);
    // decode only
    let t = performance.now();
    let n = 0;
    const probe = new FlowDecoder();
    for (const m of msgs) n += probe.decode(m, "192.0.2.1", now).flows.length;
    const decodeOnly = (n / (performance.now() - t)) * 1000;
    // decode + store: requests are not awaited one by one (UDP has no one to answer); the loop
    // only waits when the sink's bounded queue would otherwise refuse flows.
    t = performance.now();
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
    const stored = Number(
      (
        await (
          await store.client.query({
            query: "SELECT count() AS c FROM skald.flows WHERE tenant = 'bench'",
            format: "JSONEachRow",
          })
        ).json<{ c: string }>()
      )[0].c,
    );
    console.log(
      `bench:flows IPFIX decode only: ${Math.round(decodeOnly).toLocaleString("en")} flows/s (${n.toLocaleString("en")} flows, one core)`,
    );
    console.log(
      `bench:flows IPFIX decode + store (raw + 3 rollups, embedded chDB): ${Math.round(stored / secs).toLocaleString("en")} flows/s (${stored.toLocaleString("en")} stored in ${secs.toFixed(1)} s, ${dropped} batches refused; target 200,000)`,
    );
    await sink.shutdown();

    // (2) flowMatrix over 24 h of generated flows
    const day = 86_400;
    const end = Math.floor(now / 1000);
    t = performance.now();
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
        `bench:flows flowMatrix ${group} over 24 h of ${ROWS.toLocaleString("en")} flows (generated in ${genSecs.toFixed(0)} s): p50 ${pct(lat, 0.5).toFixed(0)} ms, p99 ${pct(lat, 0.99).toFixed(0)} ms, ${rows} rows (target p99 < 500 ms at 100M)`,
      );
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
