import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Span } from "../core/model/span.js";
import { STORE_TARGETS } from "../test/support/targets.js";
import { SpanReader } from "./span-reader.js";
import {
  after,
  gql,
  nowNs,
  type QueryHarness,
  resource,
  span,
  spanIdOf,
  startHarness,
} from "./testing/fixtures.js";

const TRACE = "abcdef0123456789abcdef0123456789";
const TOTAL = 100_000;
const PAGE = 10_000;
const MAX_DEPTH = 8;
const ORPHAN_EVERY = 4000;

/**
 * A generated tree: each span picks an earlier span (of depth < MAX_DEPTH) as parent with a
 * deterministic LCG; child starts are coarse so siblings often tie on start time. A few spans
 * point at parents that never arrived and must come out as extra roots.
 */
function bigTrace(): { spans: Span[]; orphans: number } {
  const base = nowNs() - 10n * 60_000_000_000n;
  const services = Array.from({ length: 12 }, (_, i) => resource(`svc-${i}`));
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed % n;
  };
  let orphans = 0;
  const depth: number[] = [0];
  const starts: bigint[] = [base];
  const spans: Span[] = [
    span({
      traceId: TRACE,
      spanId: spanIdOf(1),
      name: "root",
      start: base,
      durationMs: 5000,
      resource: services[0],
    }),
  ];
  for (let i = 1; i < TOTAL; i++) {
    let parent = rand(i);
    while (depth[parent] >= MAX_DEPTH) parent = rand(i);
    const orphan = i % ORPHAN_EVERY === 0;
    if (orphan) orphans++;
    const start = starts[parent] + BigInt(rand(4)) * 1000n;
    depth.push(depth[parent] + 1);
    starts.push(start);
    spans.push(
      span({
        traceId: TRACE,
        spanId: spanIdOf(i + 1),
        parentSpanId: orphan ? spanIdOf(0xf000_0000 + i) : spanIdOf(parent + 1),
        name: `op-${i % 50}`,
        start,
        durationMs: 1,
        resource: services[i % services.length],
      }),
    );
  }
  // Reversed so insertion order says nothing about waterfall order.
  return { spans: spans.reverse(), orphans };
}

type Node = { spanId: string; parentSpanId: string | null; depth: number; startTimeUnixNano: string };

/**
 * Problems with `order` as a waterfall, or none: parents before children, each subtree
 * contiguous right after its root, siblings and roots by (start, span id), depth = parent + 1.
 * (Plain checks collected into a list: 100,000 `expect` calls would dominate the test's time.)
 */
function waterfallProblems(order: Node[]): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, what: () => string) => {
    if (!ok && problems.length < 20) problems.push(what());
  };
  const pos = new Map(order.map((n, i) => [n.spanId, i]));
  check(pos.size === order.length, () => "duplicate span ids");
  const children = new Map<string, Node[]>();
  const roots: Node[] = [];
  for (const n of order) {
    const p = n.parentSpanId !== null ? pos.get(n.parentSpanId) : undefined;
    if (p === undefined) {
      check(n.depth === 0, () => `root ${n.spanId} has depth ${n.depth}`);
      roots.push(n);
      continue;
    }
    check(p < pos.get(n.spanId)!, () => `${n.spanId} comes before its parent`);
    check(n.depth === order[p].depth + 1, () => `${n.spanId} has depth ${n.depth}`);
    const list = children.get(n.parentSpanId!) ?? [];
    list.push(n);
    children.set(n.parentSpanId!, list);
  }
  const key = (n: Node) => `${n.startTimeUnixNano.padStart(20, "0")}:${n.spanId}`;
  const size = new Map<string, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i];
    size.set(n.spanId, 1 + (children.get(n.spanId) ?? []).reduce((s, c) => s + size.get(c.spanId)!, 0));
  }
  const siblings = (list: Node[], firstPos: number) => {
    let expectedPos = firstPos;
    for (let i = 0; i < list.length; i++) {
      if (i > 0) check(key(list[i - 1]) < key(list[i]), () => `${list[i].spanId} is out of sibling order`);
      check(
        pos.get(list[i].spanId) === expectedPos,
        () => `${list[i].spanId} is not where its subtree belongs`,
      );
      expectedPos += size.get(list[i].spanId)!;
    }
  };
  siblings(roots, 0);
  for (const n of order) siblings(children.get(n.spanId) ?? [], pos.get(n.spanId)! + 1);
  return problems;
}

const PAGE_QUERY = `query ($id: ID!, $after: String) { trace(id: $id) { spanCount spanPage(first: ${PAGE}, after: $after) {
  totalCount edges { node { spanId parentSpanId depth startTimeUnixNano } } pageInfo { hasNextPage endCursor } } } }`;

type PageResult = {
  trace: {
    spanCount: number;
    spanPage: {
      totalCount: number;
      edges: Array<{ node: Node }>;
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
  };
};

describe.each(STORE_TARGETS)("a trace of 100,000 spans on $name ClickHouse", (target) => {
  let h: QueryHarness;
  let orphans = 0;

  beforeAll(async () => {
    h = await startHarness(target);
    const trace = bigTrace();
    orphans = trace.orphans;
    await h.insert("big", trace.spans);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("pages through every span exactly once, in waterfall order", async () => {
    const all: Node[] = [];
    let cursor: string | undefined;
    let pages = 0;
    for (;;) {
      const res = await gql<PageResult>(
        h.app,
        PAGE_QUERY,
        { id: TRACE, after: cursor },
        { "x-scope-orgid": "big" },
      );
      expect(res.errors).toBeUndefined();
      const page = res.data!.trace.spanPage;
      expect(page.totalCount).toBe(TOTAL);
      expect(res.data!.trace.spanCount).toBe(TOTAL);
      pages++;
      all.push(...page.edges.map((e) => e.node));
      if (!page.pageInfo.hasNextPage) break;
      expect(page.edges).toHaveLength(PAGE);
      cursor = page.pageInfo.endCursor;
    }
    expect(pages).toBe(TOTAL / PAGE);
    expect(all).toHaveLength(TOTAL);
    expect(all[0]).toMatchObject({ spanId: spanIdOf(1), depth: 0, parentSpanId: null });
    expect(Math.max(...all.map((n) => n.depth))).toBe(MAX_DEPTH);
    expect(all.filter((n) => n.depth === 0)).toHaveLength(1 + orphans);
    expect(waterfallProblems(all)).toEqual([]);
  });

  it("returns the first maxTracePage spans for `spans` without arguments", async () => {
    const res = await gql<{ trace: { spans: Array<{ spanId: string }> } }>(
      h.app,
      `{ trace(id: "${TRACE}") { spans { spanId } } }`,
      {},
      { "x-scope-orgid": "big" },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.trace.spans).toHaveLength(h.config.query.maxTracePage);
    expect(res.data!.trace.spans[0].spanId).toBe(spanIdOf(1));
  });

  it("serves a page from the reader without reading every full span", async () => {
    const reader = new SpanReader(h.store, h.config.query);
    const got = await reader.getTrace("big", TRACE, { first: 3 });
    expect(got).toMatchObject({ traceId: TRACE, spanCount: TOTAL, rootSpanId: spanIdOf(1) });
    expect(got!.services).toHaveLength(12);
    expect(got!.page.spans.map((s) => s.depth)).toEqual([0, 1, 2]);
    expect(got!.page.spans[0].endTimeUnixNano).toBe(after(got!.startNs, 5000));
    expect(await reader.getTrace("other-tenant", TRACE)).toBeNull();
  });
});
