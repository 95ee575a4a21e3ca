import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Span } from "../../core/model/span.js";
import { STORE_TARGETS } from "../../test/support/targets.js";
import {
  gql,
  nowNs,
  type QueryHarness,
  resource,
  span,
  spanIdOf,
  startHarness,
} from "../testing/fixtures.js";

/** Small enough to be read whole (one query), and large enough for the skeleton-then-rows path. */
const SMALL = "0000000000000000000000000000a001";
const LARGE = "0000000000000000000000000000a002";
const LARGE_SPANS = 3000;

function trace(traceId: string, n: number): Span[] {
  const base = nowNs() - 5n * 60_000_000_000n;
  const services = [resource("front"), resource("back"), resource("db")];
  return Array.from({ length: n }, (_, i) =>
    span({
      traceId,
      spanId: spanIdOf(i + 1),
      parentSpanId: i === 0 ? "" : spanIdOf(1 + Math.floor(i / 5)),
      name: `op-${i}`,
      start: base + BigInt(i) * 1_000_000n,
      durationMs: 2,
      resource: services[i % 3],
    }),
  );
}

type Page = {
  trace: {
    spanPage: {
      totalCount: number;
      edges: Array<{ node: { spanId: string }; cursor: string }>;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };
};

const PAGE = `query ($id: ID!, $after: String, $offset: Int, $first: Int) { trace(id: $id) {
  spanPage(first: $first, after: $after, offset: $offset) {
    totalCount edges { cursor node { spanId } } pageInfo { hasNextPage endCursor } } } }`;

describe("jumping into a trace's spans by offset", () => {
  const target = STORE_TARGETS.find((t) => t.name === "embedded")!;
  let h: QueryHarness;
  const q = <T>(query: string, variables: Record<string, unknown>) =>
    gql<T>(h.app, query, variables, { "x-scope-orgid": "jump" });

  beforeAll(async () => {
    h = await startHarness(target);
    await h.insert("jump", [...trace(SMALL, 12), ...trace(LARGE, LARGE_SPANS)]);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Every span id in waterfall order, through the cursor API. */
  async function allByCursor(id: string, first: number): Promise<string[]> {
    const ids: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: Awaited<ReturnType<typeof q<Page>>> = await q<Page>(PAGE, { id, after, first });
      expect(res.errors).toBeUndefined();
      const page = res.data!.trace.spanPage;
      ids.push(...page.edges.map((e) => e.node.spanId));
      if (!page.pageInfo.hasNextPage) return ids;
      after = page.pageInfo.endCursor;
    }
  }

  for (const [label, id, total] of [
    ["a small trace", SMALL, 12],
    ["a trace read skeleton first", LARGE, LARGE_SPANS],
  ] as const) {
    it(`gives the same spans at an offset as paging there by cursor (${label})`, async () => {
      const all = await allByCursor(id, 500);
      expect(all).toHaveLength(total);
      for (const offset of [0, 1, Math.floor(total / 2), total - 3, total - 1]) {
        const res = await q<Page>(PAGE, { id, offset, first: 5 });
        expect(res.errors).toBeUndefined();
        const page = res.data!.trace.spanPage;
        expect(page.totalCount).toBe(total);
        expect(page.edges.map((e) => e.node.spanId)).toEqual(all.slice(offset, offset + 5));
        expect(page.pageInfo.hasNextPage).toBe(offset + 5 < total);
        // The page's cursor continues where the jump landed.
        if (page.pageInfo.hasNextPage) {
          const next = await q<Page>(PAGE, { id, after: page.pageInfo.endCursor, first: 2 });
          expect(next.data!.trace.spanPage.edges.map((e) => e.node.spanId)).toEqual(
            all.slice(offset + 5, offset + 7),
          );
        }
      }
      // Past the end: an empty last page.
      const past = await q<Page>(PAGE, { id, offset: total + 10, first: 5 });
      expect(past.data!.trace.spanPage).toEqual({
        totalCount: total,
        edges: [],
        pageInfo: { hasNextPage: false, endCursor: null },
      });
      // spans(offset) agrees, and spanPosition says where a span is.
      const mid = Math.floor(total / 2);
      const spans = await q<{ trace: { spans: Array<{ spanId: string }> } }>(
        `query ($id: ID!, $o: Int) { trace(id: $id) { spans(first: 1, offset: $o) { spanId } } }`,
        { id, o: mid },
      );
      expect(spans.data!.trace.spans.map((s) => s.spanId)).toEqual([all[mid]]);
      const pos = await q<{ trace: { at: number | null; none: number | null } }>(
        `query ($id: ID!, $s: SpanId!) { trace(id: $id) { at: spanPosition(spanId: $s) none: spanPosition(spanId: "ffffffffffffffff") } }`,
        { id, s: all[mid].toUpperCase() },
      );
      expect(pos.data!.trace).toEqual({ at: mid, none: null });
    });
  }

  it("says how many spans each span's subtree holds, so a client can skip it unloaded", async () => {
    const res = await q<{
      trace: {
        rootSpan: { descendantCount: number };
        spanPage: {
          edges: Array<{ node: { spanId: string; parentSpanId: string | null; descendantCount: number } }>;
        };
      };
    }>(
      `query ($id: ID!) { trace(id: $id) { rootSpan { descendantCount }
         spanPage(offset: 0, first: 3000) { edges { node { spanId parentSpanId descendantCount } } } } }`,
      { id: LARGE },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.trace.rootSpan.descendantCount).toBe(LARGE_SPANS - 1);
    const nodes = res.data!.trace.spanPage.edges.map((e) => e.node);
    const parent = new Map(nodes.map((n) => [n.spanId, n.parentSpanId]));
    const counted = new Map<string, number>();
    for (const n of nodes) {
      for (let p = parent.get(n.spanId); p; p = parent.get(p)) counted.set(p, (counted.get(p) ?? 0) + 1);
    }
    for (const n of nodes)
      expect([n.spanId, n.descendantCount]).toEqual([n.spanId, counted.get(n.spanId) ?? 0]);
  });

  it("refuses a negative offset and an offset together with a cursor", async () => {
    const negative = await q<Page>(PAGE, { id: SMALL, offset: -1 });
    expect(negative.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(negative.errors?.[0].message).toContain("offset");
    const both = await q<Page>(PAGE, { id: SMALL, offset: 2, after: spanIdOf(1) });
    expect(both.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    expect(both.errors?.[0].message).toContain("not both");
  });
});
