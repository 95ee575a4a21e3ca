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
  /** `buf` as a DataView, for copies four bytes at a time. */
  private words: DataView;
  private pos = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.words = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
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
    this.words = new DataView(next.buffer, next.byteOffset, next.length);
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

  /**
   * Bytes written before, verbatim (a cached encoding of a repeated value). TypedArray set, not
   * Buffer copy: the transcoder writes four of these a row, and Buffer copy's own checks cost
   * about as much as copying a short one.
   */
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** UInt64 / Int64 from its low and high 32 bits (unsigned). */
  uint64Halves(lo: number, hi: number): void {
    this.reserve(8);
    this.buf.writeUInt32LE(lo >>> 0, this.pos);
    this.buf.writeUInt32LE(hi >>> 0, this.pos + 4);
    this.pos += 8;
  }

  /**
   * A String whose UTF-8 bytes are `src[start, end)`, copied as they are (the caller has checked
   * they are valid UTF-8). Short ones are copied by hand: cheaper than a native call.
   */
  stringBytes(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.varint(n);
    this.reserve(n);
    if (n < 64) {
      const buf = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) buf[p++] = src[i];
      this.pos = p;
    } else {
      this.buf.set(src.subarray(start, end), this.pos);
      this.pos += n;
    }
  }

  /**
   * As {@link stringBytes}, for bytes not yet checked: returns nonzero when some byte copied is not
   * ASCII, and the caller must then check the source is valid UTF-8 (ProtoReader.checkUtf8).
   * Checking while copying, four bytes at a time, reads each byte once: checking first and then
   * copying byte by byte took 30% of the transcoder's time on bench:ingest's spans.
   */
  stringBytesUnchecked(src: Uint8Array, srcWords: DataView, start: number, end: number): number {
    const n = end - start;
    this.varint(n);
    this.reserve(n);
    const p = this.pos;
    let high = 0;
    if (n < 64) {
      const words = this.words;
      let i = 0;
      for (; i + 4 <= n; i += 4) {
        const v = srcWords.getInt32(start + i);
        high |= v;
        words.setInt32(p + i, v);
      }
      const buf = this.buf;
      for (; i < n; i++) {
        const b = src[start + i];
        high |= b;
        buf[p + i] = b;
      }
    } else {
      for (let i = start; i < end; i++) high |= src[i];
      this.buf.set(src.subarray(start, end), p);
    }
    this.pos = p + n;
    return high & 0x80808080;
  }

  /** A String of the lowercase hex of `src[start, start + n)` (an id). */
  hexString(src: Uint8Array, start: number, n: number): void {
    this.varint(n * 2);
    this.reserve(n * 2);
    const buf = this.buf;
    let p = this.pos;
    for (let i = start; i < start + n; i++) {
      const b = src[i];
      buf[p++] = HEX_DIGITS[b >> 4];
      buf[p++] = HEX_DIGITS[b & 15];
    }
    this.pos = p;
  }

  /** Bytes written earlier in this buffer, `[start, end)`, once more (a repeated key). */
  again(start: number, end: number): void {
    this.reserve(end - start);
    this.buf.copyWithin(this.pos, start, end);
    this.pos += end - start;
  }

  /** Overwrites the byte at `at` (written earlier) with `v`. */
  setUint8(at: number, v: number): void {
    if (at < this.pos) this.buf[at] = v;
  }

  /** Drops everything written after `length` bytes (a row given up half way). */
  truncate(length: number): void {
    if (length < this.pos) this.pos = length;
  }

  /** The bytes written so far, without a copy: valid until the next write or `reset`. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
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

/** Lowercase hex digit char codes. */
const HEX_DIGITS = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);
