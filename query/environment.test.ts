import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STORE_TARGETS } from "../test/support/targets.js";
import {
  after,
  attr,
  gql,
  nowNs,
  type QueryHarness,
  resource,
  span,
  startHarness,
  traceIdOf,
} from "./testing/fixtures.js";
import { formatRfc3339Nanos } from "./time.js";

const ACME = "acme";
const OTHER = "other";
const P1 = traceIdOf(0xe1);
const S1 = traceIdOf(0xe2);
const S2 = traceIdOf(0xe3);

/**
 * Two environments of one tenant: "shop" runs in prod (older key `deployment.environment`) and in
 * staging, "cart" only in prod (newer key `deployment.environment.name`), "beta" only in staging
 * (the newer key wins over an older one saying otherwise). Another tenant has a prod of its own.
 */
function estate(base: bigint) {
  const shopProd = resource("shop", [attr("deployment.environment", "prod")]);
  const shopStaging = resource("shop", [attr("deployment.environment", "staging")]);
  const cart = resource("cart", [attr("deployment.environment.name", "prod")]);
  const beta = resource("beta", [
    attr("deployment.environment.name", "staging"),
    attr("deployment.environment", "legacy"),
  ]);
  const acme = [
    span({
      traceId: P1,
      spanId: "00000000000000a1",
      name: "GET /buy",
      kind: 2,
      start: base,
      resource: shopProd,
    }),
    span({
      traceId: P1,
      spanId: "00000000000000a2",
      parentSpanId: "00000000000000a1",
      name: "AddItem",
      kind: 2,
      start: after(base, 1),
      durationMs: 5,
      resource: cart,
    }),
    span({
      traceId: S1,
      spanId: "00000000000000b1",
      name: "GET /buy",
      kind: 2,
      start: after(base, 100),
      resource: shopStaging,
    }),
    span({
      traceId: S2,
      spanId: "00000000000000c1",
      name: "Try",
      kind: 2,
      start: after(base, 200),
      resource: beta,
    }),
  ];
  const other = [
    span({
      traceId: traceIdOf(0xe4),
      spanId: "00000000000000d1",
      name: "x",
      kind: 2,
      start: base,
      resource: resource("intruder", [attr("deployment.environment", "prod")]),
    }),
  ];
  return { acme, other };
}

describe.each(STORE_TARGETS)("deployment environments over GraphQL on $name ClickHouse", (target) => {
  let h: QueryHarness;
  let window: { from: string; to: string };
  const ask = async <T>(tenant: string, query: string, variables: Record<string, unknown> = {}) => {
    const res = await gql<T>(h.app, query, { ...window, ...variables }, { "x-scope-orgid": tenant });
    expect(res.errors).toBeUndefined();
    return res.data as T;
  };

  beforeAll(async () => {
    h = await startHarness(target);
    const base = nowNs() - 10n * 60_000_000_000n;
    const { acme, other } = estate(base);
    await h.insert(ACME, acme);
    await h.insert(OTHER, other);
    window = { from: formatRfc3339Nanos(base - 60_000_000_000n), to: formatRfc3339Nanos(nowNs()) };
  });
  afterAll(async () => {
    await h?.close();
  });

  it("lists the environments of the tenant's spans, the newer key winning over the older", async () => {
    const q = "query ($from: DateTime, $to: DateTime) { environments(from: $from, to: $to) }";
    expect((await ask<{ environments: string[] }>(ACME, q)).environments).toEqual(["prod", "staging"]);
    expect((await ask<{ environments: string[] }>(OTHER, q)).environments).toEqual(["prod"]);
  });

  it("lists the services of one environment, with their span counts", async () => {
    const q = `query ($from: DateTime, $to: DateTime, $env: String) {
      services(from: $from, to: $to, environment: $env) { name spanCount } }`;
    type R = { services: Array<{ name: string; spanCount: number }> };
    expect((await ask<R>(ACME, q, { env: "prod" })).services).toEqual([
      { name: "cart", spanCount: 1 },
      { name: "shop", spanCount: 1 },
    ]);
    expect((await ask<R>(ACME, q, { env: "staging" })).services.map((s) => s.name)).toEqual(["beta", "shop"]);
    expect((await ask<R>(ACME, q, { env: "legacy" })).services).toEqual([]);
    expect((await ask<R>(OTHER, q, { env: "prod" })).services.map((s) => s.name)).toEqual(["intruder"]);
    // Without an environment: every service, from the daily rollup.
    expect((await ask<R>(ACME, q)).services.map((s) => s.name)).toEqual(["beta", "cart", "shop"]);
  });

  it("searches traces of one environment", async () => {
    const q = `query ($filter: TraceFilter) { traces(filter: $filter) { edges { node { traceId } } } }`;
    type R = { traces: { edges: Array<{ node: { traceId: string } }> } };
    const ids = async (filter: Record<string, unknown>) =>
      (await ask<R>(ACME, q, { filter: { from: window.from, to: window.to, ...filter } })).traces.edges.map(
        (e) => e.node.traceId,
      );
    expect(await ids({ environment: "prod" })).toEqual([P1]);
    expect(await ids({ environment: "staging" })).toEqual([S2, S1]);
    expect(await ids({ environment: "staging", service: "shop" })).toEqual([S1]);
    expect(await ids({ environment: "legacy" })).toEqual([]);
  });

  it("draws the service map of one environment", async () => {
    const q = `query ($from: DateTime!, $to: DateTime!, $env: String) {
      serviceMap(from: $from, to: $to, environment: $env) { nodes { id } edges { source target } } }`;
    type R = {
      serviceMap: { nodes: Array<{ id: string }>; edges: Array<{ source: string; target: string }> };
    };
    const prod = (await ask<R>(ACME, q, { env: "prod" })).serviceMap;
    expect(prod.nodes.map((n) => n.id).sort()).toEqual(["service:cart", "service:shop"]);
    expect(prod.edges.map((e) => `${e.source}>${e.target}`)).toEqual(["service:shop>service:cart"]);
    const staging = (await ask<R>(ACME, q, { env: "staging" })).serviceMap;
    expect(staging.nodes.map((n) => n.id).sort()).toEqual(["service:beta", "service:shop"]);
    expect(staging.edges).toEqual([]);
  });
});
