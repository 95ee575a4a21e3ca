/**
 * npm run bench:kafka — spans/s end to end through Kafka on this machine: `skald collector`
 * (Kafka sink) → a real Kafka broker → `skald ingester` → a ClickHouse HTTP server, each its own
 * process. Closed-loop gRPC clients send pre-encoded requests (512 spans × 10 attributes) for
 * BENCH_SECONDS (default 30). Prints spans/s acknowledged by the collector (= acknowledged by
 * Kafka), spans/s stored end to end, request latency, and how long the consumer lag takes to drain
 * after the load stops. BENCH_KAFKA (3.9|4.1), BENCH_COMPRESSION (gzip|none), BENCH_CLIENTS,
 * BENCH_INGESTERS, BENCH_PARTITIONS change the set-up. Every request sent carries span and trace
 * ids of its own (BENCH_REPEAT_IDS=1: the same 64 requests over and over, as before stop 18).
 */
import { readdirSync, readFileSync } from "node:fs";
import { Kafka, logLevel } from "kafkajs";
import { runRole } from "../cli/app.js";
import { loadConfig } from "../core/config/load.js";
import { createLogger } from "../core/log.js";
import { chClient, spawnRole } from "../ingester/testing/harness.js";
import { freePort, startClickHouseServer } from "../test/support/clickhouse-server.js";
import { type KafkaMinor, startKafka } from "../test/support/kafka.js";
import { generateRequest, idOffsetsOf } from "../test/support/otlp-encode.js";
import { closedLoop, deadlineIn, SPANS_PER_REQUEST } from "./otlp-load.js";
import { fmt, percentile, processCpuSeconds } from "./support.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 30);
const clients = Number(process.env.BENCH_CLIENTS ?? 8);
const ingesterCount = Number(process.env.BENCH_INGESTERS ?? 1);
const partitions = Number(process.env.BENCH_PARTITIONS ?? 4);
const version = (process.env.BENCH_KAFKA ?? "3.9") as KafkaMinor;
const compression = process.env.BENCH_COMPRESSION ?? "gzip";
const distinct = process.env.BENCH_REPEAT_IDS !== "1";
const SPANS = SPANS_PER_REQUEST;

/** The pid of the process whose command line contains `needle` (the broker, ClickHouse). */
function pidOf(needle: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) return Number(entry);
    } catch {
      // gone
    }
  }
  return undefined;
}

