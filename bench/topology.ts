/**
 * npm run bench:topology — spans/s end to end through the distributed topology of
 * docker-compose.yml (two collectors → Kafka → two ingesters → a ClickHouse server, plus the query
 * role, each its own process, configured from the compose file; test/support/topology.ts), beside
 * `skald start` (every role in one process, embedded ClickHouse) under the same load in the same
 * run, and their ratio: what Kafka and separate processes cost on this machine.
 *
 * Closed-loop gRPC clients send pre-encoded requests (512 spans × 10 attributes) for BENCH_SECONDS
 * (default 20), split over both collectors. End to end = spans acknowledged ÷ the time from the
 * first request until the last of them is in ClickHouse (`skald start` acknowledges only stored
 * spans; its count is read back after it stops). BENCH_CLIENTS (default 8) changes the load.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../core/config/load.js";
import { openStore } from "../core/store/store.js";
import { chClient, spawnRole } from "../ingester/testing/harness.js";
import { freePort } from "../test/support/clickhouse-server.js";
import { generateRequest } from "../test/support/otlp-encode.js";
import { startTopology } from "../test/support/topology.js";
import { closedLoop, deadlineIn, SPANS_PER_REQUEST } from "./otlp-load.js";
import { fmt } from "./support.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const clients = Number(process.env.BENCH_CLIENTS ?? 8);
const SPANS = SPANS_PER_REQUEST;
const requests = Array.from({ length: 64 }, (_, i) =>
  generateRequest({ service: `svc-${i % 8}`, count: SPANS, attrs: 10 }),
).map((r) => r.body);

interface Load {
  accepted: number;
  refused: number;
  loadSeconds: number;
  started: number;
}

/** `clients` gRPC senders spread over `targets` for `seconds`. */
async function drive(targets: string[]): Promise<Load> {
  const started = performance.now();
  const { accepted, refused } = await closedLoop({
    targets,
    clients,
    requests,
    running: deadlineIn(seconds),
  });
  return { accepted, refused, loadSeconds: (performance.now() - started) / 1000, started };
}

async function distributed(): Promise<number> {
  const topo = await startTopology({ without: ["recorder"] });
  const db = chClient(topo.ch.url);
  try {
    const collectors = topo.byRole("collector");
    const partitions = topo.byRole("ingester")[0].env.SKALD_KAFKA_PARTITIONS;
    console.log(
      `distributed (docker-compose.yml): ${collectors.length} collectors, ${topo.byRole("ingester").length} ingesters, ` +
        `query; Kafka ${topo.broker.version} (${partitions} partitions), ClickHouse server; no recorder`,
    );
    const load = await drive(collectors.map((c) => `127.0.0.1:${c.ports.SKALD_OTLP_GRPC_PORT}`));
    let stored = 0;
    for (;;) {
      const rs = await db.query({ query: "SELECT count() AS n FROM skald.spans", format: "JSONEachRow" });
      stored = Number((await rs.json<{ n: string }>())[0].n);
      if (stored >= load.accepted) break;
      if (performance.now() - load.started > (seconds + 180) * 1000) throw new Error(`only ${stored} stored`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const e2e = (performance.now() - load.started) / 1000;
    const rate = load.accepted / e2e;
    console.log(
      `  ${fmt(load.accepted)} spans acknowledged in ${load.loadSeconds.toFixed(1)} s (${fmt(load.accepted / load.loadSeconds)} spans/s, ` +
        `${load.refused} requests refused); all in ClickHouse after ${e2e.toFixed(1)} s → ${fmt(rate)} spans/s end to end`,
    );
    return rate;
  } finally {
    await db.close();
    await topo.destroy();
  }
}

async function single(): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), "skald-bench-start-"));
  try {
    const grpc = await freePort();
    const start = spawnRole("start", {
      SKALD_DATA_DIR: dataDir,
      SKALD_OTLP_GRPC_PORT: String(grpc),
      SKALD_OTLP_HTTP_PORT: String(await freePort()),
      SKALD_HTTP_PORT: String(await freePort()),
      SKALD_FLOWS_ENABLED: "false",
    });
    await start.ready;
    console.log("skald start: every role in one process, embedded ClickHouse");
    const load = await drive([`127.0.0.1:${grpc}`]);
    const code = await start.stop();
    if (code !== 0) throw new Error(`skald start exited ${code}: ${start.output()}`);
    const store = await openStore(loadConfig({ env: {}, overrides: { "storage.dataDir": dataDir } }).storage);
    const rs = await store.client.query({
      query: "SELECT count() AS n FROM skald.spans",
      format: "JSONEachRow",
    });
    const stored = Number((await rs.json<{ n: string }>())[0].n);
    await store.close();
    if (stored < load.accepted)
      throw new Error(`skald start acknowledged ${load.accepted} spans, stored ${stored}`);
    const rate = load.accepted / load.loadSeconds;
    console.log(
      `  ${fmt(load.accepted)} spans acknowledged (= stored) in ${load.loadSeconds.toFixed(1)} s, ` +
        `${load.refused} requests refused → ${fmt(rate)} spans/s end to end`,
    );
    return rate;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  console.log(
    `bench:topology: ${clients} gRPC clients × ${SPANS} spans × 10 attributes (${fmt(requests[0].length)} bytes), ${seconds} s per set-up`,
  );
  const dist = await distributed();
  const one = await single();
  console.log(
    `ratio distributed / skald start: ${(dist / one).toFixed(2)} (${fmt(dist)} vs ${fmt(one)} spans/s)`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
