import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeBefore } from "../../test/support/store-before.js";
import { STORE_TARGETS } from "../../test/support/targets.js";
import { loadConfig } from "../config/load.js";
import type { Resource, Span } from "../model/span.js";
import {
  currentTtl,
  loadMigrations,
  migrate,
  rebuildStatements,
  renderMigration,
  retentionDaysOf,
  ttlBindings,
} from "./migrations.js";
import { encodeSpans, SPAN_COLUMNS } from "./span-encoder.js";
import { encodeSpansRowBinary } from "./span-row-binary.js";
import { openStore, type Store } from "./store.js";

const resource: Resource = {
  serviceName: "checkout",
  droppedAttributesCount: 0,
  attributes: [
    { key: "service.name", value: "checkout", type: "string" },
    { key: "host.cpu", value: "8", type: "int" },
  ],
};

function span(over: Partial<Span> = {}): Span {
  const start = BigInt(Date.now()) * 1_000_000n + 123_456n;
  return {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    parentSpanId: "",
    traceState: "k=v",
    flags: 1,
    name: "GET /cart\t'quoted'\\",
    kind: 2,
    startTimeUnixNano: start,
    endTimeUnixNano: start + 1_500_000_001n,
    attributes: [
      { key: "http.route", value: "/cart", type: "string" },
      { key: "retry", value: "true", type: "bool" },
      { key: "weird'key\n", value: "line1\nline2\t'x'\\", type: "string" },
    ],
    droppedAttributesCount: 2,
    events: [
      {
        timeUnixNano: start + 5n,
        name: "exception",
        attributes: [{ key: "a", value: "1", type: "int" }],
        droppedAttributesCount: 0,
      },
    ],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: 2,
    statusMessage: "boom",
    resource,
    scope: { name: "manual", version: "1.0" },
    ...over,
  };
}

/** Every retention class at its configured default, with spans kept `spansDays`. */
const retention = (spansDays: number) => ({
  ...retentionDaysOf(loadConfig({ env: {} }).storage),
  spans: spansDays,
});

