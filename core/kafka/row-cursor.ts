/**
 * A read position in a RowBinary value, for the row walkers of the Kafka formats
 * (span-rows-check.ts, flow-rows-check.ts): each step skips one encoded value and answers false
 * (or -1) instead of reading past the end, so a truncated or garbled value is refused, never
 * over-read.
 */
export class RowCursor {
  p = 0;
  readonly end: number;

  constructor(readonly value: Buffer) {
    this.end = value.length;
  }

  /** A LEB128 length, or -1 when truncated or longer than 2^35. */
  varint(): number {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (this.p >= this.end || shift > 28) return -1;
      const b = this.value[this.p++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  }

  /** Skips a String. */
  str(): boolean {
    const n = this.varint();
    if (n < 0 || this.p + n > this.end) return false;
    this.p += n;
    return true;
  }

  /** Skips `n` bytes of fixed-width values. */
  fixed(n: number): boolean {
    if (this.p + n > this.end) return false;
    this.p += n;
    return true;
  }

  /** Skips a String, answering whether it equals one of `candidates`. */
  oneOf(candidates: readonly Buffer[]): boolean {
    const n = this.varint();
    if (n < 0 || this.p + n > this.end) return false;
    const p = this.p;
    this.p += n;
    return candidates.some((c) => c.length === n && this.value.compare(c, 0, n, p, p + n) === 0);
  }

  /** Skips a Map(String, String), or an Array(String) with `pairs` false. */
  strings(pairs = false): boolean {
    const n = this.varint();
    if (n < 0) return false;
    for (let i = 0; i < n; i++) if (!this.str() || (pairs && !this.str())) return false;
    return true;
  }

  /** Skips an Array of `size`-byte values. */
  fixedArray(size: number): boolean {
    const n = this.varint();
    return n >= 0 && this.fixed(n * size);
  }

  /** "row N: what (byte P of END)", the reason a walker gives. */
  fail(rows: number, what: string): { error: string } {
    return { error: `row ${rows + 1}: ${what} (byte ${this.p} of ${this.end})` };
  }
}
