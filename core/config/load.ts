import { readFileSync } from "node:fs";
import { configError } from "../errors.js";
import { configSchema, type SkaldConfig } from "./schema.js";

type Json = Record<string, unknown>;

/** Environment variables → config paths. Values are parsed as the schema's type. */
type EnvType = "string" | "int" | "bool" | "list" | "json" | "number";

export const ENV_KEYS: Record<string, { path: string; type: EnvType }> = {
  SKALD_DATA_DIR: { path: "storage.dataDir", type: "string" },
  SKALD_CLICKHOUSE_URL: { path: "storage.url", type: "string" },
  SKALD_CLICKHOUSE_USER: { path: "storage.username", type: "string" },
  SKALD_CLICKHOUSE_PASSWORD: { path: "storage.password", type: "string" },
  SKALD_CLICKHOUSE_DATABASE: { path: "storage.database", type: "string" },
  SKALD_CLICKHOUSE_CLUSTER: { path: "storage.cluster", type: "string" },
  SKALD_RETENTION_SPANS_DAYS: { path: "storage.retention.spansDays", type: "int" },
  SKALD_RETENTION_FLOWS_DAYS: { path: "storage.retention.flowsDays", type: "int" },
  SKALD_RETENTION_FLOW_ROLLUPS_DAYS: { path: "storage.retention.flowRollupsDays", type: "int" },
  SKALD_FSYNC_INSERTS: { path: "storage.fsyncInserts", type: "bool" },
  SKALD_CLICKHOUSE_TLS_CA_FILE: { path: "storage.tls.caFile", type: "string" },
  SKALD_CLICKHOUSE_TLS_CERT_FILE: { path: "storage.tls.certFile", type: "string" },
  SKALD_CLICKHOUSE_TLS_KEY_FILE: { path: "storage.tls.keyFile", type: "string" },
  SKALD_TLS_CERT_FILE: { path: "tls.certFile", type: "string" },
  SKALD_TLS_KEY_FILE: { path: "tls.keyFile", type: "string" },
  SKALD_TLS_CA_FILE: { path: "tls.caFile", type: "string" },
  SKALD_TLS_REQUIRE_CLIENT_CERT: { path: "tls.requireClientCert", type: "bool" },
  SKALD_NETFLOW_PORT: { path: "flows.netflowPort", type: "int" },
  SKALD_IPFIX_PORT: { path: "flows.ipfixPort", type: "int" },
  SKALD_VPC_FLOW_HTTP_PORT: { path: "flows.vpcHttpPort", type: "int" },
  SKALD_FLOWS_ENABLED: { path: "flows.enabled", type: "bool" },
  SKALD_FLOWS_HOST: { path: "flows.host", type: "string" },
  SKALD_LISTEN_HOST: { path: "otlp.host", type: "string" },
  SKALD_OTLP_GRPC_PORT: { path: "otlp.grpcPort", type: "int" },
  SKALD_OTLP_HTTP_PORT: { path: "otlp.httpPort", type: "int" },
  SKALD_TENANT_HEADER: { path: "otlp.tenantHeader", type: "string" },
  SKALD_HTTP_PORT: { path: "query.port", type: "int" },
  SKALD_HTTP_HOST: { path: "query.host", type: "string" },
  SKALD_BATCH_MAX_ROWS: { path: "pipeline.batchMaxRows", type: "int" },
  SKALD_BATCH_MAX_DELAY_MS: { path: "pipeline.batchMaxDelayMs", type: "int" },
  SKALD_QUEUE_MAX_ROWS: { path: "pipeline.queueMaxRows", type: "int" },
  SKALD_INSERT_CONCURRENCY: { path: "pipeline.insertConcurrency", type: "int" },
  SKALD_LOG_LEVEL: { path: "log.level", type: "string" },
  SKALD_JAEGER_PREFIX: { path: "query.jaegerPrefix", type: "string" },
  SKALD_SERVICE_MAP_JOB: { path: "serviceMap.jobEnabled", type: "bool" },
  SKALD_SERVICE_MAP_WINDOW_MS: { path: "serviceMap.windowMs", type: "int" },
  SKALD_SERVICE_MAP_LATENESS_MS: { path: "serviceMap.latenessMs", type: "int" },
  SKALD_SERVICE_MAP_SPILL_BYTES: { path: "serviceMap.pairingSpillBytes", type: "int" },
  SKALD_SERVICE_MAP_SLICE_SPANS: { path: "serviceMap.pairingSliceSpans", type: "int" },
  SKALD_RECORDER_AWS_REGIONS: { path: "recorder.aws.regions", type: "list" },
  SKALD_RECORDER_INTERVAL_SECONDS: { path: "recorder.intervalSeconds", type: "int" },
  SKALD_RECORDER_AWS_ACCOUNT: { path: "recorder.aws.account", type: "string" },
  SKALD_KAFKA_BROKERS: { path: "kafka.brokers", type: "list" },
  SKALD_KAFKA_CLIENT_ID: { path: "kafka.clientId", type: "string" },
  SKALD_KAFKA_TOPIC: { path: "kafka.topic", type: "string" },
  SKALD_KAFKA_DLQ_TOPIC: { path: "kafka.deadLetterTopic", type: "string" },
  SKALD_KAFKA_PARTITIONS: { path: "kafka.partitions", type: "int" },
  SKALD_KAFKA_REPLICATION: { path: "kafka.replication", type: "int" },
  SKALD_KAFKA_CREATE_TOPICS: { path: "kafka.createTopics", type: "bool" },
  SKALD_KAFKA_GROUP: { path: "kafka.group", type: "string" },
  SKALD_KAFKA_FLOWS_TOPIC: { path: "kafka.flows.topic", type: "string" },
  SKALD_KAFKA_FLOWS_DLQ_TOPIC: { path: "kafka.flows.deadLetterTopic", type: "string" },
  SKALD_KAFKA_FLOWS_GROUP: { path: "kafka.flows.group", type: "string" },
  SKALD_KAFKA_COMPRESSION: { path: "kafka.compression", type: "string" },
  SKALD_KAFKA_SSL: { path: "kafka.ssl.enabled", type: "bool" },
  SKALD_KAFKA_SSL_CA_FILE: { path: "kafka.ssl.caFile", type: "string" },
  SKALD_KAFKA_SSL_CERT_FILE: { path: "kafka.ssl.certFile", type: "string" },
  SKALD_KAFKA_SSL_KEY_FILE: { path: "kafka.ssl.keyFile", type: "string" },
  SKALD_KAFKA_SASL_MECHANISM: { path: "kafka.sasl.mechanism", type: "string" },
  SKALD_KAFKA_SASL_USERNAME: { path: "kafka.sasl.username", type: "string" },
  SKALD_KAFKA_SASL_PASSWORD: { path: "kafka.sasl.password", type: "string" },
  SKALD_METRICS_PORT: { path: "kafka.metricsPort", type: "int" },
  SKALD_KAFKA_MAX_IN_FLIGHT_BYTES: { path: "kafka.producer.maxInFlightBytes", type: "int" },
  SKALD_KAFKA_SEND_TIMEOUT_MS: { path: "kafka.producer.sendTimeoutMs", type: "int" },
  SKALD_INGEST_BATCH_MAX_ROWS: { path: "kafka.ingester.batchMaxRows", type: "int" },
  SKALD_INGEST_BATCH_MAX_BYTES: { path: "kafka.ingester.batchMaxBytes", type: "int" },
  SKALD_INGEST_BATCH_MAX_DELAY_MS: { path: "kafka.ingester.batchMaxDelayMs", type: "int" },
  SKALD_INGEST_PARTITION_MAX_BYTES: { path: "kafka.ingester.partitionMaxBytes", type: "int" },
  SKALD_INGEST_RETRY_MAX_DELAY_MS: { path: "kafka.ingester.retryMaxDelayMs", type: "int" },
  SKALD_INGEST_SESSION_TIMEOUT_MS: { path: "kafka.ingester.sessionTimeoutMs", type: "int" },
  SKALD_AUTH_ENABLED: { path: "auth.enabled", type: "bool" },
  SKALD_AUTH_ALLOW_UNAUTHENTICATED: { path: "auth.allowUnauthenticated", type: "bool" },
  SKALD_AUTH_API_KEY_HEADER: { path: "auth.apiKeyHeader", type: "string" },
  /** JSON: [{"name":"checkout","key":"…","tenant":"acme"}] */
  SKALD_AUTH_API_KEYS: { path: "auth.apiKeys", type: "json" },
  /** JSON: [{"name":"alice","token":"…","tenant":"acme","roles":["viewer"]}] */
  SKALD_AUTH_TOKENS: { path: "auth.tokens", type: "json" },
  SKALD_OIDC_ISSUER: { path: "auth.oidc.issuer", type: "string" },
  SKALD_OIDC_JWKS_URL: { path: "auth.oidc.jwksUrl", type: "string" },
  SKALD_OIDC_AUDIENCE: { path: "auth.oidc.audience", type: "string" },
  SKALD_AUTH_PUBLIC_METRICS: { path: "auth.publicMetrics", type: "bool" },
  SKALD_RATE_LIMIT_PER_KEY: { path: "limits.requestsPerSecondPerKey", type: "number" },
  SKALD_TENANT_SPANS_PER_SECOND: { path: "limits.spansPerSecondPerTenant", type: "number" },
  SKALD_QUERY_TIMEOUT_SECONDS: { path: "limits.queryTimeoutSeconds", type: "int" },
};

