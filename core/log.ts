import { destination, type Logger as PinoLogger, pino } from "pino";

export type Logger = PinoLogger;

/** JSON logs on stderr, so stdout stays for what the CLI prints for people. */
export function createLogger(level: string, name = "skald"): Logger {
  return pino({ name, level, base: { pid: process.pid } }, destination({ fd: 2, sync: false }));
}
