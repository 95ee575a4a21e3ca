import { mkdtempSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningApp, runRole } from "../../cli/app.js";
import { loadConfig } from "../../core/config/load.js";
import { createLogger } from "../../core/log.js";
import { startApp } from "../support/app.js";
import { makeTestPki, type TestPki } from "../support/tls.js";

type App = Awaited<ReturnType<typeof startApp>>;

/** What a client presents: the CA it trusts, and maybe a client certificate. */
interface ClientTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Two spans of one trace, recorded by the real SDK (not yet exported anywhere). */
async function recordTrace(service: string): Promise<{ traceId: string; spans: ReadableSpan[] }> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": service }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer("tls-test");
  const root = tracer.startSpan("GET /secure", { kind: SpanKind.SERVER }, ROOT_CONTEXT);
  const child = tracer.startSpan("SELECT 1", { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, root));
  child.end();
  root.end();
  await provider.forceFlush();
  const spans = [...memory.getFinishedSpans()];
  await provider.shutdown();
  return { traceId: root.spanContext().traceId, spans };
}

/** Exports through the SDK exporter and reports its result (the exporter is shut down after). */
async function exportWith(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  const result = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
  await exporter.shutdown();
  return result;
}

const TIMEOUT = { timeoutMillis: 4000 };

function grpcExporter(url: string, tls: ClientTls | "insecure"): SpanExporter {
  const credentials =
    tls === "insecure"
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null);
  return new GrpcExporter({ url, credentials, ...TIMEOUT });
}

function httpExporter(kind: "proto" | "json", url: string, tls?: ClientTls): SpanExporter {
  const Exporter = kind === "proto" ? ProtoExporter : JsonExporter;
  return new Exporter({ url, ...TIMEOUT, ...(tls ? { httpAgentOptions: { ...tls } } : {}) });
}

/** An HTTPS request with the given trust; resolves with status and body, rejects on TLS failure. */
function httpsCall(
  url: string,
  tls: ClientTls,
  opts: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: opts.method ?? "GET", headers: opts.headers, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

async function graphqlTrace(app: App, tls: ClientTls, traceId: string): Promise<string[] | null> {
  const res = await httpsCall(app.graphqlUrl, tls, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      query: "query ($id: ID!) { trace(id: $id) { spans { name serviceName } } }",
      variables: { id: traceId },
    }),
  });
  expect(res.status).toBe(200);
  const body = JSON.parse(res.body) as { data?: { trace: { spans: Array<{ name: string }> } | null } };
  return body.data?.trace?.spans.map((s) => s.name).sort() ?? null;
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; cause?: unknown }> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to fail");
}

let pki: TestPki;
const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "skald-tls-"));
  dirs.push(dir);
  return dir;
}

beforeAll(() => {
  pki = makeTestPki();
});
afterAll(() => {
  pki?.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const noUdp = { "flows.netflowPort": 0, "flows.ipfixPort": 0 };

describe("every listener over TLS (certificate and key from configuration)", () => {
  let app: App;
  let trusted: ClientTls;
  beforeAll(async () => {
    trusted = { ca: pki.ca };
    app = await startApp({
      storage: { dataDir: dataDir() },
      tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile },
      "flows.vpcHttpPort": 0,
      ...noUdp,
    });
  });
  afterAll(() => app?.shutdown());

  it("prints https addresses", () => {
    expect(app.listeners.otlpGrpc).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(app.listeners.otlpHttp).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1\/traces$/);
    expect(app.listeners.graphql).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/graphql$/);
    expect(app.listeners.vpcFlowLogs).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1\/flows\/vpc$/);
  });

  const senders: Array<[string, () => SpanExporter]> = [
    ["gRPC", () => grpcExporter(app.listeners.otlpGrpc, trusted)],
    ["HTTP/protobuf", () => httpExporter("proto", app.listeners.otlpHttp, trusted)],
    ["HTTP/JSON", () => httpExporter("json", app.listeners.otlpHttp, trusted)],
  ];
  it.each(senders)(
    "the SDK's %s exporter trusting the CA delivers; GraphQL over https reads it back",
    async (name, make) => {
      const { traceId, spans } = await recordTrace(`svc-${name}`);
      const result = await exportWith(make(), spans);
      expect(result.error?.message).toBeUndefined();
      expect(result.code).toBe(ExportResultCode.SUCCESS);
      expect(await graphqlTrace(app, trusted, traceId)).toEqual(["GET /secure", "SELECT 1"]);
    },
  );

  it("plaintext clients are refused: gRPC without TLS, OTLP/HTTP and GraphQL over http://", async () => {
    const { traceId, spans } = await recordTrace("svc-plaintext");
    const plainUrl = (url: string) => url.replace(/^https:/, "http:");
    const viaGrpc = await exportWith(grpcExporter(plainUrl(app.listeners.otlpGrpc), "insecure"), spans);
    expect(viaGrpc.code).toBe(ExportResultCode.FAILED);
    const viaHttp = await exportWith(httpExporter("proto", plainUrl(app.listeners.otlpHttp)), spans);
    expect(viaHttp.code).toBe(ExportResultCode.FAILED);
    await rejection(fetch(plainUrl(app.graphqlUrl), { method: "POST", body: "{}" }));
    expect(await graphqlTrace(app, trusted, traceId)).toBeNull();
  });

  it("clients that do not trust Skald's CA refuse its certificate", async () => {
    const { traceId, spans } = await recordTrace("svc-distrust");
    const stranger: ClientTls = { ca: pki.otherCa };
    const viaGrpc = await exportWith(grpcExporter(app.listeners.otlpGrpc, stranger), spans);
    expect(viaGrpc.code).toBe(ExportResultCode.FAILED);
    const viaHttp = await exportWith(httpExporter("proto", app.listeners.otlpHttp, stranger), spans);
    expect(viaHttp.code).toBe(ExportResultCode.FAILED);
    const err = await rejection(httpsCall(app.graphqlUrl.replace("/graphql", "/healthz"), stranger));
    expect(err.code).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(await graphqlTrace(app, trusted, traceId)).toBeNull();
  });

  it("VPC Flow Logs are accepted over https", async () => {
    const now = Math.floor(Date.now() / 1000);
    const line = `2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 50000 6 10 8400 ${now - 5} ${now} ACCEPT OK`;
    const res = await httpsCall(app.listeners.vpcFlowLogs, trusted, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: line,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ accepted: 1, skipped: 0 });
  });
});

