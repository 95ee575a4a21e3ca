/**
 * npm run bench:query — GraphQL read latency with BENCH_SPANS (default 10,000,000) spans stored in
 * the embedded store: trace by id, and search by service plus attribute over 1 h. Spans are
 * generated server-side (INSERT … SELECT) over the last 24 h: 20 services, 8-span traces, 10
 * attributes per span. Prints p50/p99 per query shape.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../core/config/load.js";
import { migrate } from "../core/store/migrations.js";
import { openStore } from "../core/store/store.js";
import { freePort } from "../test/support/clickhouse-server.js";
import { fmt, percentile, spawnSkald, stopSkald } from "./support.js";

const SPANS = Number(process.env.BENCH_SPANS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 200);

/** Deterministic synthetic spans; `n` is the span number. Times spread evenly over 24 h. */
function generateSql(db: string, from: number, count: number, endNs: bigint): string {
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

async function timeQueries(
  url: string,
  queries: Array<{ query: string; variables: object }>,
): Promise<number[]> {
  const times: number[] = [];
  for (const q of queries) {
    const t0 = performance.now();
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(q),
    });
    const body = (await res.json()) as { errors?: unknown[] };
    if (body.errors) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

async function main() {
  // BENCH_DATA_DIR keeps the generated data between runs (generation is skipped when it is there)
  const keep = process.env.BENCH_DATA_DIR;
  const dataDir = keep ?? mkdtempSync(join(tmpdir(), "skald-bench-query-"));
  const config = loadConfig({ env: {}, overrides: { "storage.dataDir": dataDir } });
  const store = await openStore(config.storage);
  await migrate(store, { spans: 7 });
  const existing = await store.client.query({
    query: `SELECT count() AS n, toString(toUnixTimestamp64Nano(max(start_time))) AS last FROM ${store.database}.spans`,
    format: "JSONEachRow",
  });
  const [have] = await existing.json<{ n: string; last: string }>();
  let endNs = BigInt(Date.now()) * 1_000_000n;
  if (Number(have.n) >= SPANS) {
    endNs = BigInt(have.last);
    console.log(`bench:query: reusing ${fmt(Number(have.n))} spans in ${dataDir}`);
  } else {
    const t0 = performance.now();
    const chunk = 2_000_000;
    for (let from = 0; from < SPANS; from += chunk) {
      await store.client.command({
        query: generateSql(store.database, from, Math.min(chunk, SPANS - from), endNs),
      });
    }
    console.log(
      `bench:query: generated ${fmt(SPANS)} spans in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  const ids = await store.client.query({
    query: `SELECT trace_id FROM ${store.database}.trace_index ORDER BY cityHash64(trace_id) LIMIT ${RUNS}`,
    format: "JSONCompactEachRow",
  });
  const traceIds = (await ids.json<[string]>()).map((r) => r[0]);
  await store.close();

  const port = await freePort();
  const child = await spawnSkald({
    SKALD_DATA_DIR: dataDir,
    SKALD_HTTP_PORT: String(port),
    SKALD_OTLP_GRPC_PORT: String(await freePort()),
    SKALD_OTLP_HTTP_PORT: String(await freePort()),
  });
  const url = `http://127.0.0.1:${port}/graphql`;
  try {
    const byId = traceIds.map((id) => ({
      query: `query ($id: ID!) { trace(id: $id) { traceId spanCount spans { spanId parentSpanId serviceName name startTime duration attributes { key value } } } }`,
      variables: { id },
    }));
    await timeQueries(url, byId.slice(0, 10));
    const byIdTimes = await timeQueries(url, byId);
    console.log(
      `trace by id (8 spans, full attributes): p50 ${percentile(byIdTimes, 50).toFixed(1)} ms, p99 ${percentile(byIdTimes, 99).toFixed(1)} ms over ${byIdTimes.length} traces`,
    );
    const nowMs = Number(endNs / 1_000_000n);
    const search = Array.from({ length: RUNS }, (_, i) => {
      const to = new Date(nowMs - (i % 20) * 3_600_000).toISOString();
      const from = new Date(Date.parse(to) - 3_600_000).toISOString();
      return {
        query: `query ($f: TraceFilter) { traces(filter: $f, first: 20) { edges { node { traceId spanCount } } } }`,
        variables: {
          f: {
            service: `svc-${i % 20}`,
            attributes: [{ key: "customer.id", value: `c-${(i * 37) % 10000}` }],
            from,
            to,
          },
        },
      };
    });
    await timeQueries(url, search.slice(0, 10));
    const searchTimes = await timeQueries(url, search);
    console.log(
      `search service + attribute over 1 h: p50 ${percentile(searchTimes, 50).toFixed(1)} ms, p99 ${percentile(searchTimes, 99).toFixed(1)} ms over ${searchTimes.length} searches`,
    );
  } finally {
    await stopSkald(child);
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
