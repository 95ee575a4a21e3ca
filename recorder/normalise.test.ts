import { describe, expect, it } from "vitest";
import { collectStrings } from "./collection.js";
import { canonical, contentHash, hasTags, normalise } from "./normalise.js";

describe("normalise", () => {
  it("gives the same bytes for the same configuration in any key or tag order", () => {
    const a = normalise({
      B: 1,
      A: { d: new Date(0), c: undefined },
      Tags: [
        { Key: "z", Value: "1" },
        { Key: "a", Value: "2" },
      ],
    });
    const b = normalise({
      Tags: [
        { Value: "2", Key: "a" },
        { Key: "z", Value: "1" },
      ],
      A: { d: new Date(0) },
      B: 1,
    });
    expect(canonical(a)).toBe(canonical(b));
    expect(canonical(a)).toBe(
      '{"A":{"d":"1970-01-01T00:00:00.000Z"},"B":1,"Tags":[{"Key":"a","Value":"2"},{"Key":"z","Value":"1"}]}',
    );
    expect(contentHash(canonical(a))).toHaveLength(32);
  });

  it("removes volatile paths and suppressed tags", () => {
    const doc = normalise(
      {
        Id: "x",
        Health: { LastCheck: 5, State: "ok" },
        Items: [{ Count: 1, Name: "a" }],
        Tags: [{ Key: "deployTime", Value: "1" }],
      },
      { ignore: ["Health.LastCheck", "Items.Count"], suppressTags: ["deployTime"] },
    );
    expect(doc).toEqual({ Id: "x", Health: { State: "ok" }, Items: [{ Name: "a" }], Tags: [] });
    expect(hasTags(doc)).toBe(false);
  });

  it("collects IPs through arrays", () => {
    const doc = normalise({
      PrivateIpAddress: "10.0.0.1",
      NetworkInterfaces: [{ PrivateIpAddresses: [{ PrivateIpAddress: "10.0.0.2" }] }],
    });
    expect(
      collectStrings(doc, ["PrivateIpAddress", "NetworkInterfaces.PrivateIpAddresses.PrivateIpAddress"]),
    ).toEqual(["10.0.0.1", "10.0.0.2"]);
  });
});
