import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AssignPrivateIpAddressesCommand,
  CreateNetworkInterfaceCommand,
  DescribeSubnetsCommand,
  EC2Client,
  RunInstancesCommand,
  UnassignPrivateIpAddressesCommand,
} from "@aws-sdk/client-ec2";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/load.js";
import {
  BASIC_FIELDS,
  basicRecord,
  ipfixMessage,
  ipfixTemplate,
  set,
} from "../../core/flows/testing/build.js";
import { createLogger } from "../../core/log.js";
import { collectionsOf, Recorder } from "../../recorder/index.js";
import { graphql, startApp } from "../support/app.js";
import { awsEnv, type MotoServer, startMoto } from "../support/moto.js";

/**
 * Flow enrichment end to end: moto (server mode, real AWS SDK) holds instances A and B (service
 * api and web, zone a) and C (service db, zone b), and a bare network interface E (service cache,
 * zone c). The real recorder crawls every AWS collection into `skald start`'s store; then the
 * secondary private IP X moves from A's interface to B's (unassign, assign: what AWS's
 * AllowReassignment does) and the recorder crawls again. IPFIX records go through the real UDP
 * receiver with explicit times before and after the move, and GraphQL flowMatrix attributes X's
 * traffic to A (api) before the move and to B (web) after it, to the minute.
 *
 * The recorder's clock is pinned (its `now` dependency): both crawls happen within seconds of each
 * other in real time, but labels are taken per minute, so the crawls are dated 20 minutes apart
 * in the past, and the flows are placed in whole minutes relative to the seen_at the recorder
 * wrote (read back from config_ip_holders).
 */
const REGION = "us-east-1";
const AMI = "ami-12c6146b";
const MIN = 60_000;
const X = "172.31.0.200";

