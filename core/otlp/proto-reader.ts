/**
 * A small protobuf wire-format reader for hand-written, allocation-light decoders.
 *
 * Every read takes a `limit` (the end of the enclosing length-delimited message, never past the end
 * of the buffer) and a `where` label ("Span.attributes") used only to build error messages. Reads
 * never go past `limit`; anything truncated or malformed throws an {@link OtlpDecodeError} naming the
 * problem, the byte offset and `where`. Each read advances `pos` by at least one byte or throws, so a
 * decoder loop of the form `while (r.pos < end) { ... }` always terminates.
 *
 * Typical use:
 *
 *     while (r.pos < end) {
 *       const tag = r.tag(end, "Span");
 *       switch (tag) {
 *         case 42: name = r.string(r.lenEnd(end, "Span.name"), "Span.name"); break;
 *         default: r.skip(tag, end, "Span");
 *       }
 *     }
 */
import { isUtf8 } from "node:buffer";
import { OtlpDecodeError } from "./errors.js";

/** Protobuf wire types. */
export const WireType = {
  VARINT: 0,
  I64: 1,
  LEN: 2,
  SGROUP: 3,
  EGROUP: 4,
  I32: 5,
} as const;

/** Maximum nesting of (deprecated, never used by OTLP) groups that {@link ProtoReader.skip} accepts. */
export const MAX_GROUP_DEPTH = 32;

const TWO_POW_32 = 4294967296;

/** Process-wide cache of short repeated ASCII strings, direct-mapped by a hash of their bytes. */
const STRING_CACHE_BITS = 12;
const STRING_CACHE_SHIFT = 32 - STRING_CACHE_BITS;
const MAX_CACHED_LENGTH = 64;
const cacheStrings: string[] = new Array<string>(1 << STRING_CACHE_BITS).fill("");
const cacheLengths = new Int32Array(1 << STRING_CACHE_BITS);
const cacheBytes = Buffer.alloc(MAX_CACHED_LENGTH << STRING_CACHE_BITS);
const cacheView = new DataView(cacheBytes.buffer, cacheBytes.byteOffset, cacheBytes.byteLength);

/** Builds the tag value `(field << 3) | wireType` for use in `switch` statements. */
export function tagOf(field: number, wireType: number): number {
  return ((field << 3) | wireType) >>> 0;
}

export class ProtoReader {
  readonly buf: Buffer;
  readonly view: DataView;
  /** Current read position. */
  pos: number;
  /** High 32 bits (unsigned) of the last {@link varint64} or {@link fixed64} read. */
  hi: number;
  /** Offset of the last tag read, for error messages. */
  tagPos: number;
  /**
   * A latin1 copy of the bytes from `latinStart` to `latinEnd` (see {@link window}). Strings inside
   * the window whose bytes are all ASCII are cut out of it with `substring`, several times cheaper
   * than a native decode per string. (V8 may keep a substring as a slice of the window, so strings
   * keep their window's text alive; windows are kept small, e.g. one span.)
   */
  private latin: string;
  private latinStart: number;
  private latinEnd: number;

