import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { SpanKind } from "@opentelemetry/api";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { traceServiceDefinition } from "../../collector/otlp-grpc.js";
import {
  BASIC_FIELDS,
  basicRecord,
  ipfixMessage,
  ipfixTemplate,
  set,
} from "../../core/flows/testing/build.js";
import { NODE_FLAGS } from "../../core/node-flags.js";
import { startApp } from "../support/app.js";
import { freePort } from "../support/clickhouse-server.js";
import { openBrowser } from "./ui-harness.js";

type App = Awaited<ReturnType<typeof startApp>>;

const KEYS = { acme: "acme-sender-key-0123456789", globex: "globex-sender-key-0123456789" };
const TOKENS = {
  acmeViewer: "acme-viewer-token-0123456789",
  acmeSecurity: "acme-security-token-0123456789",
  acmeDeployer: "acme-deployer-token-0123456789",
  acmeAdmin: "acme-admin-token-0123456789",
  globexAdmin: "globex-admin-token-0123456789",
};
const ACME_SERVICE = "acme-checkout";
const GLOBEX_SERVICE = "globex-billing";
const ACME_HOST = "i-acme-secret-host";

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** A span recorded by the real SDK, to hand to an exporter directly (so the export result is visible). */
async function recordSpan(service: string, name: string): Promise<ReadableSpan> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": service }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const span = provider.getTracer("auth-test").startSpan(name, { kind: SpanKind.SERVER });
  span.setAttribute("request.guid", `${service}-guid`);
  span.end();
  await provider.forceFlush();
  const [recorded] = memory.getFinishedSpans();
  await provider.shutdown();
  return recorded;
}

function exportWith(exporter: SpanExporter, span: ReadableSpan): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export([span], resolve)).finally(() =>
    exporter.shutdown(),
  ) as Promise<ExportResult>;
}

function grpcMetadata(entries: Record<string, string>): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, v);
  return m;
}