describe.each(STORE_TARGETS)("store on $name ClickHouse", (target) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let storage: Record<string, unknown>;

  beforeAll(async () => {
    const t = await target.setup();
    cleanup = t.cleanup;
    storage = t.storage;
    store = await openStore(loadConfig({ env: {}, overrides: { storage } }).storage);
  });
  afterAll(async () => {
    await store?.close();
    await cleanup?.();
  });

  it("applies migrations once and records them", async () => {
    const first = await migrate(store, retention(7));
    expect(first.applied).toEqual(loadMigrations().map((m) => m.name));
    expect(first.applied[0]).toBe("0001_spans");
    const second = await migrate(store, retention(7));
    expect(second.applied).toEqual([]);
    expect(second.ttlChanged).toEqual([]);
  });

  it("merges sm_arrivals thirty parts wide (migration 0023)", async () => {
    const table = await store.client.query({
      query: `SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = 'sm_arrivals'`,
      query_params: { db: store.database },
      format: "JSONEachRow",
    });
    const [{ create_table_query: ddl }] = await table.json<{ create_table_query: string }>();
    expect(ddl).toMatch(/\bmerge_selector_base = 30\b/);
  });

  it("stores encoded spans with nanosecond times, escapes and typed attributes intact", async () => {
    const s = span();
    await store.insertTsv("spans", SPAN_COLUMNS, encodeSpans("tenant-a", [s]));
    const rs = await store.client.query({
      query: `SELECT name, toString(toUnixTimestamp64Nano(start_time)) AS start_ns, duration_ns, attributes,
                attribute_types, resource_attributes, kind, status_code, events.attributes AS ev
              FROM ${store.database}.spans WHERE tenant = {t:String}`,
      query_params: { t: "tenant-a" },
      format: "JSONEachRow",
    });
    const rows = await rs.json<Record<string, unknown>>();
    expect(rows).toHaveLength(1);
    expect(rows[0].name).toBe(s.name);
    expect(rows[0].start_ns).toBe(s.startTimeUnixNano.toString());
    expect(String(rows[0].duration_ns)).toBe("1500000001");
    expect(rows[0].attributes).toEqual({
      "http.route": "/cart",
      retry: "true",
      "weird'key\n": "line1\nline2\t'x'\\",
    });
    expect(rows[0].attribute_types).toEqual({ retry: "bool" });
    expect(rows[0].resource_attributes).toEqual({ "service.name": "checkout", "host.cpu": "8" });
    expect(rows[0].kind).toBe("SERVER");
    expect(rows[0].status_code).toBe("ERROR");
    expect(rows[0].ev).toEqual(['[["a","int","1"]]']);
    const idx = await store.client.query({
      query: `SELECT trace_id, sum(span_count) AS n FROM ${store.database}.trace_index WHERE tenant = 'tenant-a' GROUP BY trace_id`,
      format: "JSONEachRow",
    });
    expect(await idx.json()).toEqual([{ trace_id: s.traceId, n: "1" }]);
  });

  it("stores RowBinary rows exactly as the TabSeparated ones, whatever bytes the values hold", async () => {
    const odd = span({
      traceId: "1".repeat(32),
      name: `naïve ✓ \u0000 ${"long ".repeat(40)}`,
      statusMessage: "\n\t'\\",
      links: [
        {
          traceId: "2".repeat(32),
          spanId: "3".repeat(16),
          traceState: "a=b",
          attributes: [{ key: "k", value: "ü", type: "string" }],
          droppedAttributesCount: 1,
          flags: 257,
        },
      ],
    });
    await store.insertTsv("spans", SPAN_COLUMNS, encodeSpans("tsv", [odd]), {
      insert_deduplication_token: "rb-1",
    });
    await store.insertRowBinary("spans", SPAN_COLUMNS, encodeSpansRowBinary("rb", [odd]), {
      insert_deduplication_token: "rb-2",
    });
    const rows = async (tenant: string) => {
      const rs = await store.client.query({
        query: `SELECT * EXCEPT tenant FROM ${store.database}.spans WHERE tenant = {t:String}`,
        query_params: { t: tenant },
        format: "JSONEachRow",
      });
      return rs.json<Record<string, unknown>>();
    };
    const fromTsv = await rows("tsv");
    expect(fromTsv).toHaveLength(1);
    expect(await rows("rb")).toEqual(fromTsv);
    // Binary values contain newline bytes (here: start times and durations); every row must land.
    const base = BigInt(Date.now()) * 1_000_000n;
    const many = Array.from({ length: 5000 }, (_, i) => {
      const start = base + BigInt(i) * 0x0a0a0an;
      return span({
        spanId: (i + 1).toString(16).padStart(16, "0"),
        startTimeUnixNano: start,
        endTimeUnixNano: start + 0x0a0an,
      });
    });
    await store.insertRowBinary("spans", SPAN_COLUMNS, encodeSpansRowBinary("rb-many", many), {
      insert_deduplication_token: "rb-3",
    });
    const rs = await store.client.query({
      query: `SELECT count() AS n FROM ${store.database}.spans WHERE tenant = 'rb-many'`,
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ n: "5000" }]);
  });

  it("changes the tables' TTL when the configured retention changes", async () => {
    expect(await currentTtl(store, "spans")).toContain("toIntervalDay(7)");
    const result = await migrate(store, retention(30));
    const spanTables = ttlBindings(loadMigrations())
      .filter((b) => b.retentionClass === "spans")
      .map((b) => b.table);
    expect(spanTables).toEqual(expect.arrayContaining(["operations", "spans", "trace_index"]));
    expect(result.ttlChanged.sort()).toEqual([...spanTables].sort());
    expect(await currentTtl(store, "spans")).toContain("toIntervalDay(30)");
    expect(await currentTtl(store, "trace_index")).toContain("toIntervalDay(30)");
    expect((await migrate(store, retention(30))).ttlChanged).toEqual([]);
  });

  it("keeps each tenant's data for its own retention when storage.retention.tenants says so", async () => {
    const result = await migrate(store, retention(30), { spans: { brief: 1, keeper: 90 } });
    expect(result.ttlChanged).toEqual(expect.arrayContaining(["spans", "trace_index", "operations"]));
    expect(await currentTtl(store, "spans")).toContain(
      "multiIf(tenant = 'brief', 1, tenant = 'keeper', 90, 30)",
    );
    // unchanged configuration: recognised, no ALTER
    expect((await migrate(store, retention(30), { spans: { keeper: 90, brief: 1 } })).ttlChanged).toEqual([]);
    // three days old: past the brief tenant's day, within everyone else's month
    const old = BigInt(Date.now() - 3 * 86_400_000) * 1_000_000n;
    const aged = (traceId: string) => span({ traceId, startTimeUnixNano: old, endTimeUnixNano: old + 1000n });
    await store.insertTsv("spans", SPAN_COLUMNS, encodeSpans("brief", [aged("1".repeat(32))]), {
      insert_deduplication_token: "ttl-brief",
    });
    await store.insertTsv("spans", SPAN_COLUMNS, encodeSpans("steady", [aged("2".repeat(32))]), {
      insert_deduplication_token: "ttl-steady",
    });
    await store.client.command({ query: `OPTIMIZE TABLE ${store.database}.spans FINAL` });
    const rs = await store.client.query({
      query: `SELECT tenant FROM ${store.database}.spans WHERE tenant IN ('brief', 'steady') ORDER BY tenant`,
      format: "JSONEachRow",
    });
    expect(await rs.json()).toEqual([{ tenant: "steady" }]);
    await migrate(store, retention(30));
    expect(await currentTtl(store, "spans")).not.toContain("multiIf");
  });
});

