import { describe, expect, it } from "vitest";
import { defaultFlowDecoderLimits, FlowDecoder } from "./decoder.js";
import {
  BASIC_FIELDS,
  basicRecord,
  ipfixMessage,
  ipfixTemplate,
  set,
  uint,
  v9Message,
  v9Template,
} from "./testing/build.js";

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const secs = Math.floor(T0 / 1000);
const rec = (bytes = 100) => basicRecord("10.0.0.1", "10.0.0.2", 1000, 80, 6, bytes, 2, T0, T0 + 5);
const tplSet = (id = 256, fields = BASIC_FIELDS) => set(2, ipfixTemplate(id, fields));
const msg = (sets: Buffer[], seq = 0, domain = 1) => ipfixMessage({ domain, seq, exportSecs: secs, sets });

/** Deterministic pseudo-random bytes (xorshift), so a failure reproduces. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

describe("hostile and malformed export packets", () => {
  it("counts truncated headers, unknown versions and bad lengths", () => {
    const d = new FlowDecoder();
    expect(d.decode(Buffer.from([0, 10, 0]), "e").dropped).toEqual({ truncated_header: 1 });
    expect(d.decode(Buffer.from([0, 7, 0, 0, 0, 0]), "e").dropped).toEqual({ unknown_version: 1 });
    const m = msg([tplSet(), set(256, rec())]);
    expect(d.decode(m.subarray(0, m.length - 10), "e").dropped).toEqual({ bad_length: 1 });
    const v5 = Buffer.alloc(24 + 47);
    v5.writeUInt16BE(5, 0);
    v5.writeUInt16BE(1, 2);
    expect(d.decode(v5, "e").dropped).toEqual({ bad_length: 1 });
  });

  it("counts a set whose length runs past the message, keeping earlier sets", () => {
    const d = new FlowDecoder();
    const r = d.decode(msg([tplSet(), set(256, rec()), set(256, rec(), 400)]), "e");
    expect(r.flows).toHaveLength(1);
    expect(r.dropped).toEqual({ truncated_set: 1 });
  });

  it("refuses zero-length templates (records from nothing) and survives huge field lengths", () => {
    const d = new FlowDecoder();
    const zero = d.decode(
      msg([
        tplSet(300, [
          [8, 0],
          [12, 0],
        ]),
        set(300, Buffer.alloc(8)),
      ]),
      "e",
    );
    expect(zero.dropped.bad_template).toBe(1);
    expect(zero.flows).toHaveLength(0);
    const huge = d.decode(msg([tplSet(301, [[8, 65000]]), set(301, Buffer.alloc(64))]), "e");
    expect(huge.flows).toHaveLength(0);
    const vhuge = d.decode(
      msg([tplSet(302, [[82, 65535]]), set(302, Buffer.from([255, 0xff, 0xff, 1]))]),
      "e",
    );
    expect(vhuge.flows).toHaveLength(0);
    expect(vhuge.dropped.bad_record).toBe(1);
  });

  it("bounds amplification: tiny records in a large packet stop at maxRecordsPerPacket", () => {
    const d = new FlowDecoder({ ...defaultFlowDecoderLimits(), maxRecordsPerPacket: 1000 });
    const r = d.decode(msg([tplSet(310, [[4, 1]]), set(310, Buffer.alloc(60_000, 6))]), "e");
    expect(r.flows).toHaveLength(1000);
    expect(r.dropped.record_limit).toBe(1);
  });

  it("a new template for an existing id replaces it; field count 0 withdraws it", () => {
    const d = new FlowDecoder();
    d.decode(msg([tplSet()]), "e");
    const swapped = d.decode(
      msg([
        tplSet(256, [
          [12, 4],
          [8, 4],
        ]),
        set(256, Buffer.from([1, 1, 1, 1, 2, 2, 2, 2])),
      ]),
      "e",
    );
    expect(swapped.flows.map((f) => [f.srcAddr, f.dstAddr])).toEqual([["2.2.2.2", "1.1.1.1"]]);
    expect(d.cache.templateCount).toBe(1);
    d.decode(msg([set(2, Buffer.from([1, 0, 0, 0]))]), "e");
    expect(d.cache.templateCount).toBe(0);
  });

  it("holds data that arrives before its template, then decodes it or expires it (counted)", () => {
    const d = new FlowDecoder({ ...defaultFlowDecoderLimits(), pendingTimeoutMs: 1000 });
    expect(d.decode(msg([set(256, rec(111))]), "e", 0).flows).toHaveLength(0);
    const later = d.decode(msg([tplSet()]), "e", 10);
    expect(later.flows.map((f) => f.bytes)).toEqual([111]);
    d.decode(msg([set(257, rec(5))]), "e", 20);
    expect(d.cache.pendingByteCount).toBeGreaterThan(0);
    expect(d.sweep(5000)).toBe(1);
    expect(d.cache.pendingByteCount).toBe(0);
  });

  it("bounds held data, templates per domain and domains", () => {
    const limits = {
      ...defaultFlowDecoderLimits(),
      pendingMaxBytes: 1000,
      maxTemplatesPerDomain: 4,
      maxDomains: 8,
    };
    const d = new FlowDecoder(limits);
    let overflow = 0;
    for (let i = 0; i < 100; i++)
      overflow += d.decode(msg([set(400 + i, rec())]), "e").dropped.pending_overflow ?? 0;
    expect(d.cache.pendingByteCount).toBeLessThanOrEqual(1000);
    expect(overflow).toBe(100 - Math.floor(1000 / rec().length));
    let refused = 0;
    for (let i = 0; i < 10; i++) refused += d.decode(msg([tplSet(600 + i)]), "x").dropped.template_limit ?? 0;
    expect(refused).toBe(6);
    for (let i = 0; i < 50; i++) d.decode(msg([tplSet()], 0, i), `10.0.0.${i}`);
    expect(d.cache.domainCount).toBeLessThanOrEqual(8);
  });

  it("templates expire when not refreshed", () => {
    const d = new FlowDecoder({ ...defaultFlowDecoderLimits(), templateTimeoutMs: 60_000 });
    d.decode(msg([tplSet()]), "e", 0);
    expect(d.decode(msg([set(256, rec())]), "e", 30_000).flows).toHaveLength(1);
    expect(d.decode(msg([set(256, rec())]), "e", 200_000).flows).toHaveLength(0);
  });

  it("never throws on garbage or mutated packets, and its state stays bounded", () => {
    const limits = { ...defaultFlowDecoderLimits(), pendingMaxBytes: 64 * 1024, maxDomains: 16 };
    const d = new FlowDecoder(limits);
    const rand = rng(42);
    const valid = [
      msg([tplSet(), set(256, Buffer.concat([rec(), rec()]))]),
      v9Message({
        sourceId: 1,
        seq: 1,
        exportSecs: secs,
        uptimeMs: 1000,
        sets: [set(0, v9Template(256, BASIC_FIELDS)), set(256, rec())],
      }),
    ];
    for (let i = 0; i < 20_000; i++) {
      let b: Buffer;
      if (i % 2 === 0) {
        b = Buffer.alloc(Math.floor(rand() * 1500));
        for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
        b[1] = [5, 9, 10][i % 3];
        b[0] = 0;
      } else {
        b = Buffer.from(valid[i % 2 === 1 && i % 4 === 1 ? 0 : 1]);
        for (let k = 0; k < 1 + Math.floor(rand() * 6); k++)
          b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
        if (rand() < 0.3) b = b.subarray(0, Math.floor(rand() * b.length));
      }
      try {
        d.decode(b, `192.0.2.${i % 40}`, i);
      } catch (err) {
        throw new Error(`packet ${i} (${b.toString("hex")}) threw: ${err}`);
      }
    }
    expect(d.cache.pendingByteCount).toBeLessThanOrEqual(64 * 1024);
    expect(d.cache.domainCount).toBeLessThanOrEqual(16);
  });
});

describe("sequence numbers", () => {
  it("IPFIX counts lost data records per domain; v9 counts lost packets", () => {
    const d = new FlowDecoder();
    expect(d.decode(msg([tplSet(), set(256, Buffer.concat([rec(), rec()]))], 100), "e").sequenceGap).toBe(0);
    expect(d.decode(msg([set(256, rec())], 102), "e").sequenceGap).toBe(0);
    expect(d.decode(msg([set(256, rec())], 110), "e").sequenceGap).toBe(7);
    const v9 = (seq: number) =>
      v9Message({
        sourceId: 7,
        seq,
        exportSecs: secs,
        uptimeMs: 5000,
        sets: [set(0, v9Template(256, BASIC_FIELDS))],
      });
    d.decode(v9(1), "f");
    expect(d.decode(v9(2), "f").sequenceGap).toBe(0);
    expect(d.decode(v9(5), "f").sequenceGap).toBe(2);
    expect(d.decode(v9(1), "f").sequenceGap).toBe(0); // exporter restart
  });
});

describe("information elements", () => {
  it("decodes IPv6, skips enterprise and variable-length elements", () => {
    const d = new FlowDecoder();
    const v6 = Buffer.from("20010db8000000000000000000000001", "hex");
    const fields: Array<[number, number, number?]> = [
      [27, 16],
      [28, 16],
      [1000, 4, 9],
      [82, 65535],
      [1, 4],
      [2, 4],
      [6, 2],
      [10, 4],
      [14, 4],
      [58, 2],
      [61, 1],
    ];
    const data = Buffer.concat([
      v6,
      Buffer.from("fe800000000000000000000000000abc", "hex"),
      uint(1, 4),
      Buffer.from([3, 0x65, 0x74, 0x68]),
      uint(1234, 4),
      uint(3, 4),
      uint(0x12, 2),
      uint(7, 4),
      uint(8, 4),
      uint(42, 2),
      uint(1, 1),
    ]);
    const [f] = d.decode(msg([tplSet(256, fields), set(256, data)]), "e").flows;
    expect(f).toMatchObject({
      srcAddr: "2001:db8::1",
      dstAddr: "fe80::abc",
      bytes: 1234,
      packets: 3,
      tcpFlags: 0x12,
      inputIf: 7,
      outputIf: 8,
      vlan: 42,
      direction: 1,
    });
  });

  const timed = (fields: Array<[number, number]>, values: Buffer[], opts: Buffer[] = []) => {
    const d = new FlowDecoder();
    const sets = [...opts, tplSet(256, fields), set(256, Buffer.concat(values))];
    const [f] = d.decode(msg(sets), "e").flows;
    return [f.startMs, f.endMs];
  };

  it("resolves every start/end encoding", () => {
    expect(
      timed(
        [
          [150, 4],
          [151, 4],
        ],
        [uint(secs, 4), uint(secs + 2, 4)],
      ),
    ).toEqual([T0, T0 + 2000]);
    expect(
      timed(
        [
          [152, 8],
          [153, 8],
        ],
        [uint(T0 - 5, 8), uint(T0, 8)],
      ),
    ).toEqual([T0 - 5, T0]);
    const [s, e] = timed(
      [
        [154, 8],
        [157, 8],
      ],
      [ntpBuf(T0 + 0.25), ntpBuf(T0 + 1.5)],
    );
    expect(s).toBeCloseTo(T0 + 0.25, 3);
    expect(e).toBeCloseTo(T0 + 1.5, 3);
    expect(
      timed(
        [
          [158, 4],
          [159, 4],
        ],
        [uint(3_000_000, 4), uint(1_000_000, 4)],
      ),
    ).toEqual([T0 - 3000, T0 - 1000]);
    expect(
      timed(
        [
          [160, 8],
          [22, 4],
          [21, 4],
        ],
        [uint(T0 - 60_000, 8), uint(10_000, 4), uint(20_000, 4)],
      ),
    ).toEqual([T0 - 50_000, T0 - 40_000]);
    // systemInitTimeMilliseconds from options data (as softflowd sends it)
    const opts = [
      set(
        3,
        ipfixTemplate(
          257,
          [
            [149, 4],
            [160, 8],
          ],
          1,
        ),
      ),
      set(257, Buffer.concat([uint(1, 4), uint(T0 - 60_000, 8)])),
    ];
    expect(
      timed(
        [
          [22, 4],
          [21, 4],
        ],
        [uint(10_000, 4), uint(20_000, 4)],
        opts,
      ),
    ).toEqual([T0 - 50_000, T0 - 40_000]);
    expect(
      timed(
        [
          [153, 8],
          [161, 4],
        ],
        [uint(T0, 8), uint(700, 4)],
      ),
    ).toEqual([T0 - 700, T0]);
  });

  it("v9 uptime-relative times use the header uptime and export time, across a 32-bit wrap", () => {
    const d = new FlowDecoder();
    const m = v9Message({
      sourceId: 1,
      seq: 0,
      exportSecs: secs,
      uptimeMs: 500,
      sets: [
        set(
          0,
          v9Template(256, [
            [22, 4],
            [21, 4],
            [1, 4],
          ]),
        ),
        set(256, Buffer.concat([uint(2 ** 32 - 1500, 4), uint(100, 4), uint(9, 4)])),
      ],
    });
    const [f] = d.decode(m, "e").flows;
    expect([f.startMs, f.endMs]).toEqual([T0 - 2000, T0 - 400]);
  });
});

function ntpBuf(ms: number): Buffer {
  const s = Math.floor(ms / 1000);
  return Buffer.concat([
    uint(s + 2_208_988_800, 4),
    uint(Math.round(((ms - s * 1000) / 1000) * 4294967296), 4),
  ]);
}
