import { describe, expect, it } from "vitest";
import { int64ToString, OtlpDecodeError, ProtoReader, tagOf, WireType } from "./index.js";

function varintBytes(n: bigint): number[] {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function reader(bytes: number[]): ProtoReader {
  return new ProtoReader(Uint8Array.from(bytes));
}

function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OtlpDecodeError);
    return (err as Error).message;
  }
  throw new Error("expected OtlpDecodeError");
}

describe("ProtoReader varints", () => {
  const samples = [
    0n,
    1n,
    127n,
    128n,
    300n,
    2n ** 28n - 1n,
    2n ** 28n,
    2n ** 31n,
    2n ** 32n - 1n,
    2n ** 32n,
    2n ** 35n - 1n,
    2n ** 35n,
    2n ** 53n + 1n,
    2n ** 63n,
    2n ** 64n - 1n,
  ];

  it("reads 64-bit varints as lo/hi", () => {
    for (const n of samples) {
      const r = reader(varintBytes(n));
      const lo = r.varint64(r.length, "test");
      expect((BigInt(r.hi) << 32n) | BigInt(lo)).toBe(n);
      expect(r.pos).toBe(r.length);
    }
  });

  it("reads uint32 as the low 32 bits of a varint of up to 10 bytes", () => {
    for (const n of samples) {
      const r = reader(varintBytes(n));
      expect(r.varint32(r.length, "test")).toBe(Number(BigInt.asUintN(32, n)));
      expect(r.pos).toBe(r.length);
    }
  });

  it("formats int64 two's complement exactly", () => {
    for (const n of [
      0n,
      1n,
      -1n,
      2n ** 53n - 1n,
      2n ** 53n,
      -(2n ** 53n) + 1n,
      -(2n ** 53n),
      2n ** 63n - 1n,
      -(2n ** 63n),
    ]) {
      const r = reader(varintBytes(n));
      expect(r.int64String(r.length, "test")).toBe(n.toString());
    }
    expect(int64ToString(0xffffffff, 0xffffffff)).toBe("-1");
  });

  it("throws on truncated and overlong varints without reading past the limit", () => {
    expect(thrown(() => reader([0x80, 0x80]).varint64(2, "X.y"))).toBe("truncated varint at offset 0 in X.y");
    // The limit, not the buffer end, bounds the read.
    expect(thrown(() => reader([0x80, 0x01]).varint32(1, "X.y"))).toBe("truncated varint at offset 0 in X.y");
    expect(thrown(() => reader([...Array(10).fill(0x80), 0x00]).varint64(11, "X"))).toBe(
      "varint longer than 10 bytes at offset 0 in X",
    );
    expect(thrown(() => reader([]).varint32(0, "X"))).toBe("truncated varint at offset 0 in X");
  });

  it("reads tags, refusing tags beyond 32 bits", () => {
    const r = reader([
      ...varintBytes(BigInt(tagOf(16, WireType.I32))),
      ...varintBytes(BigInt(tagOf(2 ** 29 - 1, 0))),
    ]);
    expect(r.tag(r.length, "T")).toBe(133);
    expect(r.tag(r.length, "T")).toBe(tagOf(2 ** 29 - 1, 0));
    expect(thrown(() => reader(varintBytes(2n ** 40n)).tag(6, "T"))).toBe(
      "invalid tag (more than 32 bits) at offset 0 in T",
    );
  });
});

