/**
 * Builders for NetFlow v9 / IPFIX export packets, for tests and the benchmark. They write exactly
 * what they are given (no validation), so tests can build hostile packets too.
 */

export type FieldSpec = [ie: number, len: number, enterprise?: number];

const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** A set (IPFIX) or flowset (v9): id, length, body. */
export function set(id: number, body: Buffer, declaredLength?: number): Buffer {
  return Buffer.concat([u16(id), u16(declaredLength ?? body.length + 4), body]);
}

/** IPFIX template record (or options template record when `scope` is given). */
export function ipfixTemplate(id: number, fields: FieldSpec[], scope?: number): Buffer {
  const parts = [u16(id), u16(fields.length)];
  if (scope !== undefined) parts.push(u16(scope));
  for (const [ie, len, ent] of fields) {
    parts.push(u16(ent === undefined ? ie : ie | 0x8000), u16(len));
    if (ent !== undefined) parts.push(u32(ent));
  }
  return Buffer.concat(parts);
}

/** NetFlow v9 template record. */
export function v9Template(id: number, fields: FieldSpec[]): Buffer {
  return Buffer.concat([u16(id), u16(fields.length), ...fields.flatMap(([ie, len]) => [u16(ie), u16(len)])]);
}

export function ipfixMessage(opts: {
  domain: number;
  seq: number;
  exportSecs: number;
  sets: Buffer[];
}): Buffer {
  const body = Buffer.concat(opts.sets);
  return Buffer.concat([
    u16(10),
    u16(16 + body.length),
    u32(opts.exportSecs),
    u32(opts.seq),
    u32(opts.domain),
    body,
  ]);
}

export function v9Message(opts: {
  sourceId: number;
  seq: number;
  exportSecs: number;
  uptimeMs: number;
  sets: Buffer[];
}): Buffer {
  return Buffer.concat([
    u16(9),
    u16(opts.sets.length),
    u32(opts.uptimeMs),
    u32(opts.exportSecs),
    u32(opts.seq),
    u32(opts.sourceId),
    ...opts.sets,
  ]);
}

/** Big-endian unsigned of `len` bytes (up to 8) from a number. */
export function uint(n: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let v = BigInt(Math.floor(n));
  for (let i = len - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

export function ipv4(text: string): Buffer {
  return Buffer.from(text.split(".").map(Number));
}

/** NTP-format timestamp (RFC 7011 dateTimeMicroseconds/Nanoseconds) from epoch milliseconds. */
export function ntp(ms: number): Buffer {
  const secs = Math.floor(ms / 1000);
  const frac = Math.round(((ms - secs * 1000) / 1000) * 4294967296);
  return Buffer.concat([u32(secs + 2_208_988_800), u32(frac)]);
}

/** A variable-length field value (RFC 7011 7): 1-byte length, or 255 + 2-byte length. */
export function varField(value: Buffer): Buffer {
  if (value.length < 255) return Buffer.concat([Buffer.from([value.length]), value]);
  return Buffer.concat([Buffer.from([255]), u16(value.length), value]);
}

/** The IPv4 5-tuple + counters template the tests and the benchmark use. */
export const BASIC_FIELDS: FieldSpec[] = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [1, 8],
  [2, 8],
  [152, 8],
  [153, 8],
];

export function basicRecord(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  proto: number,
  bytes: number,
  packets: number,
  startMs: number,
  endMs: number,
): Buffer {
  return Buffer.concat([
    ipv4(src),
    ipv4(dst),
    uint(sport, 2),
    uint(dport, 2),
    uint(proto, 1),
    uint(bytes, 8),
    uint(packets, 8),
    uint(startMs, 8),
    uint(endMs, 8),
  ]);
}
