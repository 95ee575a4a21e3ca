import { invalidInput } from "../core/errors.js";

/**
 * Exact nanosecond time handling for the query edge. Times travel as bigint nanoseconds since the
 * Unix epoch end to end (ClickHouse `toUnixTimestamp64Nano` ↔ RFC 3339 text), never as JS numbers,
 * which lose precision beyond 2^53 ns (about 104 days).
 */

const NS_PER_SECOND = 1_000_000_000n;
const NS_PER_MS = 1_000_000n;

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 timestamp with up to nine fractional digits and a `Z` or `±hh:mm` offset.
 * Throws an invalid_input SkaldError (code BAD_DATETIME) naming the expected form.
 */
export function parseRfc3339Nanos(text: string): bigint {
  const m = RFC3339.exec(text);
  const bad = () =>
    invalidInput(
      "BAD_DATETIME",
      `"${truncate(text)}" is not an RFC 3339 timestamp (expected e.g. "2026-11-28T21:49:53.123456789Z", at most 9 fractional digits)`,
    );
  if (!m) throw bad();
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) throw bad();
  // setUTCFullYear, unlike Date.UTC, does not map years 0..99 to 1900..1999; it rolls
  // 31 February over into March, which the round trip below catches.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (date.getUTCDate() !== day) throw bad();
  const ms = date.getTime();
  const fraction = BigInt((m[7] ?? "").padEnd(9, "0"));
  let offsetMinutes = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) throw bad();
    offsetMinutes = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const epochSeconds = BigInt(ms / 1000 - offsetMinutes * 60);
  return epochSeconds * NS_PER_SECOND + fraction;
}

/** RFC 3339 in UTC with exactly nine fractional digits, e.g. "2026-11-28T21:49:53.123456789Z". */
export function formatRfc3339Nanos(ns: bigint): string {
  let seconds = ns / NS_PER_SECOND;
  let fraction = ns % NS_PER_SECOND;
  if (fraction < 0n) {
    fraction += NS_PER_SECOND;
    seconds -= 1n;
  }
  const iso = new Date(Number(seconds) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 19)}.${fraction.toString().padStart(9, "0")}Z`;
}

const DURATION = /^(\d+)(?:\.(\d+))?(ns|us|µs|ms|s|m|h)$/;
const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: NS_PER_MS,
  s: NS_PER_SECOND,
  m: 60n * NS_PER_SECOND,
  h: 3600n * NS_PER_SECOND,
};
/** Durations are stored as UInt64 but compared with Int64 arithmetic elsewhere; keep them in range. */
const MAX_DURATION_NS = 2n ** 63n - 1n;

/**
 * Parses "1500ms", "2s", "1.5s", "250us", "10ns", "1m", "1h" or a plain integer of nanoseconds
 * into nanoseconds. A fraction must resolve to whole nanoseconds. Throws BAD_DURATION.
 */
export function parseDurationNanos(input: string | number | bigint): bigint {
  const bad = (why = "") =>
    invalidInput(
      "BAD_DURATION",
      `"${truncate(String(input))}" is not a duration${why} (expected e.g. "1500ms", "2s", "250us", "10ns", "1m", "1h" or an integer of nanoseconds)`,
    );
  let ns: bigint;
  if (typeof input === "bigint") ns = input;
  else if (typeof input === "number") {
    if (!Number.isSafeInteger(input)) throw bad();
    ns = BigInt(input);
  } else {
    const text = input.trim();
    if (/^\d+$/.test(text)) ns = BigInt(text);
    else {
      const m = DURATION.exec(text);
      if (!m) throw bad();
      const unit = UNIT_NS[m[3]];
      const fractionDigits = m[2] ?? "";
      const scale = 10n ** BigInt(fractionDigits.length);
      const scaled = (BigInt(m[1]) * scale + BigInt(fractionDigits || "0")) * unit;
      if (scaled % scale !== 0n) throw bad(": finer than a nanosecond");
      ns = scaled / scale;
    }
  }
  if (ns < 0n) throw bad(": negative");
  if (ns > MAX_DURATION_NS) throw bad(": too large");
  return ns;
}

/** Current time in nanoseconds (millisecond resolution, which is what the clock offers). */
export function nowNanos(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

export const HOUR_NS = 3600n * NS_PER_SECOND;

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
