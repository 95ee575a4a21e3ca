import { tsvQuoted, tsvString } from "../store/tsv.js";
import type { FlowRecord } from "./model.js";

/** Columns of `flows`, in the order `encodeFlows` writes them. */
export const FLOW_COLUMNS = [
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
] as const;

/** Flow times further than this from arrival are replaced by the arrival time (see below). */
export const MAX_SKEW_MS = 30 * 86_400_000;

/** DateTime64(6) text from epoch milliseconds. */
function micros(ms: number): string {
  const us = Math.round(ms * 1000);
  const s = Math.floor(us / 1e6);
  return `${s}.${String(us - s * 1e6).padStart(6, "0")}`;
}

const num = (n: number) => (Number.isFinite(n) && n > 0 ? String(Math.floor(n)) : "0");

/**
 * TabSeparated rows for `flows`. A flow time more than 30 days from its arrival (a broken or
 * hostile exporter clock) is clamped to the arrival time: the bytes still count, and one bad
 * timestamp can never spread a batch over hundreds of partitions and fail the whole insert.
 * Returns the rows and how many times were clamped.
 */
export function encodeFlows(
  tenant: string,
  receivedMs: number,
  flows: readonly FlowRecord[],
): { body: Buffer; clamped: number } {
  const t = tsvString(tenant);
  const recv = micros(receivedMs);
  let clamped = 0;
  let out = "";
  for (const f of flows) {
    let start = f.startMs;
    let end = f.endMs;
    if (!(Math.abs(start - receivedMs) <= MAX_SKEW_MS) || !(Math.abs(end - receivedMs) <= MAX_SKEW_MS)) {
      start = receivedMs;
      end = receivedMs;
      clamped++;
    }
    let extra = "{}";
    if (f.extra) {
      const kv: string[] = [];
      for (const k in f.extra) kv.push(`${tsvQuoted(k)}:${tsvQuoted(f.extra[k])}`);
      extra = `{${kv.join(",")}}`;
    }
    out += `${t}\t${f.sourceType}\t${tsvString(f.exporter)}\t${num(f.domain)}\t${recv}\t${micros(start)}\t${micros(end)}\t${tsvString(f.srcAddr)}\t${tsvString(f.dstAddr)}\t${num(f.srcPort)}\t${num(f.dstPort)}\t${num(f.protocol)}\t${num(f.bytes)}\t${num(f.packets)}\t${num(f.tcpFlags)}\t${num(f.tos)}\t${num(f.inputIf)}\t${num(f.outputIf)}\t${num(f.vlan)}\t${num(f.direction)}\t${tsvString(f.nextHop)}\t${num(f.srcAs)}\t${num(f.dstAs)}\t${extra}\n`;
  }
  return { body: Buffer.from(out), clamped };
}
