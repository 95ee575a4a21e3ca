import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql, startApp } from "../support/app.js";
import { freePort } from "../support/clickhouse-server.js";
import { captureTraffic, flowToolsMissing, replay, type Traffic } from "./flows-traffic.js";

/**
 * softflowd (Debian) exports real loopback traffic that the test generates and captures with
 * tcpdump (DESIGN.md: replaying a capture gives exact totals, live capture trails). Stored totals
 * must equal softflowd's own per-protocol accounting and the bytes sent plus IP/TCP/UDP headers.
 */
const missing = flowToolsMissing();
if (missing && process.env.CI === "true") throw new Error(`flow tests need ${missing}`);

const TCP_PAYLOAD = 300_000;
const UDP_DATAGRAMS = 25;
const UDP_PAYLOAD = 700;

describe.skipIf(missing !== undefined)("softflowd → NetFlow v5 / v9 / IPFIX → flows", () => {
  let app: Awaited<ReturnType<typeof startApp>>;
  let dir: string;
  let pcap: string;
  let traffic: Traffic;
  let tcpPort: number;
  let udpPort: number;
  const dataDir = mkdtempSync(join(tmpdir(), "skald-flows-"));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "skald-sf-"));
    pcap = join(dir, "traffic.pcap");
    tcpPort = await freePort();
    udpPort = await freePort();
    traffic = await captureTraffic(
      pcap,
      { tcp: tcpPort, udp: udpPort },
      { tcpPayload: TCP_PAYLOAD, udpDatagrams: UDP_DATAGRAMS, udpPayload: UDP_PAYLOAD },
    );
    app = await startApp({
      "storage.dataDir": dataDir,
      "flows.netflowPort": 0,
      "flows.ipfixPort": 0,
      "flows.batchMaxDelayMs": 50,
      "flows.vpcHttpPort": 0,
    });
  }, 60_000);

  afterAll(async () => {
    await app?.shutdown();
    rmSync(dataDir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const portOf = (name: string) => Number(app.listeners[name].split(":").pop());

  async function stored(sinceMs: number, records: number) {
    const q = `SELECT protocol, source_type, sum(bytes) AS bytes, sum(packets) AS packets, count() AS n,
        min(toUnixTimestamp64Milli(flow_start)) AS first, max(toUnixTimestamp64Milli(flow_end)) AS last,
        groupUniqArray(src_port) AS sports, groupUniqArray(dst_port) AS dports
      FROM skald.flows WHERE time_received >= fromUnixTimestamp64Milli(${sinceMs}) GROUP BY protocol, source_type`;
    type Row = {
      protocol: number;
      source_type: string;
      bytes: string;
      packets: string;
      n: string;
      first: string;
      last: string;
      sports: number[];
      dports: number[];
    };
    for (let i = 0; i < 100; i++) {
      const rows = await (await app.store.client.query({ query: q, format: "JSONEachRow" })).json<Row>();
      if (rows.reduce((a, r) => a + Number(r.n), 0) >= records) return rows;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("flows were not stored in time");
  }

  const runs: Array<{ name: string; args: string[]; receiver: string; type: string }> = [
    { name: "NetFlow v5", args: ["-v", "5"], receiver: "netflow", type: "netflow5" },
    { name: "NetFlow v9", args: ["-v", "9"], receiver: "netflow", type: "netflow9" },
    { name: "NetFlow v9 -A milli", args: ["-v", "9", "-A", "milli"], receiver: "netflow", type: "netflow9" },
    { name: "IPFIX", args: ["-v", "10"], receiver: "ipfix", type: "ipfix" },
    { name: "IPFIX -A milli", args: ["-v", "10", "-A", "milli"], receiver: "ipfix", type: "ipfix" },
  ];
  let grand = { bytes: 0, packets: 0, records: 0 };

  for (const run of runs) {
    it(`${run.name}: stored totals equal softflowd's accounting and the bytes sent`, async () => {
      const since = Date.now() - 1;
      const sf = await replay(pcap, run.args, portOf(run.receiver));
      expect(sf.records).toBeGreaterThanOrEqual(2);
      const rows = await stored(since, sf.records);
      const tcp = rows.find((r) => r.protocol === 6);
      const udp = rows.find((r) => r.protocol === 17);
      expect(rows.every((r) => r.source_type === run.type)).toBe(true);
      expect(Number(tcp?.bytes)).toBe(sf.tcp.octets);
      expect(Number(tcp?.packets)).toBe(sf.tcp.packets);
      expect(Number(udp?.bytes)).toBe(sf.udp.octets);
      expect(Number(udp?.packets)).toBe(sf.udp.packets);
      // What the test sent: UDP payload + 8 (UDP) + 20 (IPv4) per datagram, exactly; TCP payload
      // plus 20 (IPv4) + 20..60 (TCP with options) per segment, both directions.
      expect(Number(udp?.bytes)).toBe(UDP_DATAGRAMS * (UDP_PAYLOAD + 28));
      const segs = Number(tcp?.packets);
      expect(Number(tcp?.bytes)).toBeGreaterThanOrEqual(TCP_PAYLOAD + 40 * segs);
      expect(Number(tcp?.bytes)).toBeLessThanOrEqual(TCP_PAYLOAD + 80 * segs);
      expect(udp?.dports).toEqual([udpPort]);
      expect(tcp?.dports).toContain(tcpPort);
      // Times: within the capture (v9 header times have whole seconds, hence the slack).
      for (const r of rows) {
        expect(Number(r.first)).toBeGreaterThanOrEqual(traffic.startedMs - 1500);
        expect(Number(r.last)).toBeLessThanOrEqual(traffic.endedMs + 1500);
      }
      grand = {
        bytes: grand.bytes + sf.tcp.octets + sf.udp.octets,
        packets: grand.packets + sf.tcp.packets + sf.udp.packets,
        records: grand.records + sf.records,
      };
    }, 60_000);
  }

  it("flowMatrix(groupBy: ADDRESS) sums every run from the rollups", async () => {
    const from = new Date(traffic.startedMs - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const res = await graphql<{ flowMatrix: { rows: Array<Record<string, unknown>> } }>(
      app.graphqlUrl,
      `query($from: DateTime!, $to: DateTime!) {
        flowMatrix(from: $from, to: $to, groupBy: ADDRESS) { rows { source destination bytes packets flows } }
      }`,
      { from, to },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.flowMatrix.rows).toEqual([
      {
        source: "127.0.0.1",
        destination: "127.0.0.1",
        bytes: grand.bytes,
        packets: grand.packets,
        flows: grand.records,
      },
    ]);
    const metrics = await app.metrics.registry.getSingleMetricAsString("skald_flows_decoded_total");
    expect(metrics).toMatch(/source_type="ipfix"/);
  });

  it("VPC Flow Logs over HTTP (gzip, format header, NODATA) reach flowMatrix for the request's tenant", async () => {
    const now = Math.floor(Date.now() / 1000);
    const lines = [
      "srcaddr dstaddr bytes packets start end log-status",
      `10.1.0.5 10.2.0.9 5000 10 ${now - 30} ${now} OK`,
      `10.1.0.5 10.2.0.9 1000 2 ${now - 20} ${now} OK`,
      `- - - - ${now - 20} ${now} NODATA`,
    ].join("\n");
    const res = await fetch(app.listeners.vpcFlowLogs, {
      method: "POST",
      headers: {
        "content-encoding": "gzip",
        "x-scope-orgid": "vpc-tenant",
        "x-skald-vpc-format": "srcaddr dstaddr bytes packets start end log-status",
      },
      body: gzipSync(lines),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 2, skipped: 1 });
    const from = new Date((now - 3600) * 1000).toISOString();
    const to = new Date((now + 3600) * 1000).toISOString();
    const q = await graphql<{ flowMatrix: { rows: unknown[] } }>(
      app.graphqlUrl,
      `query($from: DateTime!, $to: DateTime!) { flowMatrix(from: $from, to: $to, groupBy: ADDRESS) { rows { source destination bytes packets flows } } }`,
      { from, to },
      { "x-scope-orgid": "vpc-tenant" },
    );
    expect(q.data?.flowMatrix.rows).toEqual([
      { source: "10.1.0.5", destination: "10.2.0.9", bytes: 6000, packets: 12, flows: 2 },
    ]);
    const dropped = await app.metrics.registry.getSingleMetricAsString("skald_flows_dropped_total");
    expect(dropped).toMatch(/receiver="vpc",reason="vpc_nodata"} 1/);
  });
});
