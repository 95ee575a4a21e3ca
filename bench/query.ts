/**
 * npm run bench:query — GraphQL read latency with BENCH_SPANS (default 10,000,000) spans stored in
 * the embedded store: trace by id, and search by service plus attribute over 1 h. Spans are
 * generated server-side (INSERT … SELECT) over the last 24 h: 20 services, 8-span traces, 10
 * attributes per span. Prints p50/p99 per query shape.
 */
import { rmSync } from "node:fs";
import { freePort } from "../test/support/clickhouse-server.js";
import { prepareQueryData } from "./query-data.js";
import { percentile, spawnSkald, stopSkald } from "./support.js";

const SPANS = Number(process.env.BENCH_SPANS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 200);

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
  const { dataDir, keep, endNs, traceIds } = await prepareQueryData("query", SPANS, RUNS);
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
