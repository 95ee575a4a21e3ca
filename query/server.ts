import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { Counter, Histogram, type Registry } from "prom-client";
import { createAuditLog } from "../core/auth/audit.js";
import { createAuthenticator } from "../core/auth/authenticator.js";
import type { SkaldConfig } from "../core/config/schema.js";
import type { Logger } from "../core/log.js";
import type { SkaldMetrics } from "../core/metrics.js";
import type { Store } from "../core/store/store.js";
import { httpsOptionsOf, type ServerTls } from "../core/tls.js";
import { createAuditModule } from "./audit/module.js";
import { installAuth } from "./auth.js";
import { createGraphQLHandler } from "./graphql/yoga.js";
import { QUERY_MODULES } from "./modules.js";
import { SpanReader } from "./span-reader.js";
import type { QueryObserver } from "./sql.js";
import { findUiDist, registerUi } from "./ui-static.js";

export interface QueryServerDeps {
  store: Store;
  config: SkaldConfig;
  metrics: SkaldMetrics;
  logger: Logger;
  /** False while the process starts or drains; /readyz answers 503 then. */
  isReady(): boolean;
  /** The built dashboard to serve at `/` (default: ui/dist when built; null: the placeholder page). */
  uiDir?: string | null;
  /** Serve over TLS (config `tls`); plaintext when absent. */
  tls?: ServerTls;
}

/** How long /readyz waits for ClickHouse before calling it unavailable. */
const PING_TIMEOUT_MS = 2000;

/**
 * The query HTTP server: /graphql (GraphiQL for browsers), /metrics, /healthz, /readyz, and the
 * dashboard at / (ui/dist; a placeholder page when it is not built). The caller listens and closes it.
 */
export async function createQueryServer(deps: QueryServerDeps): Promise<FastifyInstance> {
  const { store, config, metrics, logger } = deps;
  const storeSeconds = metric(
    metrics.registry,
    "skald_query_store_duration_seconds",
    (registers) =>
      new Histogram({
        name: "skald_query_store_duration_seconds",
        help: "Time of each store query made to answer GraphQL, by query and outcome.",
        labelNames: ["query", "outcome"],
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers,
      }),
  );
  const requests = metric(
    metrics.registry,
    "skald_query_http_requests_total",
    (registers) =>
      new Counter({
        name: "skald_query_http_requests_total",
        help: "Requests to the query server, by route and status code.",
        labelNames: ["route", "status"],
        registers,
      }),
  );
  const observe: QueryObserver = (query, seconds, ok) =>
    storeSeconds.observe({ query, outcome: ok ? "ok" : "error" }, seconds);
  const reader = new SpanReader(store, config.query, { limits: config.limits, logger, observe });
  const auth = createAuthenticator({ auth: config.auth, otlp: config.otlp, limits: config.limits });
  const audit = createAuditLog(store, logger);
  const modules = [
    ...QUERY_MODULES.map((create) => create({ store, config, metrics, logger, observe })),
    createAuditModule(audit),
  ];
  const yoga = createGraphQLHandler({ reader, config, logger, modules, auth, audit });

  // As the base logger type, so the instance is the plain FastifyInstance the signature promises.
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    ...(deps.tls ? { https: httpsOptionsOf(deps.tls) } : {}),
  });
  // First, so every route below (and every module's) is behind it.
  installAuth(app, { auth, config, audit });
  app.addHook("onResponse", async (req, reply) => {
    requests.inc({ route: req.routeOptions.url ?? "unknown", status: String(reply.statusCode) });
  });

  app.route({
    url: "/graphql",
    method: ["GET", "POST", "OPTIONS"],
    async handler(req, reply) {
      const response = await yoga.handleNodeRequestAndResponse(req, reply, { req });
      response.headers.forEach((value, key) => {
        reply.header(key, value);
      });
      reply.status(response.status);
      reply.send(response.body);
      return reply;
    },
  });

  for (const m of modules) await m.routes?.(app);
  app.addHook("onClose", async () => {
    for (const m of modules) await m.close?.();
    await audit.close();
  });

  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_req, reply) => {
    if (!deps.isReady()) return reply.status(503).send({ status: "unavailable", reason: "not ready" });
    const reason = await pingStore(store, logger);
    if (reason) return reply.status(503).send({ status: "unavailable", reason });
    return { status: "ok" };
  });

  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const uiDir = deps.uiDir === undefined ? findUiDist() : deps.uiDir;
  if (uiDir) registerUi(app, uiDir);
  else {
    app.get("/", async (_req, reply) => {
      reply.header("content-type", "text/html; charset=utf-8");
      return LANDING_PAGE;
    });
  }

  return app;
}

/** Null when ClickHouse answers a ping in time, else why not (no connection details). */
async function pingStore(store: Store, logger: Logger): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), PING_TIMEOUT_MS);
  });
  try {
    const result = await Promise.race([store.client.ping(), timeout]);
    if (result === "timeout") return `ClickHouse did not answer a ping within ${PING_TIMEOUT_MS} ms`;
    if (!result.success) {
      logger.warn({ err: result.error }, "ClickHouse ping failed");
      return "ClickHouse ping failed";
    }
    return null;
  } catch (err) {
    logger.warn({ err }, "ClickHouse ping failed");
    return "ClickHouse ping failed";
  } finally {
    clearTimeout(timer);
  }
}

/** The registry's metric of that name, created on first use (one registry may serve two servers). */
function metric<T>(registry: Registry, name: string, create: (registers: Registry[]) => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create([registry]);
}

const LANDING_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Skald</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3rem">
<h1>Skald</h1>
<p>Traces, served over GraphQL. Open <a href="/graphql">/graphql</a> to explore the API in GraphiQL.</p>
<p><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a></p>
</body>
</html>
`;
