import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { buildClientSchema, getIntrospectionQuery, type IntrospectionQuery } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gql, type QueryHarness, startHarness } from "../query/testing/fixtures.js";
import { generateTypes } from "../ui/codegen/graphql-types.js";
import { ALL_DOCUMENTS } from "../ui/src/queries.js";
import { STORE_TARGETS } from "./support/targets.js";

const GENERATED = "ui/src/generated/graphql.ts";

/** Formats TypeScript the way `biome check` wants it (the repository's formatter, offline). */
function biomeFormat(text: string): string {
  const r = spawnSync("node_modules/.bin/biome", ["format", `--stdin-file-path=${GENERATED}`], {
    input: text,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`biome format failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * The dashboard's result types come from the live schema: a query server with every feature module
 * is started, introspected, and the types of ui/src/queries.ts's documents generated. The test
 * fails when ui/src/generated/graphql.ts is stale; `npm run codegen` rewrites it.
 */
describe("generated GraphQL types of the dashboard", () => {
  let h: QueryHarness;
  beforeAll(async () => {
    h = await startHarness(STORE_TARGETS[0]);
  });
  afterAll(async () => {
    await h?.close();
  });

  it(`${GENERATED} matches the schema and the documents`, async () => {
    const intro = await gql<IntrospectionQuery>(h.app, getIntrospectionQuery());
    expect(intro.errors).toBeUndefined();
    const schema = buildClientSchema(intro.data as IntrospectionQuery);
    const text = biomeFormat(generateTypes(schema, ALL_DOCUMENTS));
    if (process.env.SKALD_CODEGEN_WRITE === "1") writeFileSync(GENERATED, text);
    const onDisk = readFileSync(GENERATED, "utf8");
    expect(onDisk, "ui/src/generated/graphql.ts is stale: run `npm run codegen`").toBe(text);
  });
});
