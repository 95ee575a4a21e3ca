/**
 * The packet-flow message format on Kafka (topic `kafka.flows.topic`, default `skald.flows`),
 * shared by the collector's Kafka flow sink (writer) and the flows ingester (reader).
 * core/kafka/README.md ("Flows") is the user-facing description; this file is the contract.
 *
 * A message holds the flows of ONE consume() call of the collector (one UDP datagram, one VPC Flow
 * Logs request; a request whose rows exceed `producer.maxMessageBytes` is cut into several
 * messages on row boundaries), all of ONE tenant. Its key is the exporter address of its first flow
 * (one datagram has one exporter), so the default murmur2 partitioner spreads exporters over the
 * partitions and keeps each exporter's flows in order; no key (empty exporter) spreads round-robin.
 * Headers:
 *
 *   skald-format  "flows-rowbinary/1": the value is RowBinary rows in FLOW_COLUMNS_ROWBINARY_V1
 *                 order (core/flows/row-binary-encoder.ts; the exact bytes the direct path inserts
 *                 into ClickHouse `flows`), every row of the header's tenant.
 *   skald-tenant  the tenant (required: flows have no foreign producers to default for).
 *   skald-rows    the number of rows (flow records).
 *
 * Versioning as for spans (core/kafka/format.ts): a column added to `flows` is "flows-rowbinary/2"
 * with its own frozen list; a format or version the ingester does not know is dead-lettered.
 */

import type { FlowRecord } from "../flows/model.js";
import { encodeFlowsRowBinary } from "../flows/row-binary-encoder.js";
import { TENANT_RE } from "../tenant.js";
import { checkFlowRows } from "./flow-rows-check.js";
import {
  type DecodedMessage,
  HEADER_FORMAT,
  HEADER_ROWS,
  HEADER_TENANT,
  header,
  type RawMessage,
  rowBinaryMessage,
} from "./format.js";

export const FORMAT_FLOWS_ROWBINARY_V1 = "flows-rowbinary/1";

/** The columns of "flows-rowbinary/1", frozen (a unit test checks them against FLOW_COLUMNS). */
export const FLOW_COLUMNS_ROWBINARY_V1: readonly string[] = Object.freeze([
  "tenant",
  "source_type",
  "exporter",
  "domain",
  "time_received",
  "flow_start",
  "flow_end",
  "src_addr",
  "dst_addr",
  "src_port",
  "dst_port",
  "protocol",
  "bytes",
  "packets",
  "tcp_flags",
  "tos",
  "input_if",
  "output_if",
  "vlan",
  "direction",
  "next_hop",
  "src_as",
  "dst_as",
  "extra",
]);

/** What the flows ingester reads; listed in dead-letter reasons. */
export const READABLE_FLOW_FORMATS = [FORMAT_FLOWS_ROWBINARY_V1] as const;

/** One message as the Kafka flow sink produces it. */
export interface FlowMessage {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  rows: number;
}

/**
 * The messages of one consume() call: one, or (rows beyond `maxMessageBytes`) halves until each
 * fits; rows never split. `clamped` counts flow times replaced by the arrival time (as the encoder
 * reports them, once per flow).
 */
export function encodeFlowMessages(
  tenant: string,
  receivedMs: number,
  flows: readonly FlowRecord[],
  maxMessageBytes: number,
): { messages: FlowMessage[]; clamped: number } {
  const messages: FlowMessage[] = [];
  let clamped = 0;
  const push = (group: readonly FlowRecord[]) => {
    const encoded = encodeFlowsRowBinary(tenant, receivedMs, group);
    if (encoded.body.length <= maxMessageBytes || group.length === 1) {
      clamped += encoded.clamped;
      messages.push({
        key: group[0].exporter === "" ? null : group[0].exporter,
        value: encoded.body,
        headers: {
          [HEADER_FORMAT]: FORMAT_FLOWS_ROWBINARY_V1,
          [HEADER_TENANT]: tenant,
          [HEADER_ROWS]: String(group.length),
        },
        rows: group.length,
      });
      return;
    }
    const mid = group.length >> 1;
    push(group.slice(0, mid));
    push(group.slice(mid));
  };
  if (flows.length > 0) push(flows);
  return { messages, clamped };
}

/**
 * Turns one message of the flows topic into rows to insert into `flows`, or says why it cannot
 * (the ingester dead-letters it). The value is walked against the column types before it may join
 * a batch (core/kafka/flow-rows-check.ts).
 */
export function decodeFlowMessage(msg: RawMessage): DecodedMessage {
  const format = header(msg, HEADER_FORMAT);
  if (format === undefined) {
    return {
      ok: false,
      reason: `${HEADER_FORMAT} header missing (flows topic reads ${FORMAT_FLOWS_ROWBINARY_V1})`,
    };
  }
  if (format !== FORMAT_FLOWS_ROWBINARY_V1) {
    return {
      ok: false,
      reason: `unsupported ${HEADER_FORMAT} "${format.slice(0, 80)}" (this ingester reads ${READABLE_FLOW_FORMATS.join(", ")}); upgrade ingesters before collectors`,
    };
  }
  const tenant = header(msg, HEADER_TENANT);
  if (tenant === undefined) return { ok: false, reason: `${format}: ${HEADER_TENANT} header missing` };
  if (!TENANT_RE.test(tenant))
    return { ok: false, reason: `invalid ${HEADER_TENANT} header "${tenant.slice(0, 80)}"` };
  return rowBinaryMessage(
    msg,
    format,
    tenant,
    msg.value ?? Buffer.alloc(0),
    FLOW_COLUMNS_ROWBINARY_V1,
    checkFlowRows,
  );
}
