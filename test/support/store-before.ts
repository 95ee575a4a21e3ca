import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { loadConfig } from "../../core/config/load.js";
import { migrate, retentionDaysOf } from "../../core/store/migrations.js";
import { openStore, type Store } from "../../core/store/store.js";

/**
 * An embedded store in a fresh directory with the migrations before `version` applied, for the
 * upgrade tests (recorded as applied, as an older Skald left them): `upgrade()` then applies the
 * rest, as `skald start` does. Registers its own beforeAll / afterAll in the calling describe
 * block.
 */
export function storeBefore(version: number) {
  const ctx = { store: undefined as unknown as Store, dir: "", upgrade: async () => {} };
  beforeAll(async () => {
    ctx.dir = mkdtempSync(join(tmpdir(), `skald-upgrade-${version}-`));
    const storage = loadConfig({ env: {}, overrides: { "storage.dataDir": ctx.dir } }).storage;
    ctx.store = await openStore(storage);
    const retentionDays = retentionDaysOf(storage);
    await migrate(ctx.store, retentionDays, {}, { before: version });
    ctx.upgrade = async () => {
      await migrate(ctx.store, retentionDays);
    };
  });
  afterAll(async () => {
    await ctx.store?.close();
    rmSync(ctx.dir, { recursive: true, force: true });
  });
  return ctx;
}