function setPath(target: Json, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Json;
  }
  node[keys[keys.length - 1]] = value;
}

function parseEnvValue(name: string, raw: string, type: EnvType): unknown {
  if (type === "string") return raw;
  if (type === "list") {
    return raw
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");
  }
  if (type === "json") {
    try {
      return JSON.parse(raw) as unknown;
    } catch (err) {
      // The value may hold secrets: name the variable and the parse problem, never the text.
      throw configError(`${name}: not valid JSON (${(err as Error).message.replace(/".*"/, "…")})`);
    }
  }
  if (type === "number") {
    if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw configError(`${name}: expected a number, got "${raw}"`);
    return Number(raw);
  }
  if (type === "int") {
    if (!/^-?\d+$/.test(raw.trim())) throw configError(`${name}: expected an integer, got "${raw}"`);
    return Number(raw);
  }
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw configError(`${name}: expected true or false, got "${raw}"`);
}

/**
 * Builds the configuration: defaults, then the JSON file (if any), then environment variables.
 * Unknown keys and bad values fail with the key's path. The result is frozen.
 */
export function loadConfig(
  opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Json } = {},
): SkaldConfig {
  const env = opts.env ?? process.env;
  let raw: Json = {};
  const file = opts.file ?? env.SKALD_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw configError(`config file ${file}: ${(err as Error).message}`);
    }
    try {
      raw = JSON.parse(text) as Json;
    } catch (err) {
      throw configError(`config file ${file}: not valid JSON: ${(err as Error).message}`);
    }
  }
  for (const [name, { path, type }] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== "") setPath(raw, path, parseEnvValue(name, value, type));
  }
  for (const [path, value] of Object.entries(opts.overrides ?? {})) setPath(raw, path, value);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const keys = issue.code === "unrecognized_keys" ? ` (unknown key: ${issue.keys.join(", ")})` : "";
      return `${issue.path.join(".") || "(root)"}: ${issue.message}${keys}`;
    });
    throw configError(`invalid configuration: ${problems.join("; ")}`);
  }
  return deepFreeze(parsed.data);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
