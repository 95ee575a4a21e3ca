import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/load.js";
import { encodeFlows, FLOW_COLUMNS } from "../../core/flows/encoder.js";
import { emptyFlow } from "../../core/flows/model.js";
import { migrate, retentionDaysOf } from "../../core/store/migrations.js";
import { openStore, type Store } from "../../core/store/store.js";
import { STORE_TARGETS } from "../../test/support/targets.js";
import { createSqlRunner } from "../sql.js";
import { holderLabels } from "./holder-labels.js";
import { FlowReader } from "./reader.js";

/**
 * Query-time enrichment against the recorder's tables, written here the way the recorder writes
 * them (a version row per instance document, held/released rows per IP). 10.0.0.7 moves from
 * instance A (zone a, service api) to instance B (zone b, service db) at T0 + 10 min.
 */
const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
const MIN = 60_000;
const ns = (ms: number) => `${ms}000000`;

describe.each(STORE_TARGETS)("flowMatrix groupings from config history on $name ClickHouse", (target) => {
  let store: Store;
  let reader: FlowReader;
  let cleanup: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const t = await target.setup();
    cleanup = t.cleanup;
    const config = loadConfig({ env: {}, overrides: { storage: t.storage } });
    store = await openStore(config.storage);
    await migrate(store, retentionDaysOf(config.storage));
    const inst = (id: string, zone: string, tags: Record<string, string>) =>
      JSON.stringify({
        InstanceId: id,
        Placement: { AvailabilityZone: zone },
        VpcId: "vpc-1",
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      });
    const version = (id: string, at: number, doc: string, region: string) => ({
      tenant: "t",
      collection: "instances",
      account: "acc",
      region,
      id,
      seen_at: ns(at),
      hash: id,
      deleted: 0,
      doc,
    });
    await store.client.insert({
      table: "skald.config_versions",
      format: "JSONEachRow",
      values: [
        version("i-a", T0 - 60 * MIN, inst("i-a", "us-east-1a", { service: "api" }), "us-east-1"),
        version(
          "i-b",
          T0 - 60 * MIN,
          inst("i-b", "us-east-1b", { "aws:autoscaling:groupName": "db-asg" }),
          "us-east-1",
        ),
        version("i-c", T0 - 60 * MIN, inst("i-c", "eu-west-1a", { Name: "replica" }), "eu-west-1"),
      ],
    });
    const ip = (ipAddr: string, id: string, at: number, held: number, region = "us-east-1") => ({
      tenant: "t",
      ip: ipAddr,
      seen_at: ns(at),
      collection: "instances",
      account: "acc",
      region,
      id,
      held,
    });
    await store.client.insert({
      table: "skald.config_ip_holders",
      format: "JSONEachRow",
      values: [
        ip("10.0.0.7", "i-a", T0 - 60 * MIN, 1),
        ip("10.0.0.7", "i-a", T0 + 10 * MIN, 0),
        ip("10.0.0.7", "i-b", T0 + 10 * MIN, 1),
        ip("10.9.0.1", "i-c", T0 - 60 * MIN, 1, "eu-west-1"),
      ],
    });
    const flow = (src: string, dst: string, at: number, bytes: number) => {
      const f = emptyFlow("ipfix", "e", 0);
      Object.assign(f, { srcAddr: src, dstAddr: dst, startMs: at, endMs: at, bytes, packets: 1 });
      return f;
    };
    const flows = [
      flow("10.0.0.7", "10.9.0.1", T0 - 30 * MIN, 50), // held by A, in an hour without a move
      flow("10.0.0.7", "10.9.0.1", T0 + 5 * MIN, 100), // held by A, in the hour it moves
      flow("10.0.0.7", "10.9.0.1", T0 + 15 * MIN, 1000), // held by B
      flow("192.0.2.1", "10.0.0.7", T0 + 20 * MIN, 7), // unknown → B
    ];
    await store.insertTsv("flows", FLOW_COLUMNS, encodeFlows("t", T0 + 20 * MIN, flows).body);
    reader = new FlowReader(store, createSqlRunner(store), holderLabels(store.database));
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await cleanup?.();
  });

  const rows = (group: "INSTANCE" | "SERVICE" | "ZONE" | "REGION" | "ADDRESS", crossOnly = false) =>
    reader
      .matrix({
        tenant: "t",
        from: BigInt(ns(T0 - 60 * MIN)),
        to: BigInt(ns(T0 + 60 * MIN)),
        group,
        limit: 100,
        crossOnly,
      })
      .then((r) => r.map((x) => [x.source, x.destination, x.bytes]));

  it("attributes a moved IP to each instance for the minutes it held it", async () => {
    expect(await rows("INSTANCE")).toEqual([
      ["i-b", "i-c", 1000],
      ["i-a", "i-c", 150],
      ["unknown", "i-b", 7],
    ]);
  });

  it("groups by service (tags, auto-scaling group, Name), zone and region", async () => {
    expect(await rows("SERVICE")).toEqual([
      ["db-asg", "replica", 1000],
      ["api", "replica", 150],
      ["unknown", "db-asg", 7],
    ]);
    expect(await rows("ZONE")).toEqual([
      ["us-east-1b", "eu-west-1a", 1000],
      ["us-east-1a", "eu-west-1a", 150],
      ["unknown", "us-east-1b", 7],
    ]);
    expect(await rows("REGION", true)).toEqual([
      ["us-east-1", "eu-west-1", 1150],
      ["unknown", "us-east-1", 7],
    ]);
  });
});
