import type { ConnectionOptions } from "node:tls";
import { promisify } from "node:util";
import { gzip, unzip } from "node:zlib";
import kafkajs, { CompressionTypes, Kafka, type logCreator, logLevel, type SASLOptions } from "kafkajs";
import type { KafkaConfig } from "../config/schema.js";
import { configError } from "../errors.js";
import type { Logger } from "../log.js";
import { readCertificateFile, readKeyPair } from "../tls.js";

// kafkajs logs every error response at ERROR, also the retriable ones it recovers from by itself
// (a broker restarting, a coordinator loading, a rebalance). Those go to debug; the error that
// reaches Skald's code is handled (and logged once) there.
const RETRIABLE =
  /coordinator is (loading|not available)|not the correct coordinator|rebalanc|Connection error|ECONNREFUSED|ECONNRESET|Closed connection|Request .* timed out|leader is not available|not leader|Failed to connect|broker.*(not|un)available|There is no leader|Crash: KafkaJSNumberOfRetriesExceeded|The group is rebalancing/i;

// Known, handled: Skald limits the idempotent producer's retries on purpose (a send must fail
// before the OTLP timeout) and replaces the producer after a failed send, which restarts its
// sequence numbers; the partitioner notice is about kafkajs 1.x compatibility.
const HANDLED = /Limiting retries for the idempotent producer|switched default partitioner/;

function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _t, logger: _l, ...rest } = log;
      const text = `${message} ${String(rest.error ?? "")}`;
      const fields = { kafka: namespace, ...rest };
      if (HANDLED.test(text)) logger.debug(fields, `kafkajs: ${message}`);
      else if (level === logLevel.ERROR && !RETRIABLE.test(text)) logger.error(fields, `kafkajs: ${message}`);
      else if (level <= logLevel.WARN && !RETRIABLE.test(text)) logger.warn(fields, `kafkajs: ${message}`);
      else logger.debug(fields, `kafkajs: ${message}`);
    };
}

const gzipAsync = promisify(gzip);
const unzipAsync = promisify(unzip);

// kafkajs's built-in gzip uses zlib's default level 6. Span rows are repetitive text: level 1
// still shrinks them to ~9% (level 6: ~6%; the ingest benchmark's rows) at ~2.5x the speed, which
// on a 2-core machine shared with the broker and ClickHouse is the better trade. Decompression
// reads any level. Registered once per process.
// (CompressionCodecs is not a named export Node's ESM loader can see in kafkajs's CommonJS.)
kafkajs.CompressionCodecs[CompressionTypes.GZIP] = () => ({
  compress: (encoder: { buffer: Buffer }) => gzipAsync(encoder.buffer, { level: 1 }),
  decompress: (buffer: Buffer) => unzipAsync(buffer),
});

/**
 * One kafkajs client per role. Timeouts are short so that a dead broker is noticed well within the
 * OTLP export timeout (10 s in the OpenTelemetry SDKs); kafkajs reconnects by itself afterwards.
 * `failFastMs` (the collector's sink): kafkajs's connection and request retries together end
 * within about that long, so a send to a dead broker fails before the sink answers the sender,
 * instead of landing later after the sender was told to retry.
 */
export function createKafkaClient(
  config: KafkaConfig,
  logger: Logger,
  role: string,
  failFastMs?: number,
): Kafka {
  return new Kafka({
    clientId: `${config.clientId}-${role}`,
    brokers: [...config.brokers],
    ...kafkaSecurityOf(config),
    connectionTimeout: failFastMs ? Math.min(1_000, failFastMs / 4) : 3_000,
    requestTimeout: failFastMs ? Math.max(500, failFastMs / 2) : 10_000,
    retry: failFastMs
      ? { initialRetryTime: 100, maxRetryTime: 500, retries: 2 }
      : { initialRetryTime: 200, maxRetryTime: 2_000, retries: 8 },
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(logger),
  });
}

/**
 * kafkajs `ssl` and `sasl` from `kafka.ssl` / `kafka.sasl`. Files are read here (at start-up);
 * a missing or mismatched one is a config error naming the key. The password goes to kafkajs only.
 */
export function kafkaSecurityOf(config: KafkaConfig): { ssl?: ConnectionOptions; sasl?: SASLOptions } {
  const { ssl, sasl } = config;
  const out: { ssl?: ConnectionOptions; sasl?: SASLOptions } = {};
  const sslOn = ssl.enabled ?? (ssl.caFile ?? ssl.certFile ?? ssl.keyFile) !== undefined;
  if (ssl.enabled === false && (ssl.caFile ?? ssl.certFile ?? ssl.keyFile) !== undefined) {
    // files with TLS explicitly off would silently be ignored
    throw configError("kafka.ssl.enabled: false, but kafka.ssl names certificate files");
  }
  if (sslOn) {
    const pair = readKeyPair("kafka.ssl", ssl.certFile, ssl.keyFile);
    out.ssl = {
      rejectUnauthorized: ssl.rejectUnauthorized,
      ...(ssl.caFile === undefined ? {} : { ca: [readCertificateFile("kafka.ssl.caFile", ssl.caFile).pem] }),
      ...(pair ?? {}),
    };
  }
  if (sasl) out.sasl = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
  return out;
}
