import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../core/config/load.js";
import { createLogger } from "../core/log.js";
import { createMetrics } from "../core/metrics.js";
import type { Store } from "../core/store/store.js";
import { STORE_TARGETS } from "../test/support/targets.js";
import { createQueryServer } from "./server.js";
import { buildDataset, T1, TENANT } from "./testing/dataset.js";
import { gql, type QueryHarness, startHarness } from "./testing/fixtures.js";

const codes = (res: { errors?: Array<{ extensions?: { code?: string } }> }) =>
  (res.errors ?? []).map((e) => e.extensions?.code);

describe.each(STORE_TARGETS)("query server errors, limits and endpoints on $name ClickHouse", (target) => {
  let h: QueryHarness;
  const extra: FastifyInstance[] = [];
  const q = (query: string, variables?: Record<string, unknown>) =>
    gql(h.app, query, variables, { "x-scope-orgid": TENANT });

  /** Another server on the same store, with different query limits or a broken store. */
  async function serverWith(overrides: Record<string, unknown>, store: Store = h.store) {
    const config = loadConfig({ env: {}, overrides });
    const app = await createQueryServer({
      store,
      config,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger("silent"),
      isReady: () => true,
    });
    extra.push(app);
    return app;
  }

  beforeAll(async () => {
    h = await startHarness(target);
    await h.insert(TENANT, buildDataset().acme);
  });
  afterAll(async () => {
    for (const app of extra) await app.close();
    await h?.close();
  });

  it("with limits.persistedQueries, runs only the listed documents (by sha256 of the text)", async () => {
    const allowed = "{ services { name } }";
    const { createHash } = await import("node:crypto");
    const app = await serverWith({
      "limits.persistedQueries": [createHash("sha256").update(allowed).digest("hex")],
    });
    const ok = await gql(app, allowed, undefined, { "x-scope-orgid": TENANT });
    expect(ok.errors).toBeUndefined();
    const other = await gql(app, "{ services { name operations { name } } }", undefined, {
      "x-scope-orgid": TENANT,
    });
    expect(codes(other)).toEqual(["FORBIDDEN"]);
    expect(other.errors?.[0].message).toContain("limits.persistedQueries");
  });

  it("caps the rows one ClickHouse query may return (server store: ClickHouse refuses, naming the limit)", async () => {
    const app = await serverWith({ "limits.queryMaxResultRows": 1 });
    const res = await gql(app, "{ services { name } }", undefined, { "x-scope-orgid": TENANT });
    if (h.store.kind === "server") {
      expect(codes(res)).toEqual(["LIMIT_EXCEEDED"]);
      expect(res.errors?.[0].message).toContain("limits.queryMaxResultRows");
    } else {
      // chDB would apply the setting to the whole session (ingest included), so embedded stores
      // bound results by page sizes alone
      expect(res.errors).toBeUndefined();
    }
  });

  it("rejects a malformed trace id with BAD_USER_INPUT, as literal and as variable", async () => {
    const literal = await q(`{ trace(id: "not-a-trace-id") { traceId } }`);
    expect(codes(literal)).toEqual(["BAD_USER_INPUT"]);
    expect(literal.errors?.[0].message).toContain("not a trace id");
    expect(literal.data).toEqual({ trace: null });
    const variable = await q("query ($id: ID!) { trace(id: $id) { traceId } }", { id: `${T1}0` });
    expect(codes(variable)).toEqual(["BAD_USER_INPUT"]);
  });

  it("rejects malformed times, durations, cursors and page sizes with BAD_USER_INPUT", async () => {
    const cases: Array<[string, Record<string, unknown>?]> = [
      [`{ traces(filter: { from: "yesterday" }) { edges { cursor } } }`],
      [`{ traces(filter: { from: "2026-02-30T00:00:00Z" }) { edges { cursor } } }`],
      [`{ traces(filter: { from: "2026-01-01T00:00:00.1234567891Z" }) { edges { cursor } } }`],
      ["query ($f: DateTime) { services(from: $f) { name } }", { f: "2026-13-01T00:00:00Z" }],
      ["query ($f: DateTime) { services(from: $f) { name } }", { f: 1_700_000_000 }],
      [`{ traces(filter: { minDuration: "5 parsecs" }) { edges { cursor } } }`],
      [`{ traces(filter: { minDuration: "1.5ns" }) { edges { cursor } } }`],
      ["query ($d: Duration) { traces(filter: { maxDuration: $d }) { edges { cursor } } }", { d: "-5ms" }],
      [`{ traces(filter: { minDuration: "2s", maxDuration: "1s" }) { edges { cursor } } }`],
      [
        `{ traces(filter: { from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z" }) { edges { cursor } } }`,
      ],
      [`{ traces(after: "garbage") { edges { cursor } } }`],
      [`{ traces(first: 0) { edges { cursor } } }`],
      [`{ trace(id: "${T1}") { spans(after: "garbage") { spanId } } }`],
      [`{ trace(id: "${T1}") { spans(after: "0123456789abcdef") { spanId } } }`],
      [`{ trace(id: "${T1}") { spans(first: -1) { spanId } } }`],
      ["{ services { name nope } }"],
      ["{ services { name "],
    ];
    for (const [query, variables] of cases) {
      const res = await q(query, variables);
      expect(codes(res), query).toEqual(["BAD_USER_INPUT"]);
    }
    const res = await q(
      `{ traces(filter: { from: "2026-01-01T00:00:00.1234567891Z" }) { edges { cursor } } }`,
    );
    expect(res.errors?.[0].message).toContain("RFC 3339");
  });

  it("accepts every documented time and duration form", async () => {
    const res = await q(
      `{ a: traces(filter: { from: "2026-01-01T00:00:00Z", to: "2026-01-01T02:00:00.123456789+02:00", minDuration: "1500ms", maxDuration: "1h" }) { edges { cursor } }
         b: traces(filter: { from: "2026-01-01t00:00:00.5z", minDuration: 10, maxDuration: "2s" }) { edges { cursor } }
         c: traces(filter: { minDuration: "250us", maxDuration: "1m" }) { edges { cursor } }
         d: traces(filter: { minDuration: "10ns" }) { edges { cursor } } }`,
    );
    expect(res.errors).toBeUndefined();
  });

  it("enforces the depth limit with LIMIT_EXCEEDED naming query.maxDepth", async () => {
    const app = await serverWith({ "query.maxDepth": 4 });
    const ok = await gql(app, `{ trace(id: "${T1}") { spans { status { code } } } }`);
    expect(ok.errors).toBeUndefined();
    const deep = await gql(app, `{ trace(id: "${T1}") { spans { events { attributes { key } } } } }`);
    expect(codes(deep)).toEqual(["LIMIT_EXCEEDED"]);
    expect(deep.errors?.[0].message).toContain("query.maxDepth");
    const viaFragment = await gql(
      app,
      `fragment E on Span { events { attributes { key } } } { trace(id: "${T1}") { spans { ...E } } }`,
    );
    expect(codes(viaFragment)).toEqual(["LIMIT_EXCEEDED"]);
    // GraphiQL's introspection is deeper than any limit worth setting; it is not counted.
    const introspection = await gql(
      app,
      "{ __schema { types { name fields { type { ofType { ofType { name } } } } } } }",
    );
    expect(introspection.errors).toBeUndefined();
  });

  it("enforces the complexity limit with LIMIT_EXCEEDED naming query.maxComplexity", async () => {
    const cheap = await q(
      `{ trace(id: "${T1}") { spans(first: 10000) { spanId parentSpanId name serviceName depth } } }`,
    );
    expect(cheap.errors).toBeUndefined();
    const costly = await q(
      `{ trace(id: "${T1}") { spans(first: 10000) { status { code } attributes { key } } } }`,
    );
    expect(codes(costly)).toEqual(["LIMIT_EXCEEDED"]);
    expect(costly.errors?.[0].message).toContain("query.maxComplexity");
    const viaVariable = await q(
      `query ($n: Int) { trace(id: "${T1}") { spanPage(first: $n) { edges { node { status { code } } } } } }`,
      { n: 1 },
    );
    expect(codes(viaVariable)).toEqual(["LIMIT_EXCEEDED"]);
    const withDefault = await q(
      `query ($n: Int = 100) { trace(id: "${T1}") { spanPage(first: $n) { edges { node { status { code } } } } } }`,
    );
    expect(withDefault.errors).toBeUndefined();
  });

  it("enforces the alias limit with LIMIT_EXCEEDED", async () => {
    const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: services { name }`).join(" ");
    const res = await q(`{ ${aliases} }`);
    expect(codes(res)).toEqual(["LIMIT_EXCEEDED"]);
    expect(res.errors?.[0].message).toContain("alias");
    const fine = await q(`{ ${Array.from({ length: 30 }, (_, i) => `a${i}: services { name }`).join(" ")} }`);
    expect(fine.errors).toBeUndefined();
  });

  it("reports store failures as INTERNAL or UNAVAILABLE without SQL", async () => {
    const wrongDb = await serverWith({}, { ...h.store, database: "no_such_database" });
    const internal = await gql(wrongDb, "{ services { name } }");
    expect(codes(internal)).toEqual(["INTERNAL"]);
    expect(JSON.stringify(internal.errors)).not.toMatch(/SELECT|no_such_database|operations/);

    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    const client = {
      query: () => Promise.reject(refused),
      ping: () => Promise.resolve({ success: false, error: refused }),
    };
    const down = await serverWith({}, { ...h.store, client: client as unknown as Store["client"] });
    const unavailable = await gql(down, `{ trace(id: "${T1}") { traceId } }`);
    expect(codes(unavailable)).toEqual(["UNAVAILABLE"]);
    expect(JSON.stringify(unavailable.errors)).not.toContain("127.0.0.1");
    const ready = await down.inject({ method: "GET", url: "/readyz" });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: "unavailable", reason: "ClickHouse ping failed" });
  });

  it("serves /healthz, /readyz, /metrics, / and GraphiQL", async () => {
    expect((await h.app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({ status: "ok" });
    const ready = await h.app.inject({ method: "GET", url: "/readyz" });
    expect([ready.statusCode, ready.json()]).toEqual([200, { status: "ok" }]);
    h.ready.value = false;
    const notReady = await h.app.inject({ method: "GET", url: "/readyz" });
    h.ready.value = true;
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json().reason).toBeTruthy();

    // every module's store queries are timed too, not only the span reader's
    const map = await q(
      `{ serviceMap(from: "2026-01-01T00:00:00Z", to: "2026-01-01T01:00:00Z") { nodes { id } } }`,
    );
    expect(map.errors).toBeUndefined();
    const metrics = await h.app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.headers["content-type"]).toContain("text/plain");
    expect(metrics.body).toContain(
      'skald_query_store_duration_seconds_count{query="trace_lookup",outcome="ok"}',
    );
    expect(metrics.body).toContain(
      'skald_query_store_duration_seconds_count{query="serviceMap.edges",outcome="ok"}',
    );
    expect(metrics.body).toContain('skald_query_http_requests_total{route="/graphql",status="200"}');

    const home = await h.app.inject({ method: "GET", url: "/" });
    expect(home.body).toContain('href="/graphql"');
    const graphiql = await h.app.inject({ method: "GET", url: "/graphql", headers: { accept: "text/html" } });
    expect(graphiql.statusCode).toBe(200);
    expect(graphiql.body.toLowerCase()).toContain("graphiql");
    const get = await h.app.inject({
      method: "GET",
      url: "/graphql?query=%7Bservices%7Bname%7D%7D",
      headers: { "x-scope-orgid": TENANT },
    });
    expect(get.json().data.services.length).toBeGreaterThan(0);
  });
});
