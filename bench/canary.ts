/**
 * npm run bench:canary — judging a canary run over a 1 h window with BENCH_CANARY_SPANS (default
 * 1,000,000) SERVER spans per side, three zones, in the embedded store. Spans are generated
 * server-side (INSERT … SELECT): baseline log-normal latency, canary 10% slower with 2% errors.
 * Prints the time of a whole run with the default config (metric extraction per zone and overall
 * from the service map's per-minute rollup, judging, saving the run), of the judge alone, and of
 * the same analysis read from raw spans.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { judge } from "../core/canary/index.js";
import { loadConfig } from "../core/config/load.js";
import { createLogger } from "../core/log.js";
import { migrate, retentionDaysOf } from "../core/store/migrations.js";
import { openStore } from "../core/store/store.js";
import { analyse } from "../query/canary/analysis.js";
import { defaultCanaryConfig, judgeConfigOf, scoringOf } from "../query/canary/config.js";
import { extractMetrics, OVERALL } from "../query/canary/extract.js";
import { CanaryService } from "../query/canary/service.js";
import { createSqlRunner } from "../query/sql.js";

const PER_SIDE = Number(process.env.BENCH_CANARY_SPANS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

async function main() {
  // BENCH_CANARY_DIR keeps the generated data between runs (generation is the slow part).
  const keep = process.env.BENCH_CANARY_DIR;
  const dataDir = keep ?? mkdtempSync(join(tmpdir(), "skald-bench-canary-"));
  const config = loadConfig({ env: {}, overrides: { "storage.dataDir": dataDir, "log.level": "silent" } });
  const store = await openStore(config.storage);
  try {
    await migrate(store, retentionDaysOf(config.storage));
    const hourNs = 3_600_000_000_000n;
    const endNs = ((BigInt(Date.now()) * 1_000_000n) / hourNs) * hourNs;
    const startNs = endNs - hourNs;
    const total = PER_SIDE * 2;
    const t0 = performance.now();
    const existing = await store.client.query({
      query: `SELECT count() AS n FROM ${store.database}.spans WHERE service_name = 'checkout'
        AND start_time >= fromUnixTimestamp64Nano(toInt64(${startNs}))`,
      format: "JSONEachRow",
    });
    const have = Number((await existing.json<{ n: string }>())[0].n);
    if (have !== total) {
      await store.client.command({
        query: `INSERT INTO ${store.database}.spans
        (tenant, trace_id, span_id, parent_span_id, name, kind, service_name, start_time, duration_ns, status_code, resource_attributes)
        SELECT 'default', lower(hex(number)), lower(hex(number)), '', if(number % 5 = 0, 'POST /checkout', 'GET /checkout'),
          'SERVER', 'checkout',
          fromUnixTimestamp64Nano(toInt64(${startNs}) + toInt64(intDiv(number * ${hourNs}, ${total}))),
          toUInt64(exp(randNormal(log(80e6), 0.3)) * if(number % 2 = 1, 1.1, 1.0)),
          if(number % 2 = 1 AND rand() % 100 < 2, 'ERROR', 'UNSET'),
          map('service.version', if(number % 2 = 0, '1.0', '1.1'),
              'cloud.availability_zone', ['us-east-1a', 'us-east-1b', 'us-east-1c'][number % 3 + 1],
              'service.instance.id', concat('i-', toString(number % 6)))
        FROM numbers(${total})`,
      });
    }
    console.log(
      `${have === total ? "reused" : "generated"} ${total.toLocaleString("en")} spans (1 h, ${PER_SIDE.toLocaleString("en")} per side, 3 zones) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    const service = new CanaryService(store, createLogger("silent"));
    const request = {
      service: "checkout",
      baseline: { key: "service.version", values: ["1.0"] },
      canary: { key: "service.version", values: ["1.1"] },
      fromNs: startNs,
      toNs: endNs,
    };
    const times: number[] = [];
    let last = await service.analyseAndSave("default", request); // warm-up
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      last = await service.analyseAndSave("default", request);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(
      `canary run, 1 h window, ${PER_SIDE.toLocaleString("en")} spans per side, default config (4 metrics x overall + 3 zones): median ${times[Math.floor(times.length / 2)].toFixed(0)} ms, max ${times[times.length - 1].toFixed(0)} ms over ${RUNS} runs; score ${last.score}, verdict ${last.verdict}`,
    );

    const deps = {
      store,
      sql: createSqlRunner(store),
      limits: { maxExecutionSeconds: 30, maxResultRows: 100_000 },
    };
    const cfg = defaultCanaryConfig();
    const spec = { tenant: "default", ...request, config: cfg };
    const te = performance.now();
    const extracted = await extractMetrics(deps, spec);
    const extractMs = performance.now() - te;
    const tj = performance.now();
    const inputs = extracted.map((e) => ({
      config: judgeConfigOf(e.metric),
      baseline: e.zones.get(OVERALL)?.baseline.map((p) => p.value) ?? [],
      canary: e.zones.get(OVERALL)?.canary.map((p) => p.value) ?? [],
    }));
    judge(inputs, scoringOf(cfg));
    const judgeMs = performance.now() - tj;
    const ta = performance.now();
    await analyse(deps, spec);
    console.log(
      `  of which: metric extraction ${extractMs.toFixed(0)} ms, judge (overall) ${judgeMs.toFixed(1)} ms, analysis without saving ${(performance.now() - ta).toFixed(0)} ms`,
    );
    const spansConfig = { ...cfg, source: "spans" as const };
    const ts = performance.now();
    await analyse(deps, { ...spec, config: spansConfig });
    console.log(
      `  the same analysis from raw spans (source: "spans", exact quantiles, any selector): ${(performance.now() - ts).toFixed(0)} ms`,
    );
  } finally {
    await store.close();
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
