import { Params, type SqlRunner } from "../sql.js";

/** One edge of Jaeger's dependency graph (`model.DependencyLink`). */
export interface DependencyLink {
  parent: string;
  child: string;
  callCount: number;
}

/**
 * Service → service calls in [fromNs, toNs], for /api/dependencies.
 *
 * FALLBACK: Skald's service map (query/service-map) had not landed when this API was written, so
 * the edges are computed here by a tenant-scoped parent/child self-join over the spans whose
 * start falls in the window: a child span whose parent span belongs to another service counts one
 * call from the parent's service to the child's (what Jaeger's spark-dependencies job counts).
 * Parents outside the window are not seen. This is the one function to replace with the service
 * map's reader once it exists; nothing else in query/jaeger reads edges.
 */
export async function readDependencyLinks(
  sql: SqlRunner,
  tenant: string,
  fromNs: bigint,
  toNs: bigint,
): Promise<DependencyLink[]> {
  const p = new Params();
  const scope = `tenant = ${p.bind("String", tenant)}
    AND start_time >= ${p.time(fromNs)} AND start_time <= ${p.time(toNs)}`;
  const rows = await sql.rows<{ parent: string; child: string; calls: string }>(
    "jaeger_dependencies",
    `SELECT p.service_name AS parent, c.service_name AS child, toString(count()) AS calls
     FROM (SELECT trace_id, parent_span_id, service_name FROM ${sql.table("spans")}
           WHERE ${scope} AND parent_span_id != '') AS c
     INNER JOIN (SELECT DISTINCT trace_id, span_id, service_name FROM ${sql.table("spans")}
           WHERE ${scope}) AS p
       ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
     WHERE p.service_name != c.service_name
     GROUP BY parent, child ORDER BY parent, child`,
    p,
  );
  return rows.map((r) => ({ parent: r.parent, child: r.child, callCount: Number(r.calls) }));
}
