import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { packageRoot } from "../../core/paths.js";

/** A real ClickHouse HTTP server: clickhouse-local from the chdb package's libchdb.so. */
export interface ClickHouseServer {
  url: string;
  port: number;
  dataDir: string;
  /** Kills the server process (data stays in dataDir). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

export function libchdbPath(): string {
  const require = createRequire(join(packageRoot(), "package.json"));
  return join(dirname(require.resolve("@chdb/lib-linux-x64-gnu/package.json")), "libchdb.so");
}

/**
 * Ports handed to child processes come from below the kernel's ephemeral range (32768-60999 on
 * Linux): a port taken with `listen(0)` and released can be taken again as the source port of any
 * outgoing connection before the child binds it (a CI run lost a restart to that). Ports here are
 * given out once per process, from a random start, each checked bindable first.
 */
const PORT_LOW = 20_000;
const PORT_SPAN = 12_000;
let nextPort = PORT_LOW + Math.floor(Math.random() * PORT_SPAN);

function bindable(port: number, host?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORT_SPAN; tries++) {
    const port = nextPort;
    nextPort = PORT_LOW + ((nextPort - PORT_LOW + 1) % PORT_SPAN);
    if ((await bindable(port, "127.0.0.1")) && (await bindable(port))) return port;
  }
  throw new Error(`no free port in ${PORT_LOW}-${PORT_LOW + PORT_SPAN - 1}`);
}

async function waitForPing(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`clickhouse-local exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/ping`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`clickhouse-local did not answer on ${url} within ${timeoutMs} ms`);
}

export async function startClickHouseServer(): Promise<ClickHouseServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "skald-ch-"));
  const url = `http://127.0.0.1:${port}`;
  const script = join(packageRoot(), "test", "support", "clickhouse_local_http.py");
  let child: ChildProcess | undefined;
  const launch = async () => {
    const proc = spawn("python3", [script, libchdbPath(), String(port), dataDir], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child = proc;
    try {
      await waitForPing(url, proc, 30_000);
    } catch (err) {
      proc.kill("SIGKILL");
      throw new Error(`${(err as Error).message}\n${stderr}`);
    }
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGKILL");
    await exited;
  };
  await launch();
  return {
    url,
    port,
    dataDir,
    stop,
    async restart() {
      await stop();
      await launch();
    },
    async destroy() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
