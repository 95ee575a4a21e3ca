import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/load.js";
import { inlineParams, MAX_INLINED_BYTES, stringLiteral } from "./inline-params.js";
import { openStore, type Store } from "./store.js";

const HOSTILE = [
  "",
  "plain",
  "it's",
  "back\\slash",
  "\\'; DROP TABLE spans; --",
  "trailing backslash \\",
  "new\nline\ttab\rreturn",
  "nul\u0000byte",
  "del\u007f",
  "ünïcødé ✓ 🚀",
  "{p1:String}",
  "'}{p0:String}'",
  "\\x41\\0\\n",
];

describe("query parameters inlined for the embedded store", () => {
  let store: Store;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "skald-inline-"));
    store = await openStore(loadConfig({ env: {}, overrides: { "storage.dataDir": dir } }).storage);
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (query: string) => {
    const rs = await store.client.query({ query, format: "JSONEachRow" });
    return rs.json<Record<string, unknown>>();
  };

  it("gives ClickHouse back exactly the hostile strings, arrays and numbers it was given", async () => {
    for (const s of HOSTILE) {
      const sql = inlineParams("SELECT {p0:String} AS s, {p1:Array(String)} AS a, {p2:Int64} AS n", {
        p0: s,
        p1: [s, "x", s],
        p2: "-9223372036854775808",
      });
      expect(sql).not.toBeNull();
      expect(await run(sql as string), JSON.stringify(s)).toEqual([
        { s, a: [s, "x", s], n: "-9223372036854775808" },
      ]);
    }
  });

  it("substitutes in one pass: a value that looks like a placeholder stays a value", () => {
    expect(inlineParams("SELECT {p0:String}, {p1:String}", { p0: "{p1:String}", p1: "b" })).toBe(
      "SELECT CAST('{p1:String}' AS String), CAST('b' AS String)",
    );
  });

  it("leaves to the bound path what it does not inline: other types, odd values, oversized text", () => {
    expect(inlineParams("SELECT {p0:DateTime64(9)}", { p0: "2026-01-01" })).toBeNull();
    expect(inlineParams("SELECT {p0:Int64}", { p0: "1; DROP TABLE spans" })).toBeNull();
    expect(inlineParams("SELECT {p0:String}", { p0: 5 })).toBeNull();
    expect(inlineParams("SELECT {p0:Array(String)}", { p0: "x".repeat(MAX_INLINED_BYTES) })).toBeNull();
    expect(inlineParams("SELECT {p0:String}", { p0: "x".repeat(MAX_INLINED_BYTES + 1) })).toBeNull();
    // placeholders of other names are left for ClickHouse to complain about
    expect(inlineParams("SELECT {q:String}", { p0: "a" })).toBe("SELECT {q:String}");
  });

  it("escapes every quote, backslash and control character", () => {
    expect(stringLiteral("a'b\\c\u0000\n")).toBe("'a\\'b\\\\c\\x00\\x0a'");
  });
});
