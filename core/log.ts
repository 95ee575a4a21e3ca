import { type DestinationStream, destination, type Logger as PinoLogger, pino } from "pino";

export type Logger = PinoLogger;

/**
 * Fields that may hold secrets, censored wherever they appear in a log line (one level of
 * nesting under any key, plus request headers): credentials never reach the logs even when an
 * object holding them is logged whole.
 */
export const REDACTED_PATHS = [
  "authorization",
  "password",
  "token",
  "apiKey",
  "key",
  "*.authorization",
  "*.password",
  "*.token",
  "*.apiKey",
  "*.apiKeys",
  "*.tokens",
  "*.key",
  "*.privateKey",
  "*.sasl",
  "*.headers.authorization",
  "*.headers['x-api-key']",
  "*.*.authorization",
  "*.*.password",
];

/** JSON logs on stderr, so stdout stays for what the CLI prints for people. */
export function createLogger(level: string, name = "skald", dest?: DestinationStream): Logger {
  return pino(
    { name, level, base: { pid: process.pid }, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } },
    dest ?? destination({ fd: 2, sync: false }),
  );
}
