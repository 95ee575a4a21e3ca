import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./load.js";

describe("configuration", () => {
  it("has defaults for the two-command start", () => {
    const c = loadConfig({ env: {} });
    expect(c.storage.dataDir).toBe("./data");
    expect(c.storage.url).toBeUndefined();
    expect([c.otlp.grpcPort, c.otlp.httpPort, c.query.port]).toEqual([4317, 4318, 8080]);
    expect(Object.isFrozen(c.storage)).toBe(true);
  });

  it("takes the contract environment variables", () => {
    const c = loadConfig({
      env: {
        SKALD_DATA_DIR: "/tmp/x",
        SKALD_OTLP_GRPC_PORT: "14317",
        SKALD_OTLP_HTTP_PORT: "14318",
        SKALD_HTTP_PORT: "18080",
        SKALD_CLICKHOUSE_URL: "http://127.0.0.1:8123",
        SKALD_RETENTION_SPANS_DAYS: "30",
      },
    });
    expect(c.storage).toMatchObject({ dataDir: "/tmp/x", url: "http://127.0.0.1:8123" });
    expect(c.storage.retention.spansDays).toBe(30);
    expect([c.otlp.grpcPort, c.otlp.httpPort, c.query.port]).toEqual([14317, 14318, 18080]);
  });

  it("bounds the service-map pairing's memory by default, and lets it be raised or unbounded", () => {
    expect(loadConfig({ env: {} }).serviceMap.pairingSpillBytes).toBe(1_000_000_000);
    expect(loadConfig({ env: { SKALD_SERVICE_MAP_SPILL_BYTES: "0" } }).serviceMap.pairingSpillBytes).toBe(0);
    expect(() => loadConfig({ env: { SKALD_SERVICE_MAP_SPILL_BYTES: "-1" } })).toThrow(/pairingSpillBytes/);
    expect(loadConfig({ env: {} }).serviceMap.pairingSliceSpans).toBe(200_000);
    expect(loadConfig({ env: { SKALD_SERVICE_MAP_SLICE_SPANS: "5000" } }).serviceMap.pairingSliceSpans).toBe(
      5000,
    );
    expect(() => loadConfig({ env: { SKALD_SERVICE_MAP_SLICE_SPANS: "many" } })).toThrow(
      /SKALD_SERVICE_MAP_SLICE_SPANS/,
    );
  });

  it("names the variable or key that is wrong", () => {
    expect(() => loadConfig({ env: { SKALD_HTTP_PORT: "eighty" } })).toThrow(
      /SKALD_HTTP_PORT: expected an integer/,
    );
    expect(() => loadConfig({ env: { SKALD_OTLP_GRPC_PORT: "70000" } })).toThrow(/otlp\.grpcPort/);
    expect(() => loadConfig({ env: { SKALD_CLICKHOUSE_URL: "not a url" } })).toThrow(/storage\.url/);
    const dir = mkdtempSync(join(tmpdir(), "skald-config-"));
    const file = join(dir, "skald.json");
    writeFileSync(file, JSON.stringify({ storage: { retention: { spanDays: 3 } } }));
    expect(() => loadConfig({ env: {}, file })).toThrow(/storage\.retention.*unknown key: spanDays/);
    writeFileSync(file, "{ not json");
    expect(() => loadConfig({ env: {}, file })).toThrow(/not valid JSON/);
  });

  it("lets the environment override the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "skald-config-"));
    const file = join(dir, "skald.json");
    writeFileSync(file, JSON.stringify({ query: { port: 9000 }, pipeline: { batchMaxRows: 5000 } }));
    const c = loadConfig({ env: { SKALD_HTTP_PORT: "9100" }, file });
    expect(c.query.port).toBe(9100);
    expect(c.pipeline.batchMaxRows).toBe(5000);
  });
});
