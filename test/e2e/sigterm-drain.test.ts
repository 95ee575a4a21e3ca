import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/load.js";
import { packageRoot } from "../../core/paths.js";
import { openStore } from "../../core/store/store.js";
import { freePort } from "../support/clickhouse-server.js";
import { generateRequest } from "../support/otlp-encode.js";

function startSkald(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  ready: Promise<void>;
} {
  const child = spawn(process.execPath, [join(packageRoot(), "bin", "skald.js"), "start"], {
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

describe("skald start: SIGTERM under load", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "skald-sigterm-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("drains: every acknowledged span is stored, the process exits 0", async () => {
    const httpPort = await freePort();
    const env = {
      SKALD_DATA_DIR: dataDir,
      SKALD_OTLP_GRPC_PORT: String(await freePort()),
      SKALD_OTLP_HTTP_PORT: String(httpPort),
      SKALD_HTTP_PORT: String(await freePort()),
      SKALD_BATCH_MAX_DELAY_MS: "1000",
    };
    const skald = startSkald(env);
    await skald.ready;
    const acked: string[] = [];
    let stop = false;
    const sender = async () => {
      while (!stop) {
        const { body, spanIds } = generateRequest({ service: "load", count: 200, attrs: 5 });
        try {
          const res = await fetch(`http://127.0.0.1:${httpPort}/v1/traces`, {
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
    await new Promise((r) => setTimeout(r, 2500));
    const exited = new Promise<number | null>((resolve) => skald.child.once("exit", (code) => resolve(code)));
    skald.child.kill("SIGTERM");
    const code = await exited;
    stop = true;
    await Promise.all(senders);
    expect(code, skald.output()).toBe(0);
    expect(skald.output()).toContain("stopped cleanly");
    expect(acked.length).toBeGreaterThan(1000);

    // what the stopped process acknowledged is all there, exactly once
    const store = await openStore(loadConfig({ env: {}, overrides: { "storage.dataDir": dataDir } }).storage);
    try {
      const rs = await store.client.query({
        query: `SELECT span_id FROM ${store.database}.spans WHERE tenant = 'default'`,
        format: "JSONCompactEachRow",
      });
      const stored = (await rs.json<[string]>()).map((r) => r[0]);
      const storedSet = new Set(stored);
      const missing = acked.filter((id) => !storedSet.has(id));
      expect(missing).toEqual([]);
      expect(stored.length).toBe(storedSet.size);
    } finally {
      await store.close();
    }
  });
});
