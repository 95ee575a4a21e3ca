import { createCanaryModule } from "./canary/index.js";
import { createConfigHistoryModule } from "./config-history/index.js";
import { createFlowsModule } from "./flows/index.js";
import { jaegerModule } from "./jaeger/index.js";
import type { QueryModuleFactory } from "./module.js";
import { createServiceMapModule } from "./service-map/index.js";

/**
 * The query server's feature modules, in registration order. A new feature adds its factory
 * here (one line) and keeps everything else in its own folder.
 */
export const QUERY_MODULES: QueryModuleFactory[] = [
  createCanaryModule,
  createServiceMapModule,
  jaegerModule,
  createConfigHistoryModule,
  createFlowsModule,
];
