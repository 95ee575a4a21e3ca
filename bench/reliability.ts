/**
 * npm run bench:reliability — "1M writes, 1M reads, no data loss": 1,000,000 spans through
 * `skald collector` → Kafka → two `skald ingester` processes → ClickHouse while an ingester is
 * killed with SIGKILL every 10 s (and started again at once) and the broker is restarted once.
 * Every request carries fresh span ids and a refused request is not resent, so the figures measure
 * the pipeline: written = spans acknowledged to the sender; read back 5 s after the last
 * acknowledgement; lost = acknowledged and not stored; duplicated = stored copies beyond the first.
 * BENCH_SPANS (default 1,000,000) and BENCH_KAFKA (3.9|4.1) change the run.
 */
import { Kafka, logLevel } from "kafkajs";
import { runRole } from "../cli/app.js";
import { loadConfig } from "../core/config/load.js";
import { createLogger } from "../core/log.js";
import {
  chClient,
  checksumOf,
  exactlyOnce,
  type SkaldProcess,
  spawnRole,
  startLoad,
  storedChecksum,
  storedSpanCounts,
} from "../ingester/testing/harness.js";
import { freePort, startClickHouseServer } from "../test/support/clickhouse-server.js";
import { type KafkaMinor, startKafka } from "../test/support/kafka.js";
import { fmt } from "./support.js";

const total = Number(process.env.BENCH_SPANS ?? 1_000_000);
const version = (process.env.BENCH_KAFKA ?? "3.9") as KafkaMinor;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const [broker, ch] = await Promise.all([startKafka({ version, partitions: 4 }), startClickHouseServer()]);
  const admin = new Kafka({
    clientId: "reliability",
    brokers: broker.brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  const db = chClient(ch.url);
  let cleaned: Promise<void> | undefined;
  const cleanup = () => {
    cleaned ??= (async () => {
      await Promise.all([...procs, ...ingesters].map((p) => p.kill()));
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
  const procs: SkaldProcess[] = [];
  let ingesters: SkaldProcess[] = [];
  try {
    const config = loadConfig({ env: {}, overrides: { "storage.url": ch.url, "log.level": "silent" } });
    await (await runRole("migrate", config, createLogger("silent"))).shutdown();
    const env = {
      SKALD_CLICKHOUSE_URL: ch.url,
      SKALD_KAFKA_BROKERS: broker.brokers.join(","),
      SKALD_KAFKA_PARTITIONS: "4",
      SKALD_INGEST_SESSION_TIMEOUT_MS: "6000",
      SKALD_INGEST_BATCH_MAX_DELAY_MS: "500",
    };
    const httpPort = await freePort();
    const collector = spawnRole("collector", {
      ...env,
      SKALD_OTLP_GRPC_PORT: String(await freePort()),
      SKALD_OTLP_HTTP_PORT: String(httpPort),
    });
    await collector.ready;
    ingesters = [spawnRole("ingester", env), spawnRole("ingester", env)];
    await Promise.all(ingesters.map((i) => i.ready));
    procs.push(collector);
    console.log(
      `bench:reliability: ${fmt(total)} spans through Kafka ${broker.version} (4 partitions) → 2 ingesters → ClickHouse; ` +
        "an ingester SIGKILLed every 10 s and restarted, the broker restarted once",
    );

    const started = performance.now();
    const load = startLoad({
      url: `http://127.0.0.1:${httpPort}/v1/traces`,
      concurrency: 4,
      spansPerRequest: 500,
      limit: total,
      maxMs: 1_800_000,
    });
    const progress = setInterval(() => {
      const s = (performance.now() - started) / 1000;
      console.log(`  ${s.toFixed(0)} s: ${fmt(load.stats.acked.length)} spans acknowledged`);
    }, 30_000);
    let kills = 0;
    let brokerRestarts = 0;
    let loadDone = false;
    const faults = (async () => {
      for (let round = 1; !loadDone; round++) {
        const until = performance.now() + 10_000;
        while (!loadDone && performance.now() < until) await sleep(100);
        if (loadDone) break;
        const victim = round % 2;
        await ingesters[victim].kill();
        kills++;
        ingesters[victim] = spawnRole("ingester", env);
        await ingesters[victim].ready;
        if (round === 2) {
          await broker.restart();
          brokerRestarts++;
        }
      }
    })();
    let faultError: unknown;
    faults.catch((err) => {
      faultError = err;
    });
    const stats = await load.done;
    clearInterval(progress);
    loadDone = true;
    const lastAck = performance.now();
    await faults.catch(() => undefined);
    if (faultError) throw faultError;
    const acked = stats.acked.slice(0, stats.acked.length);
    console.log(
      `load: ${fmt(acked.length)} spans acknowledged in ${((lastAck - started) / 1000).toFixed(1)} s = ${fmt(acked.length / ((lastAck - started) / 1000))} spans/s; ` +
        `refused requests: ${JSON.stringify(stats.refusals)}; faults: ${kills} ingester kills, ${brokerRestarts} broker restart`,
    );

    await sleep(Math.max(0, lastAck + 5000 - performance.now()));
    const at5 = exactlyOnce(acked, stats.failed, await storedSpanCounts(db));
    console.log(
      `5 s after the last acknowledgement: written ${fmt(at5.written)}, read back ${fmt(at5.readBack)}, not yet readable ${fmt(at5.lost)}, duplicated ${fmt(at5.duplicated)}`,
    );

    // then until the consumer group has committed everything
    for (;;) {
      const [t] = await admin.fetchOffsets({ groupId: "skald-ingesters", topics: ["skald.spans"] });
      const committed = t.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      const high = (await admin.fetchTopicOffsets("skald.spans")).reduce((n, p) => n + Number(p.high), 0);
      if (committed === high) break;
      await sleep(200);
    }
    const drainedAfter = (performance.now() - lastAck) / 1000;
    const counts = await storedSpanCounts(db);
    const final = exactlyOnce(acked, stats.failed, counts);
    const sum = await storedChecksum(db);
    console.log(
      `after the lag drained (${drainedAfter.toFixed(1)} s after the last acknowledgement): written ${fmt(final.written)}, read back ${fmt(final.readBack)}, ` +
        `lost ${fmt(final.lost)}, duplicated ${fmt(final.duplicated)}; stored spans of refused requests ${fmt(final.unacknowledgedStored)}, unknown ${final.unknown}`,
    );
    console.log(
      `checksum over stored span ids: ClickHouse ${sum.checksum} (${fmt(sum.rows)} rows), expected ${checksumOf(counts.keys())} (${fmt(counts.size)} ids)`,
    );
    if (final.lost > 0 || final.duplicated > 0 || final.unknown > 0 || sum.rows !== counts.size)
      process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
