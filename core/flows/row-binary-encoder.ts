import { RowBinaryWriter } from "../store/row-binary.js";
import { MAX_SKEW_MS } from "./encoder.js";
import type { FlowRecord } from "./model.js";

/** A count or id as the unsigned column takes it: whole, not negative, at most `max`. */
const clampUint = (n: number, max: number): number =>
  Number.isFinite(n) && n > 0 ? Math.min(Math.floor(n), max) : 0;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** DateTime64(6) as Int64 microseconds from epoch milliseconds. */
const micros = (ms: number): number => Math.max(0, Math.round(ms * 1000));

const writer = new RowBinaryWriter(1 << 18);

/**
 * RowBinary rows for `flows` in FLOW_COLUMNS order: the same values as `encodeFlows` (times more
 * than 30 days from arrival clamped to the arrival time, counted in `clamped`), without text.
 */
export function encodeFlowsRowBinary(
  tenant: string,
  receivedMs: number,
  flows: readonly FlowRecord[],
): { body: Buffer; clamped: number } {
  const w = writer;
  w.reset();
  const recv = micros(receivedMs);
  let clamped = 0;
  for (const f of flows) {
    let start = f.startMs;
    let end = f.endMs;
    if (!(Math.abs(start - receivedMs) <= MAX_SKEW_MS) || !(Math.abs(end - receivedMs) <= MAX_SKEW_MS)) {
      start = receivedMs;
      end = receivedMs;
      clamped++;
    }
    w.string(tenant);
    w.string(f.sourceType);
    w.string(f.exporter);
    w.uint32(clampUint(f.domain, 0xffff_ffff));
    w.uint64Number(recv);
    w.uint64Number(micros(start));
    w.uint64Number(micros(end));
    w.string(f.srcAddr);
    w.string(f.dstAddr);
    w.uint16(clampUint(f.srcPort, 0xffff));
    w.uint16(clampUint(f.dstPort, 0xffff));
    w.uint8(clampUint(f.protocol, 0xff));
    w.uint64Number(clampUint(f.bytes, MAX_SAFE));
    w.uint64Number(clampUint(f.packets, MAX_SAFE));
    w.uint8(clampUint(f.tcpFlags, 0xff));
    w.uint8(clampUint(f.tos, 0xff));
    w.uint32(clampUint(f.inputIf, 0xffff_ffff));
    w.uint32(clampUint(f.outputIf, 0xffff_ffff));
    w.uint16(clampUint(f.vlan, 0xffff));
    w.uint8(clampUint(f.direction, 0xff));
    w.string(f.nextHop);
    w.uint32(clampUint(f.srcAs, 0xffff_ffff));
    w.uint32(clampUint(f.dstAs, 0xffff_ffff));
    const extra = f.extra;
    if (extra === undefined) w.varint(0);
    else {
      const keys = Object.keys(extra);
      w.varint(keys.length);
      for (const k of keys) {
        w.string(k);
        w.string(extra[k]);
      }
    }
  }
  return { body: w.toBuffer(), clamped };
}
