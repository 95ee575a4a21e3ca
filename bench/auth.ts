/**
 * npm run bench:auth — the cost of authentication on ingest. `skald start` on the embedded store
 * takes the same closed-loop OTLP gRPC load (8 clients, 512 spans × 10 attributes per request) with
 * authentication off and on, alternating off/on/off/on so machine drift falls on both sides; every
 * request carries the API key either way. Prints spans/s per round, the on/off ratio, and the
 * in-process cost of checking one request's key.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuthenticator } from "../core/auth/authenticator.js";
import { authSchema } from "../core/config/schema.js";
import { freePort } from "../test/support/clickhouse-server.js";
import { generateRequest } from "../test/support/otlp-encode.js";
import { closedLoop, deadlineIn, SPANS_PER_REQUEST } from "./otlp-load.js";
import { fmt, spawnSkald, stopSkald } from "./support.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const clients = Number(process.env.BENCH_CLIENTS ?? 8);
const SPANS = SPANS_PER_REQUEST;
const KEY = "bench-sender-key-0123456789abcdef";
const keys = [{ name: "bench", key: KEY, tenant: "bench" }];
// A realistic key table: the key is found among many.
for (let i = 0; i < 99; i++)
  keys.push({ name: `other-${i}`, key: `other-sender-key-${i}-0123456789`, tenant: `t${i}` });
const tokens = [
  { name: "reader", token: "bench-reader-token-0123456789", tenant: "bench", roles: ["viewer"] },
];

async function round(auth: boolean, requests: Buffer[]): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), "skald-bench-auth-"));
  const grpcPort = await freePort();
  const child = await spawnSkald({
    SKALD_DATA_DIR: dataDir,
    SKALD_OTLP_GRPC_PORT: String(grpcPort),
    SKALD_OTLP_HTTP_PORT: String(await freePort()),
    SKALD_HTTP_PORT: String(await freePort()),
    SKALD_FLOWS_ENABLED: "false",
    ...(auth
      ? {
          SKALD_AUTH_ENABLED: "true",
          SKALD_AUTH_API_KEYS: JSON.stringify(keys),
          SKALD_AUTH_TOKENS: JSON.stringify(tokens),
        }
      : {}),
  });
  const started = performance.now();
  const { accepted, refused } = await closedLoop({
    targets: [`127.0.0.1:${grpcPort}`],
    clients,
    requests,
    running: deadlineIn(seconds),
    metadata: { authorization: `Bearer ${KEY}` },
    onRefused: (err) => {
      if (err.code === 16 || err.code === 7) throw new Error(`refused: ${err.message}`);
    },
  });
  const elapsed = (performance.now() - started) / 1000;
  await stopSkald(child);
  rmSync(dataDir, { recursive: true, force: true });
  const rate = accepted / elapsed;
  console.log(
    `  auth ${auth ? "on " : "off"}: ${fmt(accepted)} spans in ${elapsed.toFixed(1)} s = ${fmt(rate)} spans/s (${refused} throttled)`,
  );
  return rate;
}

function microCost(): { offNs: number; onNs: number } {
  const otlp = { tenantHeader: "x-scope-orgid", defaultTenant: "default" };
  const on = createAuthenticator({ otlp, auth: authSchema.parse({ enabled: true, apiKeys: keys }) });
  const off = createAuthenticator({ otlp, auth: authSchema.parse({}) });
  const headers: Record<string, string> = { authorization: `Bearer ${KEY}` };
  const lookup = (name: string) => headers[name];
  const time = (fn: () => unknown) => {
    for (let i = 0; i < 20_000; i++) fn();
    const n = 200_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    return Number(process.hrtime.bigint() - t0) / n;
  };
  return { offNs: time(() => off.sender(lookup)), onNs: time(() => on.sender(lookup)) };
}

async function main() {
  const requests = Array.from({ length: 64 }, (_, i) =>
    generateRequest({ service: `svc-${i % 8}`, count: SPANS, attrs: 10 }),
  ).map((r) => r.body);
  console.log(
    `bench:auth: ${clients} gRPC clients, ${SPANS} spans × 10 attributes per request, ${seconds} s per round, ${keys.length} API keys configured`,
  );
  const rates = { off: [] as number[], on: [] as number[] };
  for (const auth of [false, true, false, true]) rates[auth ? "on" : "off"].push(await round(auth, requests));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ratio = mean(rates.on) / mean(rates.off);
  console.log(
    `ingest with authentication on / off: ${ratio.toFixed(3)} (${fmt(mean(rates.on))} vs ${fmt(mean(rates.off))} spans/s; cost ${((1 - ratio) * 100).toFixed(1)} %, target ≤ 5 %)`,
  );
  const micro = microCost();
  console.log(
    `key check per request in process: ${(micro.onNs / 1000).toFixed(2)} µs on, ${(micro.offNs / 1000).toFixed(2)} µs off (a request of ${SPANS} spans: ${((micro.onNs - micro.offNs) / SPANS).toFixed(1)} ns per span)`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
