import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type FlowPipeline, startFlowPipeline } from "../collector/flows/index.js";
import { createOtlpGrpcReceiver, createOtlpHttpReceiver, type Receiver } from "../collector/index.js";
import { createAuthenticator, headerLookup } from "../core/auth/authenticator.js";
import { checkExposure } from "../core/auth/exposure.js";
import { flowSourceTenants } from "../core/auth/flow-sources.js";
import { TenantSpanLimits } from "../core/auth/rate-limit.js";
import type { SkaldConfig } from "../core/config/schema.js";
import { httpStatusOf } from "../core/error-mapping.js";
import { asSkaldError, configError } from "../core/errors.js";
import { createKafkaClient } from "../core/kafka/client.js";
import { flowKafkaConfig } from "../core/kafka/topics.js";
import type { Logger } from "../core/log.js";
import { createMetrics, type SkaldMetrics } from "../core/metrics.js";
import { createKafkaSpanSink } from "../core/pipeline/kafka-span-sink.js";
import { createStoreSpanSink, type SpanSink } from "../core/pipeline/span-sink.js";
import { migrate, retentionDaysOf, tenantRetentionOf } from "../core/store/migrations.js";
import { openStore, type Store } from "../core/store/store.js";
import { httpsOptionsOf, loadServerTls, type ServerTls, schemeOf } from "../core/tls.js";
import { createIngester, flowStream, type Ingester } from "../ingester/index.js";
import { createQueryServer } from "../query/index.js";
import { createRecorder, type Recorder } from "../recorder/index.js";

export type Role = "start" | "collector" | "ingester" | "query" | "recorder" | "migrate";

export interface RunningApp {
  /** Where each listener is, for people: name → address. */
  listeners: Record<string, string>;
  metrics: SkaldMetrics;
  /** The store; a collector that produces to Kafka has none (reading it throws). */
  store: Store;
  /** The config-history recorder, when this role runs one (`recorder`, or `start` with sources). */
  recorder?: Recorder;
  /** Stops receivers, writes everything accepted, closes the store. Safe to call twice. */
  shutdown(): Promise<void>;
}

export interface RunOptions {
  /** Tests only: the ingester SIGKILLs its own process after this many inserts, before committing. */
  crashAfterInserts?: number;
}

/**
 * Runs one role (or every role, for `start`) in this process. Start-up order: store, migrations,
 * ingester, query server, sink, receivers (so nothing is accepted before it can be made durable);
 * shutdown runs in reverse: receivers stop taking requests, the sink drains (into the store, or
 * until Kafka acknowledged), the ingester writes and commits the batches in hand and leaves its
 * group, then the store closes.
 *
 * Kafka is in the path when `kafka.brokers` is set (SKALD_KAFKA_BROKERS): the collector role then
 * produces to Kafka and needs no store, and `start` runs an ingester in the same process, so
 * collector → Kafka → ingester → ClickHouse. Without brokers, `start` hands spans over in-process.
 */
