/**
 * ClickHouse error codes that mean "this data cannot be inserted" (parse and conversion errors).
 * Such an insert fails the same way on every retry, so the batch is bisected down to the bad
 * message(s), which go to the dead-letter topic. Every other error (connection refused, timeouts,
 * too many parts, a missing table during a migration) is retried with backoff: dead-lettering on
 * those would throw good data away.
 */
const DATA_ERROR_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  32, // ATTEMPT_TO_READ_AFTER_EOF
  33, // CANNOT_READ_ALL_DATA
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  130, // CANNOT_READ_ARRAY_FROM_TEXT
  131, // TOO_LARGE_STRING_SIZE
  190, // SIZES_OF_ARRAYS_DONT_MATCH
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
]);

/** The ClickHouse error code of an insert failure (HTTP client or chDB), if there is one. */
export function clickHouseCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^\d+$/.test(code)) return Number(code);
  if (typeof code === "number") return code;
  const m = /Code: (\d+)\./.exec(String((err as Error | null)?.message ?? ""));
  return m ? Number(m[1]) : undefined;
}

export function isDataError(err: unknown): boolean {
  const code = clickHouseCode(err);
  return code !== undefined && DATA_ERROR_CODES.has(code);
}
