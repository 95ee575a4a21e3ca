import { type ChildProcess, spawn } from "node:child_process";
import { freePort } from "./clickhouse-server.js";

/**
 * moto's server mode (PyPI `moto[server]`, installed by .ci/run) as a real AWS endpoint for the
 * AWS SDK. Every region starts with a default VPC, subnets and security group.
 */
export interface MotoServer {
  url: string;
  port: number;
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** Kills the server (a crawl in flight then fails); `restart` brings it back empty on the same port. */
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/** Credentials and endpoint the SDK reads from the environment (the standard AWS chain). */
export function awsEnv(url: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: url,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_REGION: "us-east-1",
  };
}

export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const launch = async () => {
    const proc = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, MOTO_CALL_RESET_API: "true" },
    });
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child = proc;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`moto_server exited ${proc.exitCode}: ${stderr}`);
      try {
        const res = await fetch(`${url}/moto-api/`);
        if (res.status < 500) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(`moto_server did not answer on ${url}: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 200));
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
    async reset() {
      const res = await fetch(`${url}/moto-api/reset`, { method: "POST" });
      if (!res.ok) throw new Error(`moto reset answered ${res.status}`);
    },
    stop,
    async restart() {
      await stop();
      await launch();
    },
  };
}
