import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createSocket } from "node:dgram";
import { rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** softflowd and tcpdump from Debian, or why not. */
export function flowToolsMissing(): string | undefined {
  for (const tool of ["softflowd", "tcpdump"]) {
    const r = spawnSync("sh", ["-c", `command -v ${tool}`]);
    if (r.status !== 0) return `${tool} is not installed (apt-get install softflowd tcpdump)`;
  }
  return undefined;
}

/** Starts `tcpdump -i lo -w file` with a filter and resolves once it is listening. */
async function startCapture(file: string, filter: string): Promise<ChildProcess & { stderrText(): string }> {
  const p = spawn("tcpdump", ["-i", "lo", "-U", "--immediate-mode", "-B", "65536", "-w", file, filter], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  p.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (err.includes("listening on")) {
        clearInterval(poll);
        resolve();
      }
    }, 20);
    p.once("exit", (code) => {
      clearInterval(poll);
      reject(new Error(`tcpdump exited ${code}: ${err}`));
    });
  });
  return Object.assign(p, { stderrText: () => err });
}

/** Stops tcpdump (by its pid) and returns how many packets it captured and the kernel dropped. */
async function stopCapture(
  p: ChildProcess & { stderrText(): string },
): Promise<{ captured: number; dropped: number }> {
  await new Promise((r) => setTimeout(r, 500));
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGINT");
  await exited;
  const text = p.stderrText();
  return {
    captured: Number(/(\d+) packets? captured/.exec(text)?.[1] ?? -1),
    dropped: Number(/(\d+) packets? dropped by kernel/.exec(text)?.[1] ?? -1),
  };
}

export interface Traffic {
  tcpPayload: number;
  udpDatagrams: number;
  udpPayload: number;
  startedMs: number;
  endedMs: number;
}

/**
 * Captures a TCP transfer of `tcpPayload` bytes and `udpDatagrams` UDP datagrams of `udpPayload`
 * bytes over loopback, between the given ports, into a pcap file (only those ports).
 */
export async function captureTraffic(
  file: string,
  ports: { tcp: number; udp: number },
  t: Omit<Traffic, "startedMs" | "endedMs">,
): Promise<Traffic> {
  for (let attempt = 1; ; attempt++) {
    const r = await captureOnce(file, ports, t);
    // A starved tcpdump (2 busy cores) can lose packets; the totals would then not be the bytes sent.
    if (r.dropped === 0 || attempt === 3) return r.traffic;
  }
}

async function captureOnce(
  file: string,
  ports: { tcp: number; udp: number },
  t: Omit<Traffic, "startedMs" | "endedMs">,
): Promise<{ traffic: Traffic; dropped: number }> {
  const cap = await startCapture(file, `tcp port ${ports.tcp} or udp port ${ports.udp}`);
  const startedMs = Date.now();
  let stats = { captured: 0, dropped: 0 };
  try {
    const server = createServer((s) => {
      s.resume();
      s.on("end", () => s.end());
    });
    await new Promise<void>((r) => server.listen(ports.tcp, "127.0.0.1", r));
    await new Promise<void>((resolve, reject) => {
      const c = connect(ports.tcp, "127.0.0.1", async () => {
        // Paced 16 KiB writes, so the capture keeps up.
        for (let sent = 0; sent < t.tcpPayload; sent += 16_384) {
          const n = Math.min(16_384, t.tcpPayload - sent);
          await new Promise<void>((r) => c.write(Buffer.alloc(n, 7), () => r()));
          await new Promise((r) => setTimeout(r, 2));
        }
        c.end();
      });
      c.resume();
      c.on("error", reject);
      c.on("close", () => resolve());
    });
    await new Promise<void>((r) => server.close(() => r()));
    const u = createSocket("udp4");
    for (let i = 0; i < t.udpDatagrams; i++) {
      await new Promise<void>((r) =>
        u.send(Buffer.alloc(t.udpPayload, 1), ports.udp, "127.0.0.1", () => r()),
      );
      await new Promise((r) => setTimeout(r, 2));
    }
    u.close();
  } finally {
    stats = await stopCapture(cap);
  }
  return { traffic: { ...t, startedMs, endedMs: Date.now() }, dropped: stats.dropped };
}

export interface SoftflowdTotals {
  tcp: { octets: number; packets: number };
  udp: { octets: number; packets: number };
  records: number;
}

/**
 * Replays a capture with softflowd into host:port; its own per-protocol accounting. No control
 * socket (`-c none`): with some socket paths softflowd 1.1.0 blocks in accept() before reading
 * the capture (seen with strace), and the test never talks to it anyway.
 */
export function replay(file: string, args: string[], port: number): Promise<SoftflowdTotals> {
  const base = join(tmpdir(), `skald-softflowd-${process.pid}-${randomUUID().slice(0, 8)}`);
  return new Promise((resolve, reject) => {
    execFile(
      "softflowd",
      ["-r", file, ...args, "-n", `127.0.0.1:${port}`, "-p", `${base}.pid`, "-c", "none"],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        rmSync(`${base}.pid`, { force: true });
        if (err) return reject(new Error(`softflowd failed: ${err.message} ${stderr}`));
        const proto = (name: string) => {
          const m = new RegExp(`${name} \\(\\d+\\):\\s+(\\d+)\\s+(\\d+)`).exec(stdout);
          return { octets: Number(m?.[1] ?? 0), packets: Number(m?.[2] ?? 0) };
        };
        const rec = /Flows exported: \d+ \((\d+) records\)/.exec(stdout);
        resolve({ tcp: proto("tcp"), udp: proto("udp"), records: Number(rec?.[1] ?? 0) });
      },
    );
  });
}
