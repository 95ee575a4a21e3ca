import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeBefore } from "../../test/support/store-before.js";
import { STORE_TARGETS } from "../../test/support/targets.js";
import { loadConfig } from "../config/load.js";
import { SPAN_COLUMNS_V1 } from "../kafka/format.js";
import { createLogger } from "../log.js";
import { type Span, SpanKind, type SpanLink } from "../model/span.js";
import { loadMigrations, migrate, renderMigration, retentionDaysOf } from "../store/migrations.js";
import { encodeSpans, SPAN_COLUMNS } from "../store/span-encoder.js";
import { openStore, type Store } from "../store/store.js";
import { createServiceMapJob, pairedSpans, unstagedWindowsSql } from "./job.js";
import {
  inSlice,
  type PairingInputs,
  type PairingRange,
  PENDING_COLUMNS,
  pairingCensusSql,
  pairingInputsOf,
  pairingSql,
  pairsAnything,
  pendingSql,
  RESOLVED_COLUMNS,
  resolvedSql,
  sliceCount,
} from "./pairing.js";
import { redSql } from "./red.js";

function span(over: Partial<Span> & Pick<Span, "traceId" | "spanId" | "kind">, service: string): Span {
  const start = BigInt(Date.now()) * 1_000_000n;
  return {
    parentSpanId: "",
    traceState: "",
    flags: 1,
    name: "op",
    startTimeUnixNano: start,
    endTimeUnixNano: start + 2_000_000n,
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: 0,
    statusMessage: "",
    resource: {
      attributes: [{ key: "service.name", value: service, type: "string" }],
      droppedAttributesCount: 0,
      serviceName: service,
    },
    scope: { name: "test", version: "" },
    ...over,
  };
}

/** A span link to `s` (a CONSUMER's link to the PRODUCER that sent its message). */
const linkTo = (s: Span): SpanLink => ({
  traceId: s.traceId,
  spanId: s.spanId,
  traceState: "",
  attributes: [],
  droppedAttributesCount: 0,
  flags: 1,
});

/**
 * The pairing query reads only candidate traces (those with an arrival in the window, peer spans
 * and cross-trace links within one lateness bound): a CONSUMER that starts its own trace with a
 * link to the PRODUCER pairs across the two traces whichever side arrives last.
 */
