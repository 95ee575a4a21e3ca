import { ipv4At } from "./fields.js";
import { emptyFlow, type FlowRecord } from "./model.js";

export const V5_HEADER = 24;
export const V5_RECORD = 48;
/** Cisco's documented maximum records per v5 packet. */
export const V5_MAX_COUNT = 30;

export interface V5Header {
  count: number;
  uptimeMs: number;
  exportMs: number;
  sequence: number;
  /** engine_type << 8 | engine_id. */
  engine: number;
}

/** Reads the fixed v5 header; the caller has checked the version and that 24 bytes exist. */
export function readV5Header(b: Buffer): V5Header {
  return {
    count: b.readUInt16BE(2),
    uptimeMs: b.readUInt32BE(4),
    exportMs: b.readUInt32BE(8) * 1000 + Math.floor(b.readUInt32BE(12) / 1e6),
    sequence: b.readUInt32BE(16),
    engine: (b[20] << 8) | b[21],
  };
}

/**
 * The fixed 48-byte v5 records. First/last switched are sysUpTime milliseconds: the flow's wall
 * time is the export time minus how long before the export uptime it was (32-bit wrap-safe).
 */
export function readV5Records(b: Buffer, h: V5Header, exporter: string, out: FlowRecord[]): void {
  for (let i = 0; i < h.count; i++) {
    const o = V5_HEADER + i * V5_RECORD;
    const f = emptyFlow("netflow5", exporter, h.engine);
    f.srcAddr = ipv4At(b, o);
    f.dstAddr = ipv4At(b, o + 4);
    f.nextHop = ipv4At(b, o + 8);
    f.inputIf = b.readUInt16BE(o + 12);
    f.outputIf = b.readUInt16BE(o + 14);
    f.packets = b.readUInt32BE(o + 16);
    f.bytes = b.readUInt32BE(o + 20);
    f.startMs = h.exportMs - ((h.uptimeMs - b.readUInt32BE(o + 24)) | 0);
    f.endMs = h.exportMs - ((h.uptimeMs - b.readUInt32BE(o + 28)) | 0);
    f.srcPort = b.readUInt16BE(o + 32);
    f.dstPort = b.readUInt16BE(o + 34);
    f.tcpFlags = b[o + 37];
    f.protocol = b[o + 38];
    f.tos = b[o + 39];
    f.srcAs = b.readUInt16BE(o + 40);
    f.dstAs = b.readUInt16BE(o + 42);
    out.push(f);
  }
}
