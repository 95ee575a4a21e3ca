/**
 * A growable RowBinary writer (ClickHouse's row-wise binary format: little-endian numbers, strings
 * as LEB128 length + bytes, Array and Map as LEB128 count + items). LowCardinality and Enum8
 * columns take their plain String and Int8 encodings; DateTime64(9) is Int64 nanoseconds.
 *
 * Why not text: ClickHouse parses this without unescaping, and writing it costs no string
 * concatenation in JS (bench/insert-profile.ts has the figures).
 */
export class RowBinaryWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.pos;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  uint8(v: number): void {
    this.reserve(1);
    this.buf[this.pos++] = v;
  }

  uint16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16LE(v & 0xffff, this.pos);
    this.pos += 2;
  }

  uint32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  /** UInt64 / Int64 / DateTime64(9) from a bigint already in range. */
  uint64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(v, this.pos);
    this.pos += 8;
  }

  /**
   * UInt64 / Int64 from a non-negative safe integer (no BigInt on the way): low and high 32 bits.
   * Callers clamp; a negative or fractional value is the caller's bug.
   */
  uint64Number(v: number): void {
    this.reserve(8);
    this.buf.writeUInt32LE(v % 0x1_0000_0000, this.pos);
    this.buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), this.pos + 4);
    this.pos += 8;
  }

  /** LEB128 unsigned, for lengths and counts. */
  varint(v: number): void {
    this.reserve(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  /** A String as UTF-8. ASCII strings under 128 characters (most of them) are copied by hand. */
  string(s: string): void {
    const n = s.length;
    if (n < 128) {
      this.reserve(1 + n * 3);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, "utf8");
    this.varint(bytes);
    this.reserve(bytes);
    this.pos += this.buf.write(s, this.pos, bytes, "utf8");
  }

  /** Bytes written before, verbatim (a cached encoding of a repeated value). */
  raw(bytes: Buffer): void {
    this.reserve(bytes.length);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
  }

  /** The bytes written so far (a copy sized to fit; the writer can be reused after `reset`). */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** Writes from the start again, keeping the buffer. */
  reset(): void {
    this.pos = 0;
  }
}