/** Calls TraceService/Export with raw bytes and metadata; resolves with the gRPC status code. */
function grpcExportStatus(address: string, metadata: Record<string, string>): Promise<number> {
  const Client = grpc.makeGenericClientConstructor(traceServiceDefinition, "TraceService");
  const client = new Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    (client as unknown as Record<string, (...args: unknown[]) => void>).Export(
      Buffer.alloc(0),
      grpcMetadata(metadata),
      (err: grpc.ServiceError | null) => {
        client.close();
        resolve(err ? err.code : 0);
      },
    );
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("authentication, roles and tenants", () => {
  let app: App;
  let dataDir: string;
  let jwks: Server;
  let source: Server;
  let issuer: string;
  let signingKey: CryptoKey;
  let strangerKey: CryptoKey;
  let acmeTraceId: string;
  let globexTraceId: string;
  let base: string;
  let hosts: Array<Record<string, string>> = [{ id: ACME_HOST, ip: "10.99.0.7", owner: "acme" }];

  const jwt = (claims: Record<string, unknown>, opts: { expiresIn?: number; key?: CryptoKey } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: "test-key" })
      .setIssuer(issuer)
      .setAudience("skald")
      .setSubject("jane@example.com")
      .setIssuedAt(now - 600)
      .setExpirationTime(now + (opts.expiresIn ?? 600))
      .sign(opts.key ?? signingKey);
  };

  const gql = async (query: string, headers: Record<string, string>, variables: object = {}) => {
    const res = await fetch(app.graphqlUrl, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: each test reads the shape its own query asked for.
    type Json = any;
    return { status: res.status, text, body: JSON.parse(text) as { data?: Json; errors?: Json[] } };
  };

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    signingKey = pair.privateKey as CryptoKey;
    strangerKey = (await generateKeyPair("RS256")).privateKey as CryptoKey;
    const publicJwk: JWK = {
      ...(await exportJWK(pair.publicKey)),
      kid: "test-key",
      alg: "RS256",
      use: "sig",
    };
    jwks = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    issuer = await listen(jwks);
    // A config source the recorder crawls for tenant acme (a generic HTTP JSON collection).
    source = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ items: hosts }));
    });
    const sourceUrl = await listen(source);

    dataDir = mkdtempSync(join(tmpdir(), "skald-auth-"));
    app = await startApp({
      storage: { dataDir },
      "flows.vpcHttpPort": 0,
      "flows.netflowPort": 0,
      "flows.ipfixPort": 0,
      auth: {
        enabled: true,
        apiKeys: [
          { name: "acme-sdk", key: KEYS.acme, tenant: "acme" },
          // given as its digest, as an operator would keep it in a config file
          {
            name: "globex-sdk",
            key: `sha256:${(await import("node:crypto")).createHash("sha256").update(KEYS.globex).digest("hex")}`,
            tenant: "globex",
          },
        ],
        tokens: [
          { name: "acme-viewer", token: TOKENS.acmeViewer, tenant: "acme", roles: ["viewer"] },
          { name: "acme-security", token: TOKENS.acmeSecurity, tenant: "acme", roles: ["security"] },
          { name: "acme-deployer", token: TOKENS.acmeDeployer, tenant: "acme", roles: ["deployer"] },
          { name: "acme-admin", token: TOKENS.acmeAdmin, tenant: "acme", roles: ["admin"] },
          { name: "globex-admin", token: TOKENS.globexAdmin, tenant: "globex", roles: ["admin"] },
        ],
        oidc: { issuer, jwksUrl: `${issuer}/jwks.json`, audience: "skald" },
        flowSources: [{ cidr: "10.99.0.0/16", tenant: "acme" }],
      },
      "recorder.tenant": "acme",
      "recorder.intervalSeconds": 3600,
      "recorder.http": [{ name: "hosts", url: `${sourceUrl}/hosts`, itemsPath: "items", idPath: "id" }],
    });
    base = app.graphqlUrl.replace(/\/graphql$/, "");
    await app.recorder!.crawlAll();

    // Each tenant sends through the real SDK with its own key: acme over gRPC, globex over HTTP.
    const acmeSpan = await recordSpan(ACME_SERVICE, "POST /cart");
    const globexSpan = await recordSpan(GLOBEX_SERVICE, "POST /invoice");
    acmeTraceId = acmeSpan.spanContext().traceId;
    globexTraceId = globexSpan.spanContext().traceId;
    const sentAcme = await exportWith(
      new GrpcExporter({
        url: `http://${app.listeners.otlpGrpc}`,
        metadata: grpcMetadata(bearer(KEYS.acme)),
      }),
      acmeSpan,
    );
    const sentGlobex = await exportWith(
      new ProtoExporter({ url: app.listeners.otlpHttp, headers: { "x-api-key": KEYS.globex } }),
      globexSpan,
    );
    expect(sentAcme.code).toBe(ExportResultCode.SUCCESS);
    expect(sentGlobex.code).toBe(ExportResultCode.SUCCESS);
  });

  afterAll(async () => {
    await app?.shutdown();
    jwks?.close();
    source?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("senders without a valid key are refused by the SDK's exporters and the raw protocols; a key cannot write to another tenant", async () => {
    const span = await recordSpan("intruder", "GET /");
    for (const exporter of [
      new GrpcExporter({ url: `http://${app.listeners.otlpGrpc}` }),
      new GrpcExporter({
        url: `http://${app.listeners.otlpGrpc}`,
        metadata: grpcMetadata(bearer("not-a-key-at-all-0000")),
      }),
      new ProtoExporter({ url: app.listeners.otlpHttp }),
      new ProtoExporter({ url: app.listeners.otlpHttp, headers: bearer("not-a-key-at-all-0000") }),
    ]) {
      const r = await exportWith(exporter, span);
      expect(r.code).toBe(ExportResultCode.FAILED);
    }
    expect(await grpcExportStatus(app.listeners.otlpGrpc, {})).toBe(grpc.status.UNAUTHENTICATED);
    expect(await grpcExportStatus(app.listeners.otlpGrpc, bearer("wrong-key-0123456789"))).toBe(
      grpc.status.UNAUTHENTICATED,
    );
    expect(
      await grpcExportStatus(app.listeners.otlpGrpc, { ...bearer(KEYS.acme), "x-scope-orgid": "globex" }),
    ).toBe(grpc.status.PERMISSION_DENIED);

    const post = (headers: Record<string, string>) =>
      fetch(app.listeners.otlpHttp, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: "{}",
      });
    const missing = await post({});
    expect(missing.status).toBe(401);
    expect((await missing.json()).message).toMatch(/API key is required/);
    expect((await post({ "x-api-key": "wrong-key-0123456789" })).status).toBe(401);
    expect((await post({ authorization: "Basic abc" })).status).toBe(401);
    const other = await post({ "x-api-key": KEYS.acme, "x-scope-orgid": "globex" });
    expect(other.status).toBe(403);
    expect(await other.text()).not.toMatch(/globex-sdk|acme-sdk|sender-key/);
    // an authenticated empty export is fine
    expect((await post({ "x-api-key": KEYS.acme })).status).toBe(200);
    // the intruder's span was stored nowhere
    const services = await gql("{ services { name } }", bearer(TOKENS.acmeAdmin));
    expect(services.body.data.services.map((s: { name: string }) => s.name)).not.toContain("intruder");
  });

  it("each tenant sees only its own spans, through GraphQL and the Jaeger API, even by guessing ids", async () => {
    const TRACE = "query($id: ID!) { trace(id: $id) { traceId spans { serviceName name } } }";
    const acme = await gql("{ services { name } }", bearer(TOKENS.acmeViewer));
    expect(acme.body.data.services.map((s: { name: string }) => s.name)).toEqual([ACME_SERVICE]);
    const mine = await gql(TRACE, bearer(TOKENS.acmeViewer), { id: acmeTraceId });
    expect(mine.body.data.trace.spans).toEqual([{ serviceName: ACME_SERVICE, name: "POST /cart" }]);
    const guessed = await gql(TRACE, bearer(TOKENS.acmeViewer), { id: globexTraceId });
    expect(guessed.body.data.trace).toBeNull();
    const byGuid = await gql(
      `{ traceByAttribute(value: "${GLOBEX_SERVICE}-guid") { traceId } }`,
      bearer(TOKENS.acmeViewer),
    );
    expect(byGuid.body.data.traceByAttribute).toEqual([]);
    // a tenant header naming another tenant is refused, not obeyed
    const hop = await gql("{ services { name } }", {
      ...bearer(TOKENS.acmeViewer),
      "x-scope-orgid": "globex",
    });
    expect(hop.status).toBe(403);
    expect(hop.text).not.toContain(GLOBEX_SERVICE);

    const jaeger = (path: string, token: string) =>
      fetch(`${base}${path}`, { headers: bearer(token) }).then(async (r) => ({
        status: r.status,
        text: await r.text(),
      }));
    const jServices = await jaeger("/api/services", TOKENS.globexAdmin);
    expect(JSON.parse(jServices.text).data).toEqual([GLOBEX_SERVICE]);
    const jGuess = await jaeger(`/api/traces/${acmeTraceId}`, TOKENS.globexAdmin);
    expect(jGuess.status).toBe(404);
    expect(jGuess.text).not.toContain(ACME_SERVICE);
    const v3 = await jaeger("/api/v3/services", TOKENS.acmeViewer);
    expect(JSON.parse(v3.text).services).toEqual([ACME_SERVICE]);
  });

  it("OIDC: a JWT from the configured issuer names tenant and roles; expired, badly signed, foreign or role-less tokens are refused", async () => {
    const good = await jwt({ skald_tenant: "globex", skald_roles: ["viewer"] });
    const ok = await gql("{ services { name } }", bearer(good));
    expect(ok.status).toBe(200);
    expect(ok.body.data.services.map((s: { name: string }) => s.name)).toEqual([GLOBEX_SERVICE]);

    const cases: Array<[string, string, number, RegExp]> = [
      [
        "expired",
        await jwt({ skald_tenant: "globex", skald_roles: ["viewer"] }, { expiresIn: -3600 }),
        401,
        /expired/,
      ],
      [
        "badly signed",
        await jwt({ skald_tenant: "globex", skald_roles: ["viewer"] }, { key: strangerKey }),
        401,
        /signature/,
      ],
      ["no tenant", await jwt({ skald_roles: ["viewer"] }), 403, /skald_tenant/],
      ["no role", await jwt({ skald_tenant: "globex", skald_roles: ["root"] }), 403, /role/],
      ["garbage", "eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.", 401, /not valid/],
    ];
    for (const [what, token, status, message] of cases) {
      const r = await gql("{ services { name } }", bearer(token));
      expect(r.status, what).toBe(status);
      expect(r.body.errors?.[0].message, what).toMatch(message);
      expect(r.body.errors?.[0].extensions.code, what).toBe(status === 401 ? "UNAUTHENTICATED" : "FORBIDDEN");
      expect(r.text, what).not.toContain(GLOBEX_SERVICE);
    }
  });

  it("every API refuses missing or wrong credentials (401) and too weak a role (403), leaking nothing", async () => {
    const routes: Array<{ path: string; init?: RequestInit; weak: string }> = [
      { path: "/graphql", init: gqlInit("{ services { name } }"), weak: TOKENS.acmeSecurity },
      { path: "/graphql", init: gqlInit('{ resources(type: "hosts") { id } }'), weak: TOKENS.acmeViewer },
      { path: "/graphql", init: gqlInit("{ canaryConfigs { id } }"), weak: TOKENS.acmeViewer },
      { path: "/graphql", init: gqlInit("{ auditLog { action } }"), weak: TOKENS.acmeSecurity },
      { path: "/api/services", weak: TOKENS.acmeDeployer },
      { path: `/api/traces/${acmeTraceId}`, weak: TOKENS.acmeSecurity },
      { path: "/api/v3/services", weak: TOKENS.acmeDeployer },
      { path: "/api/v2/view/hosts", weak: TOKENS.acmeViewer },
      { path: "/edda/api/v2/view/hosts", weak: TOKENS.acmeDeployer },
      { path: "/kayenta/canaryConfig", weak: TOKENS.acmeViewer },
      { path: "/metrics", weak: TOKENS.acmeViewer },
    ];
    for (const r of routes) {
      const call = (headers: Record<string, string>) =>
        fetch(`${base}${r.path}`, {
          ...r.init,
          headers: { ...(r.init?.headers as Record<string, string>), ...headers },
        }).then(async (res) => ({
          status: res.status,
          text: await res.text(),
          challenge: res.headers.get("www-authenticate"),
        }));
      const none = await call({});
      expect(none.status, `${r.path} without credentials`).toBe(401);
      expect(none.challenge).toMatch(/^Bearer/);
      const wrong = await call(bearer("wrong-token-0123456789"));
      expect(wrong.status, `${r.path} with a wrong token`).toBe(401);
      const weak = await call(bearer(r.weak));
      expect(weak.status, `${r.path} with a weak role`).toBe(403);
      for (const res of [none, wrong, weak]) {
        expect(res.text).not.toContain(ACME_SERVICE);
        expect(res.text).not.toContain(ACME_HOST);
        expect(res.text).not.toContain("sender-key");
        expect(res.text).not.toMatch(/token-0123456789/);
      }
    }
    // public: health and the dashboard shell (which holds no data)
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    // admin may scrape metrics
    expect((await fetch(`${base}/metrics`, { headers: bearer(TOKENS.acmeAdmin) })).status).toBe(200);
  });

  it("config history belongs to the recorder's tenant: security reads it, another tenant sees nothing, by GraphQL and by Edda", async () => {
    const RES = '{ resources(type: "hosts") { id } }';
    const acme = await gql(RES, bearer(TOKENS.acmeSecurity));
    expect(acme.body.data.resources).toEqual([{ id: ACME_HOST }]);
    const globex = await gql(RES, bearer(TOKENS.globexAdmin));
    expect(globex.body.data.resources).toEqual([]);
    const who = await gql(
      `{ whoHad(ip: "10.99.0.7", at: "${new Date().toISOString()}") { id } }`,
      bearer(TOKENS.globexAdmin),
    );
    expect(who.text).not.toContain(ACME_HOST);
    const edda = (token: string) =>
      fetch(`${base}/api/v2/view/hosts`, { headers: bearer(token) }).then(async (r) => ({
        status: r.status,
        text: await r.text(),
      }));
    const eddaAcme = await edda(TOKENS.acmeSecurity);
    expect(eddaAcme.status).toBe(200);
    expect(eddaAcme.text).toContain(ACME_HOST);
    const eddaGlobex = await edda(TOKENS.globexAdmin);
    expect(eddaGlobex.text).not.toContain(ACME_HOST);
    const guessed = await fetch(`${base}/api/v2/view/hosts/${ACME_HOST}`, {
      headers: bearer(TOKENS.globexAdmin),
    });
    // a collection the tenant does not have is unknown to it, as in Edda (400), whatever the id
    expect([400, 404]).toContain(guessed.status);
    expect(await guessed.text()).not.toContain("10.99.0.7");
  });

  it("canary configs and runs belong to the deployer's tenant", async () => {
    const config = {
      name: "checkout-canary",
      metrics: [
        {
          name: "p99 latency",
          query: { type: "latency", quantile: 0.99 },
          groups: ["latency"],
          analysisConfigurations: { canary: { direction: "increase" } },
        },
      ],
    };
    const saved = await fetch(`${base}/kayenta/canaryConfig`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(TOKENS.acmeDeployer) },
      body: JSON.stringify(config),
    });
    const savedText = await saved.text();
    expect(saved.status, savedText).toBe(200);
    const { canaryConfigId } = JSON.parse(savedText) as { canaryConfigId: string };
    const mine = await fetch(`${base}/kayenta/canaryConfig/${canaryConfigId}`, {
      headers: bearer(TOKENS.acmeDeployer),
    });
    expect(mine.status).toBe(200);
    const theirs = await fetch(`${base}/kayenta/canaryConfig/${canaryConfigId}`, {
      headers: bearer(TOKENS.globexAdmin),
    });
    expect(theirs.status).toBe(404);
    expect(await theirs.text()).not.toContain("checkout-canary");
    const list = await gql("{ canaryConfigs { id name } }", bearer(TOKENS.globexAdmin));
    expect(list.body.data?.canaryConfigs, list.text).toEqual([]);
    // a viewer may not create one
    const viewer = await fetch(`${base}/kayenta/canaryConfig`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(TOKENS.acmeViewer) },
      body: JSON.stringify(config),
    });
    expect(viewer.status).toBe(403);
  });

  it("flows: the VPC endpoint takes the sender's key as the tenant; UDP exporters outside the allow-list are dropped", async () => {
    const now = Math.floor(Date.now() / 1000);
    const lines = `srcaddr dstaddr bytes packets start end log-status\n10.99.0.7 10.99.0.8 4000 4 ${now - 30} ${now} OK\n`;
    const post = (headers: Record<string, string>) =>
      fetch(app.listeners.vpcFlowLogs, {
        method: "POST",
        headers: { "x-skald-vpc-format": "srcaddr dstaddr bytes packets start end log-status", ...headers },
        body: lines,
      });
    expect((await post({})).status).toBe(401);
    const ok = await post({ "x-api-key": KEYS.acme });
    expect(ok.status).toBe(200);
    const Q = `query($from: DateTime!, $to: DateTime!) { topTalkers(from: $from, to: $to) { name bytes } }`;
    const window = {
      from: new Date((now - 3600) * 1000).toISOString(),
      to: new Date((now + 3600) * 1000).toISOString(),
    };
    const acme = await gql(Q, bearer(TOKENS.acmeViewer), window);
    expect(acme.body.data.topTalkers.map((t: { name: string }) => t.name).sort()).toEqual([
      "10.99.0.7",
      "10.99.0.8",
    ]);
    const globex = await gql(Q, bearer(TOKENS.globexAdmin), window);
    expect(globex.body.data.topTalkers).toEqual([]);
    // NetFlow/IPFIX carry no credentials: this exporter (127.0.0.1) is not in auth.flowSources
    const [host, port] = [app.listeners.ipfix.split(":")[0], Number(app.listeners.ipfix.split(":").pop())];
    const udp = createSocket("udp4");
    const rec = basicRecord("10.5.0.1", "10.5.0.2", 1, 2, 17, 10, 1, now * 1000, now * 1000);
    const packet = ipfixMessage({
      domain: 1,
      seq: 0,
      exportSecs: now,
      sets: [set(2, ipfixTemplate(256, BASIC_FIELDS)), set(256, rec)],
    });
    await new Promise<void>((ok) => udp.send(packet, port, host, () => ok()));
    udp.close();
    let dropped = "";
    for (let i = 0; i < 100 && !/unauthorized_source"} 1/.test(dropped); i++) {
      await new Promise((r) => setTimeout(r, 20));
      dropped = (await app.metrics.registry.getSingleMetricAsString("skald_flows_dropped_total")) ?? "";
    }
    expect(dropped).toMatch(/receiver="ipfix",reason="unauthorized_source"} 1/);
  });

  it("the audit log records config-history reads and refusals, for admins of that tenant only", async () => {
    await gql('{ resources(type: "hosts") { id } }', bearer(TOKENS.acmeSecurity));
    await fetch(`${base}/api/v2/view/hosts`, { headers: bearer(TOKENS.acmeSecurity) });
    await fetch(`${base}/api/v2/view/hosts`, { headers: bearer(TOKENS.acmeViewer) }); // refused, audited
    const AUDIT = "{ auditLog(first: 100) { principal action target status via roles } }";
    let entries: Array<{ principal: string; action: string; target: string; status: number }> = [];
    for (let i = 0; i < 50; i++) {
      const r = await gql(AUDIT, bearer(TOKENS.acmeAdmin));
      entries = r.body.data.auditLog;
      if (entries.some((e) => e.principal === "acme-viewer")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(entries).toContainEqual(
      expect.objectContaining({
        principal: "acme-security",
        action: "graphql query",
        target: "resources",
        status: 200,
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({
        principal: "acme-security",
        action: "GET /api/v2/*",
        target: "/api/v2/view/hosts",
        status: 200,
      }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ principal: "acme-viewer", action: "GET /api/v2/*", status: 403 }),
    );
    const globex = await gql(AUDIT, bearer(TOKENS.globexAdmin));
    expect(
      globex.body.data.auditLog.filter((e: { principal: string }) => e.principal.startsWith("acme")),
    ).toEqual([]);
    const viewer = await gql(AUDIT, bearer(TOKENS.acmeViewer));
    expect(viewer.status).toBe(403);
  });

  it("injection and abuse are refused or harmless, and the service keeps serving", async () => {
    const SEARCH = `query($f: TraceFilter) { traces(filter: $f, first: 10) { edges { node { traceId } } } }`;
    for (const filter of [
      { attributes: [{ key: "x') OR 1=1 --", value: "y" }] },
      { attributes: [{ key: "request.guid", value: "' OR '1'='1" }] },
      { service: "acme-checkout' OR tenant != 'acme" },
      { resourceAttributes: [{ key: "service.name\\' OR 1=1 --", value: null }] },
    ]) {
      const r = await gql(SEARCH, bearer(TOKENS.globexAdmin), { f: filter });
      expect(r.text).not.toContain(acmeTraceId);
      if (r.body.errors) expect(r.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
      else expect(r.body.data.traces.edges).toEqual([]);
    }
    // nesting far beyond query.maxDepth, directly and through thousands of nested fragments
    const deep = await gql(
      `{ trace(id: "${acmeTraceId}") { spans { events { attributes { key } } links { attributes { key } } } } }`.replace(
        "{ key }",
        "{ key value }",
      ),
      bearer(TOKENS.acmeViewer),
    );
    expect(deep.status).toBe(200);
    const nestedFragments = `{ ${"... on Query { ".repeat(5000)}services { name }${" }".repeat(5000)} }`;
    const tooDeep = await gql(nestedFragments, bearer(TOKENS.acmeViewer));
    expect(tooDeep.body.errors?.[0].extensions.code, tooDeep.text.slice(0, 300)).toMatch(
      /LIMIT_EXCEEDED|BAD_USER_INPUT/,
    );
    const aliases = `{ ${Array.from({ length: 300 }, (_, i) => `a${i}: services { name }`).join(" ")} }`;
    const tooMany = await gql(aliases, bearer(TOKENS.acmeViewer));
    expect(tooMany.body.errors?.[0].extensions.code).toBe("LIMIT_EXCEEDED");
    expect(tooMany.body.errors?.[0].message).toMatch(/alias/i);
    // catastrophic-backtracking regex in an Edda selector
    const redos = await fetch(`${base}/api/v2/view/hosts;_expand:(id:~/(a+)+$/)`, {
      headers: bearer(TOKENS.acmeSecurity),
    });
    expect([200, 400]).toContain(redos.status);
    // still serving
    const after = await gql("{ services { name } }", bearer(TOKENS.acmeViewer));
    expect(after.body.data.services).toEqual([{ name: ACME_SERVICE }]);
  });

  it("the dashboard asks for a token, then shows only the signed-in tenant's data", async () => {
    const browser = await openBrowser();
    try {
      const { page } = await browser.newPage();
      await page.goto(`${base}/traces`);
      const dialog = page.getByRole("dialog", { name: "Sign in to Skald" });
      await dialog.waitFor({ timeout: 30_000 });
      expect(await page.content()).not.toContain(ACME_SERVICE);
      await dialog.getByLabel("Token").fill(TOKENS.globexAdmin);
      await dialog.getByRole("button", { name: "Sign in" }).click();
      const filter = page.getByLabel("Service filter");
      await expect.poll(() => filter.textContent(), { timeout: 30_000 }).toContain(GLOBEX_SERVICE);
      expect(await filter.textContent()).not.toContain(ACME_SERVICE);
      expect(await page.getByRole("dialog").count()).toBe(0);
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByRole("dialog", { name: "Sign in to Skald" }).waitFor({ timeout: 30_000 });
    } finally {
      await browser.close();
    }
  });

  it("a role without a query server (here `skald recorder`) serves /metrics only to an admin when authentication is on", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "skald-auth-recorder-"));
    const configFile = join(dir, "skald.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        storage: { dataDir: join(dir, "data") },
        kafka: { metricsPort: port },
        recorder: {
          intervalSeconds: 3600,
          http: [{ name: "hosts", url: `${issuer}/hosts`, idPath: "id" }],
        },
        auth: {
          enabled: true,
          tokens: [
            { name: "ops", token: TOKENS.acmeAdmin, tenant: "acme", roles: ["admin"] },
            { name: "eyes", token: TOKENS.acmeViewer, tenant: "acme", roles: ["viewer"] },
          ],
        },
      }),
    );
    const child = spawn(
      process.execPath,
      [...NODE_FLAGS, "bin/skald.js", "recorder", "--config", configFile],
      {
        env: { ...process.env, SKALD_LOG_LEVEL: "warn" },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (b) => (stderr += String(b)));
    try {
      const url = `http://127.0.0.1:${port}`;
      await expect
        .poll(
          () =>
            fetch(`${url}/healthz`).then(
              (r) => r.status,
              () => 0,
            ),
          { timeout: 60_000, interval: 200 },
        )
        .toBe(200);
      const none = await fetch(`${url}/metrics`);
      expect(none.status, stderr).toBe(401);
      expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect((await fetch(`${url}/metrics`, { headers: bearer(TOKENS.acmeViewer) })).status).toBe(403);
      const admin = await fetch(`${url}/metrics`, { headers: bearer(TOKENS.acmeAdmin) });
      expect(admin.status).toBe(200);
      expect(await admin.text()).toContain("skald_");
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("config-change subscriptions (SSE) deliver only the subscriber's tenant's changes", async () => {
    const subscribe = async (token: string) => {
      const abort = new AbortController();
      const res = await fetch(app.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream", ...bearer(token) },
        body: JSON.stringify({ query: 'subscription { configChanges(types: ["hosts"]) { type id kind } }' }),
        signal: abort.signal,
      });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let text = "";
      const pump = (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            text += new TextDecoder().decode(value);
          }
        } catch {
          // aborted
        }
      })();
      return { text: () => text, stop: () => abort.abort(), pump };
    };
    const mine = await subscribe(TOKENS.acmeSecurity);
    const theirs = await subscribe(TOKENS.globexAdmin);
    // a viewer may not subscribe to config history at all
    const viewer = await fetch(app.graphqlUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        ...bearer(TOKENS.acmeViewer),
      },
      body: JSON.stringify({ query: 'subscription { configChanges(types: ["hosts"]) { id } }' }),
    });
    expect(await viewer.text()).toMatch(/needs the security role/);
    await new Promise((r) => setTimeout(r, 1000));
    hosts = [...hosts, { id: "i-acme-new-host", ip: "10.99.0.9", owner: "acme" }];
    await app.recorder!.crawlAll();
    await expect.poll(() => mine.text(), { timeout: 15_000 }).toContain("i-acme-new-host");
    // the other tenant's stream, open over the same change, carried nothing of it
    await new Promise((r) => setTimeout(r, 1000));
    mine.stop();
    theirs.stop();
    await Promise.all([mine.pump, theirs.pump]);
    expect(theirs.text()).not.toContain("i-acme");
  });
});

function gqlInit(query: string): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query }),
  };
}
