import type { RecorderConfig } from "../core/config/schema.js";
import type { Logger } from "../core/log.js";
import type { Store } from "../core/store/store.js";
import { createAwsCollections } from "./aws/collections.js";
import type { Collection } from "./collection.js";
import { createHttpCollection } from "./http-source.js";
import { Recorder } from "./recorder.js";

export { AWS_COLLECTIONS } from "./aws/collections.js";
export type { Collection } from "./collection.js";
export { type CrawlResult, Recorder } from "./recorder.js";

/** The collections a configuration asks for: AWS per region (when regions are set) and HTTP sources. */
export function collectionsOf(config: RecorderConfig): Collection[] {
  const out: Collection[] = [];
  if (config.aws.regions.length > 0) {
    out.push(
      ...createAwsCollections({
        regions: config.aws.regions,
        account: config.aws.account,
        endpoint: config.aws.endpoint,
        maxAttempts: config.aws.maxAttempts,
        pageSize: config.aws.pageSize,
        intervalSeconds: config.intervalSeconds,
        intervals: config.intervals,
        ignore: config.ignore,
      }),
    );
  }
  for (const src of config.http) {
    out.push(
      createHttpCollection(src, {
        intervalSeconds: config.intervals[src.name] ?? config.intervalSeconds,
        ignore: config.ignore[src.name] ?? [],
      }),
    );
  }
  return out;
}

export function createRecorder(deps: {
  store: Store;
  config: RecorderConfig;
  registry: import("prom-client").Registry;
  logger: Logger;
}): Recorder {
  return new Recorder({
    store: deps.store,
    collections: collectionsOf(deps.config),
    tenant: deps.config.tenant,
    suppressTags: deps.config.suppressTags,
    registry: deps.registry,
    logger: deps.logger.child({ component: "recorder" }),
  });
}
