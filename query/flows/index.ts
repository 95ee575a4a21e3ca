import type { QueryContext } from "../graphql/resolvers.js";
import type { QueryModule, QueryModuleFactory } from "../module.js";
import { createSqlRunner } from "../sql.js";
import type { FlowGroup } from "./enrich.js";
import { holderLabels } from "./holder-labels.js";
import { FlowReader, type MatrixRow } from "./reader.js";
import { FLOWS_SDL } from "./schema.js";

type Window = { from: bigint; to: bigint; limit?: number | null };

/** Nodes (with bytes out/in) and edges from matrix rows. */
export function networkMapOf(rows: MatrixRow[]) {
  const nodes = new Map<string, { id: string; bytesOut: number; bytesIn: number }>();
  const node = (id: string) => {
    let n = nodes.get(id);
    if (!n) {
      n = { id, bytesOut: 0, bytesIn: 0 };
      nodes.set(id, n);
    }
    return n;
  };
  for (const r of rows) {
    node(r.source).bytesOut += r.bytes;
    node(r.destination).bytesIn += r.bytes;
  }
  return { nodes: [...nodes.values()], edges: rows };
}

/** Top talkers: each side's bytes out and in, summed over the matrix. */
export function talkersOf(rows: MatrixRow[], limit: number) {
  const by = new Map<
    string,
    { name: string; bytes: number; bytesOut: number; bytesIn: number; packets: number; flows: number }
  >();
  const get = (name: string) => {
    let t = by.get(name);
    if (!t) {
      t = { name, bytes: 0, bytesOut: 0, bytesIn: 0, packets: 0, flows: 0 };
      by.set(name, t);
    }
    return t;
  };
  for (const r of rows) {
    for (const [name, out] of [
      [r.source, true],
      [r.destination, false],
    ] as const) {
      const t = get(name);
      t.bytes += r.bytes;
      if (out) t.bytesOut += r.bytes;
      else t.bytesIn += r.bytes;
      t.packets += r.packets;
      t.flows += r.flows;
    }
  }
  return [...by.values()].sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name)).slice(0, limit);
}

/** The packet-flow feature: flowMatrix, topTalkers, inter-zone/region traffic and networkMap. */
export const createFlowsModule: QueryModuleFactory = (deps): QueryModule => {
  const reader = new FlowReader(
    deps.store,
    createSqlRunner(deps.store, deps.logger, deps.observe, deps.config.limits),
    holderLabels(deps.store.database),
  );
  const matrix = (ctx: QueryContext, a: Window, group: FlowGroup, crossOnly = false) =>
    reader.matrix({ tenant: ctx.tenant, from: a.from, to: a.to, group, limit: a.limit ?? 1000, crossOnly });
  return {
    name: "flows",
    capability: "traces",
    typeDefs: FLOWS_SDL,
    resolvers: {
      Query: {
        async flowMatrix(_: unknown, a: Window & { groupBy: FlowGroup }, ctx: QueryContext) {
          return { groupBy: a.groupBy, rows: await matrix(ctx, a, a.groupBy) };
        },
        async topTalkers(_: unknown, a: Window & { groupBy?: FlowGroup | null }, ctx: QueryContext) {
          const rows = await matrix(ctx, { ...a, limit: 10_000 }, a.groupBy ?? "ADDRESS");
          return talkersOf(rows, a.limit ?? 20);
        },
        async interZoneTraffic(_: unknown, a: Window, ctx: QueryContext) {
          return { groupBy: "ZONE", rows: await matrix(ctx, a, "ZONE", true) };
        },
        async interRegionTraffic(_: unknown, a: Window, ctx: QueryContext) {
          return { groupBy: "REGION", rows: await matrix(ctx, a, "REGION", true) };
        },
        async networkMap(_: unknown, a: Window & { groupBy?: FlowGroup | null }, ctx: QueryContext) {
          const groupBy = a.groupBy ?? "SERVICE";
          return { groupBy, ...networkMapOf(await matrix(ctx, a, groupBy)) };
        },
      },
    },
  };
};
