import { describe, expect, it } from "vitest";
import { type CompareSpan, compareSummary, compareTraces } from "./compare.js";

const T0 = 1_764_000_000_000_000_000n;
const s = (service: string, name: string, ms: number, error = false): CompareSpan => ({
  serviceName: service,
  name,
  startTimeUnixNano: String(T0),
  endTimeUnixNano: String(T0 + BigInt(ms) * 1_000_000n),
  status: { code: error ? "ERROR" : "UNSET" },
});

describe("comparing two traces", () => {
  const a = [s("gateway", "GET /checkout", 70), s("cart", "GetCart", 57), s("db", "SELECT carts", 36, true)];
  const b = [
    s("gateway", "GET /checkout", 120),
    s("cart", "GetCart", 100),
    s("db", "SELECT carts", 30),
    s("db", "SELECT carts", 40),
    s("cache", "GET cart", 2),
  ];
  const rows = compareTraces(a, b);
  const by = (op: string) => rows.find((r) => r.operation === op)!;

  it("groups spans by service and operation with counts and durations on each side", () => {
    expect(by("SELECT carts").a).toEqual({ count: 1, totalNs: 36e6, maxNs: 36e6, errors: 1 });
    expect(by("SELECT carts").b).toEqual({ count: 2, totalNs: 70e6, maxNs: 40e6, errors: 0 });
    expect(by("SELECT carts").deltaNs).toBe(34e6);
  });

  it("says what only one trace has", () => {
    expect(by("GET cart").only).toBe("b");
    expect(by("GET cart").a.count).toBe(0);
    expect(compareTraces(b, a).find((r) => r.operation === "GET cart")!.only).toBe("a");
    expect(compareSummary(rows)).toEqual({ both: 3, onlyA: 0, onlyB: 1 });
  });

  it("puts the largest change first", () => {
    expect(rows.map((r) => r.operation)).toEqual(["GET /checkout", "GetCart", "SELECT carts", "GET cart"]);
  });

  it("keeps groups of the same name in different services apart", () => {
    const r = compareTraces([s("a", "op", 1)], [s("b", "op", 1)]);
    expect(r.map((x) => [x.service, x.only])).toEqual([
      ["a", "a"],
      ["b", "b"],
    ]);
  });
});