describe.each(STORE_TARGETS)("service-map pairing across linked traces on $name ClickHouse", (target) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let seq = 0;

  beforeAll(async () => {
    const t = await target.setup();
    cleanup = t.cleanup;
    const config = loadConfig({ env: {}, overrides: { storage: t.storage } });
    store = await openStore(config.storage);
    await migrate(store, retentionDaysOf(config.storage));
  });
  afterAll(async () => {
    await store?.close();
    await cleanup?.();
  });

  const insert = (tenant: string, s: Span) =>
    store.insertTsv("spans", SPAN_COLUMNS, encodeSpans(tenant, [s]), {
      insert_deduplication_token: `pairing-${tenant}-${seq++}`,
    });
  /** Arrival times of every stored copy of a span, earliest first. */
  const arrivals = async (tenant: string, spanId: string) => {
    const rs = await store.client.query({
      query: `SELECT toUnixTimestamp64Milli(inserted_at) AS ins FROM ${store.database}.sm_arrivals
              WHERE tenant = {t:String} AND span_id = unhex({s:String}) ORDER BY ins`,
      query_params: { t: tenant, s: spanId },
      format: "JSONEachRow",
    });
    return (await rs.json<{ ins: string }>()).map((r) => BigInt(r.ins));
  };
  const arrival = async (tenant: string, spanId: string) => (await arrivals(tenant, spanId))[0];
  /** What the job's census finds in the window [fromMs, untilMs) (every tenant's arrivals). */
  const census = async (fromMs: bigint, untilMs: bigint): Promise<PairingInputs> => {
    const rs = await store.client.query({
      query: pairingCensusSql(store.database, { doneFromMs: fromMs, untilMs, latenessMs: 300_000 }),
      format: "JSONEachRow",
    });
    const [row] = await rs.json<Record<keyof PairingInputs, string>>();
    return pairingInputsOf(row);
  };
  /**
   * The calls done in [fromMs, untilMs), paired in `slices` slices of the trace-id space
   * (concatenated); the same whichever traces the pairing reads, and with the branches the census
   * finds no input for left out, as the job does (every way is checked).
   */
  const calls = async (tenant: string, fromMs: bigint, untilMs: bigint, slices = 1) => {
    const inputs = await census(fromMs, untilMs);
    const ways = {
      children: { candidates: "children" },
      arrivals: { candidates: "arrivals" },
      census: { candidates: "children", inputs },
      censusArrivals: { candidates: "arrivals", inputs },
    } as const;
    const by: Record<string, unknown[]> = {};
    for (const [way, how] of Object.entries(ways)) {
      by[way] = [];
      // the job does not pair a window whose census finds nothing to pair
      if (way.startsWith("census") && !pairsAnything(inputs)) continue;
      for (let index = 0; index < slices; index++) {
        const rs = await store.client.query({
          query: `SELECT source, target_kind, target, is_late FROM (${pairingSql(
            store.database,
            { doneFromMs: fromMs, untilMs, latenessMs: 300_000, ...how },
            { index, count: slices },
          )}) WHERE tenant = {t:String} ORDER BY target`,
          query_params: { t: tenant },
          format: "JSONEachRow",
        });
        by[way].push(...(await rs.json()));
      }
    }
    expect(by.children, "the same calls whichever traces are read").toEqual(by.arrivals);
    expect(by.census, "the same calls with the branches the census rules out left out").toEqual(by.children);
    expect(by.censusArrivals, "the same calls with the branches the census rules out left out").toEqual(
      by.children,
    );
    return by.children;
  };

  for (const order of ["consumer first", "producer first"] as const) {
    it(`counts orders → mailer once, in the window of the later arrival (${order})`, async () => {
      const tenant = `link-${order.replace(" ", "-")}`;
      const producer = span(
        { traceId: "a".repeat(32), spanId: "1".repeat(16), kind: SpanKind.PRODUCER, name: "publish" },
        "orders",
      );
      const consumer = span(
        {
          traceId: "b".repeat(32),
          spanId: "2".repeat(16),
          kind: SpanKind.CONSUMER,
          name: "consume",
          links: [linkTo(producer)],
        },
        "mailer",
      );
      const [first, second] = order === "consumer first" ? [consumer, producer] : [producer, consumer];
      await insert(tenant, first);
      await new Promise((r) => setTimeout(r, 1100));
      await insert(tenant, second);
      const t1 = await arrival(tenant, first.spanId);
      const t2 = await arrival(tenant, second.spanId);
      expect(t2).toBeGreaterThan(t1);
      // the window holding the second arrival counts the call; the first arrival's window does not
      expect(await calls(tenant, t2, t2 + 1n)).toEqual([
        { source: "orders", target_kind: "service", target: "mailer", is_late: 0 },
      ]);
      expect(await calls(tenant, t1, t2)).toEqual([]);
      // in 16 slices the producer's trace (aa…) and the consumer's (bb…) fall in different slices
      // (10 and 11): the call is still counted once, in the producer's
      expect(await calls(tenant, t2, t2 + 1n, 16)).toEqual([
        { source: "orders", target_kind: "service", target: "mailer", is_late: 0 },
      ]);
      expect(await calls(tenant, t1, t2, 16)).toEqual([]);
      expect(await calls(tenant, t2, t2 + 1n, 3)).toEqual([
        { source: "orders", target_kind: "service", target: "mailer", is_late: 0 },
      ]);
    });
  }

  it("finds the parent that came with its own parent (local_parent) after its children in other services", async () => {
    const tenant = "local-parent";
    const trace = "c".repeat(32);
    const root = span({ traceId: trace, spanId: "1".repeat(16), kind: SpanKind.SERVER }, "gateway");
    const client = {
      ...span(
        { traceId: trace, spanId: "2".repeat(16), parentSpanId: root.spanId, kind: SpanKind.CLIENT },
        "gateway",
      ),
      resource: root.resource, // one ResourceSpans
    };
    // a second request of the gateway's, in a trace of its own (so that neither call's trace is
    // found through the other's)
    const root2 = {
      ...span({ traceId: "e".repeat(32), spanId: "6".repeat(16), kind: SpanKind.SERVER }, "gateway"),
      resource: root.resource,
    };
    const producer = {
      ...span(
        {
          traceId: root2.traceId,
          spanId: "3".repeat(16),
          parentSpanId: root2.spanId,
          kind: SpanKind.PRODUCER,
        },
        "gateway",
      ),
      resource: root.resource, // one ResourceSpans
    };
    // the children end first and come first: auth's SERVER span, and mailer's CONSUMER in a trace
    // of its own, linked to the producer
    const server = span(
      { traceId: trace, spanId: "4".repeat(16), parentSpanId: client.spanId, kind: SpanKind.SERVER },
      "auth",
    );
    const consumer = span(
      { traceId: "d".repeat(32), spanId: "5".repeat(16), kind: SpanKind.CONSUMER, links: [linkTo(producer)] },
      "mailer",
    );
    await store.insertTsv("spans", SPAN_COLUMNS, encodeSpans(tenant, [server, consumer]), {
      insert_deduplication_token: `pairing-${tenant}-children`,
    });
    await new Promise((r) => setTimeout(r, 1100));
    // the gateway's spans in one request: the client and the producer came with their parent
    await store.insertTsv("spans", SPAN_COLUMNS, encodeSpans(tenant, [client, producer, root, root2]), {
      insert_deduplication_token: `pairing-${tenant}-gateway`,
    });
    const flags = await store.client.query({
      query: `SELECT s.span_id AS span, s.local_parent AS local_parent, a.remote_child AS remote_child,
          if(empty(a.ref_span_id), '', lower(hex(a.ref_span_id))) AS parent_ref
        FROM ${store.database}.spans AS s
        JOIN ${store.database}.sm_arrivals AS a ON a.tenant = s.tenant AND lower(hex(a.span_id)) = s.span_id
        WHERE s.tenant = {t:String} ORDER BY span`,
      query_params: { t: tenant },
      format: "JSONEachRow",
    });
    // stored: whether the parent came in the same ResourceSpans; for the job: whether the span may
    // be the child of a call between services, and the parent it would look for (none for a span
    // that came with its parent, migration 0024: it is of its parent's service)
    expect(await flags.json()).toEqual([
      { span: root.spanId, local_parent: 0, remote_child: 0, parent_ref: "" },
      { span: client.spanId, local_parent: 1, remote_child: 0, parent_ref: "" },
      { span: producer.spanId, local_parent: 1, remote_child: 0, parent_ref: "" },
      { span: server.spanId, local_parent: 0, remote_child: 1, parent_ref: client.spanId },
      { span: consumer.spanId, local_parent: 0, remote_child: 1, parent_ref: producer.spanId },
      { span: root2.spanId, local_parent: 0, remote_child: 0, parent_ref: "" },
    ]);
    const t1 = await arrival(tenant, server.spanId);
    const t2 = await arrival(tenant, client.spanId);
    expect(t2).toBeGreaterThan(t1);
    const sorted = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).sort();
    const both = sorted([
      { source: "gateway", target_kind: "service", target: "auth", is_late: 0 },
      { source: "gateway", target_kind: "service", target: "mailer", is_late: 0 },
    ]);
    // the gateway's window counts both calls, in one slice or in 16; the children's counts none
    expect(sorted(await calls(tenant, t2, t2 + 1n))).toEqual(both);
    expect(sorted(await calls(tenant, t2, t2 + 1n, 16))).toEqual(both);
    expect(await calls(tenant, t1, t2)).toEqual([]);
  });

  it("cuts the trace-id space into slices that cover every id exactly once", async () => {
    for (const count of [2, 3, 16, 255, 256]) {
      const conditions = Array.from({ length: count }, (_, index) => inSlice("t", { index, count }));
      const rs = await store.client.query({
        // every first byte, followed by the lowest and the highest rest
        query: `SELECT arrayMap(t -> [${conditions.join(", ")}], [
            toFixedString(concat(char(number), repeat(char(0), 15)), 16),
            toFixedString(concat(char(number), repeat(char(255), 15)), 16)]) AS hits
          FROM numbers(256) ORDER BY number`,
        format: "JSONEachRow",
      });
      const rows = await rs.json<{ hits: number[][] }>();
      expect(rows).toHaveLength(256);
      rows.forEach((row, byte) => {
        for (const hits of row.hits) {
          expect(
            hits.reduce((a, b) => a + Number(b), 0),
            `byte ${byte} of ${count} slices`,
          ).toBe(1);
          // slice i starts at first byte floor(256 i / count): in order, and as even as bytes allow
          const expected = Array.from({ length: count }, (_, i) => i).findLast(
            (i) => Math.floor((256 * i) / count) <= byte,
          );
          expect(hits.indexOf(1), `byte ${byte} of ${count} slices`).toBe(expected);
        }
      });
    }
    expect(inSlice("t", { index: 0, count: 1 })).toBe("1");
  });

  it("reads a replayed span once: stored again in other batches, its call and its request count once", async () => {
    const tenant = "replay";
    const client = span(
      { traceId: "f".repeat(32), spanId: "7".repeat(16), kind: SpanKind.CLIENT },
      "gateway",
    );
    const server = span(
      { traceId: client.traceId, spanId: "8".repeat(16), parentSpanId: client.spanId, kind: SpanKind.SERVER },
      "auth",
    );
    await insert(tenant, client);
    await insert(tenant, server);
    // an ingester replaying both in one batch: another dedup token, so stored a second time
    await store.insertTsv("spans", SPAN_COLUMNS, encodeSpans(tenant, [client, server]), {
      insert_deduplication_token: `pairing-${tenant}-replay`,
    });
    const until = BigInt(Date.now() + 60_000);
    expect(await calls(tenant, 0n, until)).toEqual([
      { source: "gateway", target_kind: "service", target: "auth", is_late: 0 },
    ]);
    expect(await calls(tenant, 0n, until, 16)).toEqual([
      { source: "gateway", target_kind: "service", target: "auth", is_late: 0 },
    ]);
    const red = await store.client.query({
      query: `SELECT service, calls FROM (${redSql(store.database, { arrivedFrom: 0n, arrivedBefore: until })})
        WHERE tenant = {t:String} ORDER BY service`,
      query_params: { t: tenant },
      format: "JSONEachRow",
    });
    // the gateway's root CLIENT span and the auth SERVER span are one request each
    expect(await red.json()).toEqual([
      { service: "auth", calls: "1" },
      { service: "gateway", calls: "1" },
    ]);
  });
  it("stages each window's pending CLIENT/PRODUCER spans: the calls read from the stage are those paired again", async () => {
    const tenant = "staged";
    const late = 4_000;
    const windowMs = 1_000n;
    const pause = () => new Promise((r) => setTimeout(r, 1100));
    const attrs = (pairs: [string, string][]) =>
      pairs.map(([key, value]) => ({ key, value, type: "string" as const }));
    const caller = (
      id: string,
      service: string,
      peer: [string, string][],
      kind: Span["kind"] = SpanKind.CLIENT,
    ) => span({ traceId: id.repeat(32), spanId: id.repeat(16), kind, attributes: attrs(peer) }, service);
    const callee = (parent: Span, id: string, service: string) =>
      span(
        {
          traceId: parent.traceId,
          spanId: id.repeat(16),
          parentSpanId: parent.spanId,
          kind: SpanKind.SERVER,
        },
        service,
      );
    // a database (never instrumented), four calls to services whose spans arrive at different
    // times, and a message consumed in a trace of its own
    const query = caller("1", "billing", [
      ["db.system", "postgresql"],
      ["server.address", "pg-1"],
    ]);
    const toAuth = caller("2", "gateway", [["peer.service", "auth"]]);
    const toMailer = caller("3", "gateway", [["peer.service", "mailer"]]);
    const toSelf = caller("4", "gateway", [["peer.service", "payments"]]);
    const toSearch = caller("5", "gateway", [["peer.service", "search"]]);
    const publish = caller("6", "shop", [["messaging.destination.name", "orders"]], SpanKind.PRODUCER);
    const consumer = span(
      { traceId: "7".repeat(32), spanId: "7".repeat(16), kind: SpanKind.CONSUMER, links: [linkTo(publish)] },
      "mailer",
    );
    const put = (spans: Span[], step: string) =>
      store.insertTsv("spans", SPAN_COLUMNS, encodeSpans(tenant, spans), {
        insert_deduplication_token: `pairing-${tenant}-${step}`,
      });
    // the mailer's span comes before its caller's
    await put([callee(toMailer, "a", "mailer")], "early child");
    await pause();
    await put([query, toAuth, toMailer, toSelf, toSearch, publish], "callers");
    await pause();
    // after the callers' window: auth's span, and one of the gateway's own (not a call between services)
    await put([callee(toAuth, "b", "auth"), callee(toSelf, "c", "gateway")], "children");
    await pause();
    await put([consumer], "consumer");
    await put([query], "replayed query");
    // search's span comes after the bound: the call is external until then, and late
    const sent = await arrival(tenant, toSearch.spanId);
    await new Promise((r) => setTimeout(r, Math.max(0, Number(sent) + late + 300 - Date.now())));
    await put([callee(toSearch, "d", "search")], "too late");
    const times = await store.client.query({
      query: `SELECT toUnixTimestamp64Milli(min(inserted_at)) AS first, toUnixTimestamp64Milli(max(inserted_at)) AS last
        FROM ${store.database}.sm_arrivals WHERE tenant = {t:String}`,
      query_params: { t: tenant },
      format: "JSONEachRow",
    });
    const [{ first, last }] = await times.json<{ first: string; last: string }>();
    const start = (BigInt(first) / windowMs) * windowMs;
    const end = (BigInt(last) / windowMs + 2n) * windowMs + BigInt(late);
    const read = async (r: PairingRange) => {
      const rs = await store.client.query({
        query: `SELECT source, target_kind, target, is_late, trace_id, toString(done) AS done FROM (${pairingSql(store.database, r)})
          WHERE tenant = {t:String} ORDER BY target, trace_id, is_late`,
        query_params: { t: tenant },
        format: "JSONEachRow",
      });
      return rs.json<Record<string, string | number>>();
    };
    // the job's windows, in order: stage, then pair from the stage and again from the arrivals
    const all: Record<string, string | number>[] = [];
    for (let a = start; a < end; a += windowMs) {
      const b = a + windowMs;
      // both ways of reading traces (the job picks one per window; the calls are the same)
      const window: PairingRange = {
        doneFromMs: a,
        untilMs: b,
        latenessMs: late,
        candidates: (a / windowMs) % 2n === 0n ? "children" : "arrivals",
      };
      await store.client.command({
        query: `INSERT INTO ${store.database}.sm_pending (${PENDING_COLUMNS}) ${pendingSql(store.database, window)}`,
      });
      await store.client.command({
        query: `INSERT INTO ${store.database}.sm_resolved (${RESOLVED_COLUMNS}) ${resolvedSql(store.database, window)}`,
      });
      const paired = await read(window);
      expect(await read({ ...window, stagedUntilMs: b }), `window ending ${b}`).toEqual(paired);
      all.push(...paired);
    }
    // every call once, in the window it is done in (a service edge's trace is its child's)
    const call = (source: string, kind: string, target: string, s: Span, isLate = 0) =>
      `${source} -> ${kind}:${target} ${s.traceId}${isLate ? " late" : ""}`;
    expect(
      all
        .map((c) => `${c.source} -> ${c.target_kind}:${c.target} ${c.trace_id}${c.is_late ? " late" : ""}`)
        .sort(),
    ).toEqual(
      [
        call("gateway", "service", "auth", toAuth),
        call("gateway", "service", "mailer", toMailer),
        call("shop", "service", "mailer", consumer),
        call("gateway", "external", "payments", toSelf),
        call("billing", "database", "postgresql@pg-1", query),
        call("gateway", "external", "search", toSearch),
        call("gateway", "service", "search", toSearch, 1),
      ].sort(),
    );
    // the reader's live part at every watermark: what is done since it, counted from the stage
    // for the spans that arrived before it, equals pairing everything since it again
    for (let wm = start; wm <= end; wm += windowMs) {
      const live: PairingRange = {
        doneFromMs: wm,
        untilMs: BigInt(Date.now() + 60_000),
        latenessMs: late,
        lookbackBounds: 2,
      };
      expect(await read({ ...live, stagedUntilMs: wm }), `watermark ${wm}`).toEqual(await read(live));
    }
  });

  it("finds the windows of the last bound published without their pending spans staged", async () => {
    // an hour ago (within sm_windows' TTL), before any window of this file's job
    const base = Math.floor(Date.now() / 1000) - 3600;
    const at = (s: number) => `fromUnixTimestamp64Milli(toInt64(${(base + s) * 1000}))`;
    // windows 1-6 s; 3 published twice, once staged; 5 by a runner that did not stage
    await store.client.command({
      query: `INSERT INTO ${store.database}.sm_windows (window_end, pending) VALUES
        (${at(1)}, 0), (${at(2)}, 1), (${at(3)}, 0), (${at(3)}, 1), (${at(4)}, 1), (${at(5)}, 0), (${at(6)}, 1)`,
    });
    const unstaged = async (end: number, lateness: number) => {
      const rs = await store.client.query({
        query: unstagedWindowsSql(store.database, `(${at(end)})`, lateness),
        format: "JSONEachRow",
      });
      return Number((await rs.json<{ n: string }>())[0].n);
    };
    expect(await unstaged(4, 2000)).toBe(0); // windows 3 and 4
    expect(await unstaged(4, 3000)).toBe(0); // 2-4
    expect(await unstaged(4, 3500)).toBe(1); // 1-4: 1 was not staged
    expect(await unstaged(6, 1000)).toBe(0); // 6
    expect(await unstaged(6, 2000)).toBe(1); // 5 and 6
    expect(await unstaged(7, 2000)).toBe(0); // 6 (7 is not published)
  });

  it("counts a replayed database call once: in the window its first copy is due, not in its copy's", async () => {
    const tenant = "replay-virtual";
    const query = span(
      {
        traceId: "e".repeat(32),
        spanId: "6".repeat(16),
        kind: SpanKind.CLIENT,
        attributes: [
          { key: "db.system", value: "postgresql", type: "string" },
          { key: "server.address", value: "pg-1", type: "string" },
        ],
      },
      "billing",
    );
    await insert(tenant, query);
    await new Promise((r) => setTimeout(r, 50));
    // stored again later (a client retrying, an ingester replaying): the same span id
    await store.insertTsv("spans", SPAN_COLUMNS, encodeSpans(tenant, [query]), {
      insert_deduplication_token: `pairing-${tenant}-replay`,
    });
    const [first, again] = await arrivals(tenant, query.spanId);
    expect(again).toBeGreaterThan(first);
    const late = 300_000n;
    const call = { source: "billing", target_kind: "database", target: "postgresql@pg-1", is_late: 0 };
    for (const slices of [1, 16]) {
      // due one lateness bound after its first arrival
      expect(await calls(tenant, first + late, first + late + 1n, slices)).toEqual([call]);
      // the copy's own due time finds the first copy, which arrived before its window
      expect(await calls(tenant, again + late, again + late + 1n, slices)).toEqual([]);
    }
  });
});

