import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../core/config/load.js";
import { SkaldError } from "../core/errors.js";
import { createLogger } from "../core/log.js";
import { missingNodeFlags } from "../core/node-flags.js";
import { packageRoot } from "../core/paths.js";
import { type Role, runRole } from "./app.js";

const ROLES: Record<string, string> = {
  start: "every role in one process on the embedded store (or the configured ClickHouse)",
  collector: "OTLP receivers → batching pipeline → store, or → Kafka when SKALD_KAFKA_BROKERS is set",
  ingester: "Kafka consumer group → ClickHouse (needs SKALD_KAFKA_BROKERS)",
  query: "GraphQL API, /metrics, /healthz, /readyz",
  recorder: "config-history recorder: AWS (SKALD_RECORDER_AWS_REGIONS) and HTTP sources → ClickHouse",
  migrate: "apply migrations/ to ClickHouse and exit",
};
const NOT_BUILT = new Set<string>();

const HELP = `skald: black-box recorder for a microservice estate

usage: skald <role> [--config FILE]

roles:
${Object.entries(ROLES)
  .map(([r, d]) => `  ${r.padEnd(10)} ${d}`)
  .join("\n")}

options:
  --config FILE   JSON configuration file (also SKALD_CONFIG)
  --help          this text
  --version       print the version

environment (override the file): SKALD_DATA_DIR, SKALD_CLICKHOUSE_URL, SKALD_CLICKHOUSE_USER,
  SKALD_CLICKHOUSE_PASSWORD, SKALD_CLICKHOUSE_DATABASE, SKALD_OTLP_GRPC_PORT, SKALD_OTLP_HTTP_PORT,
  SKALD_HTTP_PORT, SKALD_LISTEN_HOST, SKALD_HTTP_HOST, SKALD_RETENTION_SPANS_DAYS, SKALD_LOG_LEVEL,
  SKALD_KAFKA_BROKERS (puts Kafka between collectors and ingesters; \`start\` then runs both),
  SKALD_RECORDER_AWS_REGIONS (runs the AWS config recorder in \`start\`), SKALD_RECORDER_INTERVAL_SECONDS,
  SKALD_KAFKA_TOPIC, SKALD_KAFKA_PARTITIONS, SKALD_KAFKA_REPLICATION, SKALD_KAFKA_GROUP,
  SKALD_TLS_CERT_FILE + SKALD_TLS_KEY_FILE (TLS on every listener), SKALD_TLS_CA_FILE,
  SKALD_CLICKHOUSE_TLS_CA_FILE, SKALD_KAFKA_SSL_CA_FILE, SKALD_KAFKA_SASL_MECHANISM, …
  (see README.md, "Configuration" and "Running at scale")
`;

export async function main(argv: string[]): Promise<void> {
  // Whoever reads what skald prints may be gone before it ends (`skald start | tee log`, and Ctrl-C
  // stops tee too): a write to the closed pipe then fails with EPIPE. That must not end the process
  // in the middle of a drain, so output errors are dropped; the logs and the data path go on.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
  const args = [...argv];
  if (args.includes("--help") || args.includes("-h") || args.length === 0) {
    process.stdout.write(HELP);
    process.exitCode = args.length === 0 ? 2 : 0;
    return;
  }
  if (args.includes("--version")) {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string };
    process.stdout.write(`skald ${pkg.version}\n`);
    return;
  }
  const role = args.shift() as string;
  if (!(role in ROLES)) {
    process.stderr.write(`skald: unknown role "${role}"; run skald --help\n`);
    process.exitCode = 2;
    return;
  }
  if (NOT_BUILT.has(role)) {
    process.stderr.write(`skald: the ${role} role is not built yet\n`);
    process.exitCode = 2;
    return;
  }
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--config") file = args[++i];
    else {
      process.stderr.write(`skald: unknown option "${args[i]}"; run skald --help\n`);
      process.exitCode = 2;
      return;
    }
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig({ file });
  } catch (err) {
    process.stderr.write(`skald: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const logger = createLogger(config.log.level);
  const missing = missingNodeFlags();
  if (missing.length > 0 && role !== "migrate") {
    logger.warn(
      { missing },
      "node was started without Skald's V8 flags (`skald` and `npm start` pass them; see core/node-flags.ts): ingest may spend much more CPU in garbage collection",
    );
  }
  let app: Awaited<ReturnType<typeof runRole>>;
  try {
    const crash = process.env.SKALD_TEST_CRASH_AFTER_INSERTS;
    app = await runRole(role as Role, config, logger, {
      crashAfterInserts: crash ? Number(crash) : undefined,
    });
  } catch (err) {
    const msg = err instanceof SkaldError ? `${err.code}: ${err.message}` : (err as Error).message;
    process.stderr.write(`skald: ${role} failed to start: ${msg}\n`);
    logger.flush();
    process.exitCode = 1;
    return;
  }
  if (role === "migrate") {
    process.stdout.write("skald: migrations applied\n");
    await app.shutdown();
    return;
  }
  const store = config.storage.url
    ? `ClickHouse ${withoutCredentials(config.storage.url)}`
    : `embedded ClickHouse in ${config.storage.dataDir}`;
  const lines = [
    role === "collector" && app.listeners.kafka
      ? `skald ${role}: producing to Kafka`
      : `skald ${role}: storing into ${store}`,
  ];
  if (app.listeners.kafka) lines.push(`  Kafka      ${app.listeners.kafka}`);
  if (app.listeners.kafkaFlows) lines.push(`  Kafka      ${app.listeners.kafkaFlows}`);
  if (app.listeners.ingester) lines.push(`  ingester   ${app.listeners.ingester}`);
  if (app.listeners.flowIngester) lines.push(`  ingester   ${app.listeners.flowIngester}`);
  if (app.listeners.metrics) lines.push(`  metrics    ${app.listeners.metrics}`);
  if (app.listeners.otlpGrpc) lines.push(`  OTLP gRPC  ${app.listeners.otlpGrpc}`);
  if (app.listeners.otlpHttp) lines.push(`  OTLP HTTP  ${app.listeners.otlpHttp}`);
  if (app.listeners.recorder) lines.push(`  recorder   ${app.listeners.recorder}`);
  if (app.listeners.graphql) lines.push(`  GraphQL    ${app.listeners.graphql} (GraphiQL in a browser)`);
  lines.push("  Ctrl-C drains what was accepted and exits");
  process.stdout.write(`${lines.join("\n")}\n`);

  let signalled = false;
  const stop = (signal: string) => {
    if (signalled) {
      process.stderr.write("skald: second signal, exiting without draining\n");
      process.exit(130);
    }
    signalled = true;
    process.stdout.write(`skald: ${signal} received, draining…\n`);
    app.shutdown().then(
      () => {
        process.stdout.write("skald: stopped cleanly\n");
        logger.flush();
        process.exitCode = 0;
        // Everything is closed; a library handle left open must not keep the process alive.
        setTimeout(() => process.exit(0), 2000).unref();
      },
      (err) => {
        process.stderr.write(`skald: error while stopping: ${(err as Error).message}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

/** A URL as printed for people: user and password (if someone put them in it) left out. */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}
