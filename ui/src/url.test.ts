import { describe, expect, it } from "vitest";
import {
  hrefWithGlobals,
  parseAttributeFilters,
  parseRange,
  parseRoute,
  resolveRange,
  withParams,
  writeRange,
} from "./url.js";

describe("URL state", () => {
  it("reads a relative range, an absolute range, and falls back to the last hour", () => {
    expect(parseRange(new URLSearchParams("last=15m"))).toEqual({ kind: "relative", last: "15m" });
    expect(parseRange(new URLSearchParams("from=2026-11-28T10:00:00Z&to=2026-11-28T11:00:00Z"))).toEqual({
      kind: "absolute",
      from: "2026-11-28T10:00:00Z",
      to: "2026-11-28T11:00:00Z",
    });
    expect(parseRange(new URLSearchParams("last=soon"))).toEqual({ kind: "relative", last: "1h" });
    expect(parseRange(new URLSearchParams("from=nope&to=2026-11-28T11:00:00Z"))).toEqual({
      kind: "relative",
      last: "1h",
    });
  });

  it("round-trips a range through the query string, one representation at a time", () => {
    const p = new URLSearchParams("service=cart&last=5m");
    writeRange(p, { kind: "absolute", from: "2026-11-28T10:00:00.000Z", to: "2026-11-28T11:00:00.000Z" });
    expect(p.get("last")).toBeNull();
    expect(parseRange(p)).toEqual({
      kind: "absolute",
      from: "2026-11-28T10:00:00.000Z",
      to: "2026-11-28T11:00:00.000Z",
    });
    writeRange(p, { kind: "relative", last: "6h" });
    expect(p.toString()).toBe("service=cart&last=6h");
  });

  it("resolves a relative range against now", () => {
    const now = Date.parse("2026-11-28T12:00:00Z");
    expect(resolveRange({ kind: "relative", last: "15m" }, now)).toEqual({
      from: "2026-11-28T11:45:00.000Z",
      to: "2026-11-28T12:00:00.000Z",
    });
    expect(resolveRange({ kind: "relative", last: "7d" }, now).from).toBe("2026-11-21T12:00:00.000Z");
  });

  it("routes paths to pages", () => {
    expect(parseRoute("/")).toEqual({ page: "traces" });
    expect(parseRoute("/trace/0AF7651916CD43DD8448EB211C80319C")).toEqual({
      page: "trace",
      traceId: "0af7651916cd43dd8448eb211c80319c",
    });
    expect(parseRoute("/trace/xyz")).toEqual({ page: "notFound" });
    expect(parseRoute("/map")).toEqual({ page: "map" });
    expect(parseRoute("/flows/")).toEqual({ page: "flows" });
  });

  it("carries only the global parameters across pages", () => {
    const cur = new URLSearchParams("last=6h&service=cart&op=GET&span=abc");
    expect(hrefWithGlobals("/map", cur)).toBe("/map?last=6h&service=cart");
    expect(hrefWithGlobals("/trace/x", cur, { span: "s1" })).toBe("/trace/x?last=6h&service=cart&span=s1");
    expect(hrefWithGlobals("/map", new URLSearchParams())).toBe("/map");
    expect(hrefWithGlobals("/map", new URLSearchParams("env=staging&q=x&last=1h"))).toBe(
      "/map?last=1h&env=staging",
    );
  });

  it("applies and removes parameters without touching the others", () => {
    const next = withParams(new URLSearchParams("a=1&b=2"), { a: undefined, b: "3", c: "x", d: "" });
    expect(next.toString()).toBe("b=3&c=x");
  });

  it("parses attribute filters as key=value or key", () => {
    expect(parseAttributeFilters("http.status_code=500, user.id ,k = v=w,,")).toEqual([
      { key: "http.status_code", value: "500" },
      { key: "user.id" },
      { key: "k", value: "v=w" },
    ]);
  });
});
