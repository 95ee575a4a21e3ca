import { describe, expect, it } from "vitest";
import { loadConfig } from "../core/config/load.js";
import { collectionsOf } from "./index.js";

describe("recorder configuration", () => {
  it("turns on the AWS crawler from SKALD_RECORDER_AWS_REGIONS with SKALD_RECORDER_INTERVAL_SECONDS", () => {
    const config = loadConfig({
      env: { SKALD_RECORDER_AWS_REGIONS: "us-east-1, eu-west-1", SKALD_RECORDER_INTERVAL_SECONDS: "30" },
    });
    expect(config.recorder.aws.regions).toEqual(["us-east-1", "eu-west-1"]);
    const collections = collectionsOf(config.recorder);
    // 12 regional collections per region, IAM once per account
    expect(collections).toHaveLength(2 * 12 + 2);
    expect(new Set(collections.map((c) => c.intervalSeconds))).toEqual(new Set([30]));
    expect(collections.filter((c) => c.name === "instances").map((c) => c.region)).toEqual([
      "us-east-1",
      "eu-west-1",
    ]);
    expect(collections.filter((c) => c.name.startsWith("iam")).map((c) => c.region)).toEqual([
      "global",
      "global",
    ]);
  });

  it("runs no crawler by default and rejects bad values with the key's path", () => {
    expect(collectionsOf(loadConfig({ env: {} }).recorder)).toEqual([]);
    expect(() => loadConfig({ env: { SKALD_RECORDER_INTERVAL_SECONDS: "soon" } })).toThrow(
      /SKALD_RECORDER_INTERVAL_SECONDS/,
    );
    expect(() =>
      loadConfig({ env: {}, overrides: { "recorder.http": [{ name: "x", url: "nope", idPath: "id" }] } }),
    ).toThrow(/recorder\.http/);
  });
});