/**
 * Migration 0020 makes some LowCardinality(String) columns plain String (core of the change: their
 * per-part dictionaries cost the merges more than they saved). Stored spans and service-map arrivals
 * must read back exactly as before, and new ones keep arriving through the views.
 */
describe("the upgrade to plain String side columns (migration 0020)", () => {
  const before = storeBefore(20);
  const client = span({
    spanId: "c1c1c1c1c1c1c1c1",
    parentSpanId: "b7ad6b7169203331",
    kind: 3,
    name: "SELECT orders",
    attributes: [
      { key: "db.system", value: "postgresql", type: "string" },
      { key: "server.address", value: "pg-1", type: "string" },
      { key: "db.rows", value: "3", type: "int" },
    ],
    events: [],
  });
  const entry = span({
    resource: {
      ...resource,
      attributes: [
        ...resource.attributes,
        { key: "service.version", value: "2.1", type: "string" },
        { key: "service.instance.id", value: "checkout-7", type: "string" },
      ],
    },
  });
  const rows = async (table: string, tenant: string) => {
    const { store } = before;
    const rs = await store.client.query({
      query: `SELECT * FROM ${store.database}.${table} WHERE tenant = {t:String} ORDER BY span_id`,
      query_params: { t: tenant },
      format: "JSONEachRow",
    });
    return rs.json<Record<string, unknown>>();
  };
  const types = async (table: string, columns: string[]) => {
    const { store } = before;
    const rs = await store.client.query({
      query: `SELECT column, groupUniqArray(type) AS types FROM system.parts_columns
              WHERE database = {db:String} AND table = {t:String} AND active AND column IN {c:Array(String)}
              GROUP BY column ORDER BY column`,
      query_params: { db: store.database, t: table, c: columns },
      format: "JSONEachRow",
    });
    return rs.json<{ column: string; types: string[] }>();
  };
  const spanColumns = [
    "attribute_types",
    "events.name",
    "resource_attribute_types",
    "scope_name",
    "scope_version",
  ];
  const arrivalColumns = ["instance", "operation", "peer_kind", "peer_name", "service_name", "version"];

  it("reads every stored span and arrival as before, from parts rewritten with the new types", async () => {
    const { store } = before;
    await store.insertRowBinary("spans", SPAN_COLUMNS, encodeSpansRowBinary("old", [entry, client]), {
      insert_deduplication_token: "u20-old",
    });
    const spansBefore = await rows("spans", "old");
    const arrivalsBefore = await rows("sm_arrivals", "old");
    expect(spansBefore).toHaveLength(2);
    expect(spansBefore[0].attribute_types).toEqual({ retry: "bool" });
    expect(spansBefore[0].resource_attribute_types).toEqual({ "host.cpu": "int" });
    expect(spansBefore[0]["events.name"]).toEqual(["exception"]);
    expect(
      arrivalsBefore.map((r) => [
        r.service_name,
        r.peer_kind,
        r.peer_name,
        r.operation,
        r.version,
        r.instance,
      ]),
    ).toEqual([
      ["checkout", "", "", entry.name, "2.1", "checkout-7"],
      ["checkout", "database", "postgresql@pg-1", "", "", ""],
    ]);
    expect(await types("spans", ["scope_name"])).toEqual([
      { column: "scope_name", types: ["LowCardinality(String)"] },
    ]);

    await before.upgrade();
    // the ALTERs' mutations run in the background: wait for them
    for (let i = 0; ; i++) {
      const rs = await store.client.query({
        query: `SELECT count() AS n FROM system.mutations WHERE database = {db:String} AND NOT is_done`,
        query_params: { db: store.database },
        format: "JSONEachRow",
      });
      if ((await rs.json<{ n: string }>())[0].n === "0") break;
      if (i > 600) throw new Error("the migration's mutations did not finish in 60 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await types("spans", spanColumns)).toEqual([
      { column: "attribute_types", types: ["Map(String, String)"] },
      { column: "events.name", types: ["Array(String)"] },
      { column: "resource_attribute_types", types: ["Map(String, String)"] },
      { column: "scope_name", types: ["String"] },
      { column: "scope_version", types: ["String"] },
    ]);
    expect(await types("sm_arrivals", arrivalColumns)).toEqual(
      arrivalColumns.map((column) => ({ column, types: ["String"] })),
    );
    expect(await rows("spans", "old")).toEqual(spansBefore);
    expect(await rows("sm_arrivals", "old")).toEqual(arrivalsBefore);
  });

  it("stores new spans and their arrivals as the old version did", async () => {
    const { store } = before;
    await store.insertRowBinary("spans", SPAN_COLUMNS, encodeSpansRowBinary("new", [entry, client]), {
      insert_deduplication_token: "u20-new",
    });
    const strip = (rs: Record<string, unknown>[]) => rs.map(({ tenant, inserted_at, ...rest }) => rest);
    expect(await rows("spans", "new")).toEqual(
      strip(await rows("spans", "old")).map((r) => ({ tenant: "new", ...r })),
    );
    expect(strip(await rows("sm_arrivals", "new"))).toEqual(strip(await rows("sm_arrivals", "old")));
  });
});

