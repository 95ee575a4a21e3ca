import { describe, expect, it } from "vitest";
import type { Params, SqlRunner } from "../sql.js";
import { readEdges } from "./map-reader.js";
import { readSeries, readServiceRed } from "./red-reader.js";

/** A SqlRunner that records the SQL it is given and answers with no rows (watermark: `wm`). */
function recorder(wmMs: number) {
  const seen: Array<{ name: string; sql: string; params: Params }> = [];
  const runner: SqlRunner = {
    async rows<T>(name: string, sql: string, params: Params): Promise<T[]> {
      seen.push({ name, sql, params });
      return (name === "serviceMap.watermark" ? [{ wm: String(wmMs), n: "1" }] : []) as T[];
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
      if (span >= 24n * HOUR) {
        expect(tables).toContain("sm_edges_1h");
        expect(tables).toContain("sm_red_1h");
      }
      // every statement is scoped to the tenant
      for (const s of seen.filter((x) => x.name !== "serviceMap.watermark")) {
        expect(Object.values(s.params.values)).toContain("t1");
      }
    });
  }

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
    expect(tablesIn(seen[0].sql)).toEqual(["sm_red_1h", "sm_red_1m"]);
    expect(seen[0].sql).toContain("version AS k");
  });
});
