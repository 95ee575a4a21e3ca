/**
 * Query parameters written into the SQL text, for the embedded store. chDB binds parameters
 * session-wide, so its client runs every query that has any through one global queue: a slow
 * parameterised read held up every other one (the trace lookup behind a service-map query, say).
 * Inlined, queries run side by side on chDB's threads like the parameterless ones already do.
 *
 * Only types whose literals are unambiguous are inlined (String, the integer and float types,
 * arrays of those), each as CAST(literal AS Type), the same typed constant ClickHouse substitutes
 * for `{name:Type}`. Strings escape every backslash, quote and control byte, so no value can end
 * its literal or form an escape sequence. Anything else, or SQL that would grow past
 * MAX_INLINED_BYTES (ClickHouse parses at most max_query_size bytes of text, bound parameters do
 * not count), is left to the bound path. One pass over the original text: a value that looks like
 * a placeholder is never substituted again.
 */

/** Leaves room under ClickHouse's default max_query_size (256 KiB) for the SQL itself. */
export const MAX_INLINED_BYTES = 64 * 1024;

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
const NUMERIC_TYPE = /^(U?Int(8|16|32|64|128|256)|Float(32|64))$/;
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}/g;

/** A ClickHouse string literal for `s`: quote, backslash and control characters escaped. */
export function stringLiteral(s: string): string {
  let out = "'";
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === "'" || ch === "\\") out += `\\${ch}`;
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}'`;
}

/** The literal for `value` of ClickHouse type `type`, or undefined when it is not inlined. */
function literal(type: string, value: unknown): string | undefined {
  const array = /^Array\((.+)\)$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return undefined;
    const items: string[] = [];
    for (const v of value) {
      const item = literal(array[1], v);
      if (item === undefined) return undefined;
      items.push(item);
    }
    return `[${items.join(", ")}]`;
  }
  if (type === "String") return typeof value === "string" ? stringLiteral(value) : undefined;
  if (NUMERIC_TYPE.test(type)) {
    const text = typeof value === "number" || typeof value === "bigint" ? String(value) : value;
    return typeof text === "string" && NUMBER.test(text) ? text : undefined;
  }
  return undefined;
}

/**
 * `sql` with every `{name:Type}` of `params` replaced by its typed literal, or null when a value
 * cannot be inlined (the caller then binds as before).
 */
export function inlineParams(sql: string, params: Record<string, unknown>): string | null {
  let failed = false;
  let added = 0;
  const out = sql.replace(PLACEHOLDER, (whole, name: string, rawType: string) => {
    if (!Object.hasOwn(params, name)) return whole;
    const type = rawType.trim();
    const lit = literal(type, params[name]);
    if (lit === undefined) {
      failed = true;
      return whole;
    }
    const text = `CAST(${lit} AS ${type})`;
    added += text.length;
    return text;
  });
  return failed || added > MAX_INLINED_BYTES ? null : out;
}
