import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { type Context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { Span } from "../../core/model/span.js";
import { attr, resource, span, spanIdOf, traceIdOf } from "../../query/testing/fixtures.js";

/** Support for the dashboard's browser suites: Debian's chromium, SDK-made traces, a huge trace. */

export const ARTIFACTS = join(process.cwd(), ".artifacts", "ui");

/** The flags DESIGN.md prescribes for Debian's chromium, plus a fresh profile per browser. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  /** A new tab; `errors` collects console errors and uncaught page errors. */
  newPage(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "skald-ui-profile-"));
  // A persistent context is how playwright takes a user-data-dir (launch() refuses the flag).
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 900 },
  });
  return {
    async newPage() {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(String(e)));
      return { page, errors };
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Traces of two deployment environments through the OpenTelemetry SDK (OTLP/HTTP protobuf):
 * "production" (the newer key `deployment.environment.name`) has billing → ledger, "staging" (the
 * older `deployment.environment`) has billing and a sandbox service of its own. Returns the ids.
 */
export async function sendEnvironmentTraces(
  otlpHttpUrl: string,
): Promise<{ production: string[]; staging: string[] }> {
  const providers: BasicTracerProvider[] = [];
  const tracer = (service: string, attributes: Record<string, string>) => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": service, ...attributes }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: otlpHttpUrl }))],
    });
    providers.push(provider);
    return provider.getTracer(`lib-${service}`, "1.0.0");
  };
  const prod = { "deployment.environment.name": "production" };
  const staging = { "deployment.environment": "staging" };
  const billingProd = tracer("billing", prod);
  const ledger = tracer("ledger", prod);
  const billingStaging = tracer("billing", staging);
  const sandbox = tracer("sandbox", staging);
  const base = Date.now() - 120_000;
  const at = (ms: number) => new Date(base + ms);
  const out = { production: [] as string[], staging: [] as string[] };
  for (let i = 0; i < 2; i++) {
    const root = billingProd.startSpan(
      "POST /invoice",
      { kind: SpanKind.SERVER, startTime: at(i * 100) },
      ROOT_CONTEXT,
    );
    const child = ledger.startSpan(
      "Record",
      { kind: SpanKind.SERVER, startTime: at(i * 100 + 2) },
      trace.setSpan(ROOT_CONTEXT, root),
    );
    child.end(at(i * 100 + 8));
    root.end(at(i * 100 + 10));
    out.production.push(root.spanContext().traceId);
  }
  for (const [t, name] of [
    [billingStaging, "POST /invoice"],
    [sandbox, "GET /try"],
  ] as const) {
    const root = t.startSpan(name, { kind: SpanKind.SERVER, startTime: at(500) }, ROOT_CONTEXT);
    root.end(at(505));
    out.staging.push(root.spanContext().traceId);
  }
  for (const p of providers) await p.forceFlush();
  await Promise.all(providers.map((p) => p.shutdown()));
  return out;
}

/**
 * Sends one checkout trace through the real OpenTelemetry SDK (OTLP/HTTP protobuf): gateway →
 * cart → cart-db (an ERROR with a link back to the root) and a producer span; returns its id.
 * `variant` makes a different one: more database calls, no producer span.
 */
export async function sendCheckoutTrace(
  otlpHttpUrl: string,
  tag: string,
  variant: { dbCalls?: number; publish?: boolean } = {},
): Promise<string> {
  const providers: BasicTracerProvider[] = [];
  const tracer = (service: string) => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": service, "service.version": "1.2.3" }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: otlpHttpUrl }))],
    });
    providers.push(provider);
    return provider.getTracer(`lib-${service}`, "0.9.1");
  };
  const gateway = tracer("gateway");
  const cart = tracer("cart");
  const db = tracer("cart-db");
  const base = Date.now() - 60_000;
  const at = (ms: number) => new Date(base + ms);
  const root = gateway.startSpan(
    "GET /checkout",
    {
      kind: SpanKind.SERVER,
      startTime: at(0),
      attributes: { "request.guid": `guid-${tag}`, "http.status_code": 500 },
    },
    ROOT_CONTEXT,
  );
  root.addEvent("auth.checked", { "user.id": "u-1" }, at(1));
  const ctx: Context = trace.setSpan(ROOT_CONTEXT, root);
  const call = gateway.startSpan("cart.get", { kind: SpanKind.CLIENT, startTime: at(2) }, ctx);
  const server = cart.startSpan(
    "GetCart",
    { kind: SpanKind.SERVER, startTime: at(3) },
    trace.setSpan(ctx, call),
  );
  const query = db.startSpan(
    "SELECT carts",
    {
      kind: SpanKind.CLIENT,
      startTime: at(4),
      attributes: { "db.system": "postgresql" },
      links: [{ context: root.spanContext(), attributes: { "link.reason": "audit" } }],
    },
    trace.setSpan(ctx, server),
  );
  query.setStatus({ code: SpanStatusCode.ERROR, message: "deadlock detected" });
  query.end(at(40));
  // A variant retries the query (one more call per extra dbCall, 41–44 ms).
  for (let i = 1; i < (variant.dbCalls ?? 1); i++) {
    const retry = db.startSpan(
      "SELECT carts",
      { kind: SpanKind.CLIENT, startTime: at(40 + i) },
      trace.setSpan(ctx, server),
    );
    retry.end(at(44));
  }
  if (variant.publish !== false) {
    const publish = cart.startSpan(
      "orders publish",
      { kind: SpanKind.PRODUCER, startTime: at(45) },
      trace.setSpan(ctx, server),
    );
    publish.end(at(50));
  }
  server.end(at(60));
  call.end(at(62));
  root.setStatus({ code: SpanStatusCode.ERROR, message: "cart failed" });
  root.end(at(70));
  for (const p of providers) await p.forceFlush();
  await Promise.all(providers.map((p) => p.shutdown()));
  return root.spanContext().traceId;
}