export async function runRole(
  role: Role,
  config: SkaldConfig,
  logger: Logger,
  opts: RunOptions = {},
): Promise<RunningApp> {
  const kafkaOn = config.kafka.brokers.length > 0;
  if (role === "ingester" && !kafkaOn) {
    throw configError(
      "kafka.brokers: the ingester role needs Kafka brokers (set SKALD_KAFKA_BROKERS=host:port,...)",
    );
  }
  // Nothing opens when the configuration would serve data to strangers (core/auth/exposure.ts).
  const exposureWarning = checkExposure(role, config);
  if (exposureWarning) logger.warn(exposureWarning);
  const auth = createAuthenticator({ auth: config.auth, otlp: config.otlp, limits: config.limits });
  const metrics = createMetrics();
  const needsStore = role !== "collector" || !kafkaOn;
  // Certificates are read (and checked) before anything opens: a bad file stops the start here.
  const tls = role === "migrate" || role === "recorder" ? undefined : loadServerTls(config.tls);
  const scheme = schemeOf(tls);
  const store = needsStore ? await openStore(config.storage) : undefined;
  const kafka = kafkaOn ? createKafkaClient(config.kafka, logger, role) : undefined;
  const listeners: Record<string, string> = {};
  const receivers: Receiver[] = [];
  let sink: SpanSink | undefined;
  let flows: FlowPipeline | undefined;
  let ingester: Ingester | undefined;
  let flowIngester: Ingester | undefined;
  let query: Awaited<ReturnType<typeof createQueryServer>> | undefined;
  let recorder: Recorder | undefined;
  let ops: Server | undefined;
  let ready = false;
  let stopping: Promise<void> | undefined;

  const shutdown = () => {
    stopping ??= (async () => {
      ready = false;
      await Promise.all(receivers.map((r) => r.shutdown()));
      await new Promise((r) => (ops ? ops.close(r) : r(undefined)));
      await sink?.shutdown();
      await flows?.shutdown();
      await Promise.all([ingester?.shutdown(), flowIngester?.shutdown()]);
      await recorder?.shutdown();
      await query?.close();
      await store?.close();
    })();
    return stopping;
  };

  try {
    const migrateNow = store && (role === "migrate" || role === "start" || store.kind === "embedded");
    if (store && migrateNow) {
      const result = await migrate(store, retentionDaysOf(config.storage), tenantRetentionOf(config.storage));
      if (result.applied.length > 0) logger.info({ applied: result.applied }, "migrations applied");
      if (result.ttlChanged.length > 0) logger.info({ tables: result.ttlChanged }, "retention changed");
    }
    if (role === "ingester" && store?.kind === "embedded") {
      logger.warn(
        { dataDir: config.storage.dataDir },
        "ingester on embedded storage: only this process can open it; set SKALD_CLICKHOUSE_URL to share a ClickHouse server",
      );
    }
    if (kafka && store && (role === "start" || role === "ingester")) {
      ingester = createIngester({
        kafka,
        store,
        config: config.kafka,
        defaultTenant: config.otlp.defaultTenant,
        metrics,
        logger,
        crashAfterInserts: opts.crashAfterInserts,
      });
      await ingester.start();
      listeners.ingester = `group ${config.kafka.group} on topic ${config.kafka.topic} (${config.kafka.brokers.join(",")})`;
      // Flows have their own topic and consumer group (core/kafka/README.md, "Flows"); an ingester
      // consumes them whenever flows are on, so `skald start` and `skald collector` flows land.
      if (config.flows.enabled) {
        const flowConfig = flowKafkaConfig(config.kafka);
        flowIngester = createIngester({
          kafka,
          store,
          config: flowConfig,
          defaultTenant: config.otlp.defaultTenant,
          stream: flowStream(),
          metrics,
          logger,
          crashAfterInserts: opts.crashAfterInserts,
        });
        await flowIngester.start();
        listeners.flowIngester = `group ${flowConfig.group} on topic ${flowConfig.topic}`;
      }
    }
    if (store && (role === "start" || role === "query")) {
      query = await createQueryServer({ store, config, metrics, logger, isReady: () => ready, tls });
      await query.listen({ host: config.query.host, port: config.query.port });
      const addr = query.server.address();
      const port = typeof addr === "object" && addr ? addr.port : config.query.port;
      listeners.graphql = `${scheme}://${config.query.host}:${port}/graphql`;
    }
    // The recorder runs in `start` only when a source is configured (SKALD_RECORDER_AWS_REGIONS).
    const sources = config.recorder.aws.regions.length + config.recorder.http.length;
    if (store && (role === "recorder" || (role === "start" && sources > 0))) {
      if (sources === 0)
        throw configError("recorder: no sources (set SKALD_RECORDER_AWS_REGIONS or recorder.http)");
      recorder = createRecorder({ store, config: config.recorder, registry: metrics.registry, logger });
      recorder.start();
      listeners.recorder = `${recorder.collections.length} collections every ${config.recorder.intervalSeconds}s`;
    }
    let producerClient: ReturnType<typeof createKafkaClient> | undefined;
    if (role === "start" || role === "collector") {
      if (kafka) {
        // its own client: fail-fast retries, so a send fails before its sender is answered
        producerClient = createKafkaClient(
          config.kafka,
          logger,
          "collector",
          config.kafka.producer.sendTimeoutMs,
        );
        sink = await createKafkaSpanSink({ kafka: producerClient, config: config.kafka, metrics, logger });
        listeners.kafka = `topic ${config.kafka.topic} (${config.kafka.brokers.join(",")})`;
      } else {
        sink = createStoreSpanSink(store as Store, config.pipeline, metrics);
      }
      const tenantLimits = new TenantSpanLimits(config.limits);
      const deps = { config: config.otlp, sink, metrics, logger, tls, auth, tenantLimits };
      const grpc = createOtlpGrpcReceiver(deps);
      const http = createOtlpHttpReceiver(deps);
      receivers.push(grpc, http);
      // gRPC: host:port in plaintext (what the README shows), https://host:port over TLS
      const grpcAddress = await grpc.start();
      listeners.otlpGrpc = tls ? `https://${grpcAddress}` : grpcAddress;
      listeners.otlpHttp = `${scheme}://${await http.start()}/v1/traces`;
      // Flow receivers (NetFlow/IPFIX UDP, VPC Flow Logs HTTP): like the spans, to Kafka when it is
      // configured (topic kafka.flows.topic), else to the store directly.
      if (config.flows.enabled) {
        const f = {
          config: config.flows,
          store,
          kafka: producerClient ? { client: producerClient, config: config.kafka } : undefined,
          metrics,
          logger,
          tenantHeader: config.otlp.tenantHeader,
          tls,
          auth,
          sourceTenant: config.auth.enabled ? flowSourceTenants(config.auth.flowSources) : undefined,
        };
        flows = await startFlowPipeline(f);
        if (producerClient) listeners.kafkaFlows = `topic ${config.kafka.flows.topic} (flows)`;
        Object.assign(listeners, flows.listeners);
      }
    }
    // the roles without a query server serve /metrics, /healthz, /readyz here (SKALD_METRICS_PORT)
    const noQueryServer = role === "collector" || role === "ingester" || role === "recorder";
    if (noQueryServer && config.kafka.metricsPort !== undefined) {
      // Metrics need an admin's token when authentication is on (unless auth.publicMetrics).
      const mayReadMetrics = async (req: IncomingMessage) => {
        if (!config.auth.enabled || config.auth.publicMetrics) return;
        auth.require(await auth.reader(headerLookup(req)), "admin");
      };
      ops = await listenOps(
        config.query.host,
        config.kafka.metricsPort,
        metrics,
        () => ready,
        tls,
        mayReadMetrics,
      );
      const addr = ops.address();
      listeners.metrics = `${scheme}://${config.query.host}:${typeof addr === "object" && addr ? addr.port : 0}/metrics`;
    }
    ready = true;
  } catch (err) {
    await shutdown().catch(() => undefined);
    throw err;
  }
  return {
    listeners,
    metrics,
    recorder,
    get store(): Store {
      if (!store) throw new Error(`the ${role} role produces to Kafka and has no store`);
      return store;
    },
    shutdown,
  };
}

