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
 * them (a version row per instance or interface document, held/released rows per IP). 10.0.0.7
 * moves from instance A (zone a, service api) to instance B (zone b, service db) at T0 + 10 min;
 * it is also recorded under A's and then B's interface (tagged differently, and recorded later
 * than the instances: the instance still wins). 10.0.1.5 is held by a bare interface from T0 + 20
 * min (service cache, retagged cache-v2 at T0 + 40 min); 10.0.2.9 and 10.0.2.10 by an application
 * and a classic load balancer's interfaces; 10.0.3.3 by an untagged interface attached to C.
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
    const eni = (
      id: string,
      zone: string,
      tags: Record<string, string>,
      o: { attached?: string; description?: string; elb?: boolean; vpc?: string },
    ) =>
      JSON.stringify({
        NetworkInterfaceId: id,
        AvailabilityZone: zone,
        VpcId: o.vpc ?? "vpc-1",
        Description: o.description ?? "",
        InterfaceType: "interface",
        ...(o.elb ? { RequesterId: "amazon-elb", RequesterManaged: true } : {}),
        ...(o.attached ? { Attachment: { InstanceId: o.attached, DeviceIndex: 0 } } : {}),
        TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      });
    const eniVersion = (id: string, at: number, doc: string, hash = "h1", region = "us-east-1") => ({
      ...version(id, at, doc, region),
      collection: "networkInterfaces",
      hash,
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
        eniVersion(
          "eni-a",
          T0 - 30 * MIN,
          eni("eni-a", "us-east-1a", { service: "eni-a" }, { attached: "i-a" }),
        ),
        eniVersion(
          "eni-b",
          T0 - 30 * MIN,
          eni("eni-b", "us-east-1b", { service: "eni-b" }, { attached: "i-b" }),
        ),
        eniVersion(
          "eni-1",
          T0 + 20 * MIN,
          eni("eni-1", "us-east-1c", { service: "cache" }, { vpc: "vpc-2" }),
        ),
        eniVersion(
          "eni-1",
          T0 + 40 * MIN,
          eni("eni-1", "us-east-1c", { service: "cache-v2" }, { vpc: "vpc-2" }),
          "h2",
        ),
        eniVersion(
          "eni-lb",
          T0 - 60 * MIN,
          eni("eni-lb", "us-east-1a", {}, { description: "ELB app/web-lb/50dc6c495c0c9188", elb: true }),
        ),
        eniVersion(
          "eni-clb",
          T0 - 60 * MIN,
          eni("eni-clb", "us-east-1a", {}, { description: "ELB legacy-lb", elb: true }),
        ),
        eniVersion(
          "eni-c",
          T0 - 60 * MIN,
          eni("eni-c", "eu-west-1a", {}, { attached: "i-c" }),
          "h1",
          "eu-west-1",
        ),
      ],
    });
    const ip = (
      ipAddr: string,
      id: string,
      at: number,
      held: number,
      region = "us-east-1",
      collection = id.startsWith("eni-") ? "networkInterfaces" : "instances",
    ) => ({
      tenant: "t",
      ip: ipAddr,
      seen_at: ns(at),
      collection,
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
        ip("10.0.0.7", "eni-a", T0 - 30 * MIN, 1),
        ip("10.0.0.7", "eni-a", T0 + 10 * MIN, 0),
        ip("10.0.0.7", "eni-b", T0 + 10 * MIN, 1),
        ip("10.0.1.5", "eni-1", T0 + 20 * MIN, 1),
        ip("10.0.2.9", "eni-lb", T0 - 60 * MIN, 1),
        ip("10.0.2.10", "eni-clb", T0 - 60 * MIN, 1),
        ip("10.0.3.3", "eni-c", T0 - 60 * MIN, 1, "eu-west-1"),
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
      flow("10.0.1.5", "10.9.0.1", T0 + 15 * MIN, 3), // nobody holds it yet
      flow("10.0.1.5", "10.9.0.1", T0 + 25 * MIN, 30), // the bare interface, service cache
      flow("10.0.1.5", "10.9.0.1", T0 + 45 * MIN, 300), // retagged cache-v2
      flow("10.0.2.9", "10.0.0.7", T0 - 30 * MIN, 2000), // application load balancer → A
      flow("10.0.2.10", "10.0.0.7", T0 - 30 * MIN, 4000), // classic load balancer → A
      flow("10.0.3.3", "10.9.0.1", T0 - 30 * MIN, 20), // C's untagged interface → C
    ];
    await store.insertTsv("flows", FLOW_COLUMNS, encodeFlows("t", T0 + 20 * MIN, flows).body);
    reader = new FlowReader(store, createSqlRunner(store), holderLabels(store.database));
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await cleanup?.();
  });

  const rows = (group: "INSTANCE" | "SERVICE" | "ZONE" | "REGION" | "VPC" | "ADDRESS", crossOnly = false) =>
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

  it("attributes a moved IP to each instance for the minutes it held it, interfaces and load balancers", async () => {
    expect(await rows("INSTANCE")).toEqual([
      ["elb/legacy-lb", "i-a", 4000],
      ["elb/web-lb", "i-a", 2000],
      ["i-b", "i-c", 1000],
      ["eni-1", "i-c", 330],
      ["i-a", "i-c", 150],
      ["i-c", "i-c", 20],
      ["unknown", "i-b", 7],
      ["unknown", "i-c", 3],
    ]);
  });

  it("groups by service (tags, auto-scaling group, Name), zone, region and VPC", async () => {
    expect(await rows("SERVICE")).toEqual([
      ["legacy-lb", "api", 4000],
      ["web-lb", "api", 2000],
      ["db-asg", "replica", 1000],
      ["cache-v2", "replica", 300],
      ["api", "replica", 150],
      ["cache", "replica", 30],
      ["i-c", "replica", 20],
      ["unknown", "db-asg", 7],
      ["unknown", "replica", 3],
    ]);
    expect(await rows("ZONE")).toEqual([
      ["us-east-1a", "us-east-1a", 6000],
      ["us-east-1b", "eu-west-1a", 1000],
      ["us-east-1c", "eu-west-1a", 330],
      ["us-east-1a", "eu-west-1a", 150],
      ["eu-west-1a", "eu-west-1a", 20],
      ["unknown", "us-east-1b", 7],
      ["unknown", "eu-west-1a", 3],
    ]);
    expect(await rows("REGION", true)).toEqual([
      ["us-east-1", "eu-west-1", 1480],
      ["unknown", "us-east-1", 7],
      ["unknown", "eu-west-1", 3],
    ]);
    expect(await rows("VPC")).toEqual([
      ["vpc-1", "vpc-1", 7170],
      ["vpc-2", "vpc-1", 330],
      ["unknown", "vpc-1", 10],
    ]);
  });
});
