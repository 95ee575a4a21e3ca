import { published, readEdges } from "../service-map/map-reader.js";
import type { SqlRunner } from "../sql.js";

/** One edge of Jaeger's dependency graph (`model.DependencyLink`). */
export interface DependencyLink {
  parent: string;
  child: string;
  callCount: number;
}

/**
 * Calls between services in [fromMs, toMs), for /api/dependencies, read from Skald's service map
 * (query/service-map: exact parent/child pairing, pre-aggregated rollups plus live pairing of the
 * open window; widened to whole minutes). Every edge of the map is a link: service → service, and
 * service → the virtual nodes the map derives from client spans (databases, caches, queues,
 * external hosts), named by their node name as Jaeger names a `peer.service`.
 */
export async function readDependencyLinks(
  sql: SqlRunner,
  database: string,
  tenant: string,
  fromMs: bigint,
  toMs: bigint,
  latenessMs: number,
): Promise<DependencyLink[]> {
  const { edges } = await published(sql, database, () =>
    readEdges(sql, database, tenant, fromMs, toMs, latenessMs),
  );
  const name = (id: string) => id.slice(id.indexOf(":") + 1);
  return edges
    .filter((e) => e.calls > 0)
    .map((e) => ({ parent: name(e.source), child: name(e.target), callCount: e.calls }));
}
