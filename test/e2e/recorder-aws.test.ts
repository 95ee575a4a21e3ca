import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  SetDesiredCapacityCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DescribeVpcsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import {
  CreateTargetGroupCommand,
  DeregisterTargetsCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql, startApp } from "../support/app.js";
import { awsEnv, type MotoServer, startMoto } from "../support/moto.js";

/**
 * The recorder against moto's server mode through the real AWS SDK, inside `skald start`:
 * changes between crawls become versions; state at t, diffs, the changes feed, whoHad and the
 * Edda REST API answer exactly; a crawl cut off by moto dying records a gap and no deletions.
 */
const REGION = "us-east-1";
const AMI = "ami-12c6146b";
type App = Awaited<ReturnType<typeof startApp>>;

const nowIso = () => new Date().toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("recorder on moto (AWS SDK v3, embedded store)", () => {
  let moto: MotoServer;
  let app: App;
  let dataDir: string;
  let ec2: EC2Client;
  let elb: ElasticLoadBalancingV2Client;
  let asg: AutoScalingClient;
  const saved: Record<string, string | undefined> = {};
  const t: Record<string, string> = {};
  const ids: Record<string, string> = {};
  let base: string;

  const gql = async <T>(query: string, variables: Record<string, unknown> = {}) => {
    const r = await graphql<T>(app.graphqlUrl, query, variables);
    expect(r.errors).toBeUndefined();
    return r.data as T;
  };
  const crawl = async () => {
    const results = await app.recorder!.crawlAll();
    await sleep(5);
    return results;
  };
  const idsOf = async (type: string, at?: string, filter?: unknown) =>
    (
      await gql<{ resources: Array<{ id: string }> }>(
        "query ($type: String!, $at: DateTime, $filter: [ConfigFilter!]) { resources(type: $type, at: $at, filter: $filter) { id } }",
        { type, at, filter },
      )
    ).resources.map((r) => r.id);
  const whoHad = async (ip: string, at: string) =>
    (
      await gql<{ whoHad: Array<{ type: string; id: string }> }>(
        "query ($ip: String!, $at: DateTime!) { whoHad(ip: $ip, at: $at) { type id } }",
        { ip, at },
      )
    ).whoHad;
  const rest = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
  };
  const runInstance = async (name: string, sg: string) => {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: AMI,
        MinCount: 1,
        MaxCount: 1,
        InstanceType: "t3.micro",
        SecurityGroupIds: [sg],
        TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "Name", Value: name }] }],
      }),
    );
    return out.Instances?.[0]?.InstanceId as string;
  };

  beforeAll(async () => {
    moto = await startMoto();
    for (const [k, v] of Object.entries(awsEnv(moto.url))) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    ec2 = new EC2Client({ region: REGION });
    elb = new ElasticLoadBalancingV2Client({ region: REGION });
    asg = new AutoScalingClient({ region: REGION });
    dataDir = mkdtempSync(join(tmpdir(), "skald-recorder-"));
    t.t0 = nowIso();
    app = await startApp({
      "storage.dataDir": dataDir,
      "recorder.aws.regions": [REGION],
      "recorder.aws.account": "123456789012",
      "recorder.aws.maxAttempts": 2,
      // small pages, so every paginated API is paged for real
      "recorder.aws.pageSize": 5,
      "recorder.intervalSeconds": 3600,
    });
    base = app.graphqlUrl.replace(/\/graphql$/, "");
    await crawl();
    t.t0b = nowIso();
  });

  afterAll(async () => {
    await app?.shutdown();
    await moto?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("records moto's default VPC, subnets and security group", async () => {
    const vpcs = await ec2.send(new DescribeVpcsCommand({}));
    ids.vpc = vpcs.Vpcs?.[0]?.VpcId as string;
    expect(await idsOf("vpcs")).toEqual([ids.vpc]);
    expect((await idsOf("subnets")).length).toBeGreaterThanOrEqual(2);
    expect((await idsOf("securityGroups")).length).toBe(1);
    expect(await idsOf("instances")).toEqual([]);
  });

  it("records created resources; an unchanged crawl writes nothing", async () => {
    const web = await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: "web", Description: "web", VpcId: ids.vpc }),
    );
    ids.web = web.GroupId as string;
    // port 22 from the corporate range, port 80 from anywhere: two different rules
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: ids.web,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
          { IpProtocol: "tcp", FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    const temp = await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: "temp", Description: "temp", VpcId: ids.vpc }),
    );
    ids.temp = temp.GroupId as string;
    ids.a = await runInstance("a", ids.web);
    ids.b = await runInstance("b", ids.web);
    const tg = await elb.send(
      new CreateTargetGroupCommand({ Name: "web", Protocol: "HTTP", Port: 80, VpcId: ids.vpc }),
    );
    ids.tg = tg.TargetGroups?.[0]?.TargetGroupArn as string;
    await elb.send(
      new RegisterTargetsCommand({ TargetGroupArn: ids.tg, Targets: [{ Id: ids.a, Port: 80 }] }),
    );
    await asg.send(
      new CreateLaunchConfigurationCommand({
        LaunchConfigurationName: "lc",
        ImageId: AMI,
        InstanceType: "t3.micro",
      }),
    );
    await asg.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: "api",
        LaunchConfigurationName: "lc",
        MinSize: 1,
        MaxSize: 3,
        DesiredCapacity: 1,
        AvailabilityZones: [`${REGION}a`],
      }),
    );
    const eip = await ec2.send(new AllocateAddressCommand({ Domain: "vpc" }));
    ids.eip = eip.PublicIp as string;
    ids.alloc = eip.AllocationId as string;
    await ec2.send(new AssociateAddressCommand({ InstanceId: ids.a, AllocationId: ids.alloc }));

    const first = await crawl();
    expect(first.every((r) => r.status === "success")).toBe(true);
    t.t1 = nowIso();
    const again = await crawl();
    expect(again.map((r) => [r.collection, r.changes]).filter(([, n]) => n !== 0)).toEqual([]);

    const instances = await idsOf("instances");
    expect(instances).toContain(ids.a);
    expect(instances).toContain(ids.b);
    expect(instances).toHaveLength(3); // a, b and the ASG's instance
    expect((await idsOf("securityGroups")).sort()).toEqual(expect.arrayContaining([ids.web, ids.temp]));
    expect(await idsOf("autoScalingGroups")).toEqual(["api"]);
    expect(await idsOf("launchConfigurations")).toEqual(["lc"]);
    expect(await idsOf("targetGroups")).toEqual([ids.tg]);
    expect(await idsOf("addresses")).toEqual([ids.alloc]);
    expect(await idsOf("images")).toEqual([AMI]);
    expect(await idsOf("instances", t.t0b)).toEqual([]);
  });

  it("records modifications, terminations, deletions, rule changes, target and ASG changes, an EIP move", async () => {
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: ids.web,
        IpPermissions: [{ IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] }],
      }),
    );
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: ids.temp }));
    await ec2.send(new CreateTagsCommand({ Resources: [ids.a], Tags: [{ Key: "owner", Value: "ålice ✓" }] }));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [ids.b] }));
    ids.c = await runInstance("c", ids.web);
    await elb.send(
      new DeregisterTargetsCommand({ TargetGroupArn: ids.tg, Targets: [{ Id: ids.a, Port: 80 }] }),
    );
    await elb.send(
      new RegisterTargetsCommand({ TargetGroupArn: ids.tg, Targets: [{ Id: ids.c, Port: 80 }] }),
    );
    await asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: "api", DesiredCapacity: 2 }));
    await ec2.send(
      new AssociateAddressCommand({ InstanceId: ids.c, AllocationId: ids.alloc, AllowReassociation: true }),
    );
    const second = await crawl();
    expect(second.every((r) => r.status === "success")).toBe(true);
    t.t2 = nowIso();

    await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: ids.web,
        IpPermissions: [{ IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] }],
      }),
    );
    await crawl();
    t.t3 = nowIso();
  });

  it("answers whoHad before and after the elastic IP moved", async () => {
    const before = await whoHad(ids.eip, t.t1);
    expect(before.filter((h) => h.type === "instances")).toEqual([{ type: "instances", id: ids.a }]);
    const after = await whoHad(ids.eip, t.t2);
    expect(after.filter((h) => h.type === "instances")).toEqual([{ type: "instances", id: ids.c }]);
    expect(await whoHad(ids.eip, t.t0b)).toEqual([]);
  });

  it("answers state at t, with JSON-path filters on one array element", async () => {
    const open22 = [
      {
        path: "IpPermissions",
        elem: [
          { path: "IpRanges.CidrIp", eq: "0.0.0.0/0" },
          { path: "FromPort", lte: 22 },
          { path: "ToPort", gte: 22 },
        ],
      },
    ];
    expect(await idsOf("securityGroups", t.t1, open22)).toEqual([]); // 0.0.0.0/0 and 22 are different rules
    expect(await idsOf("securityGroups", t.t2, open22)).toEqual([ids.web]);
    expect(await idsOf("securityGroups", t.t3, open22)).toEqual([]);
    expect(await idsOf("securityGroups", t.t2, [{ path: "GroupName", regex: "^te" }])).toEqual([]);
    expect(await idsOf("securityGroups", t.t1, [{ path: "GroupName", regex: "^te" }])).toEqual([ids.temp]);
    expect(
      await idsOf("instances", t.t2, [{ path: "Tags", contains: { Key: "owner", Value: "ålice ✓" } }]),
    ).toEqual([ids.a]);
    expect(await idsOf("instances", t.t2, [{ path: "State.Name", eq: "terminated" }])).toEqual([ids.b]);
    expect(await idsOf("autoScalingGroups", t.t1, [{ path: "DesiredCapacity", gte: 2 }])).toEqual([]);
    expect(await idsOf("autoScalingGroups", t.t2, [{ path: "DesiredCapacity", gte: 2 }])).toEqual(["api"]);
    const tgAt = async (at: string) =>
      (
        await gql<{ resources: Array<{ doc: { Targets: Array<{ Target: { Id: string } }> } }> }>(
          'query ($at: DateTime) { resources(type: "targetGroups", at: $at) { doc } }',
          { at },
        )
      ).resources[0].doc.Targets.map((x) => x.Target.Id);
    expect(await tgAt(t.t1)).toEqual([ids.a]);
    expect(await tgAt(t.t2)).toEqual([ids.c]);
    expect(await idsOf("securityGroups", t.t2)).not.toContain(ids.temp);
  });

  it("answers versions and diffs of one resource", async () => {
    const r = await gql<{
      resource: {
        versions: Array<{ at: string; until: string | null; deleted: boolean }>;
        at: { doc: { IpPermissions: unknown[] } };
        diff: { patch: Array<{ op: string; path: string; value?: unknown }>; unified: string };
      };
    }>(
      `query ($id: String!, $t1: DateTime!, $t2: DateTime!) { resource(type: "securityGroups", id: $id) {
        versions { at until deleted } at(t: $t1) { doc } diff(from: $t1, to: $t2) { patch unified } } }`,
      { id: ids.web, t1: t.t1, t2: t.t2 },
    );
    expect(r.resource.versions.map((v) => v.deleted)).toEqual([false, false, false]);
    expect(r.resource.versions[0].until).toBe(r.resource.versions[1].at);
    expect(r.resource.versions[2].until).toBeNull();
    expect(r.resource.at.doc.IpPermissions).toHaveLength(2);
    expect(r.resource.diff.patch.length).toBeGreaterThan(0);
    expect(JSON.stringify(r.resource.diff.patch)).toContain("0.0.0.0/0");
    expect(r.resource.diff.unified).toBe(
      [
        `--- ${r.resource.versions[0].at}`,
        `+++ ${r.resource.versions[1].at}`,
        "@@ -9,6 +9,9 @@",
        '       "IpRanges": [',
        "         {",
        '           "CidrIp": "10.0.0.0/8"',
        "+        },",
        "+        {",
        '+          "CidrIp": "0.0.0.0/0"',
        "         }",
        "       ],",
        '       "Ipv6Ranges": [],',
        "",
      ].join("\n"),
    );
    const temp = await gql<{ resource: { versions: Array<{ deleted: boolean }> } }>(
      `query ($id: String!) { resource(type: "securityGroups", id: $id) { versions { deleted } } }`,
      { id: ids.temp },
    );
    expect(temp.resource.versions.map((v) => v.deleted)).toEqual([false, true]);
    const none = await gql<{ resource: null }>(
      `{ resource(type: "instances", id: "i-never") { versions { at } } }`,
    );
    expect(none.resource).toBeNull();
  });

  it("feeds changes since a time", async () => {
    const feed = await gql<{ changes: Array<{ type: string; id: string; kind: string }> }>(
      `query ($since: DateTime!, $until: DateTime!) { changes(since: $since, until: $until, types: ["instances", "securityGroups"]) { type id kind } }`,
      { since: t.t1, until: t.t2 },
    );
    const kinds = Object.fromEntries(feed.changes.map((c) => [c.id, c.kind]));
    expect(kinds[ids.a]).toBe("modified");
    expect(kinds[ids.b]).toBe("modified");
    expect(kinds[ids.c]).toBe("created");
    expect(kinds[ids.temp]).toBe("deleted");
    expect(kinds[ids.web]).toBe("modified");
    const created = await gql<{ changes: Array<{ id: string; kind: string }> }>(
      `query ($since: DateTime!, $until: DateTime!) { changes(since: $since, until: $until, types: ["instances"]) { id kind } }`,
      { since: t.t0b, until: t.t1 },
    );
    expect(created.changes.map((c) => c.kind)).toEqual(["created", "created", "created"]);
  });

  it("serves the Edda REST API", async () => {
    const live = await rest("/api/v2/view/instances");
    expect(live.status).toBe(200);
    expect(JSON.parse(live.text)).toEqual(
      [
        ids.a,
        ids.b,
        ids.c,
        ...JSON.parse(live.text).filter((i: string) => ![ids.a, ids.b, ids.c].includes(i)),
      ].sort(),
    );
    const one = await rest(`/api/v2/view/instances/${ids.a};_pp:(instanceId,tags:(key,value),state:(name))`);
    expect(one.status).toBe(200);
    expect(JSON.parse(one.text)).toEqual({
      instanceId: ids.a,
      state: { name: "running" },
      tags: [
        { key: "Name", value: "a" },
        { key: "owner", value: "ålice ✓" },
      ],
    });
    const sel = await rest("/api/v2/aws/securityGroups;groupName=web;_expand:(groupId,groupName)");
    expect(JSON.parse(sel.text)).toEqual([{ groupId: ids.web, groupName: "web" }]);
    const filtered = await rest("/api/v2/aws/securityGroups;_expand:(groupId,groupName~/^we/)");
    expect(JSON.parse(filtered.text)).toEqual([{ groupId: ids.web, groupName: "web" }]);
    const gone = await rest(`/api/v2/aws/securityGroups/${ids.temp}`);
    expect(gone.status).toBe(410);
    expect(JSON.parse(gone.text)).toMatchObject({ code: 410, name: "GONE" });
    expect(JSON.parse(gone.text).message).toMatch(
      /no longer valid in collection aws\.securityGroups.*Last seen at \d+$/,
    );
    const missing = await rest("/api/v2/aws/securityGroups/sg-never");
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toEqual({
      code: 404,
      name: "NOT_FOUND",
      message: 'record "sg-never" not found in collection aws.securityGroups',
    });
    const t1ms = Date.parse(t.t1);
    const past = await rest(`/api/v2/aws/securityGroups/${ids.temp};_at=${t1ms}:(groupName)`);
    expect(JSON.parse(past.text)).toEqual({ groupName: "temp" });
    const all = await rest(
      `/api/v2/aws/securityGroups/${ids.web};_all;_meta:(id,stime,ltime,data:(groupName))`,
    );
    const revisions = JSON.parse(all.text) as Array<{ id: string; stime: number; ltime: number | null }>;
    expect(revisions).toHaveLength(3);
    expect(revisions[0].ltime).toBeNull();
    expect(revisions[1].ltime).toBe(revisions[0].stime);
    const diff = await rest(`/api/v2/aws/securityGroups/${ids.web};_all;_diff=0;_limit=2`);
    expect(diff.type).toContain("text/plain");
    const lines = diff.text.split("\n");
    expect(lines[0]).toBe(`--- /api/v2/aws/securityGroups/${ids.web};_pp;_at=${revisions[1].stime}`);
    expect(lines[1]).toBe(`+++ /api/v2/aws/securityGroups/${ids.web};_pp;_at=${revisions[0].stime}`);
    expect(lines.filter((l) => l.startsWith("-") && !l.startsWith("---"))).toContain(
      '-          "cidrIp": "0.0.0.0/0"',
    );
    const bad = await rest("/api/v2/aws/nothing");
    expect(bad.status).toBe(400);
  });

  it("reports coverage; a crawl cut off by moto dying records a gap and no deletions", async () => {
    const before = await idsOf("instances");
    const crawling = app.recorder!.crawlAll();
    await sleep(30);
    await moto.stop();
    const results = await crawling;
    expect(results.some((r) => r.status === "failed")).toBe(true);
    expect(results.every((r) => r.changes === 0)).toBe(true);
    expect(await idsOf("instances")).toEqual(before);
    // Which collections the dying endpoint cut off depends on timing; every one of them must
    // show the failed crawl as its last crawl and as a gap, after an earlier success.
    const failedTypes = [
      ...new Set(results.filter((r) => r.status === "failed").map((r) => r.collection)),
    ].sort();
    expect(failedTypes.length).toBeGreaterThan(0);
    const cov = await gql<{
      coverage: Array<{
        type: string;
        lastSuccess: string | null;
        lastCrawl: { status: string };
        gaps: Array<{ status: string; error: string }>;
      }>;
    }>(
      `query ($types: [String!]) { coverage(types: $types) { type lastSuccess lastCrawl { status } gaps { status error } } }`,
      {
        types: failedTypes,
      },
    );
    for (const c of cov.coverage) {
      expect(c.lastSuccess, c.type).not.toBeNull();
      expect(
        c.gaps.some((g) => g.status === "failed"),
        c.type,
      ).toBe(true);
    }
    expect(cov.coverage.map((c) => c.type).sort()).toEqual(failedTypes);
    await moto.restart();
  });
});
