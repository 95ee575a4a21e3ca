import { describe, expect, it } from "vitest";
import { isDataError } from "./ch-errors.js";
import { decodePlan, dedupToken, encodePlan } from "./plan.js";

describe("batch plans and tokens", () => {
  it("round-trips a plan that starts at the committed offset, ignores others", () => {
    const meta = encodePlan({ first: 1200, end: 1999 });
    expect(decodePlan(meta, 1200)).toEqual({ first: 1200, end: 1999 });
    expect(decodePlan(meta, 2000)).toBeUndefined(); // committed past it: the batch was done
    expect(decodePlan("", 1200)).toBeUndefined();
    expect(decodePlan(null, 0)).toBeUndefined();
    expect(decodePlan("skald-plan/1:9-3", 9)).toBeUndefined();
    expect(decodePlan("someone else's metadata", 1200)).toBeUndefined();
  });

  it("derives the same token from the same range, different ones otherwise", () => {
    expect(dedupToken("c", "t", 3, 10, 20)).toBe(dedupToken("c", "t", 3, 10, 20));
    const others = [
      dedupToken("c", "t", 3, 10, 21),
      dedupToken("c", "t", 2, 10, 20),
      dedupToken("d", "t", 3, 10, 20),
      dedupToken("c", "t", 3, 10, 20, true),
    ];
    expect(new Set([dedupToken("c", "t", 3, 10, 20), ...others]).size).toBe(5);
  });

  it("tells parse errors (bisect, dead-letter) from outages (retry)", () => {
    expect(isDataError({ code: "27", message: "Cannot parse input" })).toBe(true);
    expect(isDataError(new Error("Code: 6. DB::Exception: Cannot parse string"))).toBe(true);
    expect(isDataError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(
      false,
    );
    expect(isDataError({ code: "60", message: "Unknown table" })).toBe(false);
    expect(isDataError(new Error("socket hang up"))).toBe(false);
  });
});
