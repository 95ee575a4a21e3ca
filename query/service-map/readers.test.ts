import { describe, expect, it } from "vitest";
import type { Params, SqlRunner } from "../sql.js";
import { coverRange, readEdges } from "./map-reader.js";
import { readSeries, readServiceRed } from "./red-reader.js";

/**
 * A SqlRunner that records the SQL it is given and answers with no rows (watermark: `wm`; the
 * live part's census: `census`, or no row, which leaves nothing out; `unstaged`: windows of the last
 * bound before the watermark published without their pending spans staged).
 */
function recorder(wmMs: number, census?: Record<string, string>, unstaged = "1") {
  const seen: Array<{ name: string; sql: string; params: Params }> = [];
  const runner: SqlRunner = {
    async rows<T>(name: string, sql: string, params: Params): Promise<T[]> {
      seen.push({ name, sql, params });
      if (name === "serviceMap.watermark") return [{ wm: String(wmMs), n: "1", unstaged }] as T[];
      return (name === "serviceMap.census" && census ? [census] : []) as T[];
    },
    async compactRows<T extends unknown[]>(): Promise<T[]> {
      return [];
    },
    table: (name) => `skald.${name}`,
  };
  return { runner, seen };
}

const tablesIn = (sql: string) => [...new Set([...sql.matchAll(/skald\.(\w+)/g)].map((m) => m[1]))].sort();
const HOUR = 3_600_000n;

describe("service-map readers never scan raw spans over long windows", () => {
  const now = BigInt(Date.UTC(2026, 10, 28, 12, 30));
  for (const [label, span] of [
    ["1 h", HOUR],
    ["24 h", 24n * HOUR],
    ["7 d", 7n * 24n * HOUR],
  ] as const) {
    it(`serviceMap over ${label} reads rollups and the slim live-window table only`, async () => {
      const { runner, seen } = recorder(Number(now - 60_000n));
      await readEdges(runner, "skald", "t1", now - span, now, 300_000);
      await readServiceRed(runner, "skald", "t1", now - span, now);
      const tables = seen.flatMap((s) => tablesIn(s.sql));
      expect(tables).not.toContain("spans");
      // nodes read the per-service rollups (one row per service and minute or hour), never the
      // per operation x version x instance ones
      expect(tables).not.toContain("sm_red_1m");
      expect(tables).not.toContain("sm_red_1h");
      // minute and ten-minute rows from the fine-grained twins (migrations/0014)
      expect(tables).not.toContain("sm_service_red_1m");
      expect(tables).not.toContain("sm_edges_1m");
      expect(tables).not.toContain("sm_edges_10m");
      expect(tables).toContain("sm_service_red_1m_v2");
      if (span >= 24n * HOUR) {
        expect(tables).toContain("sm_edges_1h");
        expect(tables).toContain("sm_edges_10m_v2");
        expect(tables).toContain("sm_service_red_1h");
      }
      // every statement is scoped to the tenant
      for (const s of seen.filter((x) => x.name !== "serviceMap.watermark")) {
        expect(Object.values(s.params.values)).toContain("t1");
      }
    });
  }

  it("serviceMap leaves out of its live part what the census finds no input for", async () => {
    const edgesSql = async (census: Record<string, string>) => {
      const { runner, seen } = recorder(Number(now - 60_000n), census);
      await readEdges(runner, "skald", "t1", now - HOUR, now, 300_000);
      expect(seen.map((s) => s.name)).toEqual([
        "serviceMap.watermark",
        "serviceMap.census",
        "serviceMap.edges",
      ]);
      // the census asks about this tenant's arrivals only
      expect(Object.values(seen[1].params.values)).toEqual(["t1"]);
      return seen[2].sql;
    };
    const none = { childrenInWindow: "0", childrenBefore: "0", links: "0", due: "0" };
    // nothing to pair since the watermark: the rollups alone
    expect(tablesIn(await edgesSql(none))).toEqual(["sm_edges_10m_v2", "sm_edges_1m_v2"]);
    // children of calls between services, no links, no peers: the service half, without links
    const children = await edgesSql({ ...none, childrenInWindow: "1" });
    expect(children).toContain("remote_child = 1");
    expect(children).not.toContain("notEmpty(ref_trace_id)");
    expect(children).not.toContain("peer_kind != ''");
    // a peer coming due only: the virtual half
    const due = await edgesSql({ ...none, due: "1" });
    expect(due).toContain("peer_kind != ''");
    expect(due).not.toContain("notEmpty(ref_trace_id)");
    // every kind: both halves with their links
    const all = await edgesSql({ childrenInWindow: "1", childrenBefore: "1", links: "1", due: "1" });
    for (const part of ["remote_child = 1", "notEmpty(ref_trace_id)", "peer_kind != ''"])
      expect(all).toContain(part);
  });

  it("serviceMap takes the CLIENT/PRODUCER spans that arrived before the watermark from the job's stage once it staged every window of the bound", async () => {
    const due = { childrenInWindow: "1", childrenBefore: "1", links: "1", due: "1" };
    const edgesSql = async (unstaged: string) => {
      const { runner, seen } = recorder(Number(now - 60_000n), due, unstaged);
      await readEdges(runner, "skald", "t1", now - HOUR, now, 300_000);
      const edges = seen.find((s) => s.name === "serviceMap.edges");
      expect(Object.values(edges?.params.values ?? {})).toContain("t1");
      return edges?.sql ?? "";
    };
    const staged = await edgesSql("0");
    expect(tablesIn(staged)).toEqual(expect.arrayContaining(["sm_pending", "sm_resolved", "sm_arrivals"]));
    // the stage is read for this tenant only
    const reads = staged.split("FROM skald.sm_pending").slice(1);
    expect(reads.length).toBeGreaterThan(0);
    for (const read of reads)
      expect(read.slice(0, read.indexOf("\n", read.indexOf("arrived_ms")))).toContain("tenant = {");
    // a window of the bound finished without staging (an older runner, before migration 0025)
    expect(tablesIn(await edgesSql("1"))).not.toContain("sm_pending");
  });

  it("serviceMetrics with an hourly step reads the hourly rollup", async () => {
    const { runner, seen } = recorder(0);
    await readSeries(runner, "skald", {
      tenant: "t1",
      service: "auth",
      groupBy: "VERSION",
      fromMs: now - 7n * 24n * HOUR,
      toMs: now,
      stepMs: HOUR,
    });
    // rollups, plus the entries stored since the job's watermark from the slim half-edge table
    expect(tablesIn(seen[0].sql)).toEqual(["sm_arrivals", "sm_red_1h", "sm_red_1m_v2", "sm_windows"]);
    expect(seen[0].sql).toContain("version AS k");
  });
});