async function main() {
  const [broker, ch] = await Promise.all([startKafka({ version, partitions }), startClickHouseServer()]);
  const kafka = new Kafka({ clientId: "bench", brokers: broker.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const db = chClient(ch.url);
  let cleaned: Promise<void> | undefined;
  const cleanup = () => {
    cleaned ??= (async () => {
      await Promise.all(procs.map((p) => p.kill()));
      await db.close().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      await Promise.all([broker.destroy(), ch.destroy()]);
    })();
    return cleaned;
  };
  // Ctrl-C or a timeout's SIGTERM: stop the broker, ClickHouse and the skald processes too.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  const procs: Array<ReturnType<typeof spawnRole>> = [];
  try {
    const config = loadConfig({ env: {}, overrides: { "storage.url": ch.url, "log.level": "silent" } });
    await (await runRole("migrate", config, createLogger("silent"))).shutdown();
    const env = {
      SKALD_CLICKHOUSE_URL: ch.url,
      SKALD_KAFKA_BROKERS: broker.brokers.join(","),
      SKALD_KAFKA_PARTITIONS: String(partitions),
      SKALD_KAFKA_COMPRESSION: compression,
    };
    const grpcPort = await freePort();
    const collector = spawnRole("collector", {
      ...env,
      SKALD_OTLP_GRPC_PORT: String(grpcPort),
      SKALD_OTLP_HTTP_PORT: String(await freePort()),
    });
    procs.push(collector);
    await collector.ready;
    for (let i = 0; i < ingesterCount; i++) procs.push(spawnRole("ingester", env));
    await Promise.all(procs.map((p) => p.ready));

    const generated = Array.from({ length: 64 }, (_, i) =>
      generateRequest({ service: `svc-${i % 8}`, count: SPANS, attrs: 10 }),
    );
    const requests = generated.map((r) => r.body);
    const idOffsets = distinct ? generated.map((r) => idOffsetsOf(r.body, r.spanIds, r.traceIds)) : undefined;
    console.log(
      `bench:kafka: Kafka ${broker.version}, ${partitions} partitions, ${compression}; 1 collector + ${ingesterCount} ingester process(es); ` +
        `${clients} gRPC clients × ${SPANS} spans × 10 attributes (${fmt(requests[0].length)} bytes), ${seconds} s, ` +
        `${distinct ? "distinct ids in every request" : "64 requests re-sent"}`,
    );
    const cpuPids = {
      collector: collector.child.pid,
      ingesters: procs.slice(1).map((p) => p.child.pid),
      broker: pidOf(`${broker.dataDir}/server.properties`),
      clickhouse: pidOf(ch.dataDir),
    };
    const cpuNow = (): Record<string, number> => ({
      collector: processCpuSeconds(cpuPids.collector),
      ingesters: cpuPids.ingesters.reduce<number>((n, pid) => n + processCpuSeconds(pid), 0),
      broker: processCpuSeconds(cpuPids.broker),
      clickhouse: processCpuSeconds(cpuPids.clickhouse),
      "load generator": (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    });
    const cpuBefore = cpuNow();
    const started = performance.now();
    const { accepted, refused, latencies } = await closedLoop({
      targets: [`127.0.0.1:${grpcPort}`],
      clients,
      requests,
      idOffsets,
      running: deadlineIn(seconds),
    });
    const loadEnd = performance.now();
    const loadSeconds = (loadEnd - started) / 1000;

    const lag = async () => {
      const [t] = await admin.fetchOffsets({ groupId: "skald-ingesters", topics: ["skald.spans"] });
      const committed = t.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      const high = (await admin.fetchTopicOffsets("skald.spans")).reduce((n, p) => n + Number(p.high), 0);
      return { lag: high - committed, high };
    };
    const atStop = await lag();
    for (;;) {
      if ((await lag()).lag === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const drained = performance.now();
    const cpuAfter = cpuNow();
    const rs = await db.query({ query: "SELECT count() AS n FROM skald.spans", format: "JSONEachRow" });
    const [{ n }] = await rs.json<{ n: string }>();
    const stored = Number(n);

    console.log(
      `collector accepted (acknowledged by Kafka): ${fmt(accepted)} spans in ${loadSeconds.toFixed(1)} s = ${fmt(accepted / loadSeconds)} spans/s`,
    );
    console.log(`refused requests (throttled, retried): ${refused}`);
    console.log(
      `request latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
    );
    console.log(`messages on the topic: ${fmt(atStop.high)} (one per request and partition)`);
    console.log(
      `end to end (first request → last span stored and committed): ${fmt(stored)} spans in ${((drained - started) / 1000).toFixed(1)} s = ${fmt(stored / ((drained - started) / 1000))} spans/s`,
    );
    console.log(
      `consumer lag when the load stopped: ${fmt(atStop.lag)} messages, drained in ${((drained - loadEnd) / 1000).toFixed(2)} s`,
    );
    const cpu = Object.entries(cpuAfter).map(
      ([name, after]) => `${name} ${(((after - (cpuBefore[name] ?? 0)) * 100_000) / stored).toFixed(2)}`,
    );
    console.log(`CPU seconds per 100,000 spans: ${cpu.join(", ")}`);
    console.log(
      `stored = accepted: ${stored === accepted ? "yes" : `NO (stored ${stored}, accepted ${accepted})`}`,
    );
    if (stored !== accepted) process.exitCode = 1;
    if (distinct) {
      // each span once: as many distinct (trace, span) ids as spans accepted
      const us = await db.query({
        query: "SELECT uniqExact(trace_id, span_id) AS u FROM skald.spans",
        format: "JSONEachRow",
      });
      const [{ u }] = await us.json<{ u: string }>();
      console.log(
        `distinct span ids stored: ${fmt(Number(u))}${Number(u) === accepted ? " (= accepted)" : ""}`,
      );
      if (Number(u) !== accepted) process.exitCode = 1;
    }
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
