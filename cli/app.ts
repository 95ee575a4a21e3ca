import { createOtlpGrpcReceiver, createOtlpHttpReceiver, type Receiver } from "../collector/index.js";
import type { SkaldConfig } from "../core/config/schema.js";
import type { Logger } from "../core/log.js";
import { createMetrics, type SkaldMetrics } from "../core/metrics.js";
import { createStoreSpanSink, type SpanSink } from "../core/pipeline/span-sink.js";
import { migrate, retentionDaysOf } from "../core/store/migrations.js";
import { openStore, type Store } from "../core/store/store.js";
import { createQueryServer } from "../query/index.js";

export type Role = "start" | "collector" | "query" | "migrate";

export interface RunningApp {
  /** Where each listener is, for people: name → address. */
  listeners: Record<string, string>;
  metrics: SkaldMetrics;
  store: Store;
  /** Stops receivers, writes everything accepted, closes the store. Safe to call twice. */
  shutdown(): Promise<void>;
}

/**
 * Runs one role (or every role, for `start`) in this process. Start-up order: store, migrations,
 * pipeline, query server, receivers (so nothing is accepted before it can be stored); shutdown runs
 * in reverse: receivers stop taking requests, the pipeline drains, then the store closes.
 */
export async function runRole(role: Role, config: SkaldConfig, logger: Logger): Promise<RunningApp> {
  const metrics = createMetrics();
  const store = await openStore(config.storage);
  const listeners: Record<string, string> = {};
  const receivers: Receiver[] = [];
  let sink: SpanSink | undefined;
  let query: Awaited<ReturnType<typeof createQueryServer>> | undefined;
  let ready = false;
  let stopping: Promise<void> | undefined;

  const shutdown = () => {
    stopping ??= (async () => {
      ready = false;
      await Promise.all([...receivers.map((r) => r.shutdown()), sink?.shutdown()]);
      await query?.close();
      await store.close();
    })();
    return stopping;
  };

  try {
    const migrateNow = role === "migrate" || role === "start" || store.kind === "embedded";
    if (migrateNow) {
      const result = await migrate(store, retentionDaysOf(config.storage));
      if (result.applied.length > 0) logger.info({ applied: result.applied }, "migrations applied");
      if (result.ttlChanged.length > 0) logger.info({ tables: result.ttlChanged }, "retention changed");
    }
    if (role === "start" || role === "query") {
      query = await createQueryServer({ store, config, metrics, logger, isReady: () => ready });
      await query.listen({ host: config.query.host, port: config.query.port });
      const addr = query.server.address();
      const port = typeof addr === "object" && addr ? addr.port : config.query.port;
      listeners.graphql = `http://${config.query.host}:${port}/graphql`;
    }
    if (role === "start" || role === "collector") {
      sink = createStoreSpanSink(store, config.pipeline, metrics);
      const deps = { config: config.otlp, sink, metrics, logger };
      const grpc = createOtlpGrpcReceiver(deps);
      const http = createOtlpHttpReceiver(deps);
      receivers.push(grpc, http);
      listeners.otlpGrpc = await grpc.start();
      listeners.otlpHttp = `http://${await http.start()}/v1/traces`;
    }
    ready = true;
  } catch (err) {
    await shutdown().catch(() => undefined);
    throw err;
  }
  return { listeners, metrics, store, shutdown };
}
