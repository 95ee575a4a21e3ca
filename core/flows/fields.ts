import type { FlowRecord } from "./model.js";

/** Dotted quad from 4 bytes. */
export function ipv4At(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text of a 16-byte IPv6 address (longest zero run compressed, lower-case hex). */
export function ipv6At(b: Buffer, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(o + 2 * i));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/** Unsigned big-endian integer of 1..8 bytes as a number (exact to 2^53). */
export function uintAt(b: Buffer, o: number, len: number): number {
  if (len <= 6) return b.readUIntBE(o, len);
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + b[o + i];
  return v;
}

/** Seconds between 1900-01-01 (NTP era 0) and 1970-01-01. */
const NTP_UNIX_OFFSET = 2_208_988_800;

/**
 * Per-record time fields as they arrive, resolved into start/end once the whole record is read,
 * because the encodings depend on each other (uptime-relative needs systemInitTime or the header).
 */
export interface TimeParts {
  startAbsMs: number;
  endAbsMs: number;
  startUptimeMs: number;
  endUptimeMs: number;
  startDeltaUs: number;
  endDeltaUs: number;
  durationMs: number;
  initMs: number;
}

export function resetTimes(t: TimeParts): void {
  t.startAbsMs = -1;
  t.endAbsMs = -1;
  t.startUptimeMs = -1;
  t.endUptimeMs = -1;
  t.startDeltaUs = -1;
  t.endDeltaUs = -1;
  t.durationMs = -1;
  t.initMs = -1;
}

export const newTimes = (): TimeParts => {
  const t = {} as TimeParts;
  resetTimes(t);
  return t;
};

/** NTP-format timestamp (dateTimeMicroseconds / dateTimeNanoseconds, RFC 7011 6.1.9-10) → ms. */
function ntpMs(b: Buffer, o: number): number {
  return (b.readUInt32BE(o) - NTP_UNIX_OFFSET) * 1000 + (b.readUInt32BE(o + 4) / 4294967296) * 1000;
}

/**
 * Applies one information element (IANA IPFIX numbering, which NetFlow v9's field types share for
 * 1-127) to the record. Elements Skald does not know, or with a length their type cannot have,
 * are skipped: the record stays valid.
 */
export function applyField(f: FlowRecord, t: TimeParts, ie: number, b: Buffer, o: number, len: number): void {
  switch (ie) {
    case 1: // octetDeltaCount / IN_BYTES
    case 85: // octetTotalCount
      if (len <= 8) f.bytes = uintAt(b, o, len);
      return;
    case 23: // postOctetDeltaCount / OUT_BYTES (egress-side count when ingress absent)
      if (len <= 8 && f.bytes === 0) f.bytes = uintAt(b, o, len);
      return;
    case 2: // packetDeltaCount / IN_PKTS
    case 86: // packetTotalCount
      if (len <= 8) f.packets = uintAt(b, o, len);
      return;
    case 24: // postPacketDeltaCount / OUT_PKTS
      if (len <= 8 && f.packets === 0) f.packets = uintAt(b, o, len);
      return;
    case 4:
      if (len === 1) f.protocol = b[o];
      return;
    case 5:
      if (len === 1) f.tos = b[o];
      return;
    case 6: // tcpControlBits: 1 byte in v9, 2 in IPFIX
      if (len <= 2) f.tcpFlags = uintAt(b, o, len) & 0xff;
      return;
    case 7:
      if (len === 2) f.srcPort = b.readUInt16BE(o);
      return;
    case 11:
      if (len === 2) f.dstPort = b.readUInt16BE(o);
      return;
    case 8:
      if (len === 4) f.srcAddr = ipv4At(b, o);
      return;
    case 12:
      if (len === 4) f.dstAddr = ipv4At(b, o);
      return;
    case 27:
      if (len === 16) f.srcAddr = ipv6At(b, o);
      return;
    case 28:
      if (len === 16) f.dstAddr = ipv6At(b, o);
      return;
    case 15:
      if (len === 4) f.nextHop = ipv4At(b, o);
      return;
    case 62:
      if (len === 16) f.nextHop = ipv6At(b, o);
      return;
    case 10:
      if (len <= 4) f.inputIf = uintAt(b, o, len);
      return;
    case 14:
      if (len <= 4) f.outputIf = uintAt(b, o, len);
      return;
    case 16:
      if (len <= 4) f.srcAs = uintAt(b, o, len);
      return;
    case 17:
      if (len <= 4) f.dstAs = uintAt(b, o, len);
      return;
    case 58: // vlanId / SRC_VLAN
    case 243: // dot1qVlanId
      if (len === 2 && f.vlan === 0) f.vlan = b.readUInt16BE(o) & 0x0fff;
      return;
    case 61:
      if (len === 1) f.direction = b[o];
      return;
    case 21: // flowEndSysUpTime / LAST_SWITCHED
      if (len === 4) t.endUptimeMs = b.readUInt32BE(o);
      return;
    case 22: // flowStartSysUpTime / FIRST_SWITCHED
      if (len === 4) t.startUptimeMs = b.readUInt32BE(o);
      return;
    case 150:
      if (len === 4) t.startAbsMs = b.readUInt32BE(o) * 1000;
      return;
    case 151:
      if (len === 4) t.endAbsMs = b.readUInt32BE(o) * 1000;
      return;
    case 152:
      if (len === 8) t.startAbsMs = uintAt(b, o, 8);
      return;
    case 153:
      if (len === 8) t.endAbsMs = uintAt(b, o, 8);
      return;
    case 154:
    case 156:
      if (len === 8) t.startAbsMs = ntpMs(b, o);
      return;
    case 155:
    case 157:
      if (len === 8) t.endAbsMs = ntpMs(b, o);
      return;
    case 158:
      if (len === 4) t.startDeltaUs = b.readUInt32BE(o);
      return;
    case 159:
      if (len === 4) t.endDeltaUs = b.readUInt32BE(o);
      return;
    case 160:
      if (len === 8) t.initMs = uintAt(b, o, 8);
      return;
    case 161:
      if (len === 4) t.durationMs = b.readUInt32BE(o);
      return;
    case 162:
      if (len === 4) t.durationMs = b.readUInt32BE(o) / 1000;
      return;
    default:
      return;
  }
}

const WRAP = 4294967296;

/**
 * sysUpTime is a 32-bit millisecond counter: it wraps every 49.7 days, and exporters that replay
 * captures (softflowd -r) put flows before their own init time as "negative" uptimes. Of the
 * times init + uptime + k·2^32 the one nearest the export time is the flow's.
 */
function sinceInit(initMs: number, uptimeMs: number, exportMs: number): number {
  const v = initMs + uptimeMs;
  return v + Math.round((exportMs - v) / WRAP) * WRAP;
}

/**
 * Resolves start/end: absolute times first; then sysUpTime-relative against systemInitTime (IPFIX,
 * from the record or the domain's options data) or against the header's uptime and export time
 * (NetFlow v9); then deltas before export time. Missing ends default to the other end, then to the
 * export time, so every stored flow has a time.
 */
export function resolveTimes(
  f: FlowRecord,
  t: TimeParts,
  exportMs: number,
  headerUptimeMs: number,
  domainInitMs: number,
): void {
  const init = t.initMs >= 0 ? t.initMs : domainInitMs;
  let start = t.startAbsMs;
  let end = t.endAbsMs;
  if (start < 0 && t.startUptimeMs >= 0) {
    if (init >= 0) start = sinceInit(init, t.startUptimeMs, exportMs);
    else if (headerUptimeMs >= 0) start = exportMs - ((headerUptimeMs - t.startUptimeMs) | 0);
  }
  if (end < 0 && t.endUptimeMs >= 0) {
    if (init >= 0) end = sinceInit(init, t.endUptimeMs, exportMs);
    else if (headerUptimeMs >= 0) end = exportMs - ((headerUptimeMs - t.endUptimeMs) | 0);
  }
  if (start < 0 && t.startDeltaUs >= 0) start = exportMs - t.startDeltaUs / 1000;
  if (end < 0 && t.endDeltaUs >= 0) end = exportMs - t.endDeltaUs / 1000;
  if (start < 0 && end >= 0 && t.durationMs >= 0) start = end - t.durationMs;
  if (end < 0 && start >= 0 && t.durationMs >= 0) end = start + t.durationMs;
  if (end < 0) end = start >= 0 ? start : exportMs;
  if (start < 0) start = end;
  f.startMs = start;
  f.endMs = end;
}
