/**
 * npm run bench:ingest — OTLP gRPC ingest into `skald start` on the embedded store.
 * BENCH_CLIENTS (default 256) closed-loop clients send pre-encoded requests of 512 spans with 10
 * attributes each for BENCH_SECONDS (default 60). A closed loop carries at most clients × 512 spans
 * per request latency (Little's law), so too few clients measure how fast a durable
 * acknowledgement comes back rather than how many spans Skald can take: with 64 clients (32,768
 * spans in flight) Skald's batches held 15,000-31,000 spans, below `pipeline.batchMaxRows`, and
 * each span cost more CPU than in the ~42,000-span batches 256 clients make. The default offers
 * enough load to keep the two cores busy, so request latency is mostly queueing.
 * Prints accepted spans/s, request latency, Skald's CPU-seconds per 100k spans (comparable across
 * runs on a busy machine) and by thread, the load generator's own CPU (it shares the cores), the
 * mean insert batch, peak RSS, then checks stored = accepted and bytes on disk per span after
 * merges. Every request sent carries span and trace ids of its own (BENCH_REPEAT_IDS=1: the same
 * 64 requests over and over, as before stop 18).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../core/config/load.js";
import { openStore } from "../core/store/store.js";
import { otlpLoad, SPANS_PER_REQUEST, threadsPer100k } from "./otlp-load.js";
import { fmt, percentile } from "./support.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const clients = Number(process.env.BENCH_CLIENTS ?? 256);
const distinct = process.env.BENCH_REPEAT_IDS !== "1";

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "skald-bench-ingest-"));
  console.log(
    `bench:ingest: ${clients} gRPC clients, ${SPANS_PER_REQUEST} spans × 10 attributes per request, ${seconds}s, ${distinct ? "distinct ids in every request" : "64 requests re-sent"}`,
  );
  const r = await otlpLoad(dataDir, clients, seconds, distinct);
  const accepted = r.accepted;
  console.log(`request size: ${fmt(r.requestBytes)} bytes`);
  console.log(
    `accepted: ${fmt(accepted)} spans in ${r.seconds.toFixed(1)} s = ${fmt(accepted / r.seconds)} spans/s`,
  );
  console.log(`refused requests (throttled, retried): ${r.refused}`);
  // CPU per span does not depend on how busy the machine is, spans/s does
  console.log(
    `skald CPU during the load: ${r.cpu.toFixed(1)} s = ${((r.cpu / accepted) * 100_000).toFixed(2)} CPU-seconds per 100k spans (decode, encode, ClickHouse insert and merges)`,
  );
  // MergeMutate: ClickHouse's background merges; Unknown and ThreadPool: its queries (the
  // inserts with their views, the service-map job); node: JavaScript (gRPC, decoding, encoding, GC)
  console.log(`  by thread: ${threadsPer100k(r)}`);
  console.log(
    `load generator CPU (this process, on the same cores): ${((r.clientCpu / accepted) * 100_000).toFixed(2)} CPU-seconds per 100k spans`,
  );
  const perSpan = (r.cpu + r.clientCpu) / accepted;
  const cores = availableParallelism();
  console.log(
    `estimate: ${cores} cores doing nothing else would take ${fmt(cores / perSpan)} spans/s at these costs (Skald and the load generator)`,
  );
  console.log(`mean insert batch: ${fmt(r.batchSpans)} spans`);
  console.log(
    `request latency: p50 ${percentile(r.latencies, 50).toFixed(1)} ms, p99 ${percentile(r.latencies, 99).toFixed(1)} ms`,
  );
  console.log(
    `skald peak RSS: ${(r.rssPeak / 1024 / 1024).toFixed(0)} MiB; exit code after SIGTERM: ${r.exitCode}`,
  );

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
  const byTable = parts
    .map((p) => [p.table, Number(p.bytes) / stored] as const)
    .filter(([, perSpan]) => perSpan >= 0.05)
    .sort((x, y) => y[1] - x[1])
    .map(([table, perSpan]) => `${table} ${perSpan.toFixed(1)}`)
    .join(", ");
  console.log(
    `bytes on disk per span after merges: ${(spansBytes / stored).toFixed(1)} (spans table), ${(allBytes / stored).toFixed(1)} (all tables: ${byTable})`,
  );
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
