import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Attr, Span } from "../core/model/span.js";
import { STORE_TARGETS } from "../test/support/targets.js";
import { decodeSpan } from "./span-record.js";
import { buildDataset, type Dataset, OTHER_TENANT, T1, T2, T3, TENANT } from "./testing/dataset.js";
import { gql, type QueryHarness, startHarness } from "./testing/fixtures.js";
import { formatRfc3339Nanos } from "./time.js";

const KINDS = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];
const STATUS = ["UNSET", "OK", "ERROR"];

const SPAN_FIELDS = `
  spanId parentSpanId traceId traceState flags name kind serviceName
  startTime endTime startTimeUnixNano endTimeUnixNano duration depth
  status { code message }
  attributes { key value type }
  droppedAttributesCount droppedEventsCount droppedLinksCount
  resource { serviceName attributes { key value type } droppedAttributesCount }
  scope { name version }
  events { time timeUnixNano name attributes { key value type } droppedAttributesCount }
  links { traceId spanId traceState attributes { key value type } droppedAttributesCount flags }`;

const attrs = (a: Attr[]) => a.map(({ key, value, type }) => ({ key, value, type }));

/** What the API must return for a stored span: every field, exactly. */
function expected(s: Span, depth: number) {
  return {
    spanId: s.spanId,
    parentSpanId: s.parentSpanId || null,
    traceId: s.traceId,
    traceState: s.traceState,
    flags: s.flags,
    name: s.name,
    kind: KINDS[s.kind],
    serviceName: s.resource.serviceName,
    startTime: formatRfc3339Nanos(s.startTimeUnixNano),
    endTime: formatRfc3339Nanos(s.endTimeUnixNano),
    startTimeUnixNano: s.startTimeUnixNano.toString(),
    endTimeUnixNano: s.endTimeUnixNano.toString(),
    duration: (s.endTimeUnixNano - s.startTimeUnixNano).toString(),
    depth,
    status: { code: STATUS[s.statusCode], message: s.statusMessage },
    attributes: attrs(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
    droppedEventsCount: s.droppedEventsCount,
    droppedLinksCount: s.droppedLinksCount,
    resource: {
      serviceName: s.resource.serviceName,
      attributes: attrs(s.resource.attributes),
      droppedAttributesCount: s.resource.droppedAttributesCount,
    },
    scope: s.scope,
    events: s.events.map((e) => ({
      time: formatRfc3339Nanos(e.timeUnixNano),
      timeUnixNano: e.timeUnixNano.toString(),
      name: e.name,
      attributes: attrs(e.attributes),
      droppedAttributesCount: e.droppedAttributesCount,
    })),
    links: s.links.map((l) => ({ ...l, attributes: attrs(l.attributes) })),
  };
}

describe.each(STORE_TARGETS)("reading spans over GraphQL on $name ClickHouse", (target) => {
  let h: QueryHarness;
  let data: Dataset;
  const q = <T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    tenant = TENANT,
  ) => gql<T>(h.app, query, variables, { "x-scope-orgid": tenant });

  beforeAll(async () => {
    h = await startHarness(target);
    data = buildDataset();
    await h.insert(TENANT, data.acme);
    await h.insert(OTHER_TENANT, data.other);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("lists services and their operations from the rollup", async () => {
    const res = await q<{ services: Array<{ name: string; spanCount: number; operations: unknown[] }> }>(
      "{ services { name spanCount operations { name kind spanCount } } }",
    );
    expect(res.errors).toBeUndefined();
    const services = res.data!.services;
    expect(services.map((s) => s.name)).toEqual(["cart", "cart-db", "gateway", "orphanage", "worker"]);
    expect(services.find((s) => s.name === "gateway")).toEqual({
      name: "gateway",
      spanCount: 5,
      operations: [
        { name: "GET /checkout", kind: "SERVER", spanCount: 2 },
        { name: "GET /health", kind: "SERVER", spanCount: 1 },
        { name: "audit", kind: "INTERNAL", spanCount: 1 },
        { name: "cart.get", kind: "CLIENT", spanCount: 1 },
      ],
    });
    const ops = await q<{ operations: Array<{ name: string; serviceName: string }> }>(
      `{ operations(service: "cart", kind: PRODUCER) { serviceName name kind lastSeen } }`,
    );
    expect(ops.data!.operations).toEqual([
      {
        serviceName: "cart",
        name: "orders publish",
        kind: "PRODUCER",
        lastSeen: formatRfc3339Nanos(data.t1[4].span.startTimeUnixNano),
      },
    ]);
    const windowed = await q<{ services: unknown[] }>(
      `{ services(from: "2001-01-01T00:00:00Z", to: "2001-01-02T00:00:00Z") { name } }`,
    );
    expect(windowed.data!.services).toEqual([]);
  });

  /** Store queries run so far, by query name, from /metrics. */
  async function storeQueries(): Promise<Map<string, number>> {
    const body = (await h.app.inject({ method: "GET", url: "/metrics" })).body;
    const counts = new Map<string, number>();
    for (const m of body.matchAll(
      /^skald_query_store_duration_seconds_count\{query="(\w+)",outcome="\w+"\} (\d+)$/gm,
    )) {
      counts.set(m[1], (counts.get(m[1]) ?? 0) + Number(m[2]));
    }
    return counts;
  }

  it("returns a trace by id with every field exact, in waterfall order with depths", async () => {
    const before = await storeQueries();
    const res = await q<{ trace: Record<string, unknown> & { spans: unknown[]; rootSpan: unknown } }>(
      `query ($id: ID!) { trace(id: $id) { traceId spanCount services startTime endTime startTimeUnixNano endTimeUnixNano
         duration rootSpan { spanId depth } spans { ${SPAN_FIELDS} } } }`,
      { id: T1.toUpperCase() },
    );
    expect(res.errors).toBeUndefined();
    const t = res.data!.trace;
    const root = data.t1[0].span;
    expect(t).toMatchObject({
      traceId: T1,
      spanCount: 6,
      services: ["cart", "cart-db", "gateway"],
      startTime: formatRfc3339Nanos(root.startTimeUnixNano),
      endTime: formatRfc3339Nanos(root.endTimeUnixNano),
      startTimeUnixNano: root.startTimeUnixNano.toString(),
      duration: (root.endTimeUnixNano - root.startTimeUnixNano).toString(),
      rootSpan: { spanId: root.spanId, depth: 0 },
    });
    expect(t.spans).toEqual(data.t1.map(({ span, depth }) => expected(span, depth)));
    expect((t.spans[0] as { startTime: string }).startTime).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}123Z$/,
    );
    // a small trace: its extent and every span in one store round trip
    const after = await storeQueries();
    const ran = [...after].filter(([name, n]) => n !== (before.get(name) ?? 0));
    expect(ran).toEqual([["trace_lookup", (before.get("trace_lookup") ?? 0) + 1]]);
  });

  it("reads only the span columns a selection can show, and every field asked for through fragments", async () => {
    // names only first (attributes, resource, events and links are not read), then everything
    // through a named and an inline fragment: nothing of the narrow read leaks into the wide one
    const narrow = await q<{ trace: { spans: Array<{ spanId: string; name: string }> } }>(
      `query ($id: ID!) { trace(id: $id) { spans { spanId name } } }`,
      { id: T1 },
    );
    expect(narrow.errors).toBeUndefined();
    expect(narrow.data!.trace.spans).toEqual(
      data.t1.map(({ span }) => ({ spanId: span.spanId, name: span.name })),
    );
    const wide = await q<{ trace: { spans: unknown[] } }>(
      `query ($id: ID!) { trace(id: $id) { spans { ...Full } } }
       fragment Full on Span { ... on Span { ${SPAN_FIELDS} } }`,
      { id: T1 },
    );
    expect(wide.errors).toBeUndefined();
    expect(wide.data!.trace.spans).toEqual(data.t1.map(({ span, depth }) => expected(span, depth)));
  });

  it("serves each span field asked for alone from the stored span, not from an empty default", async () => {
    // every field whose columns are read only when the selection shows them, each on its own
    const alone: Array<[string, (e: ReturnType<typeof expected>) => unknown]> = [
      ["traceId", (e) => ({ traceId: e.traceId })],
      ["traceState", (e) => ({ traceState: e.traceState })],
      ["flags", (e) => ({ flags: e.flags })],
      ["status { code message }", (e) => ({ status: e.status })],
      ["scope { name version }", (e) => ({ scope: e.scope })],
      ["droppedAttributesCount", (e) => ({ droppedAttributesCount: e.droppedAttributesCount })],
      ["droppedEventsCount", (e) => ({ droppedEventsCount: e.droppedEventsCount })],
      ["droppedLinksCount", (e) => ({ droppedLinksCount: e.droppedLinksCount })],
      [
        "resource { attributes { key } }",
        (e) => ({ resource: { attributes: e.resource.attributes.map(({ key }) => ({ key })) } }),
      ],
      ["events { name }", (e) => ({ events: e.events.map(({ name }) => ({ name })) })],
      ["links { spanId flags }", (e) => ({ links: e.links.map(({ spanId, flags }) => ({ spanId, flags })) })],
    ];
    const want = data.t1.map(({ span, depth }) => expected(span, depth));
    // what a read of the core columns alone would answer: each field differs from it somewhere
    // in the trace, so a group left unread fails here
    const bare = data.t1.map(({ span, depth }) =>
      expected(
        decodeSpan({
          span_id: span.spanId,
          parent_span_id: span.parentSpanId,
          name: span.name,
          kind: KINDS[span.kind],
          service_name: span.resource.serviceName,
          start_ns: span.startTimeUnixNano.toString(),
          dur_ns: (span.endTimeUnixNano - span.startTimeUnixNano).toString(),
        }),
        depth,
      ),
    );
    for (const [fields, pick] of alone) expect(bare.map(pick), fields).not.toEqual(want.map(pick));
    for (const [fields, pick] of alone) {
      const query = `query ($id: ID!) { trace(id: $id) { spans { ${fields} } } }`;
      const res = await q<{ trace: { spans: unknown[] } }>(query, { id: T1 });
      expect(res.errors, fields).toBeUndefined();
      expect(res.data!.trace.spans, fields).toEqual(want.map(pick));
    }
  });

  it("pages a trace's spans through spanPage cursors and through span ids", async () => {
    const page = `query ($id: ID!, $after: String) { trace(id: $id) { spanPage(first: 4, after: $after) {
      totalCount edges { cursor node { spanId depth } } pageInfo { hasNextPage endCursor } } } }`;
    type P = {
      trace: {
        spanPage: {
          totalCount: number;
          edges: Array<{ node: { spanId: string } }>;
          pageInfo: { hasNextPage: boolean; endCursor: string };
        };
      };
    };
    const first = await q<P>(page, { id: T1 });
    expect(first.data!.trace.spanPage.totalCount).toBe(6);
    expect(first.data!.trace.spanPage.pageInfo.hasNextPage).toBe(true);
    const second = await q<P>(page, { id: T1, after: first.data!.trace.spanPage.pageInfo.endCursor });
    expect(second.data!.trace.spanPage.pageInfo).toEqual({
      hasNextPage: false,
      endCursor: expect.any(String),
    });
    const ids = [...first.data!.trace.spanPage.edges, ...second.data!.trace.spanPage.edges].map(
      (e) => e.node.spanId,
    );
    expect(ids).toEqual(data.t1.map((x) => x.span.spanId));
    const byId = await q<{ trace: { spans: Array<{ spanId: string }> } }>(
      `{ trace(id: "${T1}") { spans(first: 2, after: "B2B2B2B2B2B2B2B2") { spanId } } }`,
    );
    expect(byId.data!.trace.spans.map((s) => s.spanId)).toEqual(["c3c3c3c3c3c3c3c3", "d4d4d4d4d4d4d4d4"]);
  });

  it("makes orphans roots and reports no root span when none arrived", async () => {
    const res = await q<{
      trace: { rootSpan: null; spans: Array<{ spanId: string; depth: number; parentSpanId: string }> };
    }>(`{ trace(id: "${T3}") { rootSpan { spanId } spans { spanId parentSpanId depth } } }`);
    expect(res.data!.trace.rootSpan).toBeNull();
    expect(res.data!.trace.spans.map((s) => [s.spanId, s.depth])).toEqual([
      ["3333333333333333", 0],
      ["4444444444444444", 1],
      ["2222222222222222", 0],
    ]);
    expect(res.data!.trace.spans[0].parentSpanId).toBe("eeeeeeeeeeeeeeee");
  });

  it("answers null for an unknown trace", async () => {
    const res = await q(`{ trace(id: "0123456789abcdef0123456789abcdef") { traceId } }`);
    expect(res).toMatchObject({ data: { trace: null } });
    expect(res.errors).toBeUndefined();
  });

  it("finds a trace by a GUID in a given attribute, in any attribute, and in resource attributes", async () => {
    const find = async (args: string) => {
      const res = await q<{ traceByAttribute: Array<{ traceId: string }> }>(
        `{ traceByAttribute(${args}) { traceId } }`,
      );
      expect(res.errors).toBeUndefined();
      return res.data!.traceByAttribute.map((t) => t.traceId);
    };
    expect(await find(`key: "request.guid", value: "guid-1111"`)).toEqual([T1]);
    expect(await find(`value: "guid-1111"`)).toEqual([T1]);
    expect(await find(`key: "db.system", value: "guid-1111"`)).toEqual([]);
    expect(await find(`value: "staging"`)).toEqual([T2]);
    expect(await find(`key: "deployment.environment", value: "staging"`)).toEqual([T2]);
    expect(await find(`value: "guid-old"`)).toHaveLength(1);
    const recent = formatRfc3339Nanos(data.base);
    expect(await find(`value: "guid-old", from: "${recent}"`)).toEqual([]);
    expect(await find(`value: "no-such-guid"`)).toEqual([]);

    const summary = await q<{ traceByAttribute: unknown[] }>(
      `{ traceByAttribute(value: "guid-1111") { traceId rootServiceName rootOperation startTime endTime duration
         spanCount errorCount services } }`,
    );
    const root = data.t1[0].span;
    expect(summary.data!.traceByAttribute).toEqual([
      {
        traceId: T1,
        rootServiceName: "gateway",
        rootOperation: "GET /checkout",
        startTime: formatRfc3339Nanos(root.startTimeUnixNano),
        endTime: formatRfc3339Nanos(root.endTimeUnixNano),
        duration: (root.endTimeUnixNano - root.startTimeUnixNano).toString(),
        spanCount: 6,
        errorCount: 2,
        services: ["cart", "cart-db", "gateway"],
      },
    ]);
  });

  it("keeps tenants apart", async () => {
    const other = await q<{ trace: { spans: Array<{ serviceName: string }> } }>(
      `{ trace(id: "${T1}") { spans { serviceName } } }`,
      {},
      OTHER_TENANT,
    );
    expect(other.data!.trace.spans).toEqual([{ serviceName: "intruder" }]);
    const servicesOfOther = await q<{ services: Array<{ name: string }> }>(
      "{ services { name } }",
      {},
      OTHER_TENANT,
    );
    expect(servicesOfOther.data!.services).toEqual([{ name: "intruder" }]);
    const nobody = "tenant-b";
    const empty = await q(
      `{ services { name } operations(service: "gateway") { name } trace(id: "${T1}") { traceId }
         traces(filter: { service: "gateway" }) { edges { node { traceId } } }
         traceByAttribute(value: "guid-1111") { traceId } }`,
      {},
      nobody,
    );
    expect(empty).toMatchObject({
      data: { services: [], operations: [], trace: null, traces: { edges: [] }, traceByAttribute: [] },
    });
    const acmeSpans = await q<{ trace: { spans: Array<{ serviceName: string }> } }>(
      `{ trace(id: "${T1}") { spans { serviceName } } }`,
    );
    expect(acmeSpans.data!.trace.spans.map((s) => s.serviceName)).not.toContain("intruder");
    const bad = await q("{ services { name } }", {}, "no spaces allowed");
    expect(bad.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
  });
});
