import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Binary inserts into embedded chDB through a spool file: `INSERT INTO t (cols) FROM INFILE
 * '<file>' SETTINGS ... FORMAT RowBinary`. chdb-node's raw insert takes text formats only, and
 * handing it binary bytes anyway loses rows (a 0x0A byte inside a binary value can end its input
 * early), so the bytes go through a file instead; the file lives in page cache for the few
 * milliseconds of the insert and is removed whatever the outcome.
 */
export interface InfileInserter {
  /**
   * Inserts `body` (in `format`) into `table` (database-qualified). Resolves once ClickHouse has
   * written it; the caller must not mutate `body` until then. Safe to call concurrently.
   */
  insert(
    table: string,
    columns: readonly string[],
    body: Buffer,
    format: "RowBinary",
    settings: Record<string, string | number>,
  ): Promise<void>;
}

/** Runs one SQL statement on the embedded engine. */
export type RunSql = (sql: string) => Promise<unknown>;

const IDENT = /^[A-Za-z_][A-Za-z0-9_.]*$/;

const quoteIdent = (name: string): string => {
  if (!IDENT.test(name)) throw new Error(`invalid identifier ${JSON.stringify(name)}`);
  return `\`${name}\``;
};

const settingName = (k: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(k)) throw new Error(`invalid setting name ${JSON.stringify(k)}`);
  return k;
};

const settingValue = (v: string | number): string =>
  typeof v === "number" ? String(v) : `'${v.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

export function createInfileInserter(run: RunSql, spoolDir: string): InfileInserter {
  mkdirSync(spoolDir, { recursive: true });
  // files a crashed process left behind (one process per data directory, so none is in use)
  for (const f of readdirSync(spoolDir)) if (f.endsWith(".bin")) rmSync(join(spoolDir, f), { force: true });
  return {
    async insert(table, columns, body, format, settings) {
      const file = join(spoolDir, `${randomUUID()}.bin`);
      const cols = columns.map(quoteIdent).join(", ");
      const target = table.split(".").map(quoteIdent).join(".");
      const entries = Object.entries(settings);
      const settingsSql =
        entries.length === 0
          ? ""
          : ` SETTINGS ${entries.map(([k, v]) => `${settingName(k)}=${settingValue(v)}`).join(", ")}`;
      await writeFile(file, body);
      try {
        await run(
          `INSERT INTO ${target} (${cols}) FROM INFILE '${file.replaceAll("'", "\\'")}'${settingsSql} FORMAT ${format}`,
        );
      } finally {
        await unlink(file).catch(() => undefined);
      }
    },
  };
}
