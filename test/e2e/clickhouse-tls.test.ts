import { connect, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { ROOT_CONTEXT, SpanKind } from "@opentelemetry/api";
import { OTLPTraceExporter as ProtoExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../core/config/load.js";
import { openStore } from "../../core/store/store.js";
import { graphql, startApp } from "../support/app.js";
import { type ClickHouseServer, startClickHouseServer } from "../support/clickhouse-server.js";
import { makeTestPki, type TestPki } from "../support/tls.js";

// Skald → ClickHouse over TLS. The test ClickHouse (clickhouse-local from libchdb.so) opens its
// HTTP listener but not its HTTPS one (`SYSTEM START LISTEN HTTPS` binds nothing in that build),
// so a TLS terminator in this process sits in front of it: TLS from Skald's @clickhouse/client
// ends there with the test CA's server certificate (and, for mTLS, checks Skald's client
// certificate); the bytes behind it go unchanged to the real ClickHouse. What is under test is
// the client side — storage.tls → trust, client certificate, refusal — and the terminator is a
// real TLS server for it, so this is a real handshake and a real ClickHouse, not a mock.

interface Terminator {
  url: string;
  /** TLS connections that completed a handshake. */
  handshakes(): number;
  close(): Promise<void>;
}

function terminate(pki: TestPki, backendPort: number, requireClientCert: boolean): Promise<Terminator> {
  let handshakes = 0;
  const sockets = new Set<Socket>();
  const server: Server = createTlsServer(
    {
      cert: pki.serverCert,
      key: pki.serverKey,
      ca: pki.ca,
      requestCert: requireClientCert,
      rejectUnauthorized: requireClientCert,
    },
    (tlsSocket) => {
      handshakes++;
      const backend = connect(backendPort, "127.0.0.1");
      sockets.add(tlsSocket).add(backend);
      tlsSocket.pipe(backend).pipe(tlsSocket);
      const drop = () => {
        tlsSocket.destroy();
        backend.destroy();
      };
      tlsSocket.on("error", drop).on("close", drop);
      backend.on("error", drop).on("close", drop);
    },
  );
  server.on("tlsClientError", () => undefined);
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      resolve({
        url: `https://127.0.0.1:${port}`,
        handshakes: () => handshakes,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

describe("ClickHouse over TLS (storage.tls)", () => {
  let pki: TestPki;
  let ch: ClickHouseServer;
  let tls: Terminator;
  let mtls: Terminator;

  beforeAll(async () => {
    pki = makeTestPki();
    ch = await startClickHouseServer();
    tls = await terminate(pki, ch.port, false);
    mtls = await terminate(pki, ch.port, true);
  }, 60_000);
  afterAll(async () => {
    await tls?.close();
    await mtls?.close();
    await ch?.destroy();
    pki?.cleanup();
  });

  it("skald start migrates, stores and reads over https trusting the configured CA", async () => {
    const before = tls.handshakes();
    const app = await startApp({
      storage: { url: tls.url, tls: { caFile: pki.caFile } },
      "flows.enabled": false,
    });
    try {
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({ "service.name": "tls-to-clickhouse" }),
        spanProcessors: [new SimpleSpanProcessor(new ProtoExporter({ url: app.listeners.otlpHttp }))],
      });
      const span = provider
        .getTracer("ch-tls")
        .startSpan("PUT /ledger", { kind: SpanKind.SERVER }, ROOT_CONTEXT);
      span.end();
      await provider.forceFlush();
      await provider.shutdown();
      const res = await graphql<{ trace: { spans: Array<{ name: string }> } | null }>(
        app.graphqlUrl,
        "query ($id: ID!) { trace(id: $id) { spans { name } } }",
        { id: span.spanContext().traceId },
      );
      expect(res.data?.trace?.spans.map((s) => s.name)).toEqual(["PUT /ledger"]);
    } finally {
      await app.shutdown();
    }
    expect(tls.handshakes()).toBeGreaterThan(before);
    // the span is in the real ClickHouse behind the terminator
    const direct = await fetch(
      `${ch.url}/?query=${encodeURIComponent("SELECT name FROM skald.spans FORMAT TSV")}`,
    );
    expect((await direct.text()).trim()).toBe("PUT /ledger");
  }, 60_000);

  it("without the CA the server's certificate is refused", async () => {
    const store = await openStore(loadConfig({ env: {}, overrides: { "storage.url": tls.url } }).storage);
    try {
      const ping = await store.client.ping();
      expect(ping.success).toBe(false);
      expect(ping.success ? "" : String(ping.error)).toMatch(/self[- ]signed certificate|unable to verify/i);
    } finally {
      await store.close();
    }
  });

  it("mutual TLS: the client certificate gets through the handshake, no certificate does not", async () => {
    // With certFile/keyFile, @clickhouse/client also asks ClickHouse to authenticate the user by that
    // certificate (X-ClickHouse-SSL-Certificate-Auth), which only a ClickHouse terminating TLS
    // itself can do: behind this terminator, ClickHouse answers AUTHENTICATION_FAILED, and that
    // answer is the proof the request passed the TLS handshake with the client certificate.
    const withCert = await openStore(
      loadConfig({
        env: {},
        overrides: {
          "storage.url": mtls.url,
          "storage.tls": { caFile: pki.caFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile },
        },
      }).storage,
    );
    const withoutCert = await openStore(
      loadConfig({ env: {}, overrides: { "storage.url": mtls.url, "storage.tls": { caFile: pki.caFile } } })
        .storage,
    );
    try {
      const before = mtls.handshakes();
      const answered = await withCert.client.query({ query: "SELECT 1" }).then(
        () => ({ type: "ok" }),
        (err: { type?: string }) => ({ type: err.type }),
      );
      expect(answered.type).toBe("AUTHENTICATION_FAILED");
      expect(mtls.handshakes()).toBe(before + 1);
      const refused = await withoutCert.client.query({ query: "SELECT 1" }).then(
        () => ({ type: "ok", message: "" }),
        (err: Error & { type?: string }) => ({ type: err.type, message: err.message }),
      );
      expect(refused.type).toBeUndefined(); // not an answer from ClickHouse: the handshake failed
      expect(refused.message).toMatch(/certificate required|socket hang up|ECONNRESET/i);
      expect(mtls.handshakes()).toBe(before + 1);
    } finally {
      await withCert.close();
      await withoutCert.close();
    }
  });
});
