/**
 * Closed-loop OTLP gRPC load against a `skald start` child on `dataDir` (bench:ingest and
 * bench:service-map): `clients` clients each send pre-encoded requests of 512 spans with 10
 * attributes, one at a time, for `seconds`. A refused request is retried after 50 ms.
 */
import { freePort } from "../test/support/clickhouse-server.js";
import { generateRequest } from "../test/support/otlp-encode.js";
import { peakRss, processCpuSeconds, rawTraceClient, spawnSkald, stopSkald } from "./support.js";

export const SPANS_PER_REQUEST = 512;

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
}

export async function otlpLoad(dataDir: string, clients: number, seconds: number): Promise<LoadResult> {
  const grpcPort = await freePort();
  const child = await spawnSkald({
    SKALD_DATA_DIR: dataDir,
    SKALD_OTLP_GRPC_PORT: String(grpcPort),
    SKALD_OTLP_HTTP_PORT: String(await freePort()),
    SKALD_HTTP_PORT: String(await freePort()),
  });
  const requests = Array.from({ length: 64 }, (_, i) =>
    generateRequest({ service: `svc-${i % 8}`, count: SPANS_PER_REQUEST, attrs: 10 }),
  ).map((r) => r.body);
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
          accepted += SPANS_PER_REQUEST;
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
  };
}