describe("ProtoReader fixed-width and length-delimited", () => {
  it("reads fixed32, fixed64 and doubles little-endian", () => {
    const b = Buffer.alloc(28);
    b.writeUInt32LE(0xdeadbeef, 0);
    b.writeBigUInt64LE(0x0123456789abcdefn, 4);
    b.writeBigUInt64LE(2n ** 64n - 1n, 12);
    b.writeDoubleLE(-1.25, 20);
    const r = new ProtoReader(b);
    expect(r.fixed32(28, "f")).toBe(0xdeadbeef);
    expect([r.fixed64(28, "f"), r.hi]).toEqual([0x89abcdef, 0x01234567]);
    expect(r.fixed64BigInt(28, "f")).toBe(2n ** 64n - 1n);
    expect(r.double(28, "f")).toBe(-1.25);
    expect(thrown(() => r.fixed32(28, "f"))).toBe("truncated fixed32 at offset 28 in f");
    const short = reader([1, 2, 3, 4, 5, 6, 7]);
    expect(thrown(() => short.fixed64(7, "f"))).toBe("truncated fixed64 at offset 0 in f");
    expect(thrown(() => short.fixed64BigInt(7, "f"))).toBe("truncated fixed64 at offset 0 in f");
    expect(thrown(() => short.double(7, "f"))).toBe("truncated double at offset 0 in f");
  });

  it("bounds length-delimited fields by the enclosing limit", () => {
    const r = reader([3, 0x61, 0x62, 0x63, 0x00]);
    expect(r.lenEnd(5, "s")).toBe(4);
    expect(thrown(() => reader([3, 0x61, 0x62, 0x63]).lenEnd(3, "s"))).toBe(
      "length 3 exceeds the 2 bytes left at offset 0 in s",
    );
    expect(thrown(() => reader(varintBytes(2n ** 33n)).lenEnd(10, "s"))).toBe(
      "length 8589934592 too large at offset 0 in s",
    );
  });

  it("decodes strings: ASCII, multi-byte UTF-8, and refuses invalid UTF-8", () => {
    const text = [
      "",
      "a",
      "abc",
      "abcd",
      "abcdefghijklmnopqrstuvwxyz",
      "é",
      "日本語",
      "🎉 ok",
      "mixed ascii then é",
    ];
    const bytes = text.flatMap((t) => {
      const b = [...Buffer.from(t)];
      return [...varintBytes(BigInt(b.length)), ...b];
    });
    const r = reader(bytes);
    r.window(0, bytes.length);
    for (const t of text) expect(r.stringField(r.length, "s")).toBe(t);
    // The same through the cache, twice, and outside any window.
    for (let round = 0; round < 2; round++) {
      const c = reader(bytes);
      for (const t of text) expect(c.cachedStringField(c.length, "s")).toBe(t);
    }
    for (const bad of [
      [0xff],
      [0xc3],
      [0xe2, 0x82],
      [0xed, 0xa0, 0x80],
      [0xc0, 0xaf],
      [0x61, 0x62, 0x63, 0x64, 0x80],
    ]) {
      const rb = reader([bad.length, ...bad]);
      expect(thrown(() => rb.stringField(rb.length, "M.f"))).toBe("invalid UTF-8 at offset 1 in M.f");
    }
  });
});

describe("ProtoReader.skip", () => {
  it("skips each wire type exactly", () => {
    const bytes = [
      ...varintBytes(BigInt(tagOf(1, WireType.VARINT))),
      ...varintBytes(2n ** 64n - 1n),
      ...varintBytes(BigInt(tagOf(2, WireType.I64))),
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      ...varintBytes(BigInt(tagOf(3, WireType.LEN))),
      2,
      9,
      9,
      ...varintBytes(BigInt(tagOf(4, WireType.I32))),
      1,
      2,
      3,
      4,
      ...varintBytes(BigInt(tagOf(5, WireType.SGROUP))),
      ...varintBytes(BigInt(tagOf(6, WireType.SGROUP))),
      ...varintBytes(BigInt(tagOf(7, WireType.LEN))),
      0,
      ...varintBytes(BigInt(tagOf(6, WireType.EGROUP))),
      ...varintBytes(BigInt(tagOf(5, WireType.EGROUP))),
      0x42,
    ];
    const r = reader(bytes);
    for (let i = 0; i < 5; i++) r.skip(r.tag(r.length, "m"), r.length, "m");
    expect(r.buf[r.pos]).toBe(0x42);
  });

  it("throws on truncated payloads and invalid tags", () => {
    const skipOne = (bytes: number[]) => {
      const r = reader(bytes);
      r.skip(r.tag(r.length, "m"), r.length, "m");
    };
    expect(thrown(() => skipOne([0x09, 1, 2, 3]))).toBe("truncated fixed64 field 1 at offset 1 in m");
    expect(thrown(() => skipOne([0x0d, 1, 2]))).toBe("truncated fixed32 field 1 at offset 1 in m");
    expect(thrown(() => skipOne([0x0a, 5, 1]))).toBe("length 5 exceeds the 1 bytes left at offset 1 in m");
    expect(thrown(() => skipOne([0x08, 0x80]))).toBe("truncated varint at offset 1 in m");
    expect(thrown(() => skipOne([0x06]))).toBe("invalid field number 0 (wire type 6) at offset 0 in m");
    expect(thrown(() => skipOne([0x0e]))).toBe("invalid wire type 6 for field 1 at offset 0 in m");
    expect(thrown(() => skipOne([0x0b]))).toBe("unterminated group 1 at offset 0 in m");
  });
});
