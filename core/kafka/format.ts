/**
 * The span message format on Kafka, shared by the collector's Kafka sink (writer) and the ingester
 * (reader). core/kafka/README.md is the user-facing description; this file is the contract.
 *
 * A message holds spans of ONE tenant from one export request, of traces that all belong to ONE
 * partition: the one Kafka's default (murmur2) partitioner picks for each of their trace ids. Its key
 * is the trace id of its first span (32 lowercase hex characters), so it lands on that partition
 * whoever partitions it, and a trace stays in one partition. (Earlier collectors wrote one trace
 * per message. No reader relied on that, so the format's version did not change.) Headers:
 *
 *   skald-format  "spans-rowbinary/2" (what Skald's collectors write): the value is RowBinary rows in
 *                 SPAN_COLUMNS_ROWBINARY_V2 order (core/store/span-row-binary.ts; the exact bytes
 *                 Skald inserts into ClickHouse `spans`), every row of the header's tenant.
 *                 "spans-rowbinary/1" (collectors before migrations/0018, still read): the same
 *                 without the last column, local_parent.
 *                 "spans-tsv/1" (what collectors before it wrote, still read): TabSeparated rows in
 *                 SPAN_COLUMNS_V1 order, each line ending in "\n".
 *                 "otlp-proto/1", or no header at all: the value is an OTLP ExportTraceServiceRequest
 *                 in protobuf (what the OpenTelemetry Collector's Kafka exporter writes), decoded
 *                 by the ingester.
 *   skald-tenant  the tenant (default tenant when absent, for messages from OTel Collectors).
 *   skald-rows    the number of rows (spans-* only): lets the ingester batch by rows unparsed.
 *
 * Why rows and not OTLP from Skald's collectors: the collector already decoded the request and the
 * row encoding is the work it would do anyway on the direct path; the ingester then only
 * concatenates bytes, which on a 2-core machine is the difference between one decode per span and
 * two (decode + re-encode). Measured in bench/kafka.ts. OTLP stays readable for interop.
 * RowBinary rather than TabSeparated since spans-rowbinary/1: about 8x cheaper to encode and half
 * the parsing in ClickHouse (bench/insert-profile.ts). Binary rows carry no delimiter, so the
 * ingester walks each value (core/kafka/span-rows-check.ts) before it joins a batch.
 *
 * Versioning: the number after "/" changes when the value's meaning changes (a column added to
 * `spans` is a new version with its own column list). Readers keep every older version they ever
 * wrote; a format or version they do not know is dead-lettered with the reason, never guessed at.
 * Rolling upgrades therefore go ingesters first, then collectors.
 */

import { isUtf8 } from "node:buffer";
import type { Span, SpanRows } from "../model/span.js";
import { decodeTracesProto, OtlpDecodeError } from "../otlp/index.js";
import { SPAN_COLUMNS } from "../store/span-encoder.js";
import { encodeSpanRows, encodeSpansRowBinary } from "../store/span-row-binary.js";
import { TENANT_RE } from "../tenant.js";
import { kafkaPartitionOfBytes } from "./partition.js";
import { checkSpanRows } from "./span-rows-check.js";

export const HEADER_FORMAT = "skald-format";
export const HEADER_TENANT = "skald-tenant";
export const HEADER_ROWS = "skald-rows";

export const FORMAT_SPANS_TSV_V1 = "spans-tsv/1";
export const FORMAT_SPANS_ROWBINARY_V1 = "spans-rowbinary/1";
export const FORMAT_SPANS_ROWBINARY_V2 = "spans-rowbinary/2";
export const FORMAT_OTLP_PROTO_V1 = "otlp-proto/1";

/**
 * The columns of "spans-tsv/1", frozen here on purpose: when SPAN_COLUMNS changes, this list stays
 * (old messages keep their meaning) and the writer must move to "spans-tsv/2" (a unit test checks
 * that the two agree, so the change cannot slip through).
 */
export const SPAN_COLUMNS_V1: readonly string[] = Object.freeze([
  "tenant",
  "trace_id",
  "span_id",
  "parent_span_id",
  "trace_state",
  "flags",
  "name",
  "kind",
  "service_name",
  "start_time",
  "duration_ns",
  "status_code",
  "status_message",
  "attributes",
  "attribute_types",
  "dropped_attributes_count",
  "resource_attributes",
  "resource_attribute_types",
  "resource_dropped_attributes_count",
  "scope_name",
  "scope_version",
  "events.time",
  "events.name",
  "events.attributes",
  "events.dropped_attributes_count",
  "dropped_events_count",
  "links.trace_id",
  "links.span_id",
  "links.trace_state",
  "links.attributes",
  "links.dropped_attributes_count",
  "links.flags",
  "dropped_links_count",
]);

/** The columns of "spans-rowbinary/1", frozen like SPAN_COLUMNS_V1. */
export const SPAN_COLUMNS_ROWBINARY_V1: readonly string[] = Object.freeze([...SPAN_COLUMNS_V1]);

