/**
 * npm run bench:ingest — OTLP gRPC ingest into `skald start` on the embedded store.
 * 8 closed-loop clients send pre-encoded requests of 512 spans with 10 attributes each for
 * BENCH_SECONDS (default 60). Prints accepted spans/s, request latency, Skald's CPU-seconds per
 * 100k spans (comparable across runs on a busy machine), peak RSS, then checks stored = accepted
 * and bytes on disk per span after merges.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../core/config/load.js";
import { openStore } from "../core/store/store.js";
import { freePort } from "../test/support/clickhouse-server.js";
import { generateRequest } from "../test/support/otlp-encode.js";
import {
  fmt,
  peakRss,
  percentile,
  processCpuSeconds,
  rawTraceClient,
  spawnSkald,
  stopSkald,
} from "./support.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const clients = Number(process.env.BENCH_CLIENTS ?? 8);
const SPANS = 512;

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "skald-bench-ingest-"));
  const grpcPort = await freePort();
  const child = await spawnSkald({
    SKALD_DATA_DIR: dataDir,
    SKALD_OTLP_GRPC_PORT: String(grpcPort),
    SKALD_OTLP_HTTP_PORT: String(await freePort()),
    SKALD_HTTP_PORT: String(await freePort()),
  });
  const requests = Array.from({ length: 64 }, (_, i) =>
    generateRequest({ service: `svc-${i % 8}`, count: SPANS, attrs: 10 }),
  ).map((r) => r.body);
  console.log(
    `bench:ingest: ${clients} gRPC clients, ${SPANS} spans × 10 attributes per request (${fmt(requests[0].length)} bytes), ${seconds}s`,
  );
  let accepted = 0;
  let refused = 0;
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let rssPeak = 0;
  const rssTimer = setInterval(() => {
    rssPeak = Math.max(rssPeak, peakRss(child.pid ?? 0));
  }, 500);
  const started = performance.now();
  const cpu0 = processCpuSeconds(child.pid);
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const client = rawTraceClient(`127.0.0.1:${grpcPort}`);
      for (let i = c; performance.now() < deadline; i++) {
        const t0 = performance.now();
        const err = await client.export(requests[i % requests.length]);
        if (err) {
          refused++;
          await new Promise((r) => setTimeout(r, 50));
        } else {
          accepted += SPANS;
          latencies.push(performance.now() - t0);
        }
      }
      client.close();
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = processCpuSeconds(child.pid) - cpu0;
  clearInterval(rssTimer);
  rssPeak = Math.max(rssPeak, peakRss(child.pid ?? 0));
  latencies.sort((a, b) => a - b);
  const code = await stopSkald(child);
  console.log(
    `accepted: ${fmt(accepted)} spans in ${elapsed.toFixed(1)} s = ${fmt(accepted / elapsed)} spans/s`,
  );
  console.log(`refused requests (throttled, retried): ${refused}`);
  // CPU per span does not depend on how busy the machine is, spans/s does
  console.log(
    `skald CPU during the load: ${cpu.toFixed(1)} s = ${((cpu / accepted) * 100_000).toFixed(2)} CPU-seconds per 100k spans (decode, encode, ClickHouse insert and merges)`,
  );
  console.log(
    `request latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
  );
  console.log(`skald peak RSS: ${(rssPeak / 1024 / 1024).toFixed(0)} MiB; exit code after SIGTERM: ${code}`);

  const store = await openStore(loadConfig({ env: {}, overrides: { "storage.dataDir": dataDir } }).storage);
  const db = store.database;
  const count = async () => {
    const rs = await store.client.query({
      query: `SELECT count() AS n FROM ${db}.spans`,
      format: "JSONEachRow",
    });
    return Number((await rs.json<{ n: string }>())[0].n);
  };
  const stored = await count();
  console.log(`stored: ${fmt(stored)} spans; stored == accepted: ${stored === accepted}`);
  await store.client.command({ query: `OPTIMIZE TABLE ${db}.spans FINAL` });
  const rs = await store.client.query({
    query: `SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts
            WHERE database = {db:String} AND active GROUP BY table ORDER BY table`,
    query_params: { db },
    format: "JSONEachRow",
  });
  const parts = await rs.json<{ table: string; rows: string; bytes: string }>();
  const spansBytes = Number(parts.find((p) => p.table === "spans")?.bytes ?? 0);
  const allBytes = parts.reduce((s, p) => s + Number(p.bytes), 0);
  console.log(
    `bytes on disk per span after merges: ${(spansBytes / stored).toFixed(1)} (spans table), ${(allBytes / stored).toFixed(1)} (all tables)`,
  );
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
