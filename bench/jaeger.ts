/**
 * npm run bench:jaeger — Jaeger API read latency with BENCH_SPANS (default 10,000,000) spans stored
 * (bench:query's data set; BENCH_DATA_DIR reuses it), beside the GraphQL equivalents on the same
 * server and data: trace by id (/api/traces/{id} vs GraphQL `trace`), and search by service plus
 * attribute over 1 h, limit 20 (/api/traces vs GraphQL `traces`). Jaeger's search returns whole
 * traces (every span with tags, logs and processes); GraphQL's returns summaries, so the GraphQL
 * search line is a lower bound of what the same answer would cost there. Prints p50/p99.
 */
import { rmSync } from "node:fs";
import { freePort } from "../test/support/clickhouse-server.js";
import { prepareQueryData } from "./query-data.js";
import { percentile, spawnSkald, stopSkald } from "./support.js";

const SPANS = Number(process.env.BENCH_SPANS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 200);

type Request = { url: string; body?: object };

/** Sorted latencies (ms) of the requests, one at a time; fails on any non-2xx or GraphQL error. */
async function time(requests: Request[], check: (body: unknown) => void): Promise<number[]> {
  const times: number[] = [];
  for (const r of requests) {
    const t0 = performance.now();
    const res = await fetch(
      r.url,
      r.body
        ? { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(r.body) }
        : {},
    );
    const body = await res.json();
    if (!res.ok) throw new Error(`${r.url}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    check(body);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

async function measure(label: string, requests: Request[], check: (body: unknown) => void): Promise<void> {
  await time(requests.slice(0, 10), check); // warm-up
  const t = await time(requests, check);
  console.log(
    `${label}: p50 ${percentile(t, 50).toFixed(1)} ms, p99 ${percentile(t, 99).toFixed(1)} ms over ${t.length} requests`,
  );
}

const noGraphqlErrors = (body: unknown) => {
  const errors = (body as { errors?: unknown }).errors;
  if (errors) throw new Error(`GraphQL error: ${JSON.stringify(errors)}`);
};
const jaegerData = (body: unknown) => {
  const b = body as { data?: unknown[]; errors?: unknown };
  if (!Array.isArray(b.data) || b.errors)
    throw new Error(`Jaeger API error: ${JSON.stringify(body).slice(0, 300)}`);
};

async function main() {
  const { dataDir, keep, endNs, traceIds } = await prepareQueryData("jaeger", SPANS, RUNS);
  const port = await freePort();
  const child = await spawnSkald({
    SKALD_DATA_DIR: dataDir,
    SKALD_HTTP_PORT: String(port),
    SKALD_OTLP_GRPC_PORT: String(await freePort()),
    SKALD_OTLP_HTTP_PORT: String(await freePort()),
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await measure(
      "jaeger /api/traces/{id} (8 spans)",
      traceIds.map((id) => ({ url: `${base}/api/traces/${id}` })),
      jaegerData,
    );
    await measure(
      "graphql trace(id) (8 spans, full attributes)",
      traceIds.map((id) => ({
        url: `${base}/graphql`,
        body: {
          query: `query ($id: ID!) { trace(id: $id) { traceId spans { spanId parentSpanId serviceName name startTime duration attributes { key value } } } }`,
          variables: { id },
        },
      })),
      noGraphqlErrors,
    );
    // The same searches for both APIs: service svc-k, attribute customer.id, one hour ending k hours ago.
    const nowMs = Number(endNs / 1_000_000n);
    const searches = Array.from({ length: RUNS }, (_, i) => {
      const toMs = nowMs - (i % 20) * 3_600_000;
      return { service: `svc-${i % 20}`, customer: `c-${(i * 37) % 10000}`, fromMs: toMs - 3_600_000, toMs };
    });
    await measure(
      "jaeger /api/traces search (service + tag, 1 h, limit 20, whole traces)",
      searches.map((s) => ({
        url: `${base}/api/traces?service=${s.service}&tags=${encodeURIComponent(JSON.stringify({ "customer.id": s.customer }))}&start=${s.fromMs * 1000}&end=${s.toMs * 1000}&lookback=custom&limit=20`,
      })),
      jaegerData,
    );
    await measure(
      "graphql traces search (service + attribute, 1 h, first 20, summaries)",
      searches.map((s) => ({
        url: `${base}/graphql`,
        body: {
          query: `query ($f: TraceFilter) { traces(filter: $f, first: 20) { edges { node { traceId spanCount } } } }`,
          variables: {
            f: {
              service: s.service,
              attributes: [{ key: "customer.id", value: s.customer }],
              from: new Date(s.fromMs).toISOString(),
              to: new Date(s.toMs).toISOString(),
            },
          },
        },
      })),
      noGraphqlErrors,
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
