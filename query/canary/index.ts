import type { QueryModule, QueryModuleFactory } from "../module.js";
import { CANARY_SDL, canaryResolvers } from "./graphql.js";
import { registerKayentaRoutes } from "./kayenta.js";
import { CanaryService } from "./service.js";

export { type CanaryConfig, defaultCanaryConfig, parseCanaryConfig } from "./config.js";
export { CanaryService, type RunRequest } from "./service.js";

/** Canary analysis: GraphQL (canaryAnalysis, runs, configs) and Kayenta-shaped REST under /canary. */
export const createCanaryModule: QueryModuleFactory = (deps): QueryModule => {
  const service = new CanaryService(deps.store, deps.logger.child({ component: "canary" }), deps.observe);
  return {
    name: "canary",
    capability: "canary",
    typeDefs: CANARY_SDL,
    resolvers: canaryResolvers(service),
    routes: (app) => registerKayentaRoutes(app, service),
    close: () => service.close(),
  };
};