describe("flow enrichment from recorder history built from moto", () => {
  let moto: MotoServer;
  let app: Awaited<ReturnType<typeof startApp>>;
  let recorder: Recorder;
  let ec2: EC2Client;
  let dataDir: string;
  const saved: Record<string, string | undefined> = {};
  const ids: Record<string, string> = {};
  const ips: Record<string, string> = {};
  let clock = 0n;
  let seen1 = 0;
  let seen2 = 0;

  const crawl = async (atMs: number) => {
    clock = BigInt(atMs) * 1_000_000n;
    const results = await recorder.crawlAll();
    expect(results.filter((r) => r.status !== "success")).toEqual([]);
  };
  /** seen_at (ms) of the recorder's row saying `id` started holding `ip`. */
  const heldSince = async (ip: string, id: string) => {
    const rows = await (
      await app.store.client.query({
        query: `SELECT toUnixTimestamp64Milli(seen_at) AS at FROM skald.config_ip_holders
          WHERE ip = {ip:String} AND id = {id:String} AND held = 1 ORDER BY seen_at DESC LIMIT 1`,
        query_params: { ip, id },
        format: "JSONEachRow",
      })
    ).json<{ at: string }>();
    expect(rows).toHaveLength(1);
    return Number(rows[0].at);
  };
  const run = async (subnet: string, service: string, name: string) => {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: AMI,
        MinCount: 1,
        MaxCount: 1,
        InstanceType: "t3.micro",
        SubnetId: subnet,
        TagSpecifications: [
          {
            ResourceType: "instance",
            Tags: [
              { Key: "service", Value: service },
              { Key: "Name", Value: name },
            ],
          },
        ],
      }),
    );
    const i = out.Instances?.[0];
    return {
      id: i?.InstanceId as string,
      ip: i?.PrivateIpAddress as string,
      eni: i?.NetworkInterfaces?.[0]?.NetworkInterfaceId as string,
    };
  };

  beforeAll(async () => {
    moto = await startMoto();
    for (const [k, v] of Object.entries(awsEnv(moto.url))) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    ec2 = new EC2Client({ region: REGION });
    dataDir = mkdtempSync(join(tmpdir(), "skald-flows-aws-"));
    app = await startApp({
      "storage.dataDir": dataDir,
      "flows.netflowPort": 0,
      "flows.ipfixPort": 0,
      "flows.vpcHttpPort": 0,
      "flows.batchMaxDelayMs": 50,
    });
    // The recorder `skald start` runs for these settings (recorder-aws.test.ts), on the app's
    // store, with its clock pinned.
    const config = loadConfig({
      env: {},
      overrides: {
        "storage.dataDir": dataDir,
        "recorder.aws.regions": [REGION],
        "recorder.aws.account": "123456789012",
        "recorder.aws.maxAttempts": 2,
      },
    });
    recorder = new Recorder({
      store: app.store,
      collections: collectionsOf(config.recorder),
      tenant: config.recorder.tenant,
      suppressTags: config.recorder.suppressTags,
      registry: new Registry(),
      logger: createLogger("silent"),
      now: () => clock,
    });

    const subnets = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? [];
    const subnet = (zone: string) =>
      subnets.find((s) => s.AvailabilityZone === `${REGION}${zone}`)?.SubnetId as string;
    const a = await run(subnet("a"), "api", "a");
    const b = await run(subnet("a"), "web", "b");
    const c = await run(subnet("b"), "db", "c");
    Object.assign(ids, { a: a.id, b: b.id, c: c.id, eniA: a.eni, eniB: b.eni });
    Object.assign(ips, { c: c.ip });
    await ec2.send(
      new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: a.eni, PrivateIpAddresses: [X] }),
    );
    const e = await ec2.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: subnet("c"),
        Description: "cache endpoint",
        TagSpecifications: [
          { ResourceType: "network-interface", Tags: [{ Key: "service", Value: "cache" }] },
        ],
      }),
    );
    ids.e = e.NetworkInterface?.NetworkInterfaceId as string;
    ips.e = e.NetworkInterface?.PrivateIpAddress as string;

    // Crawl 1 at about now − 40 min, the move, crawl 2 twenty minutes later (half past a minute).
    const base = Math.floor(Date.now() / MIN) * MIN - 40 * MIN + 30_000;
    await crawl(base);
    seen1 = await heldSince(X, ids.a);
    await ec2.send(
      new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: ids.eniA, PrivateIpAddresses: [X] }),
    );
    await ec2.send(
      new AssignPrivateIpAddressesCommand({
        NetworkInterfaceId: ids.eniB,
        PrivateIpAddresses: [X],
        AllowReassignment: true,
      }),
    );
    await crawl(base + 20 * MIN);
    seen2 = await heldSince(X, ids.b);
  }, 120_000);

  afterAll(async () => {
    await recorder?.shutdown();
    await app?.shutdown();
    await moto?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const matrix = async (groupBy: string, from: number, to: number) => {
    const r = await graphql<{
      flowMatrix: { rows: Array<{ source: string; destination: string; bytes: number }> };
    }>(
      app.graphqlUrl,
      `query ($from: DateTime!, $to: DateTime!, $g: FlowGroup!) {
        flowMatrix(from: $from, to: $to, groupBy: $g) { rows { source destination bytes } } }`,
      { from: new Date(from).toISOString(), to: new Date(to).toISOString(), g: groupBy },
    );
    expect(r.errors).toBeUndefined();
    return r.data?.flowMatrix.rows.map((x) => [x.source, x.destination, Number(x.bytes)]) ?? [];
  };

  it("records the move: X held by A from crawl 1, by B from crawl 2; E and its IP as a bare interface", async () => {
    expect(seen2 - seen1).toBe(20 * MIN);
    const rows = await (
      await app.store.client.query({
        query: `SELECT collection, id, held, toUnixTimestamp64Milli(seen_at) AS at FROM skald.config_ip_holders
          WHERE ip IN ({x:String}, {e:String}) ORDER BY seen_at, collection, id, held`,
        query_params: { x: X, e: ips.e },
        format: "JSONEachRow",
      })
    ).json<{ collection: string; id: string; held: number; at: string }>();
    const got = rows.map((r) => JSON.stringify([Number(r.at) - seen1, r.collection, r.id, r.held]));
    const want = [
      [0, "instances", ids.a, 1],
      [0, "networkInterfaces", ids.eniA, 1],
      [0, "networkInterfaces", ids.e, 1],
      [20 * MIN, "instances", ids.a, 0],
      [20 * MIN, "instances", ids.b, 1],
      [20 * MIN, "networkInterfaces", ids.eniA, 0],
      [20 * MIN, "networkInterfaces", ids.eniB, 1],
    ].map((r) => JSON.stringify(r));
    expect(got.sort()).toEqual(want.sort());
  });

  it("attributes X's traffic to A before the move and to B after it, by instance, service and zone", async () => {
    // Labels are taken at each minute's start: the first whole minute after a crawl is the first
    // one it labels; the minute holding crawl 2 still belongs to A.
    const after1 = Math.ceil(seen1 / MIN) * MIN;
    const minute2 = Math.floor(seen2 / MIN) * MIN;
    const after2 = Math.ceil(seen2 / MIN) * MIN;
    const flows: Array<[string, string, number, number]> = [
      [X, ips.c, after1, 100], // A → C
      [ips.c, X, after1 + 3 * MIN, 30], // C → A
      [X, ips.c, minute2 + 10_000, 200], // in the minute holding crawl 2: still A
      [X, ips.c, after2, 1000], // B → C
      [X, ips.c, after2 + 9 * MIN, 2000], // B → C
      [ips.e, X, after2 + 4 * MIN, 7], // bare interface E → B
    ];
    const udp = createSocket("udp4");
    const [host, port] = [app.listeners.ipfix.split(":")[0], Number(app.listeners.ipfix.split(":").pop())];
    const packet = ipfixMessage({
      domain: 1,
      seq: 0,
      exportSecs: Math.floor(Date.now() / 1000),
      sets: [
        set(2, ipfixTemplate(256, BASIC_FIELDS)),
        set(
          256,
          Buffer.concat(flows.map(([s, d, at, bytes]) => basicRecord(s, d, 40000, 443, 6, bytes, 1, at, at))),
        ),
      ],
    });
    await new Promise<void>((ok, fail) => udp.send(packet, port, host, (err) => (err ? fail(err) : ok())));
    udp.close();

    const from = seen1 - 5 * MIN;
    const to = Date.now() + MIN;
    const total = flows.reduce((n, f) => n + f[3], 0);
    for (let i = 0; ; i++) {
      const rows = await matrix("ADDRESS", from, to);
      if (rows.reduce((n, r) => n + Number(r[2]), 0) === total) break;
      if (i >= 100) throw new Error(`flows not stored: ${JSON.stringify(rows)}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    expect(await matrix("INSTANCE", from, to)).toEqual([
      [ids.b, ids.c, 3000],
      [ids.a, ids.c, 300],
      [ids.c, ids.a, 30],
      [ids.e, ids.b, 7],
    ]);
    expect(await matrix("SERVICE", from, to)).toEqual([
      ["web", "db", 3000],
      ["api", "db", 300],
      ["db", "api", 30],
      ["cache", "web", 7],
    ]);
    expect(await matrix("ZONE", from, to)).toEqual([
      ["us-east-1a", "us-east-1b", 3300],
      ["us-east-1b", "us-east-1a", 30],
      ["us-east-1c", "us-east-1a", 7],
    ]);
    // Windows on either side of the move see only their own holder.
    expect(await matrix("SERVICE", from, minute2 + MIN)).toEqual([
      ["api", "db", 300],
      ["db", "api", 30],
    ]);
    expect(await matrix("SERVICE", after2, to)).toEqual([
      ["web", "db", 3000],
      ["cache", "web", 7],
    ]);
  });
});
