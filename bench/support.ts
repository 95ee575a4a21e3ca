import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { traceServiceDefinition } from "../collector/otlp-grpc.js";
import { NODE_FLAGS } from "../core/node-flags.js";
import { packageRoot } from "../core/paths.js";
import type { Store } from "../core/store/store.js";

/** Starts `skald start` as a child process and resolves once it prints its listeners. */
export async function spawnSkald(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...NODE_FLAGS, join(packageRoot(), "bin", "skald.js"), "start"], {
    env: { ...process.env, SKALD_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("Ctrl-C")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`skald exited with ${code}: ${out}`)));
  });
  return child;
}

export async function stopSkald(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  return exited;
}

/** The name and CPU seconds (user + system) of a /proc stat file (a process's or a thread's). */
function readStat(path: string): { name: string; cpu: number } {
  const stat = readFileSync(path, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
    cpu: (Number(fields[11]) + Number(fields[12])) / 100, // utime, stime in clock ticks (USER_HZ 100)
  };
}

/** CPU seconds (user + system) a process used so far, from /proc; 0 if unknown. */
export function processCpuSeconds(pid: number | undefined): number {
  try {
    return readStat(`/proc/${pid}/stat`).cpu;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds per thread name of a process, for a breakdown of where its CPU went (Node's main
 * thread, libuv workers, ClickHouse's query and merge pools). Sample it while the load runs:
 * threads that exit between samples keep what they used up to the last sample.
 */
export class ThreadCpu {
  private readonly first = new Map<string, number>();
  private readonly last = new Map<string, { name: string; cpu: number }>();

  constructor(private readonly pid: number) {
    for (const [tid, t] of this.read()) this.first.set(tid, t.cpu);
  }

  sample(): void {
    for (const [tid, t] of this.read()) this.last.set(tid, t);
  }

  /** CPU seconds since construction by thread name (digits folded), largest first. */
  byName(): [string, number][] {
    this.sample();
    const sums = new Map<string, number>();
    for (const [tid, t] of this.last) {
      const name = t.name.replace(/\d+/g, "#");
      sums.set(name, (sums.get(name) ?? 0) + t.cpu - (this.first.get(tid) ?? 0));
    }
    return [...sums].filter(([, cpu]) => cpu > 0).sort((a, b) => b[1] - a[1]);
  }

  private read(): Map<string, { name: string; cpu: number }> {
    const out = new Map<string, { name: string; cpu: number }>();
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${this.pid}/task`);
    } catch {
      return out;
    }
    for (const tid of tids) {
      try {
        out.set(tid, readStat(`/proc/${this.pid}/task/${tid}/stat`));
      } catch {
        // the thread exited
      }
    }
    return out;
  }
}

/** Peak resident set size of a process in bytes (VmHWM), 0 if unknown. */
export function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const GrpcClient = grpc.makeGenericClientConstructor(traceServiceDefinition, "TraceService");

export interface RawTraceClient {
  export(body: Buffer): Promise<grpc.ServiceError | null>;
  close(): void;
}

/** A gRPC client sending pre-encoded ExportTraceServiceRequest bytes (with `metadata` on every call). */
export function rawTraceClient(address: string, metadata: Record<string, string> = {}): RawTraceClient {
  const client = new GrpcClient(address, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  }) as unknown as {
    Export(req: Buffer, md: grpc.Metadata, cb: (err: grpc.ServiceError | null) => void): void;
    close(): void;
  };
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return {
    export: (body) => new Promise((resolve) => client.Export(body, md, (err) => resolve(err))),
    close: () => client.close(),
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * Waits until no merge of `database` (only of `tables`, when given) has run for 10 s, or
 * `limitSeconds` passed: the steady state a long-running store is queried in. Seconds waited.
 */
export async function waitForMerges(
  store: Store,
  database: string,
  opts: { tables?: string[]; limitSeconds?: number } = {},
): Promise<number> {
  const t0 = performance.now();
  const limit = (opts.limitSeconds ?? 600) * 1000;
  const only = opts.tables ? ` AND table IN (${opts.tables.map((t) => `'${t}'`).join(", ")})` : "";
  for (let quiet = 0; quiet < 5 && performance.now() - t0 < limit; ) {
    await new Promise((r) => setTimeout(r, 2000));
    const rs = await store.client.query({
      query: `SELECT count() AS n FROM system.merges WHERE database = '${database}'${only}`,
      format: "JSONEachRow",
    });
    quiet = Number((await rs.json<{ n: string }>())[0].n) === 0 ? quiet + 1 : 0;
  }
  return (performance.now() - t0) / 1000;
}