/**
 * The columns of "spans-rowbinary/2" (what collectors write now), frozen like SPAN_COLUMNS_V1: v1's
 * and `local_parent` (migrations/0018), the row's last byte. A v1 message's rows take 0 there.
 */
export const SPAN_COLUMNS_ROWBINARY_V2: readonly string[] = Object.freeze([
  ...SPAN_COLUMNS_V1,
  "local_parent",
]);

/** The spans-rowbinary versions the ingester reads: their columns, and how checkSpanRows walks them. */
const ROWBINARY_VERSIONS: Readonly<Record<string, { columns: readonly string[]; version: 1 | 2 }>> = {
  [FORMAT_SPANS_ROWBINARY_V1]: { columns: SPAN_COLUMNS_ROWBINARY_V1, version: 1 },
  [FORMAT_SPANS_ROWBINARY_V2]: { columns: SPAN_COLUMNS_ROWBINARY_V2, version: 2 },
};

/** What the ingester reads; listed in dead-letter reasons. */
export const READABLE_FORMATS = [
  FORMAT_SPANS_ROWBINARY_V2,
  FORMAT_SPANS_ROWBINARY_V1,
  FORMAT_SPANS_TSV_V1,
  FORMAT_OTLP_PROTO_V1,
] as const;

/** One message as the Kafka sink produces it. */
export interface SpanMessage {
  key: string;
  /** The partition of every trace in the message (and of `key`). */
  partition: number;
  value: Buffer;
  headers: Record<string, string>;
  rows: number;
}

/**
 * Splits spans of one tenant into one message per partition of `partitions` (several when a
 * partition's rows exceed `maxMessageBytes`); each span goes to its trace's partition
 * (core/kafka/partition.ts). Spans keep their request order within a message. The spans are
 * encoded as rows first, then cut exactly as the transcoder's rows are (encodeRowMessages).
 *
 * Why not one message per trace (what collectors did before): a 512-span request of 8-span traces
 * was 64 messages, and kafkajs's per-record work (encoding, the key's murmur2, Buffer churn) was a
 * quarter of the collector's CPU in bench:kafka; one per partition is 4.
 */
export function encodeSpanMessages(
  tenant: string,
  spans: readonly Span[],
  maxMessageBytes: number,
  partitions: number,
): SpanMessage[] {
  return encodeRowMessages(tenant, encodeSpanRows(tenant, spans), maxMessageBytes, partitions);
}

/**
 * Messages of rows already encoded (the transcoder's, core/otlp/transcode-traces-proto.ts, or
 * encodeSpanRows): each row goes to its trace's partition; a partition's rows are copied into its messages in
 * request order, several messages when they exceed `maxMessageBytes` (a larger row alone). The
 * messages never share memory with `rows.body` (the transcoder reuses it).
 */
export function encodeRowMessages(
  tenant: string,
  rows: SpanRows,
  maxMessageBytes: number,
  partitions: number,
): SpanMessage[] {
  const { body, count, rowStarts, traceAt } = rows;
  const partitionOf = new Uint32Array(count);
  const bytes = new Float64Array(partitions);
  for (let i = 0; i < count; i++) {
    const at = traceAt[i];
    const p =
      i > 0 && body.compare(body, traceAt[i - 1], traceAt[i - 1] + 32, at, at + 32) === 0
        ? partitionOf[i - 1]
        : kafkaPartitionOfBytes(body, at, at + 32, partitions);
    partitionOf[i] = p;
    bytes[p] += rowStarts[i + 1] - rowStarts[i];
  }
  const out: SpanMessage[] = [];
  for (let p = 0; p < partitions; p++) {
    if (bytes[p] === 0) continue;
    // this partition's rows, cut into messages of at most maxMessageBytes
    let first = -1;
    let size = 0;
    const flush = (next: number) => {
      const value = Buffer.allocUnsafe(size);
      let n = 0;
      let at = 0;
      for (let i = first; i < next; i++) {
        if (partitionOf[i] !== p) continue;
        const len = rowStarts[i + 1] - rowStarts[i];
        body.copy(value, at, rowStarts[i], rowStarts[i + 1]);
        at += len;
        n++;
      }
      out.push(message(body.toString("latin1", traceAt[first], traceAt[first] + 32), p, tenant, value, n));
      first = -1;
      size = 0;
    };
    for (let i = 0; i < count; i++) {
      if (partitionOf[i] !== p) continue;
      const len = rowStarts[i + 1] - rowStarts[i];
      if (first >= 0 && size + len > maxMessageBytes) flush(i);
      if (first < 0) first = i;
      size += len;
    }
    if (first >= 0) flush(count);
  }
  return out;
}

function message(
  traceId: string,
  partition: number,
  tenant: string,
  value: Buffer,
  rows: number,
): SpanMessage {
  return {
    key: traceId,
    partition,
    value,
    headers: {
      [HEADER_FORMAT]: FORMAT_SPANS_ROWBINARY_V2,
      [HEADER_TENANT]: tenant,
      [HEADER_ROWS]: String(rows),
    },
    rows,
  };
}

