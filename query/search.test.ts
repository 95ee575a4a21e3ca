import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STORE_TARGETS } from "../test/support/targets.js";
import { buildDataset, type Dataset, OLD, T1, T2, T3, TENANT, W } from "./testing/dataset.js";
import { gql, type QueryHarness, startHarness } from "./testing/fixtures.js";
import { formatRfc3339Nanos } from "./time.js";

type Conn = {
  traces: {
    edges: Array<{ cursor: string; node: { traceId: string; startTime: string } }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
};

const SEARCH = `query ($filter: TraceFilter, $first: Int, $after: String) {
  traces(filter: $filter, first: $first, after: $after) {
    edges { cursor node { traceId startTime } } pageInfo { hasNextPage endCursor } } }`;

/** W traces newest first: start order with W10/W11 tied and W10's larger id first. */
const WORKERS_NEWEST_FIRST = [...W.slice(12).reverse(), W[10], W[11], ...W.slice(0, 10).reverse()];

describe.each(STORE_TARGETS)("searching traces over GraphQL on $name ClickHouse", (target) => {
  let h: QueryHarness;
  let data: Dataset;
  const search = async (filter: Record<string, unknown>, first = 100, after?: string) => {
    const res = await gql<Conn>(h.app, SEARCH, { filter, first, after }, { "x-scope-orgid": TENANT });
    expect(res.errors).toBeUndefined();
    return res.data!.traces;
  };
  const ids = async (filter: Record<string, unknown>) =>
    (await search(filter)).edges.map((e) => e.node.traceId);
  const at = (ms: number) => formatRfc3339Nanos(data.base + BigInt(ms) * 1_000_000n);

  beforeAll(async () => {
    h = await startHarness(target);
    data = buildDataset();
    await h.insert(TENANT, data.acme);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("filters by service and operation within the default last hour", async () => {
    expect(await ids({ service: "gateway" })).toEqual([T2, T1]);
    expect(await ids({ operation: "GET /checkout" })).toEqual([T1]);
    expect(await ids({ service: "orphanage" })).toEqual([T3]);
    expect(await ids({ service: "nobody" })).toEqual([]);
  });

  it("filters by time range, inclusive at both ends", async () => {
    expect(await ids({ service: "worker", from: at(302_000), to: at(304_000) })).toEqual([W[4], W[3], W[2]]);
    const wide = formatRfc3339Nanos(BigInt(Date.now() - 4 * 3_600_000) * 1_000_000n);
    expect(await ids({ service: "gateway", from: wide })).toEqual([T2, T1, OLD]);
    expect(await ids({ from: at(-60_000), to: at(-1) })).toEqual([]);
  });

  it("filters by span kind and status on the same span as the other conditions", async () => {
    expect(await ids({ kind: "PRODUCER" })).toEqual([T1]);
    expect(await ids({ status: "ERROR" })).toEqual([W[20], W[15], W[10], W[5], W[0], T1]);
    // T1 has an OK span, but in "cart": all conditions must hold on one span.
    expect(await ids({ status: "OK", service: "gateway" })).toEqual([T2]);
    expect(await ids({ status: "OK" })).toEqual([T2, T1]);
  });

  it("filters by span attributes: equality, typed values as canonical text, presence", async () => {
    expect(await ids({ attributes: [{ key: "request.guid", value: "guid-1111" }] })).toEqual([T1]);
    expect(await ids({ attributes: [{ key: "http.status_code", value: "500" }] })).toEqual([T1]);
    expect(await ids({ attributes: [{ key: "db.system" }] })).toEqual([T1]);
    expect(await ids({ attributes: [{ key: "db.system", value: "mysql" }] })).toEqual([]);
    expect(
      await ids({
        attributes: [
          { key: "request.guid", value: "guid-1111" },
          { key: "retry", value: "true" },
        ],
      }),
    ).toEqual([T1]);
    expect(await ids({ service: "worker", attributes: [{ key: "job.id", value: "job-7" }] })).toEqual([W[7]]);
  });

  it("filters by resource attributes", async () => {
    expect(await ids({ resourceAttributes: [{ key: "deployment.environment", value: "staging" }] })).toEqual([
      T2,
    ]);
    expect(await ids({ resourceAttributes: [{ key: "deployment.environment" }] })).toEqual([T2, T1]);
    expect(await ids({ resourceAttributes: [{ key: "host.cores", value: "8" }] })).toEqual([T1]);
  });

  it("filters by duration range in any unit or plain nanoseconds", async () => {
    expect(await ids({ minDuration: "4ms", maxDuration: "6ms" })).toEqual([T1]);
    expect(await ids({ minDuration: "5000000", maxDuration: 5000000 })).toEqual([T1]);
    expect(await ids({ minDuration: "5000001ns", maxDuration: "6ms" })).toEqual([]);
    const slow = await ids({ service: "worker", minDuration: "0.11s" });
    expect(slow).toEqual(WORKERS_NEWEST_FIRST.filter((id) => W.indexOf(id) >= 10));
  });

  it("pages through results newest first with no duplicates and no gaps", async () => {
    const seen: string[] = [];
    let after: string | undefined;
    const pages: number[] = [];
    for (let i = 0; i < 10; i++) {
      const page = await search({ service: "worker" }, 7, after);
      pages.push(page.edges.length);
      seen.push(...page.edges.map((e) => e.node.traceId));
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(pages).toEqual([7, 7, 7, 4]);
    expect(seen).toEqual(WORKERS_NEWEST_FIRST);
    const all = await search({ service: "worker" });
    expect(all.edges.map((e) => e.node.traceId)).toEqual(WORKERS_NEWEST_FIRST);
    expect(all.pageInfo.hasNextPage).toBe(false);
  });

  it("summarises each trace found", async () => {
    const res = await gql<{ traces: { edges: Array<{ node: Record<string, unknown> }> } }>(
      h.app,
      `{ traces(filter: { service: "orphanage" }) { edges { node { traceId rootServiceName rootOperation
         spanCount errorCount services startTime } } } }`,
      {},
      { "x-scope-orgid": TENANT },
    );
    expect(res.data!.traces.edges[0].node).toEqual({
      traceId: T3,
      rootServiceName: null,
      rootOperation: null,
      spanCount: 3,
      errorCount: 0,
      services: ["orphanage"],
      startTime: at(120_000),
    });
  });

  it("caps `first` at the configured search limit", async () => {
    const res = await gql<Conn>(
      h.app,
      SEARCH,
      { filter: { service: "worker" }, first: 100_000 },
      { "x-scope-orgid": TENANT },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.traces.edges).toHaveLength(25);
  });
});
