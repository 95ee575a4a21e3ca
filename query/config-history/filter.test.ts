import { describe, expect, it } from "vitest";
import { jsonPatch, unifiedDiff } from "./diff.js";
import { applySelector, matchesSelectors, parseFieldSelector, parseMatrix } from "./edda-selectors.js";
import { compileFilter, safeRegex } from "./filter.js";

const sg = {
  GroupId: "sg-1",
  IpPermissions: [
    { FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
    { FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
  ],
  Tags: [{ Key: "team", Value: "ålpha" }],
};

describe("config filters", () => {
  it("matches several conditions on the same array element only", () => {
    const open22 = compileFilter([
      {
        path: "IpPermissions",
        elem: [
          { path: "IpRanges.CidrIp", eq: "0.0.0.0/0" },
          { path: "FromPort", lte: 22 },
          { path: "ToPort", gte: 22 },
        ],
      },
    ]);
    expect(open22(sg)).toBe(false);
    // the same conditions on the whole document match across two different rules
    expect(
      compileFilter([
        { path: "IpPermissions.IpRanges.CidrIp", eq: "0.0.0.0/0" },
        { path: "IpPermissions.FromPort", lte: 22 },
      ])(sg),
    ).toBe(true);
    const opened = {
      ...sg,
      IpPermissions: [
        ...sg.IpPermissions,
        { FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
      ],
    };
    expect(open22(opened)).toBe(true);
  });

  it("supports equality, regex, numbers, contains and exists", () => {
    expect(compileFilter([{ path: "GroupId", eq: "sg-1" }])(sg)).toBe(true);
    expect(compileFilter([{ path: "GroupId", ne: "sg-1" }])(sg)).toBe(false);
    expect(compileFilter([{ path: "Tags.Value", regex: "^ål" }])(sg)).toBe(true);
    expect(compileFilter([{ path: "IpPermissions.ToPort", gt: 80 }])(sg)).toBe(false);
    expect(compileFilter([{ path: "Tags", contains: { Key: "team", Value: "ålpha" } }])(sg)).toBe(true);
    expect(compileFilter([{ path: "Missing", exists: false }])(sg)).toBe(true);
  });

  it("refuses unsafe or empty filters", () => {
    expect(() => safeRegex("(a+)+$")).toThrow(/nested quantifiers/);
    expect(() => safeRegex("x".repeat(201))).toThrow(/longer than 200/);
    expect(() => compileFilter([{ path: "a" }])).toThrow(/no condition/);
  });
});

describe("Edda selectors", () => {
  it("parses matrix arguments", () => {
    const m = parseMatrix("instances;state.name=running;_pp;_at=123;tags.key=a%2Cb");
    expect(m.name).toBe("instances");
    expect([...m.args]).toEqual([
      ["state.name", "running"],
      ["_pp", null],
      ["_at", "123"],
      ["tags.key", "a,b"],
    ]);
  });

  it("matches select arguments like Edda", () => {
    const doc = { state: { name: "running" }, tags: [{ key: "env", value: "prod" }], publicIpAddress: "" };
    expect(matchesSelectors(doc, new Map([["state.name", "running"]]))).toBe(true);
    expect(matchesSelectors(doc, new Map([["tags.value", "test,prod"]]))).toBe(true);
    expect(matchesSelectors(doc, new Map([["publicIpAddress", null]]))).toBe(false);
  });

  it("applies field selectors with conditions", () => {
    const asg = {
      autoScalingGroupName: "edda",
      instances: [
        { instanceId: "i-1", lifecycleState: "InService", healthStatus: "Healthy" },
        { instanceId: "i-2", lifecycleState: "Pending", healthStatus: "Healthy" },
      ],
    };
    expect(applySelector(parseFieldSelector(":(autoScalingGroupName,instances:(instanceId))"), asg)).toEqual({
      autoScalingGroupName: "edda",
      instances: [{ instanceId: "i-1" }, { instanceId: "i-2" }],
    });
    expect(
      applySelector(parseFieldSelector(':(instances:(instanceId,lifecycleState="InService"))'), asg),
    ).toEqual({
      instances: [{ instanceId: "i-1", lifecycleState: "InService" }],
    });
    expect(applySelector(parseFieldSelector(":(autoScalingGroupName~/^ed/)"), asg)).toEqual({
      autoScalingGroupName: "edda",
    });
    expect(applySelector(parseFieldSelector(":(autoScalingGroupName!~/^ed/)"), asg)).toBeUndefined();
    expect(
      applySelector(parseFieldSelector('::(autoScalingGroupName!="x",a:(b))'), {
        autoScalingGroupName: "e",
        a: { b: 1 },
      }),
    ).toEqual({
      autoScalingGroupName: "e",
      "a.b": 1,
    });
    expect(() => parseFieldSelector(":(a=)")).toThrow(/could not parse/);
  });
});

describe("diffs", () => {
  it("builds an RFC 6902 patch and a unified diff", () => {
    const a = { a: 1, b: [1, 2, 3], "x/y": true };
    const b = { a: 2, b: [1, 4], c: "new" };
    expect(jsonPatch(a, b)).toEqual([
      { op: "remove", path: "/x~1y" },
      { op: "replace", path: "/a", value: 2 },
      { op: "replace", path: "/b/1", value: 4 },
      { op: "remove", path: "/b/2" },
      { op: "add", path: "/c", value: "new" },
    ]);
    expect(unifiedDiff({ a: 1, b: 2 }, { a: 1, b: 3 }, "old", "new", 0)).toBe(
      '--- old\n+++ new\n@@ -3,1 +3,1 @@\n-  "b": 2\n+  "b": 3\n',
    );
  });
});