/**
 * Inserts a span as a Skald of before migrations/0018 did: without local_parent (so into stores
 * of any version).
 */
function insertOld(store: Store, tenant: string, s: Span, token: string): Promise<void> {
  const lines = encodeSpans(tenant, [s])
    .toString("utf8")
    .split("\n")
    .filter((l) => l !== "");
  const old = lines.map((l) => `${l.slice(0, l.lastIndexOf("\t"))}\n`).join("");
  return store.insertTsv("spans", SPAN_COLUMNS_V1, Buffer.from(old, "utf8"), {
    insert_deduplication_token: token,
  });
}

/**
 * Migration 0011 replaces sm_spans (hex ids) with sm_half_edges (ids as bytes): half edges that
 * arrived before the upgrade are carried over and pair with those that arrive after it.
 */
describe("service-map half edges across the upgrade to binary ids (migration 0011)", () => {
  const before = storeBefore(11);

  it("copies the old rows (same-trace parents as zeros, cross-trace links as bytes) and pairs across the upgrade", async () => {
    const { store } = before;
    const insert = (s: Span, token: string) => insertOld(store, "up", s, token);
    const gateway = span(
      { traceId: "c".repeat(32), spanId: "3".repeat(16), kind: SpanKind.CLIENT },
      "gateway",
    );
    const producer = span(
      { traceId: "d".repeat(32), spanId: "4".repeat(16), kind: SpanKind.PRODUCER },
      "orders",
    );
    await insert(gateway, "up-1");
    await insert(producer, "up-2");
    await before.upgrade();
    const tables = await store.client.query({
      query: `SELECT name, engine FROM system.tables WHERE database = {db:String} AND name IN ('sm_spans', 'sm_spans_mv')`,
      query_params: { db: store.database },
      format: "JSONEachRow",
    });
    // the old table and its view are gone; sm_spans is now a view for older Skald versions
    expect(await tables.json()).toEqual([{ name: "sm_spans", engine: "View" }]);
    // after the upgrade: auth's SERVER span under the gateway's CLIENT span, and a consumer
    // linked to the producer from a trace of its own
    const auth = span(
      {
        traceId: gateway.traceId,
        spanId: "5".repeat(16),
        parentSpanId: gateway.spanId,
        kind: SpanKind.SERVER,
      },
      "auth",
    );
    const consumer = span(
      {
        traceId: "e".repeat(32),
        spanId: "6".repeat(16),
        kind: SpanKind.CONSUMER,
        links: [linkTo(producer)],
      },
      "mailer",
    );
    await insert(auth, "up-3");
    await insert(consumer, "up-4");
    const rows = await store.client.query({
      query: `SELECT lower(hex(span_id)) AS span, lower(hex(ref_trace_id)) AS ref_trace, lower(hex(ref_span_id)) AS ref_span
        FROM ${store.database}.sm_half_edges WHERE tenant = 'up' ORDER BY span`,
      format: "JSONEachRow",
    });
    expect(await rows.json()).toEqual([
      { span: "3".repeat(16), ref_trace: "0".repeat(32), ref_span: "0".repeat(16) },
      { span: "4".repeat(16), ref_trace: "0".repeat(32), ref_span: "0".repeat(16) },
      { span: "5".repeat(16), ref_trace: "0".repeat(32), ref_span: gateway.spanId },
      { span: "6".repeat(16), ref_trace: producer.traceId, ref_span: producer.spanId },
    ]);
    // what a version before 0011 reads: hex ids, its own trace as ref_trace_id, '' for no parent
    const legacy = await store.client.query({
      query: `SELECT span_id, trace_id, ref_trace_id, ref_span_id FROM ${store.database}.sm_spans
        WHERE tenant = 'up' ORDER BY span_id`,
      format: "JSONEachRow",
    });
    expect(await legacy.json()).toEqual([
      { span_id: gateway.spanId, trace_id: gateway.traceId, ref_trace_id: gateway.traceId, ref_span_id: "" },
      {
        span_id: producer.spanId,
        trace_id: producer.traceId,
        ref_trace_id: producer.traceId,
        ref_span_id: "",
      },
      {
        span_id: auth.spanId,
        trace_id: gateway.traceId,
        ref_trace_id: gateway.traceId,
        ref_span_id: gateway.spanId,
      },
      {
        span_id: consumer.spanId,
        trace_id: consumer.traceId,
        ref_trace_id: producer.traceId,
        ref_span_id: producer.spanId,
      },
    ]);
    const calls = await store.client.query({
      query: `SELECT source, target, trace_id, is_late FROM (${pairingSql(store.database, {
        doneFromMs: 0n,
        untilMs: BigInt(Date.now() + 60_000),
        latenessMs: 300_000,
      })}) WHERE tenant = 'up' ORDER BY source`,
      format: "JSONEachRow",
    });
    expect(await calls.json()).toEqual([
      { source: "gateway", target: "auth", trace_id: gateway.traceId, is_late: 0 },
      { source: "orders", target: "mailer", trace_id: consumer.traceId, is_late: 0 },
    ]);
  });
});

