import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/load.js";
import { NODE_FLAGS } from "../../core/node-flags.js";
import { packageRoot } from "../../core/paths.js";
import { openStore } from "../../core/store/store.js";
import { freePort } from "../support/clickhouse-server.js";
import { generateRequest } from "../support/otlp-encode.js";

function startSkald(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  ready: Promise<void>;
} {
  const child = spawn(process.execPath, [...NODE_FLAGS, join(packageRoot(), "bin", "skald.js"), "start"], {
    env: { ...process.env, ...env, SKALD_LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes("Ctrl-C")) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`skald exited early: ${out}`));
      }
    }, 50);
  });
  return { child, output: () => out, ready };
}

async function freshEnv(dataDir: string): Promise<Record<string, string>> {
  return {
    SKALD_DATA_DIR: dataDir,
    SKALD_OTLP_GRPC_PORT: String(await freePort()),
    SKALD_OTLP_HTTP_PORT: String(await freePort()),
    SKALD_HTTP_PORT: String(await freePort()),
    SKALD_BATCH_MAX_DELAY_MS: "1000",
  };
}

/**
 * Four senders load a running skald; once 2,000 spans are acknowledged (or 30 s passed) it gets
 * `signal` while the senders keep sending. Returns what was acknowledged.
 */
async function loadThenSignal(env: Record<string, string>, signal: NodeJS.Signals, closeOutput = false) {
  const skald = startSkald(env);
  await skald.ready;
  if (closeOutput) {
    // whoever read skald's output is gone (`skald start | tee log`, and Ctrl-C stopped tee too):
    // skald's next write to either pipe fails with EPIPE
    skald.child.stdout?.destroy();
    skald.child.stderr?.destroy();
  }
  const acked: string[] = [];
  let stop = false;
  const sender = async () => {
    while (!stop) {
      const { body, spanIds } = generateRequest({ service: "load", count: 200, attrs: 5 });
      try {
        const res = await fetch(`http://127.0.0.1:${env.SKALD_OTLP_HTTP_PORT}/v1/traces`, {
          method: "POST",
          headers: { "content-type": "application/x-protobuf" },
          body: body as BodyInit,
        });
        // anything but 200 was not acknowledged: the sender would retry it elsewhere
        if (res.status === 200) acked.push(...spanIds);
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const senders = Array.from({ length: 4 }, sender);
  const deadline = Date.now() + 30_000;
  while (acked.length < 2000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const exited = new Promise<number | null>((resolve) => skald.child.once("exit", (code) => resolve(code)));
  skald.child.kill(signal);
  const code = await exited;
  stop = true;
  await Promise.all(senders);
  return { acked, code, output: skald.output() };
}

/** Checks every acknowledged span id is stored exactly once (the skald process must be stopped). */
async function expectStoredOnce(dataDir: string, acked: string[]): Promise<void> {
  const store = await openStore(loadConfig({ env: {}, overrides: { "storage.dataDir": dataDir } }).storage);
  try {
    const rs = await store.client.query({
      query: `SELECT span_id FROM ${store.database}.spans WHERE tenant = 'default'`,
      format: "JSONCompactEachRow",
    });
    const stored = (await rs.json<[string]>()).map((r) => r[0]);
    const storedSet = new Set(stored);
    expect(acked.filter((id) => !storedSet.has(id))).toEqual([]);
    expect(stored.length).toBe(storedSet.size);
  } finally {
    await store.close();
  }
}

describe("skald start under load: SIGTERM drains, SIGKILL loses nothing acknowledged", () => {
  const dirs: string[] = [];
  const newDir = () => {
    const d = mkdtempSync(join(tmpdir(), "skald-signal-"));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("SIGTERM: drains every accepted span and exits 0", async () => {
    const dataDir = newDir();
    const { acked, code, output } = await loadThenSignal(await freshEnv(dataDir), "SIGTERM");
    expect(code, output).toBe(0);
    expect(output).toContain("stopped cleanly");
    expect(acked.length).toBeGreaterThanOrEqual(2000);
    await expectStoredOnce(dataDir, acked);
  });

  it("SIGTERM with nobody left reading its output: still drains every accepted span and exits 0", async () => {
    const dataDir = newDir();
    const { acked, code } = await loadThenSignal(await freshEnv(dataDir), "SIGTERM", true);
    expect(code).toBe(0);
    expect(acked.length).toBeGreaterThanOrEqual(2000);
    await expectStoredOnce(dataDir, acked);
  });

  it("SIGKILL: every acknowledged span survives the crash and skald starts again on the same data", async () => {
    const dataDir = newDir();
    const { acked, code } = await loadThenSignal(await freshEnv(dataDir), "SIGKILL");
    expect(code).toBeNull();
    expect(acked.length).toBeGreaterThanOrEqual(2000);
    const again = startSkald(await freshEnv(dataDir));
    await again.ready;
    const exited = new Promise<number | null>((resolve) => again.child.once("exit", (c) => resolve(c)));
    again.child.kill("SIGTERM");
    expect(await exited, again.output()).toBe(0);
    await expectStoredOnce(dataDir, acked);
  });
});
