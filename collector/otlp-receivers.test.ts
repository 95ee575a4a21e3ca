import { gzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type startApp as StartApp, startApp } from "../test/support/app.js";
import { encodeRequest, generateRequest, ProtoWriter } from "../test/support/otlp-encode.js";
import { STORE_TARGETS } from "../test/support/targets.js";
import { traceServiceDefinition } from "./otlp-grpc.js";

type App = Awaited<ReturnType<typeof StartApp>>;

const GrpcClient = grpc.makeGenericClientConstructor(traceServiceDefinition, "TraceService");

function grpcExport(address: string, body: Buffer, metadata = new grpc.Metadata()) {
  const client = new GrpcClient(address, grpc.credentials.createInsecure()) as unknown as {
    Export(req: Buffer, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void;
    close(): void;
  };
  return new Promise<{ err: grpc.ServiceError | null; res?: Buffer }>((resolve) => {
    client.Export(body, metadata, (err, res) => {
      client.close();
      resolve({ err, res });
    });
  });
}

async function post(app: App, body: Buffer | string, headers: Record<string, string>) {
  const res = await fetch(app.listeners.otlpHttp, { method: "POST", body: body as BodyInit, headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

async function storedSpans(app: App, tenant = "default"): Promise<number> {
  const rs = await app.store.client.query({
    query: `SELECT count() AS n FROM ${app.store.database}.spans WHERE tenant = {t:String}`,
    query_params: { t: tenant },
    format: "JSONEachRow",
  });
  return Number((await rs.json<{ n: string }>())[0].n);
}

const badIdRequest = () => {
  const now = BigInt(Date.now()) * 1_000_000n;
  const good = {
    traceId: Buffer.alloc(16, 1),
    spanId: Buffer.alloc(8, 2),
    name: "ok",
    startNs: now,
    endNs: now + 5n,
  };
  return encodeRequest("svc", [
    good,
    { ...good, spanId: Buffer.alloc(8, 3) },
    { ...good, traceId: Buffer.alloc(5, 1) },
    { ...good, spanId: Buffer.alloc(8, 0) },
  ]);
};

const invalidUtf8Request = () => {
  const w = new ProtoWriter();
  w.message(1, (rs) =>
    rs.message(2, (ss) =>
      ss.message(2, (s) =>
        s
          .bytes(1, Buffer.alloc(16, 1))
          .bytes(2, Buffer.alloc(8, 1))
          .bytes(5, Buffer.from([0xc3, 0x28])),
      ),
    ),
  );
  return w.finish();
};

const deepAnyValueRequest = (depth: number) => {
  let value = new ProtoWriter().string(1, "leaf").finish();
  for (let i = 0; i < depth; i++) value = new ProtoWriter().message(5, (arr) => arr.bytes(1, value)).finish();
  const w = new ProtoWriter();
  w.message(1, (rs) =>
    rs.message(2, (ss) =>
      ss.message(2, (s) =>
        s
          .bytes(1, Buffer.alloc(16, 1))
          .bytes(2, Buffer.alloc(8, 1))
          .string(5, "deep")
          .message(9, (kv) => kv.string(1, "k").bytes(2, value)),
      ),
    ),
  );
  return w.finish();
};

describe("OTLP receivers with hostile input (embedded store)", () => {
  let app: App;
  let target: Awaited<ReturnType<(typeof STORE_TARGETS)[0]["setup"]>>;
  let baseline = 0;

  beforeAll(async () => {
    target = await STORE_TARGETS[0].setup();
    app = await startApp({ storage: target.storage, "otlp.maxRequestBytes": 256 * 1024 });
    // data accepted before the abuse; it must survive everything below
    const { body } = generateRequest({ service: "before", count: 100, attrs: 3 });
    expect((await post(app, body, { "content-type": "application/x-protobuf" })).status).toBe(200);
    baseline = await storedSpans(app);
    expect(baseline).toBe(100);
  });
  afterAll(async () => {
    await app?.shutdown();
    await target?.cleanup();
  });

  const protobuf = { "content-type": "application/x-protobuf" };

  it("HTTP: malformed protobuf is 400 with a google.rpc.Status naming the problem", async () => {
    const r = await post(app, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), protobuf);
    expect(r.status).toBe(400);
    expect(r.headers.get("content-type")).toContain("application/x-protobuf");
    expect(r.body.toString("latin1")).toMatch(/truncated|length|past the end|exceeds/i);
  });

  it("HTTP: truncated gzip is 400", async () => {
    const gz = gzipSync(generateRequest({ service: "x", count: 10, attrs: 2 }).body);
    const r = await post(app, gz.subarray(0, gz.length - 10), { ...protobuf, "content-encoding": "gzip" });
    expect(r.status).toBe(400);
    expect(r.body.toString("latin1")).toContain("gzip");
  });

  it("HTTP: gzip body is accepted", async () => {
    const { body } = generateRequest({ service: "gz", count: 10, attrs: 2 });
    const r = await post(app, gzipSync(body), { ...protobuf, "content-encoding": "gzip" });
    expect(r.status).toBe(200);
  });

  it("HTTP: wrong content type is 415", async () => {
    const r = await post(app, "hello", { "content-type": "text/plain" });
    expect(r.status).toBe(415);
    expect(r.body.toString()).toContain("application/x-protobuf");
  });

  it("HTTP: oversized body and gzip bomb are 413", async () => {
    const big = Buffer.alloc(300 * 1024, 0x41);
    expect((await post(app, big, protobuf)).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0));
    const r = await post(app, bomb, { ...protobuf, "content-encoding": "gzip" });
    expect(r.status).toBe(413);
  });

  it("HTTP: ids of wrong length are rejected span by span (partial success)", async () => {
    const r = await post(app, badIdRequest(), { "content-type": "application/x-protobuf" });
    expect(r.status).toBe(200);
    // ExportTraceServiceResponse.partial_success.rejected_spans = 2
    expect(r.body[0]).toBe(0x0a);
    expect(r.body.subarray(2, 4)).toEqual(Buffer.from([0x08, 0x02]));
    expect(r.body.toString("latin1")).toMatch(/trace_id|span_id/);
  });

  it("HTTP/JSON: partial success and malformed JSON", async () => {
    const traceId = "5b8efff798038103d269b633813fc60c";
    // spans older than the retention are dropped on insert, so times must be recent
    const t = (BigInt(Date.now()) * 1_000_000n).toString();
    const json = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "json-svc" } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId,
                  spanId: "eee19b7ec3c1b174",
                  name: "a",
                  kind: 2,
                  startTimeUnixNano: t,
                  endTimeUnixNano: t,
                },
                {
                  traceId: "abcd",
                  spanId: "eee19b7ec3c1b175",
                  name: "b",
                  startTimeUnixNano: t,
                  endTimeUnixNano: t,
                },
              ],
            },
          ],
        },
      ],
    };
    const ok = await post(app, JSON.stringify(json), { "content-type": "application/json" });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body.toString()).partialSuccess.rejectedSpans).toBe("1");
    const bad = await post(app, "{not json", { "content-type": "application/json" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString())).toMatchObject({ code: 3 });
  });

  it("HTTP: invalid UTF-8 and deeply nested AnyValue are 400", async () => {
    const utf = await post(app, invalidUtf8Request(), protobuf);
    expect(utf.status).toBe(400);
    expect(utf.body.toString("latin1")).toMatch(/utf-?8/i);
    const deep = await post(app, deepAnyValueRequest(1000), protobuf);
    expect(deep.status).toBe(400);
    expect(deep.body.toString("latin1")).toMatch(/nested|depth/i);
  });

  it("HTTP: empty request is a successful no-op; bad tenant is 400", async () => {
    expect((await post(app, Buffer.alloc(0), protobuf)).status).toBe(200);
    const r = await post(app, generateRequest({ service: "t", count: 1, attrs: 0 }).body, {
      ...protobuf,
      "x-scope-orgid": "bad tenant/..",
    });
    expect(r.status).toBe(400);
  });

  it("gRPC: malformed, invalid UTF-8 and deep nesting are INVALID_ARGUMENT; bad ids partial success", async () => {
    const addr = app.listeners.otlpGrpc;
    for (const body of [Buffer.from([0x0a, 0xff, 0xff]), invalidUtf8Request(), deepAnyValueRequest(1000)]) {
      const { err } = await grpcExport(addr, body);
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details.length).toBeGreaterThan(5);
    }
    const partial = await grpcExport(addr, badIdRequest());
    expect(partial.err).toBeNull();
    expect(partial.res?.subarray(2, 4)).toEqual(Buffer.from([0x08, 0x02]));
    const empty = await grpcExport(addr, Buffer.alloc(0));
    expect(empty.err).toBeNull();
  });

  it("gRPC: oversized message is refused", async () => {
    const { err } = await grpcExport(app.listeners.otlpGrpc, Buffer.alloc(300 * 1024, 0x41));
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it("keeps serving and lost nothing accepted before", async () => {
    const { body } = generateRequest({ service: "after", count: 50, attrs: 2 });
    expect((await post(app, body, protobuf)).status).toBe(200);
    const md = new grpc.Metadata();
    md.set("x-scope-orgid", "tenant-b");
    const r = await grpcExport(
      app.listeners.otlpGrpc,
      generateRequest({ service: "g", count: 7, attrs: 1 }).body,
      md,
    );
    expect(r.err).toBeNull();
    expect(await storedSpans(app, "tenant-b")).toBe(7);
    // baseline + gzip 10 + json 1 + 2 partial (http) + 2 partial (grpc) + 50
    expect(await storedSpans(app)).toBe(baseline + 10 + 1 + 2 + 2 + 50);
  });
  it("stores a request sent twice twice: an acknowledged request is never silently deduplicated", async () => {
    const { body } = generateRequest({ service: "dup", count: 64, attrs: 3 });
    const headers = { "content-type": "application/x-protobuf", "x-scope-orgid": "tenant-dup" };
    expect((await post(app, body, headers)).status).toBe(200);
    expect((await post(app, body, headers)).status).toBe(200);
    expect(await storedSpans(app, "tenant-dup")).toBe(128);
  });
});

describe("OTLP throttling", () => {
  it("answers 429 / UNAVAILABLE with a retry delay when the queue is full", async () => {
    const target = await STORE_TARGETS[0].setup();
    const app = await startApp({
      storage: target.storage,
      "pipeline.queueMaxRows": 10,
      "pipeline.batchMaxRows": 1000,
      "pipeline.batchMaxDelayMs": 3000,
    });
    try {
      const first = fetch(app.listeners.otlpHttp, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body: generateRequest({ service: "q", count: 8, attrs: 1 }).body as BodyInit,
      });
      await new Promise((r) => setTimeout(r, 300));
      const second = await post(app, generateRequest({ service: "q", count: 8, attrs: 1 }).body, {
        "content-type": "application/x-protobuf",
      });
      expect(second.status).toBe(429);
      expect(Number(second.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      const { err } = await grpcExport(
        app.listeners.otlpGrpc,
        generateRequest({ service: "q", count: 8, attrs: 1 }).body,
      );
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
      expect(err?.metadata.get("grpc-status-details-bin").length).toBe(1);
      expect((await first).status).toBe(200);
      expect(await storedSpans(app)).toBe(8);
    } finally {
      await app.shutdown();
      await target.cleanup();
    }
  });
});