/**
 * A trace of `total` spans over 6 services, four levels deep (deterministic), for the
 * 100,000-span browser test.
 */
export function hugeTrace(traceId: string, total: number, baseNs: bigint): Span[] {
  const services = Array.from({ length: 6 }, (_, i) => resource(`huge-svc-${i}`));
  const spans: Span[] = [
    span({
      traceId,
      spanId: spanIdOf(1),
      name: "huge root",
      start: baseNs,
      durationMs: 4000,
      resource: services[0],
      kind: 2,
    }),
  ];
  for (let i = 2; i <= total; i++) {
    // Three levels under the root: 100 spans, then 10,000 under those, then the rest under those.
    const parent = i <= 101 ? 1 : i <= 10_101 ? 2 + ((i - 102) % 100) : 102 + ((i - 10_102) % 10_000);
    const start = baseNs + BigInt(i % 3900) * 1_000_000n;
    spans.push(
      span({
        traceId,
        spanId: spanIdOf(i),
        parentSpanId: spanIdOf(parent),
        name: `op-${i % 40}`,
        start,
        durationMs: 1 + (i % 7),
        resource: services[i % services.length],
        statusCode: i % 997 === 0 ? 2 : 0,
      }),
    );
  }
  return spans;
}

/**
 * Posts VPC Flow Logs lines (default version-2 format) to Skald's VPC endpoint: 10.0.1.5 → 10.0.2.7
 * twice (4,000 bytes each), the reply (1,500 bytes), and 10.0.3.9 → 10.0.2.7 (700 bytes).
 */
export async function sendVpcFlows(url: string | undefined): Promise<void> {
  if (!url) throw new Error("the VPC Flow Logs endpoint is not listening");
  const end = Math.floor(Date.now() / 1000) - 60;
  const line = (src: string, dst: string, sport: number, dport: number, packets: number, bytes: number) =>
    `2 123456789012 eni-0a1b2c3d ${src} ${dst} ${sport} ${dport} 6 ${packets} ${bytes} ${end - 30} ${end} ACCEPT OK`;
  const body = [
    line("10.0.1.5", "10.0.2.7", 49152, 443, 20, 4000),
    line("10.0.1.5", "10.0.2.7", 49153, 443, 20, 4000),
    line("10.0.2.7", "10.0.1.5", 443, 49152, 10, 1500),
    line("10.0.3.9", "10.0.2.7", 50000, 443, 5, 700),
  ].join("\n");
  const res = await fetch(url, { method: "POST", headers: { "content-type": "text/plain" }, body });
  if (!res.ok) throw new Error(`VPC flow post failed: ${res.status} ${await res.text()}`);
}

/**
 * SERVER spans of `checkout` over the last 20 minutes: version 1.0 (about 20 ms) and version 2.0
 * (about 60 ms, and every tenth call an error), 240 of each over two zones, for a canary run to judge.
 */
export function canarySpans(endNs: bigint): Span[] {
  const spans: Span[] = [];
  for (const [v, version] of ["1.0", "2.0"].entries()) {
    // Two zones, alternating calls, so the run has per-zone judgements.
    const zoneRes = ["us-east-1a", "us-east-1b"].map((zone) =>
      resource("checkout", [
        attr("service.version", version),
        attr("service.instance.id", `checkout-${version}-${zone}`),
        attr("cloud.availability_zone", zone),
      ]),
    );
    for (let i = 0; i < 240; i++) {
      const res = zoneRes[i % 2];
      const n = 0x7000_0000 + v * 1000 + i;
      spans.push(
        span({
          traceId: traceIdOf(n),
          spanId: spanIdOf(n),
          name: "POST /pay",
          kind: 2,
          start: endNs - BigInt(20 * 60 - i * 5) * 1_000_000_000n,
          durationMs: (v === 0 ? 18 : 55) + (i % 7),
          resource: res,
          statusCode: v === 1 && i % 10 === 0 ? 2 : 0,
        }),
      );
    }
  }
  return spans;
}