  constructor(data: Uint8Array) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.pos = 0;
    this.hi = 0;
    this.tagPos = 0;
    this.latin = "";
    this.latinStart = 0;
    this.latinEnd = 0;
  }

  /**
   * Declares that many strings will be read between `start` and `end` (e.g. one span message):
   * their ASCII text is copied once and strings are cut out of that copy. Strings outside the
   * current window are decoded one by one.
   */
  window(start: number, end: number): void {
    if (start >= this.latinStart && end <= this.latinEnd) return;
    this.latin = latin1(this.buf, start, end);
    this.latinStart = start;
    this.latinEnd = end;
  }

  get length(): number {
    return this.buf.length;
  }

  fail(what: string, offset: number, where: string): never {
    throw new OtlpDecodeError(`${what} at offset ${offset} in ${where}`);
  }

  /**
   * Reads a field tag `(field << 3) | wireType`. The tag is not validated here: decoders `switch` on
   * the tags they know and pass the rest to {@link skip}, which rejects field 0 and wire types 6/7.
   */
  tag(limit: number, where: string): number {
    const pos = this.pos;
    this.tagPos = pos;
    if (pos < limit) {
      const b = this.buf[pos];
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
      if (pos + 1 < limit) {
        const b1 = this.buf[pos + 1];
        if (b1 < 0x80) {
          this.pos = pos + 2;
          return (b & 0x7f) | (b1 << 7);
        }
      }
    }
    return this.tagSlow(limit, where);
  }

  private tagSlow(limit: number, where: string): number {
    const start = this.pos;
    const lo = this.varint64(limit, where);
    if (this.hi !== 0 || this.pos - start > 5) this.fail("invalid tag (more than 32 bits)", start, where);
    return lo;
  }

  /** Reads a varint of up to 10 bytes and returns its low 32 bits as an unsigned number (uint32/enum). */
  varint32(limit: number, where: string): number {
    const pos = this.pos;
    if (pos < limit) {
      const b = this.buf[pos];
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    return this.varint64(limit, where);
  }

  /** Reads a varint of up to 10 bytes; returns the low 32 bits (unsigned) and leaves the high 32 in {@link hi}. */
  varint64(limit: number, where: string): number {
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    let lo = 0;
    let hi = 0;
    let b = 0;
    // Bytes 0..3 hold bits 0..27.
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= limit) this.fail("truncated varint", start, where);
      b = buf[pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.hi = 0;
        return lo >>> 0;
      }
    }
    // Byte 4 holds bits 28..34.
    if (pos >= limit) this.fail("truncated varint", start, where);
    b = buf[pos++];
    lo |= (b & 0x7f) << 28;
    hi = (b & 0x7f) >>> 4;
    if (b < 0x80) {
      this.pos = pos;
      this.hi = hi;
      return lo >>> 0;
    }
    // Bytes 5..9 hold bits 35..63.
    for (let shift = 3; shift < 38; shift += 7) {
      if (pos >= limit) this.fail("truncated varint", start, where);
      b = buf[pos++];
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    return this.fail("varint longer than 10 bytes", start, where);
  }

  /** Reads a bool (any non-zero varint is true). */
  bool(limit: number, where: string): boolean {
    const lo = this.varint64(limit, where);
    return lo !== 0 || this.hi !== 0;
  }

  /** Reads an int64 varint and returns it as exact decimal text (two's complement, may be negative). */
  int64String(limit: number, where: string): string {
    const lo = this.varint64(limit, where);
    return int64ToString(lo, this.hi);
  }

  /**
   * Reads the length prefix of a length-delimited field and returns the offset where its payload
   * ends, after checking that the payload fits before `limit`. `pos` is left at the payload start.
   */
  lenEnd(limit: number, where: string): number {
    const start = this.pos;
    let len: number;
    if (start < limit && this.buf[start] < 0x80) {
      len = this.buf[start];
      this.pos = start + 1;
    } else {
      len = this.varint64(limit, where);
      if (this.hi !== 0 || len > 0x7fffffff)
        this.fail(`length ${(BigInt(this.hi) << 32n) | BigInt(len)} too large`, start, where);
    }
    const left = limit - this.pos;
    if (len > left) this.fail(`length ${len} exceeds the ${left} bytes left`, start, where);
    return this.pos + len;
  }

  /** Reads a little-endian fixed32 as an unsigned number. */
  fixed32(limit: number, where: string): number {
    const pos = this.pos;
    if (limit - pos < 4) this.fail("truncated fixed32", pos, where);
    this.pos = pos + 4;
    return this.view.getUint32(pos, true);
  }

  /** Reads a little-endian fixed64; returns the low 32 bits and leaves the high 32 in {@link hi}. */
  fixed64(limit: number, where: string): number {
    const pos = this.pos;
    if (limit - pos < 8) this.fail("truncated fixed64", pos, where);
    this.pos = pos + 8;
    this.hi = this.view.getUint32(pos + 4, true);
    return this.view.getUint32(pos, true);
  }

  /** Reads a little-endian fixed64 as an unsigned bigint. */
  fixed64BigInt(limit: number, where: string): bigint {
    const pos = this.pos;
    if (limit - pos < 8) this.fail("truncated fixed64", pos, where);
    this.pos = pos + 8;
    return this.view.getBigUint64(pos, true);
  }

  /** Reads a little-endian IEEE 754 double. */
  double(limit: number, where: string): number {
    const pos = this.pos;
    if (limit - pos < 8) this.fail("truncated double", pos, where);
    this.pos = pos + 8;
    return this.view.getFloat64(pos, true);
  }

  /**
   * Decodes the bytes from `pos` to `end` (as returned by {@link lenEnd}) as UTF-8 and moves `pos` to
   * `end`. Invalid UTF-8 throws, naming `where` (proto3 requires valid UTF-8 in string fields).
   */
  string(end: number, where: string): string {
    const buf = this.buf;
    const start = this.pos;
    this.pos = end;
    if (start === end) return "";
    // ASCII check, four bytes at a time.
    const view = this.view;
    let i = start;
    for (const end4 = end - 3; i < end4; i += 4) {
      if ((view.getInt32(i) & 0x80808080) !== 0) return this.utf8(start, end, where);
    }
    for (; i < end; i++) {
      if (buf[i] >= 0x80) return this.utf8(start, end, where);
    }
    const base = this.latinStart;
    if (start >= base && end <= this.latinEnd) return this.latin.substring(start - base, end - base);
    return latin1(buf, start, end);
  }

  /**
   * Like {@link string}, for strings that repeat across spans and requests (attribute keys, span
   * names): a hit in a small process-wide cache returns the same string instance without allocating.
   * Cached strings are independent copies, not slices of a request.
   */
  cachedString(end: number, where: string): string {
    const start = this.pos;
    const n = end - start;
    if (n < 4 || n > MAX_CACHED_LENGTH) return this.string(end, where);
    const view = this.view;
    const last = view.getInt32(end - 4, true);
    const h =
      Math.imul(view.getInt32(start, true) ^ Math.imul(last, 0x9e3779b1) ^ n, 0x85ebca6b) >>>
      STRING_CACHE_SHIFT;
    if (cacheLengths[h] === n) {
      // Compare with the cached bytes, four at a time (the last word may overlap the previous one).
      const base = h * MAX_CACHED_LENGTH;
      let i = 0;
      while (i < n - 4 && view.getInt32(start + i, true) === cacheView.getInt32(base + i, true)) i += 4;
      if (i >= n - 4 && last === cacheView.getInt32(base + n - 4, true)) {
        this.pos = end;
        return cacheStrings[h];
      }
    }
    const s = this.string(end, where);
    if (s.length === n) {
      // ASCII: cache an independent copy (not a slice of this request's text).
      const copy = latin1(this.buf, start, end);
      cacheStrings[h] = copy;
      cacheLengths[h] = n;
      this.buf.copy(cacheBytes, h * MAX_CACHED_LENGTH, start, end);
      return copy;
    }
    return s;
  }

  /**
   * Checks that the bytes from `pos` to `end` are valid UTF-8 (as {@link string} would, without
   * making a string), moves `pos` to `end` and returns where they start.
   */
  utf8Bytes(end: number, where: string): number {
    const buf = this.buf;
    const start = this.pos;
    this.pos = end;
    for (let i = start; i < end; i++) {
      if (buf[i] >= 0x80) {
        if (!isUtf8(buf.subarray(start, end))) this.fail("invalid UTF-8", start, where);
        break;
      }
    }
    return start;
  }

  /** Throws unless the bytes from `start` to `end` are valid UTF-8 (leaves `pos` alone). */
  checkUtf8(start: number, end: number, where: string): void {
    if (!isUtf8(this.buf.subarray(start, end))) this.fail("invalid UTF-8", start, where);
  }

  private utf8(start: number, end: number, where: string): string {
    if (!isUtf8(this.buf.subarray(start, end))) this.fail("invalid UTF-8", start, where);
    return this.buf.toString("utf8", start, end);
  }

  /** Reads a length-delimited string field (length prefix and payload). */
  stringField(limit: number, where: string): string {
    return this.string(this.lenEnd(limit, where), where);
  }

  /** Reads a length-delimited string field through {@link cachedString}. */
  cachedStringField(limit: number, where: string): string {
    return this.cachedString(this.lenEnd(limit, where), where);
  }

  /**
   * Skips the payload of a field whose tag was just read (an unknown field, or a known field number
   * with an unexpected wire type, which protobuf treats as unknown). Throws on field number 0, wire
   * types 6 and 7, a stray end-group, groups nested too deeply, and anything truncated.
   */
  skip(tag: number, limit: number, where: string, depth = 0): void {
    const wireType = tag & 7;
    const field = tag >>> 3;
    if (field === 0) this.fail(`invalid field number 0 (wire type ${wireType})`, this.tagPos, where);
    const pos = this.pos;
    switch (wireType) {
      case WireType.VARINT:
        this.varint64(limit, where);
        return;
      case WireType.I64:
        if (limit - pos < 8) this.fail(`truncated fixed64 field ${field}`, pos, where);
        this.pos = pos + 8;
        return;
      case WireType.LEN:
        this.pos = this.lenEnd(limit, where);
        return;
      case WireType.I32:
        if (limit - pos < 4) this.fail(`truncated fixed32 field ${field}`, pos, where);
        this.pos = pos + 4;
        return;
      case WireType.SGROUP:
        this.skipGroup(field, limit, where, depth + 1);
        return;
      default:
        this.fail(
          wireType === WireType.EGROUP
            ? `unexpected end-group for field ${field}`
            : `invalid wire type ${wireType} for field ${field}`,
          this.tagPos,
          where,
        );
    }
  }

  private skipGroup(field: number, limit: number, where: string, depth: number): void {
    const start = this.tagPos;
    if (depth > MAX_GROUP_DEPTH)
      this.fail(`groups nested deeper than ${MAX_GROUP_DEPTH} levels`, start, where);
    while (this.pos < limit) {
      const tag = this.tag(limit, where);
      if ((tag & 7) === WireType.EGROUP) {
        if (tag >>> 3 !== field) {
          this.fail(`end-group for field ${tag >>> 3} inside group ${field}`, this.tagPos, where);
        }
        return;
      }
      this.skip(tag, limit, where, depth);
    }
    this.fail(`unterminated group ${field}`, start, where);
  }
}

interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

/**
 * Node's Buffer#latin1Slice (what `toString("latin1", start, end)` calls after resolving the
 * encoding) is noticeably cheaper per call; used when present.
 */
const hasLatin1Slice = typeof (Buffer.prototype as Partial<Latin1Slicer>).latin1Slice === "function";

function latin1(buf: Buffer, start: number, end: number): string {
  return hasLatin1Slice
    ? (buf as unknown as Latin1Slicer).latin1Slice(start, end)
    : buf.toString("latin1", start, end);
}

/** Formats a 64-bit two's complement integer given as unsigned 32-bit halves as exact decimal text. */
export function int64ToString(lo: number, hi: number): string {
  if (hi < 0x200000) return String(hi * TWO_POW_32 + lo);
  if (hi >= 0x80000000) {
    // Negative: the magnitude is the two's complement of the value.
    const nlo = (~lo + 1) >>> 0;
    const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
    if (nhi < 0x200000) return `-${nhi * TWO_POW_32 + nlo}`;
  }
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}
