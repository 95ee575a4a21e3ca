/**
 * The synthetic data set of the query benchmarks (bench:query, bench:jaeger), generated
 * server-side into the embedded store, or reused from BENCH_DATA_DIR when it already holds
 * enough spans. Returns where it is, the time of its newest span and `runs` random trace ids.
 * Before returning, the data is brought to the state a running system keeps it in: the
 * service-map job has paired what arrived and background merges have run, so the timed queries
 * do not share the two cores with a one-off catch-up of millions of spans that all arrived at once.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { loadConfig } from "../core/config/load.js";
import { createLogger } from "../core/log.js";
import { createServiceMapJob } from "../core/service-map/index.js";
import { migrate, retentionDaysOf } from "../core/store/migrations.js";
import { openStore, type Store } from "../core/store/store.js";
import { fmt, waitForMerges } from "./support.js";

export interface QueryData {
  dataDir: string;
  /** True when the data dir came from BENCH_DATA_DIR and must be kept. */
  keep: boolean;
  endNs: bigint;
  traceIds: string[];
}

/** Deterministic synthetic spans; `n` is the span number. Times spread evenly over 24 h. */
export function generateSql(db: string, spans: number, from: number, count: number, endNs: bigint): string {
  const SPANS = spans;
  const stepNs = (86_400n * 1_000_000_000n) / BigInt(SPANS);
  return `INSERT INTO ${db}.spans (tenant, trace_id, span_id, parent_span_id, name, kind, service_name, start_time,
      duration_ns, status_code, attributes, attribute_types, resource_attributes, scope_name, scope_version)
    SELECT 'default',
      lower(hex(MD5(toString(intDiv(n, 8))))),
      substring(lower(hex(MD5(toString(n)))), 1, 16),
      if(n % 8 = 0, '', substring(lower(hex(MD5(toString(n - n % 8)))), 1, 16)),
      concat('op-', toString(n % 10)),
      if(n % 8 = 0, 'SERVER', 'CLIENT'),
      concat('svc-', toString(intDiv(n, 8) % 20)),
      fromUnixTimestamp64Nano(toInt64(${endNs} - ${stepNs} * (${SPANS} - n))),
      1000000 + (cityHash64(n) % 500000000),
      if(n % 97 = 0, 'ERROR', 'UNSET'),
      map('http.method', 'GET', 'http.route', concat('/api/v1/items/', toString(n % 50)),
          'http.status_code', if(n % 97 = 0, '500', '200'), 'customer.id', concat('c-', toString(n % 10000)),
          'request.guid', lower(hex(MD5(concat('guid', toString(intDiv(n, 8)))))),
          'net.peer.name', concat('host-', toString(n % 30)), 'thread.id', toString(n % 64),
          'db.statement', 'SELECT * FROM items WHERE id = ?', 'feature.flag', if(n % 3 = 0, 'on', 'off'),
          'region', 'eu-west-1'),
      map('http.status_code', 'int', 'thread.id', 'int'),
      map('service.name', concat('svc-', toString(intDiv(n, 8) % 20)), 'service.version', '1.4.2',
          'host.name', concat('node-', toString(intDiv(n, 8) % 40))),
      'io.opentelemetry.http', '1.30.0'
    FROM (SELECT number + ${from} AS n FROM numbers(${count}))`;
}

export async function prepareQueryData(label: string, SPANS: number, RUNS: number): Promise<QueryData> {
  // BENCH_DATA_DIR keeps the generated data between runs (generation is skipped when it is there)
  const keep = process.env.BENCH_DATA_DIR;
  const dataDir = keep ?? mkdtempSync(join(tmpdir(), `skald-bench-${label}-`));
  const config = loadConfig({ env: {}, overrides: { "storage.dataDir": dataDir } });
  const store = await openStore(config.storage);
  // every retention class the migrations use, spans kept 7 days
  await migrate(store, { ...retentionDaysOf(config.storage), spans: 7 });
  const existing = await store.client.query({
    query: `SELECT count() AS n, toString(toUnixTimestamp64Nano(max(start_time))) AS last FROM ${store.database}.spans`,
    format: "JSONEachRow",
  });
  const [have] = await existing.json<{ n: string; last: string }>();
  let endNs = BigInt(Date.now()) * 1_000_000n;
  if (Number(have.n) >= SPANS) {
    endNs = BigInt(have.last);
    console.log(`bench:${label}: reusing ${fmt(Number(have.n))} spans in ${dataDir}`);
  } else {
    const t0 = performance.now();
    const chunk = 2_000_000;
    for (let from = 0; from < SPANS; from += chunk) {
      await store.client.command({
        query: generateSql(store.database, SPANS, from, Math.min(chunk, SPANS - from), endNs),
      });
    }
    console.log(
      `bench:${label}: generated ${fmt(SPANS)} spans in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  await settle(store);
  const ids = await store.client.query({
    query: `SELECT trace_id FROM ${store.database}.trace_index ORDER BY cityHash64(trace_id) LIMIT ${RUNS}`,
    format: "JSONCompactEachRow",
  });
  const traceIds = (await ids.json<[string]>()).map((r) => r[0]);
  await store.close();

  return { dataDir, keep: keep !== undefined, endNs, traceIds };
}

/** Finishes the service-map job's windows, then waits (up to 10 min) for merges to stop. */
async function settle(store: Store): Promise<void> {
  const t0 = performance.now();
  const job = createServiceMapJob(
    { store, logger: createLogger("warn"), registry: new Registry() },
    {
      jobEnabled: true,
      windowMs: 10_000,
      latenessMs: 10_000,
      visibilityMarginMs: 0,
      maxWindowsPerRun: 1_000_000,
    },
  );
  const windows = await job.runOnce();
  await job.stop();
  const paired = (performance.now() - t0) / 1000;
  await waitForMerges(store, store.database);
  console.log(
    `  settled: service-map job finished ${windows} windows in ${paired.toFixed(0)} s; merges quiet after ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
}