/** What recordOnMoto made, for the config-history and security checks. */
export interface MotoEstate {
  /** Security group `web`: port 443 open to the world at the first crawl, port 22 too at the second. */
  web: string;
  /** An instance in `web` and its private address. */
  instance: string;
  ip: string;
  /** An instant between the two crawls: 443 open, 22 not yet. */
  between: string;
}

/**
 * Config history the real way: resources created in moto through the AWS SDK, recorded by the
 * app's recorder (`crawl` runs every collector once). Two crawls make two versions of `web`.
 */
export async function recordOnMoto(motoUrl: string, crawl: () => Promise<unknown>): Promise<MotoEstate> {
  const ec2 = new EC2Client({
    region: "us-east-1",
    endpoint: motoUrl,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  try {
    const vpc = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs?.[0]?.VpcId;
    const web = (
      await ec2.send(new CreateSecurityGroupCommand({ GroupName: "web", Description: "web", VpcId: vpc }))
    ).GroupId as string;
    const world = (port: number) => ({
      GroupId: web,
      IpPermissions: [
        { IpProtocol: "tcp", FromPort: port, ToPort: port, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
      ],
    });
    await ec2.send(new AuthorizeSecurityGroupIngressCommand(world(443)));
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: "ami-12c6146b",
        MinCount: 2,
        MaxCount: 2,
        InstanceType: "t3.micro",
        SecurityGroupIds: [web],
        TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "Name", Value: "web" }] }],
      }),
    );
    const first = run.Instances?.[0];
    await crawl();
    await new Promise((r) => setTimeout(r, 20));
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await ec2.send(new AuthorizeSecurityGroupIngressCommand(world(22)));
    await crawl();
    return { web, instance: first?.InstanceId as string, ip: first?.PrivateIpAddress as string, between };
  } finally {
    ec2.destroy();
  }
}

/**
 * A wide estate for the 500-node map: services `estate-000` … as a binary call tree (service i
 * calls 2i+1 and 2i+2), one trace per call — a CLIENT span in the caller, the SERVER span of the
 * callee under it — all within a minute after `baseNs`.
 */
export function wideEstate(services: number, baseNs: bigint): Span[] {
  const name = (i: number) => `estate-${String(i).padStart(3, "0")}`;
  const spans: Span[] = [];
  for (let i = 1; i < services; i++) {
    const caller = Math.floor((i - 1) / 2);
    const traceId = traceIdOf(0x5e00_0000 + i);
    const start = baseNs + BigInt(i) * 50_000_000n;
    spans.push(
      span({
        traceId,
        spanId: spanIdOf(0x5e00_0000 + 2 * i),
        name: `call ${name(i)}`,
        kind: 3,
        start,
        durationMs: 12,
        resource: resource(name(caller)),
      }),
      span({
        traceId,
        spanId: spanIdOf(0x5e00_0000 + 2 * i + 1),
        parentSpanId: spanIdOf(0x5e00_0000 + 2 * i),
        name: "handle",
        kind: 2,
        start: start + 1_000_000n,
        durationMs: 10,
        resource: resource(name(i)),
        statusCode: i % 50 === 0 ? 2 : 0,
      }),
    );
  }
  return spans;
}

/**
 * Instances the recorder would have seen holding the flow addresses of sendVpcFlows, tagged with
 * the services of the checkout trace: 10.0.1.5 is `gateway`, 10.0.2.7 is `cart` (10.0.3.9 stays
 * unknown), so flows grouped by SERVICE line up with the trace-derived map. Written as store rows,
 * not through moto: the flows are minutes old and need holders from 50 minutes back, history a
 * crawl made now cannot have.
 */
export function flowHolderRows(tenant: string, nowMs: number): { versions: string; holders: string } {
  const ts = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "000000");
  const at = nowMs - 50 * 60_000;
  const instance = (id: string, ip: string, service: string) => ({
    version: [
      tenant,
      "instances",
      "123456789012",
      "us-east-1",
      id,
      ts(at),
      `h-${id}`,
      "0",
      JSON.stringify({
        InstanceId: id,
        Placement: { AvailabilityZone: "us-east-1a" },
        PrivateIpAddress: ip,
        Tags: [{ Key: "service", Value: service }],
        VpcId: "vpc-1",
      }),
    ].join("\t"),
    holder: [tenant, ip, ts(at), "instances", "123456789012", "us-east-1", id, "1"].join("\t"),
  });
  const rows = [instance("i-0gw", "10.0.1.5", "gateway"), instance("i-0cart", "10.0.2.7", "cart")];
  return {
    versions: `${rows.map((r) => r.version).join("\n")}\n`,
    holders: `${rows.map((r) => r.holder).join("\n")}\n`,
  };
}
