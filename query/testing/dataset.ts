import type { Span } from "../../core/model/span.js";
import { after, attr, nowNs, resource, span, spanIdOf, traceIdOf } from "./fixtures.js";

/**
 * A small estate for the read suites, all in tenant "acme" unless noted. Times are relative to
 * now so the default one-hour search window applies.
 *  - T1 checkout: gateway → cart → cart-db, 6 spans, two errors, an event, a link, typed attributes
 *  - T2 health: one gateway span in "staging"
 *  - T3 orphans: spans whose parents never arrived
 *  - W0..W24 worker jobs (root + step), W10 and W11 start at the same instant
 *  - OLD: a checkout three hours ago, outside the default window
 *  - tenant "other": a span with T1's trace id, service "intruder"
 */
export const TENANT = "acme";
export const OTHER_TENANT = "other";

export const T1 = "4bf92f3577b34da6a3ce929d0e0e4736";
export const T2 = "5bf92f3577b34da6a3ce929d0e0e4737";
export const T3 = "6bf92f3577b34da6a3ce929d0e0e4738";
export const OLD = "7bf92f3577b34da6a3ce929d0e0e4739";
/** W10's id is the largest, so the tie with W11 is broken by trace id, not by insertion. */
export const W = Array.from({ length: 25 }, (_, i) => traceIdOf(0x1000 + (i === 10 ? 0x99 : i)));

export interface Dataset {
  base: bigint;
  /** T1's spans in expected waterfall order, with their depths. */
  t1: Array<{ span: Span; depth: number }>;
  t2Root: Span;
  acme: Span[];
  other: Span[];
}

export function buildDataset(): Dataset {
  const base = nowNs() - 30n * 60_000_000_000n;
  const gw = resource("gateway", [attr("deployment.environment", "prod"), attr("host.cores", "8", "int")]);
  const gwStaging = resource("gateway", [attr("deployment.environment", "staging")]);
  const cart = resource("cart");
  const db = resource("cart-db");
  const scope = { name: "lib-gateway", version: "0.9.1" };

  const t2Root = span({
    traceId: T2,
    spanId: "1111111111111111",
    name: "GET /health",
    kind: 2,
    start: after(base, 60_000),
    durationMs: 1,
    statusCode: 1,
    resource: gwStaging,
    scope,
  });
  const root = span({
    traceId: T1,
    spanId: "00f067aa0ba902b7",
    name: "GET /checkout",
    kind: 2,
    traceState: "vendor=x",
    start: after(base, 0, 123),
    endTimeUnixNano: after(base, 20, 1),
    statusCode: 2,
    statusMessage: "upstream failed",
    attributes: [
      attr("request.guid", "guid-1111"),
      attr("http.status_code", "500", "int"),
      attr("http.ratio", "0.25", "double"),
      attr("retry", "true", "bool"),
      attr("tags", '["a","b"]', "array"),
      attr("unicode.é", "naïve ☃ \t 'q'"),
    ],
    droppedAttributesCount: 1,
    events: [
      {
        timeUnixNano: after(base, 1, 999),
        name: "auth.checked",
        attributes: [attr("user.id", "u-1"), attr("attempts", "2", "int")],
        droppedAttributesCount: 0,
      },
    ],
    droppedEventsCount: 3,
    resource: gw,
    scope,
  });
  const call = span({
    traceId: T1,
    spanId: "a1a1a1a1a1a1a1a1",
    parentSpanId: root.spanId,
    name: "cart.get",
    kind: 3,
    start: after(base, 2, 1),
    endTimeUnixNano: after(base, 13),
    resource: gw,
    scope,
  });
  const server = span({
    traceId: T1,
    spanId: "b2b2b2b2b2b2b2b2",
    parentSpanId: call.spanId,
    name: "GetCart",
    kind: 2,
    start: after(base, 3, 7),
    endTimeUnixNano: after(base, 12, 42),
    statusCode: 1,
    resource: cart,
  });
  const query = span({
    traceId: T1,
    spanId: "c3c3c3c3c3c3c3c3",
    parentSpanId: server.spanId,
    name: "SELECT carts",
    kind: 3,
    start: after(base, 4, 5),
    endTimeUnixNano: after(base, 9, 5), // exactly 5 ms
    statusCode: 2,
    statusMessage: "deadlock detected",
    attributes: [attr("db.system", "postgresql")],
    links: [
      {
        traceId: T2,
        spanId: t2Root.spanId,
        traceState: "k=v",
        attributes: [attr("link.reason", "audit")],
        droppedAttributesCount: 2,
        flags: 1,
      },
    ],
    droppedLinksCount: 4,
    resource: db,
  });
  const producer = span({
    traceId: T1,
    spanId: "d4d4d4d4d4d4d4d4",
    parentSpanId: server.spanId,
    name: "orders publish",
    kind: 4,
    start: after(base, 10),
    durationMs: 1,
    resource: cart,
  });
  // Same start as `call`: the span id breaks the tie, so `call` ("a1…") comes first.
  const audit = span({
    traceId: T1,
    spanId: "e5e5e5e5e5e5e5e5",
    parentSpanId: root.spanId,
    name: "audit",
    kind: 1,
    start: after(base, 2, 1),
    resource: gw,
    scope,
  });
  const t1 = [
    { span: root, depth: 0 },
    { span: call, depth: 1 },
    { span: server, depth: 2 },
    { span: query, depth: 3 },
    { span: producer, depth: 3 },
    { span: audit, depth: 1 },
  ];

  const orphanage = resource("orphanage");
  const t3 = [
    span({
      traceId: T3,
      spanId: "2222222222222222",
      parentSpanId: "ffffffffffffffff",
      start: after(base, 120_000, 5),
      resource: orphanage,
    }),
    span({
      traceId: T3,
      spanId: "3333333333333333",
      parentSpanId: "eeeeeeeeeeeeeeee",
      start: after(base, 120_000),
      resource: orphanage,
    }),
    span({
      traceId: T3,
      spanId: "4444444444444444",
      parentSpanId: "3333333333333333",
      start: after(base, 120_000, 1),
      resource: orphanage,
    }),
  ];

  const worker = resource("worker");
  const workers = W.flatMap((traceId, i) => {
    const start = after(base, 300_000 + (i === 11 ? 10 : i) * 1000);
    const jobRoot = span({
      traceId,
      spanId: spanIdOf(0x100 + i),
      name: "job",
      kind: 5,
      start,
      durationMs: 100 + i,
      statusCode: i % 5 === 0 ? 2 : 0,
      attributes: [attr("job.id", `job-${i}`)],
      resource: worker,
    });
    const step = span({
      traceId,
      spanId: spanIdOf(0x200 + i),
      parentSpanId: jobRoot.spanId,
      name: "step",
      start: after(start, 1),
      resource: worker,
    });
    return [jobRoot, step];
  });

  const old = span({
    traceId: OLD,
    spanId: "5555555555555555",
    name: "GET /checkout",
    kind: 2,
    start: nowNs() - 3n * 3_600_000_000_000n,
    attributes: [attr("request.guid", "guid-old")],
    resource: gw,
  });

  const intruder = span({
    traceId: T1,
    spanId: "9999999999999999",
    name: "GET /checkout",
    kind: 2,
    start: after(base, 0, 123),
    attributes: [attr("request.guid", "guid-1111")],
    resource: resource("intruder"),
  });

  // Inserted out of waterfall order on purpose.
  const acme = [audit, producer, query, root, server, call, t2Root, ...t3, ...workers, old];
  return { base, t1, t2Root, acme, other: [intruder] };
}
