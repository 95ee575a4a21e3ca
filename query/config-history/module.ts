import { invalidInput } from "../../core/errors.js";
import { type GraphQLResolveInfo, GraphQLScalarType, Kind, type ValueNode } from "../graphql/gql.js";
import type { QueryModule, QueryModuleDeps } from "../module.js";
import { formatRfc3339Nanos } from "../time.js";
import { jsonPatch, sideBySide, unifiedDiff } from "./diff.js";
import { registerEddaRoutes } from "./edda.js";
import { type ConfigFilter, compileFilter, needlesOf } from "./filter.js";
import { type ChangeRecord, ConfigHistoryReader, type CrawlRecord, type VersionRecord } from "./reader.js";
import { configHistoryTypeDefs } from "./schema.js";

interface Ctx {
  tenant: string;
  /** The HTTP request (Yoga's context); its signal aborts when the client goes away. */
  request?: { signal?: AbortSignal };
}

const MAX_RESOURCES = 100_000;

function literal(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literal);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literal(f.value)]));
    default:
      throw invalidInput("BAD_JSON", "variables are not allowed inside a ConfigJSON literal");
  }
}

const ConfigJSON = new GraphQLScalarType({
  name: "ConfigJSON",
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: literal,
});

/** Whether the query asks for `doc` (fragments count as yes): documents are the costly column. */
function selectsDoc(info: GraphQLResolveInfo): boolean {
  const sel = info.fieldNodes[0]?.selectionSet?.selections ?? [];
  return sel.some((s) => s.kind !== Kind.FIELD || s.name.value === "doc");
}

const parseDoc = (text: string): unknown => (text === "" ? null : JSON.parse(text));

/** The version current at t among versions (oldest first), or null. */
function versionAt(versions: VersionRecord[], t: bigint): VersionRecord | null {
  let found: VersionRecord | null = null;
  for (const v of versions) if (v.at <= t) found = v;
  return found && !found.deleted ? found : null;
}

const versionOut = (v: VersionRecord, next: VersionRecord | undefined) => ({
  at: v.at,
  until: next?.at ?? null,
  hash: v.hash,
  deleted: v.deleted,
  account: v.account,
  region: v.region,
  doc: parseDoc(v.doc),
});

const changeOut = (c: ChangeRecord) => ({ ...c, doc: parseDoc(c.doc) });

/** Coverage per collection/account/region from crawl-log rows (newest first). */
export function coverageOf(crawls: CrawlRecord[]) {
  const groups = new Map<string, CrawlRecord[]>();
  for (const c of crawls) {
    const key = `${c.type}\u0000${c.account}\u0000${c.region}`;
    const list = groups.get(key) ?? [];
    list.push(c);
    groups.set(key, list);
  }
  return [...groups.values()]
    .map((list) => ({
      type: list[0].type,
      account: list[0].account,
      region: list[0].region,
      lastSuccess: list.find((c) => c.status === "success")?.startedAt ?? null,
      lastCrawl: list[0],
      gaps: list.filter((c) => c.status !== "success"),
    }))
    .sort((a, b) => `${a.type}/${a.region}`.localeCompare(`${b.type}/${b.region}`));
}

/**
 * Config history over GraphQL (`resources`, `resource`, `whoHad`, `changes`, `snapshot`,
 * `coverage`, subscription `configChanges`) and the Edda-compatible REST API under /api/v2.
 * Read-only: nothing here writes.
 */
