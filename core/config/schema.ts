import { z } from "zod";
import { PAIRING_SLICE_SPANS, PAIRING_SPILL_BYTES } from "../service-map/pairing.js";
import { TENANT_RE } from "../tenant.js";

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
const tenantName = z.string().regex(TENANT_RE, "must be 1-64 letters, digits, '_', '.', '-'");

/** ClickHouse connection: embedded chDB under `dataDir` unless `url` is set. */
export const storageSchema = z
  .object({
    dataDir: z.string().min(1).default("./data"),
    url: z.string().url().optional(),
    username: z.string().default("default"),
    password: z.string().default(""),
    database: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a plain identifier")
      .default("skald"),
    /** Cluster name for ON CLUSTER / Replicated / Distributed tables; empty = single node. */
    cluster: z.string().default(""),
    requestTimeoutMs: positiveInt.default(30_000),
    retention: z
      .object({
        /** Days spans (and their indexes) are kept. */
        spansDays: positiveInt.default(7),
        /** Days raw packet flows are kept (retention class `flows`). */
        flowsDays: positiveInt.default(7),
        /** Days per-minute flow rollups are kept (retention class `flow_rollups`). */
        flowRollupsDays: positiveInt.default(30),
        /** Days the audit log is kept (retention class `audit`). */
        auditDays: positiveInt.default(365),
        /** Per-tenant exceptions to the days above, e.g. { "acme": { "spansDays": 30 } }. */
        tenants: z
          .record(
            tenantName,
            z
              .object({
                spansDays: positiveInt.optional(),
                flowsDays: positiveInt.optional(),
                flowRollupsDays: positiveInt.optional(),
                auditDays: positiveInt.optional(),
              })
              .strict(),
          )
          .default({}),
      })
      .strict()
      .default({}),
    /** Ask ClickHouse to fsync parts before an insert returns (survives power loss, slower). */
    fsyncInserts: z.boolean().default(false),
    /**
     * TLS to a ClickHouse server (an https:// `url`): the CA its certificate is checked against,
     * and a client certificate and key for mutual TLS. Unset: the system's CAs for https URLs.
     */
    tls: z
      .object({
        caFile: z.string().min(1),
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const otlpSchema = z
  .object({
    host: z.string().default("127.0.0.1"),
    grpcPort: port.default(4317),
    httpPort: port.default(4318),
    /** Largest accepted request, compressed or not (OTLP answers 413 / INVALID_ARGUMENT above). */
    maxRequestBytes: positiveInt.default(16 * 1024 * 1024),
    /** Header carrying the tenant (HTTP header / gRPC metadata key, case-insensitive). */
    tenantHeader: z.string().default("x-scope-orgid"),
    defaultTenant: z.string().default("default"),
  })
  .strict();

export const pipelineSchema = z
  .object({
    /** A batch is written when it holds this many spans... */
    batchMaxRows: positiveInt.default(50_000),
    /**
     * ...or when its oldest span has waited this long (and a writer is free). Every insert costs
     * ClickHouse a fixed ~65 ms of CPU for the parts of `spans` and its five views whatever its
     * size (bench:insert-profile: 2,048-span inserts 3.1 CPU-s per 100k spans, 51,200-span ones
     * 0.6), so on a busy machine small batches eat the CPU: bench:ingest measured 6.5-7.2
     * CPU-s per 100k spans at 250 ms against 8.8-14.5 at 50 ms, p99 latency no worse.
     */
    batchMaxDelayMs: positiveInt.default(200),
    /** Spans accepted but not yet written; beyond it senders get 429 / RESOURCE_EXHAUSTED. */
    queueMaxRows: positiveInt.default(200_000),
    /** Batches written to ClickHouse at the same time. */
    insertConcurrency: positiveInt.default(2),
    /** Insert attempts before the waiting requests are answered 503 / UNAVAILABLE. */
    insertAttempts: positiveInt.default(3),
    /** Retry delay suggested to senders when throttled. */
    retryAfterMs: positiveInt.default(1000),
  })
  .strict();

export const querySchema = z
  .object({
    host: z.string().default("127.0.0.1"),
    port: port.default(8080),
    maxDepth: positiveInt.default(12),
    maxComplexity: positiveInt.default(5000),
    /** Upper bound on spans one page of a trace returns. */
    maxTracePage: positiveInt.default(10_000),
    /** Upper bound on traces one search returns. */
    maxSearchLimit: positiveInt.default(1000),
    /** URL prefix of the Jaeger-compatible APIs ("" → /api/services; "/jaeger" → /jaeger/api/services). */
    jaegerPrefix: z
      .string()
      .regex(/^(\/[A-Za-z0-9._~-]+)*\/?$|^$/, "must be empty or a path such as /jaeger")
      .default(""),
  })
  .strict();

const topicName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, "must be 1-249 characters of letters, digits, '.', '_', '-'");

/**
 * Kafka between collectors and ingesters (core/kafka/README.md describes the message format).
 * With no brokers configured, `skald start` hands spans from its collector to storage in-process.
 */
export const kafkaSchema = z
  .object({
    /** Bootstrap servers, host:port. Empty = no Kafka. */
    brokers: z.array(z.string().regex(/^[^\s:,]+:\d{1,5}$/, "must be host:port")).default([]),
    clientId: z.string().min(1).default("skald"),
    /** Spans, keyed by trace id. */
    topic: topicName.default("skald.spans"),
    /** Messages the ingester cannot decode or store, with the reason in headers. */
    deadLetterTopic: topicName.default("skald.spans.dlq"),
    /** Partitions and replication factor used when Skald creates a missing topic. */
    partitions: positiveInt.default(8),
    replication: positiveInt.default(1),
    /** Create missing topics at start (else only verify they exist). */
    createTopics: z.boolean().default(true),
    /** The ingesters' consumer group. */
    group: z.string().min(1).default("skald-ingesters"),
    /**
     * Packet flows on Kafka (core/kafka/README.md, "Flows"): their own topic, keyed by exporter,
     * dead-letter topic and consumer group (a group of its own, so flow and span partitions are
     * assigned, paced and lagged independently). Partitions, replication and the producer and
     * ingester settings are the spans' ones.
     */
    flows: z
      .object({
        topic: topicName.default("skald.flows"),
        deadLetterTopic: topicName.default("skald.flows.dlq"),
        group: z.string().min(1).default("skald-flow-ingesters"),
      })
      .strict()
      .default({}),
    /**
     * Where a `skald collector` or `skald ingester` process serves /metrics, /healthz and /readyz
     * (these roles have no query server). Unset: not served; 0: any free port.
     */
    metricsPort: port.optional(),
    /** Compression of produced record batches (gzip is built into the client; see the README). */
    compression: z.enum(["gzip", "none"]).default("gzip"),
    /**
     * TLS to the brokers: on when `enabled` or any file is set. Without `caFile` the system's CAs
     * are trusted; certFile + keyFile give a client certificate (mTLS).
     */
    ssl: z
      .object({
        enabled: z.boolean().optional(),
        caFile: z.string().min(1).optional(),
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        /** Check the brokers' certificates (turn off only for a throwaway test broker). */
        rejectUnauthorized: z.boolean().default(true),
      })
      .strict()
      .default({}),
    /** SASL authentication to the brokers (over TLS unless the network is trusted). */
    sasl: z
      .object({
        mechanism: z.preprocess(
          (v) => (typeof v === "string" ? v.toLowerCase() : v),
          z.enum(["plain", "scram-sha-256", "scram-sha-512"]),
        ),
        username: z.string().min(1),
        /** Also SKALD_KAFKA_SASL_PASSWORD, so it need not be in the file. */
        password: z.string().min(1),
      })
      .strict()
      .optional(),
    producer: z
      .object({
        /** Bytes accepted from receivers and not yet acknowledged by Kafka; beyond → 429. */
        maxInFlightBytes: positiveInt.default(64 * 1024 * 1024),
        /** Uncompressed bytes per partition in one produce request (the broker caps a batch at ~1 MB). */
        maxPartitionBatchBytes: positiveInt.default(900_000),
        /** A trace's rows are split into messages of at most this many uncompressed bytes. */
        maxMessageBytes: positiveInt.default(512 * 1024),
        /** A request not acknowledged by Kafka within this is answered 503 (the OTel SDK gives up at 10 s). */
        sendTimeoutMs: positiveInt.default(5000),
        /** Retry delay suggested to senders when Kafka is slow or down. */
        retryAfterMs: positiveInt.default(1000),
      })
      .strict()
      .default({}),
    ingester: z
      .object({
        /** A partition's batch is written when it holds this many spans... */
        batchMaxRows: positiveInt.default(50_000),
        /** ...or this many bytes... */
        batchMaxBytes: positiveInt.default(32 * 1024 * 1024),
        /**
         * ...or when its first message has waited this long (and the partition's writer is idle).
         * Bigger inserts cost ClickHouse much less per span (fewer parts to write and merge):
         * bench:kafka measured 5.4 CPU-s per 100k spans at 1 s and 2.9 at 4 s; 2 s keeps spans
         * readable within seconds.
         */
        batchMaxDelayMs: positiveInt.default(2000),
        /** Bytes buffered per partition before fetching from it pauses. */
        partitionMaxBytes: positiveInt.default(64 * 1024 * 1024),
        /** Cap of the exponential backoff between insert attempts (ClickHouse down). */
        retryMaxDelayMs: positiveInt.default(10_000),
        /** Consumer group session timeout. */
        sessionTimeoutMs: positiveInt.default(30_000),
        /** How long SIGTERM waits for the batches in hand to be written before leaving anyway. */
        shutdownTimeoutMs: positiveInt.default(20_000),
      })
      .strict()
      .default({}),
  })
  .strict();

/** Config-history recorder (recorder/README in the main README, "Config history"). */
export const recorderSchema = z
  .object({
    /** Tenant the recorded history belongs to. */
    tenant: z.string().min(1).default("default"),
    /** Seconds between crawls of each collection... */
    intervalSeconds: positiveInt.default(60),
    /** ...unless set per collection name here. */
    intervals: z.record(z.string(), positiveInt).default({}),
    /** Volatile fields per collection (dotted paths, "*" for any key) left out of versions. */
    ignore: z.record(z.string(), z.array(z.string().min(1))).default({}),
    /** Tag keys left out of every document (churny tags). */
    suppressTags: z.array(z.string()).default([]),
    aws: z
      .object({
        /** Regions crawled; empty = no AWS crawler. */
        regions: z.array(z.string().regex(/^[a-z0-9-]+$/, "must be a region name")).default([]),
        /** Account label stored with every row. */
        account: z.string().min(1).default("default"),
        /** Endpoint override (else the SDK's own AWS_ENDPOINT_URL handling). */
        endpoint: z.string().url().optional(),
        /** SDK attempts per call; throttling and 5xx are retried with backoff. */
        maxAttempts: positiveInt.default(8),
        /** Page size asked of paginated APIs (capped per API). */
        pageSize: positiveInt.default(1000),
      })
      .strict()
      .default({}),
    /** Generic HTTP JSON sources: GET url, items at itemsPath (dotted, "" = the body), id at idPath. */
    http: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "must be a collection name"),
            url: z.string().url(),
            itemsPath: z.string().default(""),
            idPath: z.string().min(1),
            intervalSeconds: positiveInt.optional(),
            headers: z.record(z.string(), z.string()).default({}),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** Service map and RED metrics (README "Service map"). */
export const serviceMapSchema = z
  .object({
    /** Run the edge-pairing job in this process (query role and `skald start`). */
    jobEnabled: z.boolean().default(true),
    /**
     * Arrival window of the pairing job; it wakes up this often. Each window reads back its
     * partners' arrivals (four lateness bounds), so longer windows cost less per span; what is not
     * yet in a finished window is paired live by the queries.
     */
    windowMs: positiveInt.default(30_000),
    /** How much later than its partner a parent or child span may arrive and still be paired. */
    latenessMs: positiveInt.default(300_000),
    /** Time allowed for an insert to become visible after the server stamped its rows. */
    visibilityMarginMs: positiveInt.default(2000),
    /** Windows finished per wake-up at most (catch-up after downtime is spread out). */
    maxWindowsPerRun: positiveInt.default(360),
    /** GROUP BY memory of one slice of a window's pairing before it spills to disk (core/service-map/job.ts); 0 = never. */
    pairingSpillBytes: z.number().int().nonnegative().default(PAIRING_SPILL_BYTES),
    /** Arrivals per slice of one window's pairing, one query per slice (core/service-map/job.ts); 0 = one query per window. */
    pairingSliceSpans: z.number().int().nonnegative().default(PAIRING_SLICE_SPANS),
  })
  .strict();

/** Packet-flow receivers (README "Packet flows"): NetFlow v5/v9, IPFIX over UDP, VPC Flow Logs over HTTP. */
export const flowsSchema = z
  .object({
    /** Run the flow receivers in `start` and `collector`. */
    enabled: z.boolean().default(true),
    host: z.string().default("127.0.0.1"),
    /** UDP port for NetFlow v5/v9 (any version is accepted on either port). */
    netflowPort: port.default(2055),
    /** UDP port for IPFIX. */
    ipfixPort: port.default(4739),
    /** HTTP port for `POST /v1/flows/vpc` (VPC Flow Logs lines); unset = no VPC endpoint. */
    vpcHttpPort: port.optional(),
    /** Default VPC Flow Logs format (field names, space-separated); a request header may override it. */
    vpcFormat: z.string().min(1).optional(),
    /** Tenant of flows arriving over UDP (no headers there). */
    tenant: z.string().min(1).default("default"),
    /** Kernel receive buffer asked for each UDP socket (bursts are absorbed here). */
    recvBufferBytes: positiveInt.default(8 * 1024 * 1024),
    /** Templates not refreshed for this long are forgotten. */
    templateTimeoutSeconds: positiveInt.default(1800),
    /** Data sets held while waiting for their template: bytes at most, and how long. */
    pendingMaxBytes: positiveInt.default(4 * 1024 * 1024),
    pendingTimeoutMs: positiveInt.default(10_000),
    /** (exporter, domain) pairs tracked at most; templates per pair at most. */
    maxDomains: positiveInt.default(4096),
    maxTemplatesPerDomain: positiveInt.default(512),
    /** Flow records one UDP packet may yield (amplification bound). */
    maxRecordsPerPacket: positiveInt.default(4096),
    /** Batching into `flows`: rows per insert, delay, and rows queued before new flows are dropped. */
    batchMaxRows: positiveInt.default(200_000),
    batchMaxDelayMs: positiveInt.default(500),
    queueMaxRows: positiveInt.default(1_000_000),
    /** Batches of flows written to ClickHouse at the same time. */
    insertConcurrency: positiveInt.default(1),
  })
  .strict();

export const ROLES = ["viewer", "security", "deployer", "admin"] as const;
export type Role = (typeof ROLES)[number];

/**
 * A secret given either as itself or as `sha256:<64 hex>` of itself, so configuration files need
 * not hold usable keys.
 */
const secret = z.string().min(16, "must be at least 16 characters (or sha256:<hex> of one)");

/** Who may send and read (README "Authentication and tenants"). */
export const authSchema = z
  .object({
    /**
     * Require credentials on every listener. Off by default for the loopback-only embedded start;
     * a process listening beyond loopback refuses to start without it unless `allowUnauthenticated`.
     */
    enabled: z.boolean().default(false),
    /** Listen beyond loopback without authentication anyway (a trusted network; says so at start). */
    allowUnauthenticated: z.boolean().default(false),
    /** Header carrying a sender's API key besides `Authorization: Bearer` (HTTP header / gRPC metadata). */
    apiKeyHeader: z
      .string()
      .regex(/^[a-z0-9-]+$/i, "must be a header name")
      .default("x-api-key"),
    /** Sender API keys; each fixes the tenant of everything sent with it. */
    apiKeys: z
      .array(z.object({ name: z.string().min(1), key: secret, tenant: tenantName }).strict())
      .default([]),
    /** Reader tokens (static bearer tokens) with their tenant and roles. */
    tokens: z
      .array(
        z
          .object({
            name: z.string().min(1),
            token: secret,
            tenant: tenantName,
            roles: z.array(z.enum(ROLES)).min(1),
          })
          .strict(),
      )
      .default([]),
    /** Reader JWTs from an OpenID Connect issuer, checked against its JWKS. */
    oidc: z
      .object({
        issuer: z.string().min(1),
        /** JWKS URL; default: <issuer>/.well-known/jwks.json. */
        jwksUrl: z.string().url().optional(),
        /** Expected `aud`; unset = not checked. */
        audience: z.string().min(1).optional(),
        /** Claim naming the tenant (a string). */
        tenantClaim: z.string().min(1).default("skald_tenant"),
        /** Claim listing roles (an array of strings, or one space-separated string). */
        rolesClaim: z.string().min(1).default("skald_roles"),
        /** Allowed clock difference when checking exp / nbf. */
        clockToleranceSeconds: z.number().int().min(0).default(30),
        algorithms: z.array(z.string().min(1)).default(["RS256", "ES256", "PS256", "EdDSA"]),
      })
      .strict()
      .optional(),
    /** Flow exporters allowed to send over UDP (NetFlow/IPFIX have no credentials), by source CIDR. */
    flowSources: z.array(z.object({ cidr: z.string().min(3), tenant: tenantName }).strict()).default([]),
    /** Serve /metrics without credentials (a scraper on a private network). */
    publicMetrics: z.boolean().default(false),
  })
  .strict();

/** Limits that keep the service up under abuse (README "Limits"). */
export const limitsSchema = z
  .object({
    /** Requests per second per credential (API key, token, JWT subject) at any edge; 0 = none. */
    requestsPerSecondPerKey: z.number().min(0).default(0),
    /** Burst allowance of the same bucket (requests). */
    requestBurst: positiveInt.default(100),
    /** Spans per second per tenant accepted by collectors; 0 = none. Beyond → 429 / RESOURCE_EXHAUSTED. */
    spansPerSecondPerTenant: z.number().min(0).default(0),
    /** Per-tenant overrides. */
    tenants: z
      .record(
        tenantName,
        z
          .object({
            spansPerSecond: z.number().min(0).optional(),
            requestsPerSecond: z.number().min(0).optional(),
          })
          .strict(),
      )
      .default({}),
    /** Longest a query to ClickHouse may run before it is cancelled. */
    queryTimeoutSeconds: positiveInt.default(30),
    /** Most rows one query to ClickHouse may return. */
    queryMaxResultRows: positiveInt.default(10_000_000),
    /** Only these GraphQL documents (sha256 hex of the query text) run, when the list is not empty. */
    persistedQueries: z.array(z.string().regex(/^[0-9a-f]{64}$/, "must be sha256 hex")).default([]),
  })
  .strict();

/**
 * TLS of every listener (OTLP gRPC and HTTP, the query server, VPC Flow Logs, metrics): off unless
 * certFile and keyFile are set. With caFile, client certificates are verified against it;
 * requireClientCert refuses clients without one (mutual TLS).
 */
export const listenerTlsSchema = z
  .object({
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    caFile: z.string().min(1).optional(),
    requireClientCert: z.boolean().default(false),
  })
  .strict();

export const configSchema = z
  .object({
    tls: listenerTlsSchema.default({}),
    storage: storageSchema.default({}),
    otlp: otlpSchema.default({}),
    pipeline: pipelineSchema.default({}),
    query: querySchema.default({}),
    kafka: kafkaSchema.default({}),
    serviceMap: serviceMapSchema.default({}),
    recorder: recorderSchema.default({}),
    flows: flowsSchema.default({}),
    auth: authSchema.default({}),
    limits: limitsSchema.default({}),
    log: z
      .object({
        level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
      })
      .strict()
      .default({}),
  })
  .strict();

export type SkaldConfig = z.infer<typeof configSchema>;
export type StorageConfig = SkaldConfig["storage"];
export type OtlpConfig = SkaldConfig["otlp"];
export type PipelineConfig = SkaldConfig["pipeline"];
export type QueryConfig = SkaldConfig["query"];
export type KafkaConfig = SkaldConfig["kafka"];
export type RecorderConfig = SkaldConfig["recorder"];
export type ServiceMapConfig = SkaldConfig["serviceMap"];
export type FlowsConfig = SkaldConfig["flows"];
export type ListenerTlsConfig = SkaldConfig["tls"];
export type AuthConfig = SkaldConfig["auth"];
export type LimitsConfig = SkaldConfig["limits"];
