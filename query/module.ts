import type { FastifyInstance } from "fastify";
import type { Capability } from "../core/auth/policy.js";
import type { SkaldConfig } from "../core/config/schema.js";
import type { Logger } from "../core/log.js";
import type { SkaldMetrics } from "../core/metrics.js";
import type { Store } from "../core/store/store.js";
import type { QueryObserver } from "./sql.js";

/** What every query feature module is built from. */
export interface QueryModuleDeps {
  store: Store;
  config: SkaldConfig;
  metrics: SkaldMetrics;
  logger: Logger;
  /**
   * Times every store query a module makes (skald_query_store_duration_seconds, by query name);
   * pass it to createSqlRunner. Absent where no query server records metrics.
   */
  observe?: QueryObserver;
}

/**
 * A feature of the query server (service map, config history, canary, …). Each feature lives in
 * its own folder and contributes GraphQL and/or REST routes; `query/modules.ts` lists them.
 * Resolvers receive the request context `{ tenant, reader }` (QueryContext): every read must be
 * scoped to `ctx.tenant`.
 */
export interface QueryModule {
  name: string;
  /**
   * What the module's GraphQL root fields need (core/auth/policy.ts): the role check of every
   * operation reads it. Its REST routes are listed in `routeAccess`.
   */
  capability: Capability;
  /** SDL added to the schema; extend the root with `extend type Query { … }`. */
  typeDefs?: string;
  /** Resolver map merged into the schema (graphql-tools resolver map shape). */
  resolvers?: Record<string, unknown>;
  /** Registers REST routes on the query server (compatibility APIs). Called once at start. */
  routes?(app: FastifyInstance): void | Promise<void>;
  /** Stops background work; called when the query server closes. Safe to call twice. */
  close?(): Promise<void>;
}

export type QueryModuleFactory = (deps: QueryModuleDeps) => QueryModule;