/**
 * Migration 0013 moves service RED from a view on spans to the job's arrival windows. Entry spans
 * counted by the old view before the upgrade are not counted again by the job after it, and those
 * stored after it are counted once, by the job, with their operation, version and instance.
 */
describe("service RED across the upgrade to job-built rollups (migration 0013)", () => {
  const before = storeBefore(13);

  it("counts every entry span once, before and after", async () => {
    const { store } = before;
    const db = store.database;
    const insert = (s: Span, token: string) => insertOld(store, "up", s, token);
    const server = (spanId: string, version: string) => {
      const s = span(
        { traceId: spanId.repeat(2), spanId, kind: SpanKind.SERVER, name: "GET /pay" },
        "payment",
      );
      s.resource.attributes.push(
        { key: "service.version", value: version, type: "string" },
        { key: "service.instance.id", value: "pay-1", type: "string" },
      );
      return s;
    };
    await insert(server("1".repeat(16), "1.0"), "red-up-1");
    await before.upgrade();
    await insert(server("2".repeat(16), "1.1"), "red-up-2");
    // a CLIENT span with a parent is not a request of its service
    await insert(
      span(
        {
          traceId: "3".repeat(32),
          spanId: "3".repeat(16),
          parentSpanId: "4".repeat(16),
          kind: SpanKind.CLIENT,
        },
        "payment",
      ),
      "red-up-3",
    );
    const red = async (table = "sm_red_1m") => {
      const rs = await store.client.query({
        query: `SELECT operation, version, instance, sum(calls) AS calls FROM ${db}.${table}
          WHERE tenant = 'up' GROUP BY operation, version, instance ORDER BY version`,
        format: "JSONEachRow",
      });
      return rs.json();
    };
    // before the job runs, only the old view's row is in the rollup
    expect(await red()).toEqual([{ operation: "GET /pay", version: "1.0", instance: "pay-1", calls: "1" }]);
    const job = createServiceMapJob(
      { store, logger: createLogger("silent"), registry: new Registry() },
      { jobEnabled: true, windowMs: 200, latenessMs: 1000, visibilityMarginMs: 0, maxWindowsPerRun: 100_000 },
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(await job.runOnce()).toBeGreaterThan(0);
    await job.stop();
    expect(await red()).toEqual([
      { operation: "GET /pay", version: "1.0", instance: "pay-1", calls: "1" },
      { operation: "GET /pay", version: "1.1", instance: "pay-1", calls: "1" },
    ]);
    // the fine-grained twin (0015): the pre-upgrade row by its copy at creation, the job's by its view
    expect(await red("sm_red_1m_v2")).toEqual(await red());
    // every per-service rollup: the fine-grained minutes (0014) got the pre-upgrade row by the copy
    // at their creation and the job's through their view
    for (const table of ["sm_service_red_1m", "sm_service_red_1m_v2", "sm_service_red_1h"]) {
      const services = await store.client.query({
        query: `SELECT sum(calls) AS calls FROM ${db}.${table} WHERE tenant = 'up' AND service = 'payment'`,
        format: "JSONEachRow",
      });
      expect(await services.json(), table).toEqual([{ calls: "2" }]);
    }
  });
});

describe("sliceCount", () => {
  it("gives one slice per spansPerSlice arrivals, at least 1 and at most 256", () => {
    expect(sliceCount(0, 200_000)).toBe(1);
    expect(sliceCount(200_000, 200_000)).toBe(1);
    expect(sliceCount(200_001, 200_000)).toBe(2);
    expect(sliceCount(1_650_000, 200_000)).toBe(9);
    expect(sliceCount(1e12, 200_000)).toBe(256);
    expect(sliceCount(1_650_000, 0)).toBe(1); // 0 = never slice
  });

  it("slices by the spans the pairing groups: every arrival when it reads every trace, else the candidates' and peers", () => {
    expect(pairedSpans(1_800_000, "arrivals", 0.9, 1000)).toBe(1_800_000);
    // half the traces cross services, a tenth of the spans have a peer
    expect(pairedSpans(1_000_000, "children", 0.5, 100_000)).toBe(600_000);
    // one service, no peers: only the window's ids, an eighth of a grouped span each
    expect(pairedSpans(1_800_000, "children", 0, 0)).toBe(225_000);
    expect(sliceCount(pairedSpans(1_600_000, "children", 0, 0), 200_000)).toBe(1);
  });
});

/**
 * Migration 0017 replaces sm_half_edges with sm_arrivals, sorted by arrival first: half edges that
 * arrived before the upgrade are carried over, pair with those that arrive after it, and older
 * Skald versions still read every row under the old name.
 */
describe("service-map half edges across the upgrade to arrival order (migration 0017)", () => {
  const before = storeBefore(17);

  it("copies the old rows once, pairs across the upgrade, and leaves sm_half_edges as a view", async () => {
    const { store } = before;
    const db = store.database;
    const insert = (s: Span, token: string) => insertOld(store, "arr", s, token);
    const gateway = span(
      { traceId: "f".repeat(32), spanId: "7".repeat(16), kind: SpanKind.CLIENT },
      "gateway",
    );
    await insert(gateway, "arr-1");
    await before.upgrade();
    const auth = span(
      {
        traceId: gateway.traceId,
        spanId: "8".repeat(16),
        parentSpanId: gateway.spanId,
        kind: SpanKind.SERVER,
      },
      "auth",
    );
    await insert(auth, "arr-2");
    const tables = async () => {
      const rs = await store.client.query({
        query: `SELECT name, engine, sorting_key FROM system.tables
          WHERE database = {db:String} AND name IN ('sm_half_edges', 'sm_arrivals', 'sm_half_edges_entry_mv')
          ORDER BY name`,
        query_params: { db },
        format: "JSONEachRow",
      });
      return rs.json();
    };
    const rows = async (table: string) => {
      const rs = await store.client.query({
        query: `SELECT lower(hex(span_id)) AS span, service_name AS service FROM ${db}.${table}
          WHERE tenant = 'arr' ORDER BY span`,
        format: "JSONEachRow",
      });
      return rs.json();
    };
    const expected = [
      { span: gateway.spanId, service: "gateway" },
      { span: auth.spanId, service: "auth" },
    ];
    expect(await tables()).toEqual([
      {
        name: "sm_arrivals",
        engine: "MergeTree",
        sorting_key: "tenant, toStartOfInterval(inserted_at, toIntervalSecond(10)), trace_id, span_id",
      },
      { name: "sm_half_edges", engine: "View", sorting_key: "" },
    ]);
    expect(await rows("sm_arrivals")).toEqual(expected);
    // what a version before 0017 reads
    expect(await rows("sm_half_edges")).toEqual(expected);
    const calls = async () => {
      const rs = await store.client.query({
        query: `SELECT source, target, trace_id, is_late FROM (${pairingSql(db, {
          doneFromMs: 0n,
          untilMs: BigInt(Date.now() + 60_000),
          latenessMs: 300_000,
        })}) WHERE tenant = 'arr'`,
        format: "JSONEachRow",
      });
      return rs.json();
    };
    expect(await calls()).toEqual([
      { source: "gateway", target: "auth", trace_id: gateway.traceId, is_late: 0 },
    ]);
    // a re-run of the migration (interrupted before it was recorded) copies nothing twice
    const [m] = loadMigrations().filter((m) => m.version === 17);
    for (const sql of renderMigration(m.sql, { database: db, cluster: "", retentionDays: { spans: 7 } }))
      await store.client.command({ query: sql });
    expect(await rows("sm_arrivals")).toEqual(expected);
    expect(await tables()).toHaveLength(2);
    expect(await calls()).toHaveLength(1);
  });
});
