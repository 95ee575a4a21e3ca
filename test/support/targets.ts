import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startClickHouseServer } from "./clickhouse-server.js";

/** Where a suite stores: embedded chDB in a temp dir, or a real ClickHouse HTTP server. */
export interface StoreTarget {
  name: "embedded" | "server";
  /** Starts what the target needs; returns storage config overrides and a cleanup. */
  setup(): Promise<{
    storage: Record<string, unknown>;
    env: Record<string, string>;
    cleanup(): Promise<void>;
  }>;
}

export const STORE_TARGETS: StoreTarget[] = [
  {
    name: "embedded",
    async setup() {
      const dataDir = mkdtempSync(join(tmpdir(), "skald-data-"));
      return {
        storage: { dataDir },
        env: { SKALD_DATA_DIR: dataDir },
        async cleanup() {
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "server",
    async setup() {
      const server = await startClickHouseServer();
      return {
        storage: { url: server.url },
        env: { SKALD_CLICKHOUSE_URL: server.url },
        cleanup: () => server.destroy(),
      };
    },
  },
];