describe("mutual TLS (tls.caFile + tls.requireClientCert)", () => {
  let app: App;
  beforeAll(async () => {
    app = await startApp({
      storage: { dataDir: dataDir() },
      tls: {
        certFile: pki.serverCertFile,
        keyFile: pki.serverKeyFile,
        caFile: pki.caFile,
        requireClientCert: true,
      },
      ...noUdp,
    });
  });
  afterAll(() => app?.shutdown());

  it("a client without a certificate is refused on gRPC, OTLP/HTTP and the query server", async () => {
    const { traceId, spans } = await recordTrace("svc-anonymous");
    const anonymous: ClientTls = { ca: pki.ca };
    expect((await exportWith(grpcExporter(app.listeners.otlpGrpc, anonymous), spans)).code).toBe(
      ExportResultCode.FAILED,
    );
    expect((await exportWith(httpExporter("proto", app.listeners.otlpHttp, anonymous), spans)).code).toBe(
      ExportResultCode.FAILED,
    );
    await rejection(httpsCall(app.graphqlUrl.replace("/graphql", "/healthz"), anonymous));
    const client: ClientTls = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey };
    expect(await graphqlTrace(app, client, traceId)).toBeNull();
  });

  it("a client with a certificate from the CA is served", async () => {
    const client: ClientTls = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey };
    const viaGrpc = await recordTrace("svc-mtls-grpc");
    expect((await exportWith(grpcExporter(app.listeners.otlpGrpc, client), viaGrpc.spans)).code).toBe(
      ExportResultCode.SUCCESS,
    );
    const viaHttp = await recordTrace("svc-mtls-http");
    expect(
      (await exportWith(httpExporter("proto", app.listeners.otlpHttp, client), viaHttp.spans)).code,
    ).toBe(ExportResultCode.SUCCESS);
    expect(await graphqlTrace(app, client, viaGrpc.traceId)).toEqual(["GET /secure", "SELECT 1"]);
    expect(await graphqlTrace(app, client, viaHttp.traceId)).toEqual(["GET /secure", "SELECT 1"]);
  });
});

describe("the metrics listener of a collector over TLS", () => {
  let app: RunningApp;
  beforeAll(async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        "storage.dataDir": dataDir(),
        "otlp.grpcPort": 0,
        "otlp.httpPort": 0,
        "kafka.metricsPort": 0,
        "flows.enabled": false,
        tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile },
      },
    });
    app = await runRole("collector", config, createLogger("silent"));
  });
  afterAll(() => app?.shutdown());

  it("serves /metrics over https only", async () => {
    expect(app.listeners.metrics).toMatch(/^https:\/\//);
    const res = await httpsCall(app.listeners.metrics, { ca: pki.ca });
    expect(res.status).toBe(200);
    expect(res.body).toContain("skald_");
    await rejection(fetch(app.listeners.metrics.replace(/^https:/, "http:")));
  });
});

describe("start-up with a bad certificate", () => {
  it("fails naming the file before anything listens", async () => {
    const config = loadConfig({
      env: {
        SKALD_DATA_DIR: dataDir(),
        SKALD_TLS_CERT_FILE: pki.serverCertFile,
        SKALD_TLS_KEY_FILE: pki.strayKeyFile,
      },
    });
    const err = await rejection(runRole("start", config, createLogger("silent")));
    expect(err.message).toBe(
      `tls.keyFile: the key in ${pki.strayKeyFile} does not match the certificate in ${pki.serverCertFile}`,
    );
  });
});