export function createConfigHistoryModule(deps: QueryModuleDeps): QueryModule {
  const reader = new ConfigHistoryReader(deps.store, deps.config.limits);
  let closed = false;
  const resources = async (
    tenant: string,
    type: string,
    at: bigint | null,
    filter: ConfigFilter[] | null,
    limit: number | null,
    withDoc: boolean,
  ) => {
    const max = Math.min(limit ?? MAX_RESOURCES, MAX_RESOURCES);
    if (max < 1) throw invalidInput("BAD_LIMIT", "limit must be positive");
    const pred = filter && filter.length > 0 ? compileFilter(filter) : null;
    const rows = await reader.resourcesAt(tenant, [type], at, {
      needles: pred ? needlesOf(filter ?? []) : [],
      limit: pred ? undefined : max,
      withDoc: withDoc || !!pred,
    });
    const out = [];
    for (const r of rows) {
      const doc = parseDoc(r.doc);
      if (pred && !pred(doc)) continue;
      out.push({ ...r, doc });
      if (out.length >= max) break;
    }
    return out;
  };
  return {
    name: "config-history",
    capability: "config",
    typeDefs: configHistoryTypeDefs,
    resolvers: {
      ConfigJSON,
      Query: {
        resources: (
          _: unknown,
          a: { type: string; at?: bigint | null; filter?: ConfigFilter[] | null; limit?: number | null },
          ctx: Ctx,
          info: GraphQLResolveInfo,
        ) => resources(ctx.tenant, a.type, a.at ?? null, a.filter ?? null, a.limit ?? null, selectsDoc(info)),
        async resource(_: unknown, a: { type: string; id: string }, ctx: Ctx) {
          const versions = await reader.versions(ctx.tenant, a.type, a.id);
          return versions.length === 0 ? null : { type: a.type, id: a.id, list: versions };
        },
        whoHad: (_: unknown, a: { ip: string; at: bigint }, ctx: Ctx) =>
          reader.whoHad(ctx.tenant, a.ip.trim(), a.at),
        async changes(
          _: unknown,
          a: { since: bigint; until?: bigint | null; types?: string[] | null },
          ctx: Ctx,
        ) {
          return (await reader.changes(ctx.tenant, a.since, a.until ?? null, a.types ?? null)).map(changeOut);
        },
        async snapshot(_: unknown, a: { at?: bigint | null; types?: string[] | null }, ctx: Ctx) {
          const types = a.types ?? (await reader.types(ctx.tenant));
          const rows = await reader.resourcesAt(ctx.tenant, types, a.at ?? null);
          return rows.map((r) => ({ ...r, doc: parseDoc(r.doc) }));
        },
        async coverage(
          _: unknown,
          a: { types?: string[] | null; since?: bigint | null; until?: bigint | null },
          ctx: Ctx,
        ) {
          return coverageOf(
            await reader.crawls(ctx.tenant, a.since ?? null, a.until ?? null, a.types ?? null),
          );
        },
      },
      ConfigResourceHistory: {
        versions: (p: { list: VersionRecord[] }) => p.list.map((v, i) => versionOut(v, p.list[i + 1])),
        at(p: { list: VersionRecord[] }, a: { t: bigint }) {
          const v = versionAt(p.list, a.t);
          return v ? versionOut(v, p.list[p.list.indexOf(v) + 1]) : null;
        },
        diff(p: { list: VersionRecord[] }, a: { from?: bigint | null; to?: bigint | null }) {
          const live = p.list;
          const to = a.to != null ? versionAt(live, a.to) : (live[live.length - 1] ?? null);
          const from =
            a.from != null ? versionAt(live, a.from) : (live[live.indexOf(to as VersionRecord) - 1] ?? null);
          const docA = from && !from.deleted ? parseDoc(from.doc) : undefined;
          const docB = to && !to.deleted ? parseDoc(to.doc) : undefined;
          return {
            from: from?.at ?? null,
            to: to?.at ?? null,
            patch: jsonPatch(docA ?? null, docB ?? null),
            sideBySide: sideBySide(docA, docB),
            unified: unifiedDiff(
              docA,
              docB,
              from ? formatRfc3339Nanos(from.at) : "/dev/null",
              to ? formatRfc3339Nanos(to.at) : "/dev/null",
            ),
          };
        },
      },
      Subscription: {
        configChanges: {
          async *subscribe(_: unknown, a: { types?: string[] | null }, ctx: Ctx) {
            // Rows carry their crawl's start time and land when the crawl ends, so each poll re-reads
            // a 10-minute window (never before the subscription began) and skips what was pushed.
            const start = BigInt(Date.now()) * 1_000_000n;
            const pushed = new Map<string, bigint>();
            // Polls until the client disconnects or the server closes (an async generator only
            // sees return() at a yield, so a quiet subscription must check for itself).
            while (!closed && !ctx.request?.signal?.aborted) {
              await new Promise((r) => setTimeout(r, 1000));
              if (closed || ctx.request?.signal?.aborted) return;
              const floor = BigInt(Date.now()) * 1_000_000n - 600_000_000_000n;
              const since = floor > start ? floor : start;
              for (const [k, at] of pushed) if (at < since) pushed.delete(k);
              for (const c of await reader.changes(ctx.tenant, since, null, a.types ?? null)) {
                const key = `${c.type}/${c.account}/${c.region}/${c.id}/${c.at}/${c.hash}`;
                if (pushed.has(key)) continue;
                pushed.set(key, c.at);
                yield { configChanges: changeOut(c) };
              }
            }
          },
        },
      },
    },
    routes: (app) => registerEddaRoutes(app, reader, deps),
    async close() {
      closed = true;
    },
  };
}
