/**
 * Closed-loop OTLP gRPC load against a `skald start` child on `dataDir` (bench:ingest and
 * bench:service-map): `clients` clients each send pre-encoded requests of 512 spans with 10
 * attributes, one at a time, for `seconds`. A refused request is retried after 50 ms.
 */
import type * as grpc from "@grpc/grpc-js";
import { freePort } from "../test/support/clickhouse-server.js";
import { generateRequest, type IdOffsets, idOffsetsOf, withIdsVaried } from "../test/support/otlp-encode.js";
import { peakRss, processCpuSeconds, rawTraceClient, spawnSkald, stopSkald, ThreadCpu } from "./support.js";

export const SPANS_PER_REQUEST = 512;

export interface LoopResult {
  /** Spans in the requests the server accepted. */
  accepted: number;
  /** Requests refused (each retried after 50 ms). */
  refused: number;
  /** Latencies of the accepted requests in ms, sorted. */
  latencies: number[];
}

/** A `running` predicate that turns false `seconds` from now. */
export const deadlineIn = (seconds: number): (() => boolean) => {
  const deadline = performance.now() + seconds * 1000;
  return () => performance.now() < deadline;
};

/**
 * `clients` closed-loop OTLP gRPC clients, spread over `targets`, each sending `requests` (of
 * SPANS_PER_REQUEST spans) one at a time while `running()` holds. A refused request is counted,
 * handed to `onRefused` (which may throw to stop the load) and retried after 50 ms.
 */
export async function closedLoop(opts: {
  targets: string[];
  clients: number;
  requests: Buffer[];
  /** Per request, where its ids are (idOffsetsOf): each send then carries distinct span ids. */
  idOffsets?: IdOffsets[];
  running: () => boolean;
  metadata?: Record<string, string>;
  onRefused?: (err: grpc.ServiceError) => void;
  /** At most this many requests a second, all clients together (default: as fast as answered). */
  requestsPerSecond?: number;
}): Promise<LoopResult> {
  const { targets, clients, requests, running } = opts;
  const interval = opts.requestsPerSecond ? 1000 / opts.requestsPerSecond : 0;
  let nextAt = performance.now();
  let sends = 0;
  let accepted = 0;
  let refused = 0;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const client = rawTraceClient(targets[c % targets.length], opts.metadata);
      try {
        for (let i = c; running(); i++) {
          if (interval > 0) {
            // each send takes the next free slot of the shared schedule
            const at = Math.max(nextAt, performance.now());
            nextAt = at + interval;
            await new Promise((r) => setTimeout(r, at - performance.now()));
            if (!running()) break;
          }
          const t0 = performance.now();
          const r = i % requests.length;
          // a number no other send uses, so no two sends carry the same ids
          const body = opts.idOffsets ? withIdsVaried(requests[r], opts.idOffsets[r], ++sends) : requests[r];
          const err = await client.export(body);
          if (err) {
            refused++;
            opts.onRefused?.(err);
            await new Promise((r) => setTimeout(r, 50));
          } else {
            accepted += SPANS_PER_REQUEST;
            latencies.push(performance.now() - t0);
          }
        }
      } finally {
        client.close();
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { accepted, refused, latencies };
}

export interface LoadResult {
  accepted: number;
  refused: number;
  seconds: number;
  /** CPU seconds of the Skald process during the load (its embedded ClickHouse included). */
  cpu: number;
  /** Request latencies in ms, sorted. */
  latencies: number[];
  rssPeak: number;
  exitCode: number | null;
  /** Size of one request body. */
  requestBytes: number;
  /** CPU seconds of the Skald process by thread name during the load, largest first. */
  threadCpu: [string, number][];
  /** CPU seconds of this process (the load generator) during the load. */
  clientCpu: number;
  /** Mean spans per insert batch (skald_batch_spans). */
  batchSpans: number;
}

/**
 * `uniqueIds`: every request sent carries span and trace ids of its own (the pre-encoded requests
 * with their ids varied per send) instead of re-sending the same spans. `env` adds to the
 * environment of the `skald start` child.
 */
export async function otlpLoad(
  dataDir: string,
  clients: number,
  seconds: number,
  uniqueIds = false,
  env: Record<string, string> = {},
): Promise<LoadResult> {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const child = await spawnSkald({
    ...env,
    SKALD_DATA_DIR: dataDir,
    SKALD_OTLP_GRPC_PORT: String(grpcPort),
    SKALD_OTLP_HTTP_PORT: String(await freePort()),
    SKALD_HTTP_PORT: String(httpPort),
  });
  const generated = Array.from({ length: 64 }, (_, i) =>
    generateRequest({ service: `svc-${i % 8}`, count: SPANS_PER_REQUEST, attrs: 10 }),
  );
  const requests = generated.map((r) => r.body);
  const idOffsets = uniqueIds ? generated.map((r) => idOffsetsOf(r.body, r.spanIds, r.traceIds)) : undefined;
  let rssPeak = 0;
  const threads = new ThreadCpu(child.pid ?? 0);
  const rssTimer = setInterval(() => {
    rssPeak = Math.max(rssPeak, peakRss(child.pid ?? 0));
    threads.sample();
  }, 500);
  const started = performance.now();
  const cpu0 = processCpuSeconds(child.pid);
  const clientCpu0 = process.cpuUsage();
  const { accepted, refused, latencies } = await closedLoop({
    targets: [`127.0.0.1:${grpcPort}`],
    clients,
    requests,
    idOffsets,
    running: deadlineIn(seconds),
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpu = processCpuSeconds(child.pid) - cpu0;
  const clientUsage = process.cpuUsage(clientCpu0);
  const threadCpu = threads.byName();
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  /** Sum of a metric's samples over its labels. */
  const metric = (name: string) =>
    [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, "gm"))].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
  const batchSpans = metric("skald_batch_spans_sum") / metric("skald_batch_spans_count");
  clearInterval(rssTimer);
  rssPeak = Math.max(rssPeak, peakRss(child.pid ?? 0));
  const exitCode = await stopSkald(child);
  return {
    accepted,
    refused,
    seconds: elapsed,
    cpu,
    latencies,
    rssPeak,
    exitCode,
    requestBytes: requests[0].length,
    threadCpu,
    batchSpans,
    clientCpu: (clientUsage.user + clientUsage.system) / 1e6,
  };
}

/** "name cpu, …": a load's CPU by thread (its `limit` largest) in CPU-seconds per 100k spans. */
export function threadsPer100k(r: LoadResult, limit = 12): string {
  return r.threadCpu
    .slice(0, limit)
    .map(([name, cpu]) => `${name} ${((cpu / r.accepted) * 100_000).toFixed(2)}`)
    .join(", ");
}
