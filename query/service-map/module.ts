import { invalidInput } from "../../core/errors.js";
import { createServiceMapJob } from "../../core/service-map/index.js";
import { servicesInEnvironment } from "../environment.js";
import type { QueryContext } from "../graphql/resolvers.js";
import type { QueryModule, QueryModuleFactory } from "../module.js";
import { createSqlRunner } from "../sql.js";
import { type MapNode, nodeId, published, type Red, readEdges } from "./map-reader.js";
import { type GroupBy, readSeries, readServiceRed } from "./red-reader.js";
import { SERVICE_MAP_SDL } from "./schema.js";
import { type ServiceMapFilter, selectNodes } from "./select.js";

const NS_PER_MS = 1_000_000n;
const MINUTE_NS = 60_000n * NS_PER_MS;
/** Longest window one request may ask for (a little over the 7 days the rollups are built for). */
const MAX_WINDOW_NS = 31n * 24n * 3600n * 1_000_000_000n;
const MAX_POINTS = 2000n;

/** GraphQL fields of RedMetrics computed from a Red. */
function redFields(r: Red) {
  const q = (i: number) => (r.quantiles ? BigInt(Math.round(r.quantiles[i])) : null);
  return {
    calls: r.calls,
    errors: r.errors,
    late: r.late,
    rate: r.seconds > 0 ? r.calls / r.seconds : 0,
    errorRate: r.calls > 0 ? r.errors / r.calls : 0,
    p50: q(0),
    p90: q(1),
    p95: q(2),
    p99: q(3),
    slowTraceId: r.slowTraceId,
    errorTraceId: r.errorTraceId,
  };
}

function checkRange(from: bigint, to: bigint): void {
  if (to <= from) throw invalidInput("BAD_TIME_RANGE", "`to` must be after `from`");
  if (to - from > MAX_WINDOW_NS) throw invalidInput("BAD_TIME_RANGE", "the window is longer than 31 days");
}

const EMPTY: Red = {
  calls: 0,
  errors: 0,
  late: 0,
  seconds: 0,
  quantiles: null,
  slowTraceId: null,
  errorTraceId: null,
};

/**
 * The service-map feature: GraphQL `serviceMap` and `serviceMetrics`, and the edge-pairing job
 * (core/service-map/job.ts), started with the module and stopped when the query server closes.
 * Every query process runs the job unless `serviceMap.jobEnabled` is false; concurrent runners
 * are harmless (deterministic windows and dedup tokens).
 */
export const createServiceMapModule: QueryModuleFactory = (deps): QueryModule => {
  const { store, config, logger, metrics } = deps;
  const cfg = config.serviceMap;
  const sql = createSqlRunner(store, logger, deps.observe, config.limits);
  const db = store.database;
  const job = createServiceMapJob({ store, logger, registry: metrics.registry }, cfg);
  if (cfg.jobEnabled) job.start();

  return {
    name: "service-map",
    capability: "traces",
    typeDefs: SERVICE_MAP_SDL,
    resolvers: {
      Query: {
        async serviceMap(
          _: unknown,
          args: {
            from: bigint;
            to: bigint;
            focus?: string | null;
            depth?: number | null;
            filter?: ServiceMapFilter | null;
            environment?: string | null;
          },
          ctx: QueryContext,
        ) {
          checkRange(args.from, args.to);
          if (args.depth != null && (args.depth < 0 || args.depth > 10)) {
            throw invalidInput("BAD_DEPTH", "`depth` must be between 0 and 10");
          }
          const fromMs = args.from / NS_PER_MS;
          const toMs = (args.to + NS_PER_MS - 1n) / NS_PER_MS;
          const [[read, allServices], inEnv] = await Promise.all([
            // edges and nodes from the same finished windows
            published(sql, db, () =>
              Promise.all([
                readEdges(sql, db, ctx.tenant, fromMs, toMs, cfg.latenessMs),
                readServiceRed(sql, db, ctx.tenant, fromMs, toMs),
              ]),
            ),
            args.environment == null
              ? null
              : servicesInEnvironment(sql, ctx.tenant, args.environment, {
                  fromNs: args.from,
                  toNs: args.to,
                }),
          ]);
          const { watermarkMs } = read;
          let { edges } = read;
          let services = allServices;
          if (inEnv) {
            // Services of the environment, and the calls among them or from them to virtual nodes
            // (databases, queues, ...). RED rows have no environment: a service's are its total.
            const names = new Set(inEnv.map((s) => s.name));
            const ids = new Set(inEnv.map((s) => nodeId("service", s.name)));
            services = new Map([...allServices].filter(([name]) => names.has(name)));
            for (const name of names) if (!services.has(name)) services.set(name, { ...EMPTY });
            edges = edges.filter(
              (e) => ids.has(e.source) && (ids.has(e.target) || !e.target.startsWith("service:")),
            );
          }
          const nodes = new Map<string, MapNode>();
          for (const [name, red] of services)
            nodes.set(nodeId("service", name), { id: nodeId("service", name), name, kind: "service", red });
          for (const e of edges) {
            for (const id of [e.source, e.target]) {
              if (nodes.has(id)) continue;
              const cut = id.indexOf(":");
              const kind = id.slice(0, cut) as MapNode["kind"];
              nodes.set(id, {
                id,
                name: id.slice(cut + 1),
                kind,
                red: kind === "service" ? { ...EMPTY } : sumIncoming(id),
              });
            }
          }
          function sumIncoming(id: string): Red {
            const incoming = edges.filter((e) => e.target === id);
            const r = { ...EMPTY, seconds: incoming[0]?.seconds ?? 0 };
            for (const e of incoming) {
              r.calls += e.calls;
              r.errors += e.errors;
              r.errorTraceId ??= e.errorTraceId;
            }
            return r;
          }
          const picked = selectNodes([...nodes.values()], edges, args.focus, args.depth, args.filter);
          return {
            nodes: picked.nodes.map((n) => ({ id: n.id, name: n.name, kind: n.kind, ...redFields(n.red) })),
            edges: picked.edges.map((e) => ({ source: e.source, target: e.target, ...redFields(e) })),
            aggregatedUntil: watermarkMs > 0n ? watermarkMs * NS_PER_MS : null,
          };
        },

        async serviceMetrics(
          _: unknown,
          args: {
            service: string;
            operation?: string | null;
            groupBy?: GroupBy | null;
            from: bigint;
            to: bigint;
            step?: bigint | null;
          },
          ctx: QueryContext,
        ) {
          checkRange(args.from, args.to);
          const step = args.step ?? MINUTE_NS;
          if (step < MINUTE_NS || step % MINUTE_NS !== 0n) {
            throw invalidInput("BAD_STEP", "`step` must be a whole number of minutes");
          }
          if ((args.to - args.from) / step > MAX_POINTS) {
            throw invalidInput("BAD_STEP", `at most ${MAX_POINTS} points per series; use a larger step`);
          }
          const series = await published(sql, db, () =>
            readSeries(sql, db, {
              tenant: ctx.tenant,
              service: args.service,
              operation: args.operation,
              groupBy: args.groupBy,
              fromMs: args.from / NS_PER_MS,
              toMs: (args.to + NS_PER_MS - 1n) / NS_PER_MS,
              stepMs: step / NS_PER_MS,
            }),
          );
          return series.map((s) => ({
            group: s.group,
            points: s.points.map((p) => ({ time: p.timeMs * NS_PER_MS, ...redFields(p) })),
          }));
        },
      },
    },
    close: () => job.stop(),
  };
};