describe("coverRange: the fewest rollup rows for a window", () => {
  const M = 60_000n;
  const T = 10n * M;
  const at = (h: number, m: number) => BigInt(Date.UTC(2026, 10, 28, h, m));
  const show = (spans: ReturnType<typeof coverRange>) =>
    spans.map(
      (s) =>
        `${s.sizeMs / M}m ${new Date(Number(s.fromMs)).toISOString().slice(11, 16)}-${new Date(Number(s.toMs)).toISOString().slice(11, 16)}`,
    );

  it("whole hours, then ten-minute runs, then minutes at the ragged ends", () => {
    expect(show(coverRange(at(9, 7), at(13, 23), at(14, 0), [HOUR, T]))).toEqual([
      "1m 09:07-09:10",
      "10m 09:10-10:00",
      "60m 10:00-13:00",
      "10m 13:00-13:20",
      "1m 13:20-13:23",
    ]);
  });

  it("coarse buckets stop at the cap (the watermark); minutes cover the rest", () => {
    expect(show(coverRange(at(9, 0), at(12, 0), at(10, 35), [HOUR, T]))).toEqual([
      "60m 09:00-10:00",
      "10m 10:00-10:30",
      "1m 10:30-12:00",
    ]);
    expect(show(coverRange(at(9, 0), at(9, 30), at(8, 0), [HOUR, T]))).toEqual(["1m 09:00-09:30"]);
  });

  it("covers the window exactly, without gaps or overlaps", () => {
    for (let i = 0; i < 200; i++) {
      const from = at(0, 0) + BigInt(Math.floor(Math.random() * 3000)) * M;
      const to = from + BigInt(1 + Math.floor(Math.random() * 3000)) * M;
      const cap = from + BigInt(Math.floor(Math.random() * 4000)) * M;
      const spans = coverRange(from, to, cap, [HOUR, T]);
      let cursor = from;
      for (const s of spans) {
        expect(s.fromMs).toBe(cursor);
        expect(s.fromMs % s.sizeMs).toBe(0n);
        expect((s.toMs - s.fromMs) % s.sizeMs).toBe(0n);
        if (s.sizeMs > M) expect(s.toMs <= cap).toBe(true);
        cursor = s.toMs;
      }
      expect(cursor).toBe(to);
    }
  });
});