/** A message as read from Kafka (kafkajs's shape, reduced to what is needed). */
export interface RawMessage {
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

/** How a decoded body is inserted. */
export type RowFormat = "TabSeparated" | "RowBinary";

export type DecodedMessage =
  | { ok: true; format: RowFormat; columns: readonly string[]; body: Buffer; rows: number; rejected: number }
  | { ok: false; reason: string };

/** The last value of a header, as text. */
export function header(msg: RawMessage, name: string): string | undefined {
  const raw = msg.headers?.[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.toString("utf8");
}

/**
 * A RowBinary message of `format` (`spans-rowbinary/1`, `flows-rowbinary/1`): its rows header must
 * match the rows `check` walks in the value, each row of tenant `tenant`; then the value is the
 * insert body, unchanged.
 */
export function rowBinaryMessage(
  msg: RawMessage,
  format: string,
  tenant: string,
  value: Buffer,
  columns: readonly string[],
  check: (value: Buffer, tenant: string) => { rows: number } | { error: string },
): DecodedMessage {
  const rowsText = header(msg, HEADER_ROWS);
  const rows = Number(rowsText);
  if (rowsText === undefined || !Number.isSafeInteger(rows) || rows <= 0) {
    return { ok: false, reason: `${format}: ${HEADER_ROWS} header missing or not a positive integer` };
  }
  const checked = check(value, tenant);
  if ("error" in checked) return { ok: false, reason: `${format}: ${checked.error}` };
  if (checked.rows !== rows) {
    return { ok: false, reason: `${format}: ${HEADER_ROWS} says ${rows} rows, value has ${checked.rows}` };
  }
  return { ok: true, format: "RowBinary", columns, body: value, rows, rejected: 0 };
}

/**
 * Turns one message into rows to insert, or says why it cannot (the ingester dead-letters it).
 * spans-tsv/1 is checked cheaply (rows header = number of lines, UTF-8, the tenant); ClickHouse
 * parses it, and a batch it refuses is bisected down to the bad message.
 */
export function decodeSpanMessage(msg: RawMessage, defaultTenant: string): DecodedMessage {
  const format = header(msg, HEADER_FORMAT) ?? FORMAT_OTLP_PROTO_V1;
  const value = msg.value ?? Buffer.alloc(0);
  const tenant = header(msg, HEADER_TENANT) ?? defaultTenant;
  if (!TENANT_RE.test(tenant))
    return { ok: false, reason: `invalid ${HEADER_TENANT} header "${tenant.slice(0, 80)}"` };
  const rowBinary = ROWBINARY_VERSIONS[format];
  if (rowBinary) {
    return rowBinaryMessage(msg, format, tenant, value, rowBinary.columns, (v, t) =>
      checkSpanRows(v, t, rowBinary.version),
    );
  }
  if (format === FORMAT_SPANS_TSV_V1) {
    const rowsText = header(msg, HEADER_ROWS);
    const rows = Number(rowsText);
    if (rowsText === undefined || !Number.isSafeInteger(rows) || rows <= 0) {
      return {
        ok: false,
        reason: `${FORMAT_SPANS_TSV_V1}: ${HEADER_ROWS} header missing or not a positive integer`,
      };
    }
    if (value.length === 0 || value[value.length - 1] !== 10) {
      return { ok: false, reason: `${FORMAT_SPANS_TSV_V1}: value does not end with a newline` };
    }
    let lines = 0;
    for (let pos = value.indexOf(10); pos !== -1; pos = value.indexOf(10, pos + 1)) lines++;
    if (lines !== rows) {
      return {
        ok: false,
        reason: `${FORMAT_SPANS_TSV_V1}: ${HEADER_ROWS} says ${rows} rows, value has ${lines}`,
      };
    }
    if (!isUtf8(value)) return { ok: false, reason: `${FORMAT_SPANS_TSV_V1}: value is not UTF-8` };
    return { ok: true, format: "TabSeparated", columns: SPAN_COLUMNS_V1, body: value, rows, rejected: 0 };
  }
  if (format === FORMAT_OTLP_PROTO_V1) {
    try {
      const decoded = decodeTracesProto(value);
      const body = encodeSpansRowBinary(tenant, decoded.spans);
      return {
        ok: true,
        format: "RowBinary",
        columns: SPAN_COLUMNS,
        body,
        rows: decoded.spans.length,
        rejected: decoded.rejected,
      };
    } catch (err) {
      if (err instanceof OtlpDecodeError)
        return { ok: false, reason: `${FORMAT_OTLP_PROTO_V1}: ${err.message}` };
      throw err;
    }
  }
  return {
    ok: false,
    reason: `unsupported ${HEADER_FORMAT} "${format.slice(0, 80)}" (this ingester reads ${READABLE_FORMATS.join(", ")}); upgrade ingesters before collectors`,
  };
}
