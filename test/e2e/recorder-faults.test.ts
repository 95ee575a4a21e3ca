import { createServer, type Server } from "node:http";
import { EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql, startApp } from "../support/app.js";
import { freePort } from "../support/clickhouse-server.js";
import { awsEnv, type MotoServer, startMoto } from "../support/moto.js";
import { STORE_TARGETS } from "../support/targets.js";

/**
 * Hostile and odd input: throttling answered by the SDK's retries, a service that repeats its
 * pagination token, AWS dropping every tag, and generic HTTP JSON sources (a Eureka-like registry
 * served by a real HTTP server in the test) with huge and unicode documents, failures and
 * removals. AWS faults come from a real HTTP proxy in front of moto that rewrites answers.
 */
type App = Awaited<ReturnType<typeof startApp>>;

interface Faults {
  throttleVpcs: number;
  throttled: number;
  loopSecurityGroups: boolean;
  stripTags: boolean;
}

async function listen(server: Server): Promise<string> {
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return `http://127.0.0.1:${port}`;
}

function startProxy(target: string, faults: Faults): Server {
  return createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const action = new URLSearchParams(body).get("Action");
    if (action === "DescribeVpcs" && faults.throttleVpcs > 0) {
      faults.throttleVpcs--;
      faults.throttled++;
      res.writeHead(503, { "content-type": "text/xml" });
      res.end(
        "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>",
      );
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === "string" && k !== "host") headers[k] = v;
    const upstream = await fetch(`${target}${req.url}`, {
      method: req.method,
      headers,
      body: body || undefined,
    });
    let text = await upstream.text();
    if (action === "DescribeSecurityGroups" && faults.loopSecurityGroups) {
      text = text.replace("</securityGroupInfo>", "</securityGroupInfo><nextToken>same-token</nextToken>");
    }
    if (action === "DescribeInstances" && faults.stripTags)
      text = text.replace(/<tagSet>[\s\S]*?<\/tagSet>/g, "<tagSet/>");
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "text/xml" });
    res.end(text);
  });
}

