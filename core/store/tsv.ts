/**
 * TabSeparated text encoding helpers. Top-level strings escape backslash, tab, newline, carriage
 * return and NUL; strings inside a Map or Array are single-quoted and escape the quote as well.
 */

const NEEDS_ESCAPE = /[\\\t\n\r\0']/;

function escapeChars(s: string, quote: boolean): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c === 92) rep = "\\\\";
    else if (c === 9) rep = "\\t";
    else if (c === 10) rep = "\\n";
    else if (c === 13) rep = "\\r";
    else if (c === 0) rep = "\\0";
    else if (c === 39 && quote) rep = "\\'";
    if (rep !== undefined) {
      out += s.slice(from, i) + rep;
      from = i + 1;
    }
  }
  return out + s.slice(from);
}

/** A top-level TabSeparated string field. */
export function tsvString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? escapeChars(s, false) : s;
}

/** A single-quoted string inside a Map or Array field. */
export function tsvQuoted(s: string): string {
  return NEEDS_ESCAPE.test(s) ? `'${escapeChars(s, true)}'` : `'${s}'`;
}

const MAX_NANOS = 9_223_372_036_854_775_807n; // DateTime64(9) ends at 2262-04-11

/**
 * A DateTime64(9) field from nanoseconds since the epoch, as seconds.nanoseconds. Seconds are
 * padded to 10 digits (ClickHouse reads a shorter number as a date) and out-of-range times are
 * clamped, so a hostile timestamp can never make a whole batch unparseable.
 */
export function tsvNanos(ns: bigint): string {
  const v = ns <= 0n ? 0n : ns > MAX_NANOS ? MAX_NANOS : ns;
  const s = v.toString().padStart(19, "0");
  return `${s.slice(0, -9)}.${s.slice(-9)}`;
}

/** An Array(String) field from already-quoted items. */
export function tsvArray(quotedItems: string[]): string {
  return `[${quotedItems.join(",")}]`;
}