/**
 * Migration 0021 rebuilds `spans` with a new sort key (by trace within service and hour): every
 * row copied once, the views that read `spans` firing once per span before and after and never for
 * the copy, and a rebuild stopped halfway or after its exchange finishing without a duplicate.
 */
describe("the upgrade to spans sorted by trace (migration 0021)", () => {
  const NEW_KEY = "tenant, service_name, toStartOfHour(start_time), trace_id, start_time";
  // one set of spans (their times included) for every tenant, so tenants compare equal
  const spans = Array.from({ length: 12 }, (_, i) =>
    span({
      traceId: `${(i % 3).toString(16).padStart(2, "0")}f7651916cd43dd8448eb211c80319c`,
      spanId: `${i.toString(16).padStart(4, "0")}ad6b71692033`,
      parentSpanId: i % 3 === 0 ? "" : `${(i - 1).toString(16).padStart(4, "0")}ad6b71692033`,
      name: `op-${i % 4}`,
      kind: i % 3 === 0 ? 2 : 3,
    }),
  ).map((s, i) => ({ ...s, resource: { ...resource, serviceName: `svc-${i % 2}` } }));
  const read = async (store: Store, query: string) =>
    (await store.client.query({ query, format: "JSONEachRow" })).json<Record<string, unknown>>();
  /** What a user reads back: spans, the trace index and operations sums, the service-map arrivals. */
  const snapshot = async (store: Store, tenant: string) => {
    const db = store.database;
    return {
      spans: await read(store, `SELECT * FROM ${db}.spans WHERE tenant = '${tenant}' ORDER BY span_id`),
      traces: await read(
        store,
        `SELECT trace_id, toString(sum(span_count)) AS n, toString(min(start_time)) AS first
         FROM ${db}.trace_index WHERE tenant = '${tenant}' GROUP BY trace_id ORDER BY trace_id`,
      ),
      operations: await read(
        store,
        `SELECT service_name, name, toString(sum(span_count)) AS n FROM ${db}.operations
         WHERE tenant = '${tenant}' GROUP BY service_name, name ORDER BY service_name, name`,
      ),
      arrivals: await read(store, `SELECT count() AS n FROM ${db}.sm_arrivals WHERE tenant = '${tenant}'`),
    };
  };
  const layout = async (store: Store) =>
    read(
      store,
      `SELECT name, sorting_key FROM system.tables
       WHERE database = '${store.database}' AND name IN ('spans', 'spans_by_trace') ORDER BY name`,
    );
  /** 0021's first statement alone: the new table, as a run stopped before its REBUILD leaves it. */
  const createNext = async (store: Store) => {
    const [create] = renderMigration(loadMigrations().find((m) => m.version === 21)?.sql ?? "", {
      database: store.database,
      cluster: "",
      retentionDays: retentionDaysOf(loadConfig({ env: {} }).storage),
    });
    await store.client.command({ query: create });
  };
  const insert = (store: Store, tenant: string) =>
    store.insertRowBinary("spans", SPAN_COLUMNS, encodeSpansRowBinary(tenant, spans), {
      insert_deduplication_token: `u21-${tenant}`,
    });

  describe("from a store 0020 left", () => {
    const before = storeBefore(21);

    it("keeps every span, counted once in the trace index, operations and arrivals", async () => {
      const { store } = before;
      await insert(store, "old");
      const old = await snapshot(store, "old");
      expect(old.spans).toHaveLength(12);
      expect(old.traces.map((t) => t.n)).toEqual(["4", "4", "4"]);
      expect(old.operations).toHaveLength(4);
      expect((await layout(store))[0].sorting_key).toContain(", name, start_time");

      await before.upgrade();
      expect(await layout(store)).toEqual([{ name: "spans", sorting_key: NEW_KEY }]);
      expect(await snapshot(store, "old")).toEqual(old);
    });

    it("feeds the views from the rebuilt table once per new span, and a second migrate changes nothing", async () => {
      const { store } = before;
      await insert(store, "new");
      const strip = (s: Awaited<ReturnType<typeof snapshot>>) => ({
        ...s,
        spans: s.spans.map(({ tenant, ...rest }) => rest),
      });
      expect(strip(await snapshot(store, "new"))).toEqual(strip(await snapshot(store, "old")));
      await before.upgrade();
      expect(await layout(store)).toEqual([{ name: "spans", sorting_key: NEW_KEY }]);
      expect((await snapshot(store, "new")).spans).toHaveLength(12);
    });
  });

  describe("resumed after a stop halfway through the copy", () => {
    const before = storeBefore(21);

    it("empties the half copy and copies again", async () => {
      const { store } = before;
      await insert(store, "old");
      const old = await snapshot(store, "old");
      // what a stop left: the new table created, some rows copied, no exchange, 0021 not recorded
      await createNext(store);
      await store.client.command({
        query: `INSERT INTO ${store.database}.spans_by_trace SELECT * FROM ${store.database}.spans LIMIT 5`,
      });
      await before.upgrade();
      expect(await layout(store)).toEqual([{ name: "spans", sorting_key: NEW_KEY }]);
      expect(await snapshot(store, "old")).toEqual(old);
    });
  });

  describe("resumed after a stop between the exchange and the drop", () => {
    const before = storeBefore(21);

    it("only drops the old table", async () => {
      const { store } = before;
      await insert(store, "old");
      const old = await snapshot(store, "old");
      await createNext(store);
      await store.client.command({
        query: `INSERT INTO ${store.database}.spans_by_trace SELECT * FROM ${store.database}.spans`,
      });
      await store.client.command({
        query: rebuildStatements(store.database, "", "spans", "spans_by_trace", []).exchange,
      });
      expect(await layout(store)).toEqual([
        { name: "spans", sorting_key: NEW_KEY },
        { name: "spans_by_trace", sorting_key: expect.stringContaining(", name, start_time") },
      ]);
      await before.upgrade();
      expect(await layout(store)).toEqual([{ name: "spans", sorting_key: NEW_KEY }]);
      expect(await snapshot(store, "old")).toEqual(old);
    });
  });
});
