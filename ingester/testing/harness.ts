/**
 * Shared by the Kafka end-to-end and fault tests (test/e2e/kafka-*.test.ts) and the Kafka
 * benchmarks (bench/kafka.ts, bench/reliability.ts): skald processes, an OTLP/HTTP load generator
 * that remembers which spans were acknowledged, and the exactly-once check over ClickHouse.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import { loadConfig } from "../../core/config/load.js";
import type { SkaldConfig } from "../../core/config/schema.js";
import { NODE_FLAGS } from "../../core/node-flags.js";
import { packageRoot } from "../../core/paths.js";
import { generateRequest } from "../../test/support/otlp-encode.js";

export interface SkaldProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves once the role printed its listeners. */
  ready: Promise<void>;
  /** SIGKILL, resolves when it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, resolves to the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns `bin/skald.js <role>` (needs `npm run build`) with env on top of this process's. */
export function spawnRole(role: string, env: Record<string, string>): SkaldProcess {
  const child = spawn(process.execPath, [...NODE_FLAGS, join(packageRoot(), "bin", "skald.js"), role], {
    env: { ...process.env, SKALD_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const onData = (d: Buffer) => {
    out = (out + d.toString()).slice(-200_000);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes("Ctrl-C")) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null || child.signalCode !== null) {
        clearInterval(timer);
        reject(new Error(`skald ${role} exited early: ${out}`));
      }
    }, 50);
  });
  ready.catch(() => undefined); // awaited by whoever needs it; never an unhandled rejection
  return {
    child,
    output: () => out,
    ready,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

export interface LoadStats {
  /** Span ids of requests answered 200. */
  acked: string[];
  /** Span ids of requests that failed (429/503/timeout); never resent, so at most once stored. */
  failed: string[];
  refusals: Record<string, number>;
}

/**
 * Closed-loop OTLP/HTTP protobuf senders. Every request carries fresh spans; a refused request is
 * not resent (its spans may or may not be stored, but never twice), so "every acknowledged span
 * exactly once" measures the pipeline, not client retries.
 */
export function startLoad(opts: {
  url: string;
  concurrency: number;
  spansPerRequest: number;
  attrs?: number;
  /** Pause after each request per sender (default 0: closed loop). */
  paceMs?: number;
  /** Stop after this long in any case (default 10 minutes): a load loop always ends by itself. */
  maxMs?: number;
  /** Stop after this many acknowledged spans (default: until stop()). */
  limit?: number;
  service?: string;
}): { stats: LoadStats; stop(): Promise<LoadStats>; done: Promise<LoadStats> } {
  const stats: LoadStats = { acked: [], failed: [], refusals: {} };
  let stopped = false;
  const hardStop = setTimeout(() => {
    stopped = true;
  }, opts.maxMs ?? 600_000);
  const sender = async (n: number) => {
    while (!stopped && (opts.limit === undefined || stats.acked.length < opts.limit)) {
      const { body, spanIds } = generateRequest({
        service: `${opts.service ?? "load"}-${n % 4}`,
        count: opts.spansPerRequest,
        attrs: opts.attrs ?? 5,
      });
      let outcome: string;
      try {
        const res = await fetch(opts.url, {
          method: "POST",
          headers: { "content-type": "application/x-protobuf" },
          body: body as BodyInit,
          signal: AbortSignal.timeout(15_000),
        });
        await res.arrayBuffer();
        outcome = String(res.status);
      } catch (err) {
        outcome = (err as Error).name === "TimeoutError" ? "timeout" : "network";
      }
      if (outcome === "200") {
        for (const id of spanIds) stats.acked.push(id);
        if (opts.paceMs) await new Promise((r) => setTimeout(r, opts.paceMs));
      } else {
        for (const id of spanIds) stats.failed.push(id);
        stats.refusals[outcome] = (stats.refusals[outcome] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const done = Promise.all(Array.from({ length: opts.concurrency }, (_, i) => sender(i))).then(() => {
    clearTimeout(hardStop);
    return stats;
  });
  return {
    stats,
    done,
    async stop() {
      stopped = true;
      return done;
    },
  };
}

/**
 * Configuration of an in-process role for the Kafka end-to-end tests: the given broker and
 * ClickHouse server, every listener on a free port (flow receivers included: with Kafka every
 * collector runs them), quick batches and group sessions, silent logs; `extra` on top.
 */
export function kafkaRoleConfig(
  brokers: string[],
  chUrl: string,
  partitions: number,
  extra: Record<string, unknown> = {},
): SkaldConfig {
  return loadConfig({
    env: {},
    overrides: {
      "storage.url": chUrl,
      "otlp.grpcPort": 0,
      "otlp.httpPort": 0,
      "query.port": 0,
      "flows.netflowPort": 0,
      "flows.ipfixPort": 0,
      "flows.vpcHttpPort": 0,
      "kafka.brokers": brokers,
      "kafka.partitions": partitions,
      "kafka.ingester.batchMaxDelayMs": 200,
      "kafka.ingester.sessionTimeoutMs": 6000,
      "log.level": "silent",
      ...extra,
    },
  });
}

export function chClient(url: string): ClickHouseClient {
  return createClient({ url, request_timeout: 60_000 });
}

/** Stored copies of each span id of a tenant. */
export async function storedSpanCounts(
  ch: ClickHouseClient,
  database = "skald",
  tenant = "default",
): Promise<Map<string, number>> {
  const rs = await ch.query({
    query: `SELECT span_id, count() AS n FROM ${database}.spans WHERE tenant = {t:String} GROUP BY span_id`,
    query_params: { t: tenant },
    format: "JSONCompactEachRow",
  });
  const counts = new Map<string, number>();
  for (const [id, n] of await rs.json<[string, string | number]>()) counts.set(id, Number(n));
  return counts;
}

/** Count and checksum (sum of span ids as little-endian UInt64, mod 2^64) of span rows in ClickHouse. */
export async function storedChecksum(
  ch: ClickHouseClient,
  database = "skald",
  tenant = "default",
): Promise<{ rows: number; checksum: string }> {
  const rs = await ch.query({
    query: `SELECT count() AS rows, toString(sum(reinterpretAsUInt64(unhex(span_id)))) AS checksum
            FROM ${database}.spans WHERE tenant = {t:String}`,
    query_params: { t: tenant },
    format: "JSONEachRow",
  });
  const [row] = await rs.json<{ rows: string | number; checksum: string }>();
  return { rows: Number(row.rows), checksum: row.checksum };
}

/** The same checksum computed over span ids in JS. */
export function checksumOf(ids: Iterable<string>): string {
  let sum = 0n;
  for (const id of ids) sum = (sum + Buffer.from(id, "hex").readBigUInt64LE(0)) & 0xffffffffffffffffn;
  return sum.toString();
}

export interface ExactlyOnce {
  written: number;
  readBack: number;
  lost: number;
  duplicated: number;
  /** Stored spans of failed requests (allowed: a request can fail after Kafka took it). */
  unacknowledgedStored: number;
  /** Stored spans that no request sent (must be 0). */
  unknown: number;
}

export function exactlyOnce(acked: string[], failed: string[], counts: Map<string, number>): ExactlyOnce {
  let readBack = 0;
  let lost = 0;
  for (const id of acked) {
    if ((counts.get(id) ?? 0) > 0) readBack++;
    else lost++;
  }
  let duplicated = 0;
  for (const n of counts.values()) if (n > 1) duplicated += n - 1;
  const ackedSet = new Set(acked);
  let unacknowledgedStored = 0;
  for (const id of failed) if (counts.has(id) && !ackedSet.has(id)) unacknowledgedStored++;
  const failedSet = new Set(failed);
  let unknown = 0;
  for (const id of counts.keys()) if (!ackedSet.has(id) && !failedSet.has(id)) unknown++;
  return { written: acked.length, readBack, lost, duplicated, unacknowledgedStored, unknown };
}

/** Polls until `check` returns true or `timeoutMs` passes; returns whether it did. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 250,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      // not there yet (a server restarting)
    }
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