/**
 * /metrics, /healthz and /readyz for the roles without a query server (a collector producing to
 * Kafka, an ingester), so their Kafka metrics (produce latency, lag per partition, ...) can be scraped.
 */
function listenOps(
  host: string,
  port: number,
  metrics: SkaldMetrics,
  isReady: () => boolean,
  tls: ServerTls | undefined,
  /** Resolves when the request may read /metrics; rejects with the SkaldError to answer. */
  mayReadMetrics: (req: IncomingMessage) => Promise<void>,
): Promise<Server> {
  const handle: RequestListener = (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET") {
      res.writeHead(405).end();
    } else if (path === "/metrics") {
      mayReadMetrics(req)
        .then(() => metrics.registry.metrics())
        .then(
          (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
          (err: Error) => {
            const e = asSkaldError(err);
            const status = e.kind === "unauthenticated" || e.kind === "forbidden" ? httpStatusOf(e) : 500;
            const auth = status === 401 ? { "www-authenticate": 'Bearer realm="skald"' } : {};
            res.writeHead(status, { "content-type": "text/plain", ...auth }).end(`${e.message}\n`);
          },
        );
    } else if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const ok = isReady();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ready\n" : "not ready\n");
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("try /metrics, /healthz or /readyz\n");
    }
  };
  const server: Server = tls ? createHttpsServer(httpsOptionsOf(tls), handle) : createServer(handle);
  return new Promise((resolve, reject) => {
    server.once("error", (err) =>
      reject(new Error(`metrics cannot listen on ${host}:${port}: ${err.message}`)),
    );
    server.listen(port, host, () => resolve(server));
  });
}
