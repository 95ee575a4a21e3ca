import type { FastifyReply, FastifyRequest } from "fastify";
import { httpStatusOf } from "../../core/error-mapping.js";
import { SkaldError } from "../../core/errors.js";
import { principalOf } from "../auth.js";
import type { QueryModule, QueryModuleFactory } from "../module.js";
import { SpanReader } from "../span-reader.js";
import { createSqlRunner, type SqlRunner } from "../sql.js";
import { registerLegacyRoutes, sendLegacyError } from "./legacy.js";
import { ParamError } from "./params.js";
import { registerV3Routes, sendV3Error } from "./v3.js";

/**
 * Jaeger-compatible query APIs, so Grafana's Jaeger data source and the Jaeger UI can read Skald:
 * the legacy JSON API (`/api/services`, `/api/traces`, …) and api/v3 (`/api/v3/...`), both under
 * `query.jaegerPrefix` ("" by default; e.g. "/jaeger" serves `/jaeger/api/services`). The tenant
 * is the caller's (query/auth.ts: credentials, or the tenant header when authentication is off).
 */

export interface JaegerContext {
  reader: SpanReader;
  sql: SqlRunner;
  /** Database of the store, and the service map's lateness, for its edge reader. */
  database: string;
  latenessMs: number;
  tenant(req: FastifyRequest): string;
  /** Runs a handler and renders any failure in the API's own error shape. */
  handle(
    api: "legacy" | "v3",
    req: FastifyRequest,
    reply: FastifyReply,
    fn: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  ): Promise<unknown>;
}

/** "" or "/segment[/segment…]" without a trailing slash. */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.trim().replace(/\/+$/, "");
  if (trimmed === "") return "";
  return trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

export const jaegerModule: QueryModuleFactory = ({ store, config, logger, observe }): QueryModule => {
  const reader = new SpanReader(store, config.query, { logger, observe, limits: config.limits });
  const sql = createSqlRunner(store, logger, observe, config.limits);

  const ctx: JaegerContext = {
    reader,
    sql,
    database: store.database,
    latenessMs: config.serviceMap.latenessMs,
    tenant: (req) => principalOf(req).tenant,
    async handle(api, req, reply, fn) {
      try {
        return await fn(req, reply);
      } catch (err) {
        const send = api === "legacy" ? sendLegacyError : sendV3Error;
        if (err instanceof ParamError) return send(reply, 400, api === "v3" ? v3Message(err) : err.message);
        if (err instanceof SkaldError) {
          const status = httpStatusOf(err);
          if (status >= 500) logger.warn({ err, url: req.url }, "jaeger API request failed");
          return send(reply, status, err.message);
        }
        logger.error({ err, url: req.url }, "jaeger API request failed");
        return send(reply, 500, "internal error");
      }
    },
  };

  return {
    name: "jaeger",
    capability: "traces",
    routes(app) {
      const prefix = normalizePrefix(config.query.jaegerPrefix);
      registerLegacyRoutes(app, prefix, ctx);
      registerV3Routes(app, prefix, ctx);
    },
  };
};

/** api/v3 words parameter errors as "malformed parameter <name>: <why>". */
function v3Message(err: ParamError): string {
  if (err.message.startsWith("malformed parameter") || err.message.includes("required")) return err.message;
  return `malformed parameter ${err.param}: ${err.message.replace(/^unable to parse param '[^']*': /, "")}`;
}