describe.each(STORE_TARGETS)("recorder under faults and odd input ($name store)", (target) => {
  let moto: MotoServer;
  let proxy: Server;
  let registry: Server;
  let app: App;
  let cleanup: (() => Promise<void>) | undefined;
  const faults: Faults = { throttleVpcs: 0, throttled: 0, loopSecurityGroups: false, stripTags: false };
  const saved: Record<string, string | undefined> = {};
  // the Eureka-like registry's content, changed by the tests
  let apps: Array<Record<string, unknown>> = [];
  let registryStatus = 200;
  const huge = `${"ᚠᛇᚻ 😀 Ünïcödé ".repeat(150_000)}end`;

  const crawl = async (name: string) => {
    const c = app.recorder!.collections.find((x) => x.name === name);
    if (!c) throw new Error(`no collection ${name}`);
    return app.recorder!.crawl(c);
  };
  const gql = async <T>(query: string, variables: Record<string, unknown> = {}) => {
    const r = await graphql<T>(app.graphqlUrl, query, variables);
    expect(r.errors).toBeUndefined();
    return r.data as T;
  };
  const ids = async (type: string) =>
    (
      await gql<{ resources: Array<{ id: string }> }>("query ($t: String!) { resources(type: $t) { id } }", {
        t: type,
      })
    ).resources.map((r) => r.id);

  beforeAll(async () => {
    moto = await startMoto();
    for (const [k, v] of Object.entries(awsEnv(moto.url))) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    proxy = startProxy(moto.url, faults);
    const proxyUrl = await listen(proxy);
    registry = createServer((_req, res) => {
      res.writeHead(registryStatus, { "content-type": "application/json" });
      res.end(registryStatus === 200 ? JSON.stringify({ applications: { application: apps } }) : "oops");
    });
    const registryUrl = await listen(registry);
    const store = await target.setup();
    cleanup = store.cleanup;
    app = await startApp({
      ...Object.fromEntries(Object.entries(store.storage).map(([k, v]) => [`storage.${k}`, v])),
      "recorder.aws.regions": ["us-east-1"],
      "recorder.aws.endpoint": proxyUrl,
      "recorder.aws.maxAttempts": 4,
      "recorder.intervalSeconds": 3600,
      "recorder.http": [
        {
          name: "eureka",
          url: `${registryUrl}/eureka/apps`,
          itemsPath: "applications.application",
          idPath: "name",
        },
      ],
      "recorder.ignore": { eureka: ["lastDirtyTimestamp"] },
    });
    await app.recorder!.crawlAll();
  });

  afterAll(async () => {
    await app?.shutdown();
    await moto?.stop();
    proxy?.close();
    registry?.close();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await cleanup?.();
  });

  it("retries throttled calls and records the result", async () => {
    faults.throttleVpcs = 2;
    const r = await crawl("vpcs");
    expect(faults.throttled).toBe(2);
    expect(r.status).toBe("success");
    expect(await ids("vpcs")).toHaveLength(1);
  });

  it("fails a crawl whose pagination loops, and marks nothing deleted", async () => {
    const before = await ids("securityGroups");
    expect(before).toHaveLength(1);
    faults.loopSecurityGroups = true;
    const r = await crawl("securityGroups");
    faults.loopSecurityGroups = false;
    expect(r.status).toBe("failed");
    expect(r.error).toContain("pagination loop");
    expect(await ids("securityGroups")).toEqual(before);
  });

  it("discards a crawl in which every resource lost its tags", async () => {
    const ec2 = new EC2Client({ region: "us-east-1" });
    await ec2.send(
      new RunInstancesCommand({
        ImageId: "ami-12c6146b",
        MinCount: 2,
        MaxCount: 2,
        TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "Name", Value: "tagged" }] }],
      }),
    );
    expect((await crawl("instances")).changes).toBe(2);
    faults.stripTags = true;
    const r = await crawl("instances");
    faults.stripTags = false;
    expect(r).toMatchObject({ status: "discarded", changes: 0, resources: 2 });
    const cov = await gql<{ coverage: Array<{ gaps: Array<{ status: string }> }> }>(
      '{ coverage(types: ["instances"]) { gaps { status } } }',
    );
    expect(cov.coverage[0].gaps.map((g) => g.status)).toEqual(["discarded"]);
    expect((await crawl("instances")).changes).toBe(0);
  });

  it("records a generic HTTP source: huge and unicode documents, changes, failures, removals", async () => {
    apps = [
      {
        name: "API",
        status: "UP",
        lastDirtyTimestamp: 1,
        instance: [{ hostName: "api-1", port: { $: 7001 } }],
      },
      { name: "ÜBER-😀", status: "UP", lastDirtyTimestamp: 1, description: huge },
    ];
    expect(await crawl("eureka")).toMatchObject({ status: "success", resources: 2, changes: 2 });
    apps[0].lastDirtyTimestamp = 2; // volatile: ignored
    expect((await crawl("eureka")).changes).toBe(0);
    expect(await ids("eureka")).toEqual(["API", "ÜBER-😀"]);
    const doc = await gql<{ resource: { versions: Array<{ doc: { description: string } }> } }>(
      'query ($id: String!) { resource(type: "eureka", id: $id) { versions { doc } } }',
      { id: "ÜBER-😀" },
    );
    expect(doc.resource.versions[0].doc.description).toBe(huge);
    const rest = await fetch(
      `${app.graphqlUrl.replace(/\/graphql$/, "")}/api/v2/view/eureka/${encodeURIComponent("ÜBER-😀")}:(name,status)`,
    );
    expect(await rest.json()).toEqual({ name: "ÜBER-😀", status: "UP" });

    registryStatus = 500;
    expect(await crawl("eureka")).toMatchObject({ status: "failed", changes: 0 });
    expect(await ids("eureka")).toEqual(["API", "ÜBER-😀"]);
    registryStatus = 200;

    apps = [{ ...apps[0], status: "DOWN" }];
    expect((await crawl("eureka")).changes).toBe(2);
    expect(await ids("eureka")).toEqual(["API"]);
    const feed = await gql<{ changes: Array<{ id: string; kind: string }> }>(
      '{ changes(since: "2000-01-01T00:00:00Z", types: ["eureka"]) { id kind } }',
    );
    expect(feed.changes.map((c) => `${c.id}:${c.kind}`).sort()).toEqual([
      "API:created",
      "API:modified",
      "ÜBER-😀:created",
      "ÜBER-😀:deleted",
    ]);
  });

  it("pushes recorded changes to configChanges subscribers (SSE)", async () => {
    const abort = new AbortController();
    const res = await fetch(app.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: 'subscription { configChanges(types: ["eureka"]) { type id kind } }' }),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await new Promise((r) => setTimeout(r, 1500));
    apps = [...apps, { name: "NEW", status: "UP" }];
    expect((await crawl("eureka")).changes).toBe(1);
    let text = "";
    const deadline = Date.now() + 15_000;
    while (!text.includes('"NEW"') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    abort.abort();
    const event = text.split("\n").find((l) => l.startsWith("data:") && l.includes('"NEW"'));
    expect(JSON.parse((event ?? "data: {}").slice(5))).toEqual({
      data: { configChanges: { type: "eureka", id: "NEW", kind: "created" } },
    });
  });
});
