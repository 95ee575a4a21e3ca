import { randomBytes } from "node:crypto";

/**
 * A small protobuf writer for ExportTraceServiceRequest, for load generators and hostile-input
 * tests: it can write valid requests fast and also deliberately wrong ones (bad id lengths,
 * invalid UTF-8, deep nesting). Correctness of the product's decoder is tested against the real
 * OpenTelemetry serializer elsewhere; this is only a sender.
 */
export class ProtoWriter {
  private buf = Buffer.alloc(1024);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  varint(n: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(n));
    this.ensure(10);
    while (v > 0x7fn) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, "utf8"));
  }

  fixed64(field: number, v: bigint): this {
    this.tag(field, 1);
    this.ensure(8);
    this.buf.writeBigUInt64LE(v, this.pos);
    this.pos += 8;
    return this;
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export interface GenSpan {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId?: Buffer;
  name: string;
  kind?: number;
  startNs: bigint;
  endNs: bigint;
  attributes?: Array<[string, string]>;
  statusCode?: number;
}

export function writeSpan(w: ProtoWriter, s: GenSpan): void {
  w.bytes(1, s.traceId).bytes(2, s.spanId);
  if (s.parentSpanId) w.bytes(4, s.parentSpanId);
  w.string(5, s.name)
    .tag(6, 0)
    .varint(s.kind ?? 2);
  w.fixed64(7, s.startNs).fixed64(8, s.endNs);
  for (const [k, v] of s.attributes ?? [])
    w.message(9, (kv) => kv.string(1, k).message(2, (av) => av.string(1, v)));
  if (s.statusCode) w.message(15, (st) => st.tag(3, 0).varint(s.statusCode ?? 0));
}

/** One ExportTraceServiceRequest with one resource (service) and one scope. */
export function encodeRequest(
  service: string,
  spans: GenSpan[],
  resourceAttrs: Array<[string, string]> = [],
): Buffer {
  return encodeResources([{ service, spans, resourceAttrs }]);
}

/** One ExportTraceServiceRequest with a ResourceSpans (one scope) per entry. */
export function encodeResources(
  resources: Array<{ service: string; spans: GenSpan[]; resourceAttrs?: Array<[string, string]> }>,
): Buffer {
  const w = new ProtoWriter();
  for (const r of resources) {
    w.message(1, (rs) => {
      rs.message(1, (res) => {
        for (const [k, v] of [["service.name", r.service], ...(r.resourceAttrs ?? [])]) {
          res.message(1, (kv) => kv.string(1, k).message(2, (av) => av.string(1, v)));
        }
      });
      rs.message(2, (ss) => {
        ss.message(1, (scope) => scope.string(1, "skald-loadgen").string(2, "1.0.0"));
        for (const s of r.spans) ss.message(2, (sw) => writeSpan(sw, s));
      });
    });
  }
  return w.finish();
}

/**
 * A request of `count` spans in traces of 8 that cross services, as bench:service-map's steady-state
 * job estate: a SERVER root in one of `services`, and seven children of the root, each in another
 * service than the root (so in another ResourceSpans: every child is the child of a call between
 * services); five are SERVER spans, two CLIENT spans calling a database or a cache (virtual
 * nodes). Each service's spans are one ResourceSpans.
 */
export function generateCrossingRequest(opts: {
  services: string[];
  count: number;
  attrs: number;
  nowNs?: bigint;
}): { body: Buffer; spanIds: string[]; traceIds: string[] } {
  const now = opts.nowNs ?? BigInt(Date.now()) * 1_000_000n;
  const n = opts.services.length;
  const byService = new Map<string, GenSpan[]>();
  const spanIds: string[] = [];
  const traceIds: string[] = [];
  let traceId = randomBytes(16);
  let root = randomBytes(8);
  for (let i = 0; i < opts.count; i++) {
    const j = i % 8;
    const t = Math.floor(i / 8);
    if (j === 0) {
      traceId = randomBytes(16);
      root = randomBytes(8);
      traceIds.push(traceId.toString("hex"));
    }
    const spanId = j === 0 ? root : randomBytes(8);
    const service = opts.services[(t + j) % n];
    const start = now - BigInt(opts.count - i) * 1000n;
    const attributes: Array<[string, string]> = [];
    for (let a = 0; a < opts.attrs; a++) attributes.push([`attr.key${a}`, `value-${a}-${i % 50}`]);
    if (j >= 6)
      attributes.push(["db.system", j === 6 ? "postgresql" : "redis"], ["server.address", `db-${t % 5}`]);
    const spans = byService.get(service) ?? [];
    byService.set(service, spans);
    spans.push({
      traceId,
      spanId,
      parentSpanId: j === 0 ? undefined : root,
      name: `op-${i % 20}`,
      kind: j >= 6 ? 3 : 2,
      startNs: start,
      endNs: start + 1_000_000n + BigInt(i % 1000) * 1000n,
      attributes,
      statusCode: i % 97 === 0 ? 2 : 0,
    });
    spanIds.push(spanId.toString("hex"));
  }
  return {
    body: encodeResources([...byService].map(([service, spans]) => ({ service, spans }))),
    spanIds,
    traceIds,
  };
}

/** A request of `count` spans forming traces of `perTrace` spans, each with `attrs` attributes. */
export function generateRequest(opts: {
  service: string;
  count: number;
  attrs: number;
  perTrace?: number;
  nowNs?: bigint;
}): { body: Buffer; spanIds: string[]; traceIds: string[] } {
  const perTrace = opts.perTrace ?? 8;
  const now = opts.nowNs ?? BigInt(Date.now()) * 1_000_000n;
  const spans: GenSpan[] = [];
  let traceId = randomBytes(16);
  let root: Buffer | undefined;
  for (let i = 0; i < opts.count; i++) {
    if (i % perTrace === 0) {
      traceId = randomBytes(16);
      root = undefined;
    }
    const spanId = randomBytes(8);
    const start = now - BigInt(opts.count - i) * 1000n;
    const attributes: Array<[string, string]> = [];
    for (let a = 0; a < opts.attrs; a++) attributes.push([`attr.key${a}`, `value-${a}-${i % 50}`]);
    spans.push({
      traceId,
      spanId,
      parentSpanId: root,
      name: `op-${i % 20}`,
      kind: root ? 3 : 2,
      startNs: start,
      endNs: start + 1_000_000n + BigInt(i % 1000) * 1000n,
      attributes,
      statusCode: i % 97 === 0 ? 2 : 0,
    });
    root ??= spanId;
  }
  return {
    body: encodeRequest(opts.service, spans),
    spanIds: spans.map((s) => s.spanId.toString("hex")),
    traceIds: [...new Set(spans.map((s) => s.traceId.toString("hex")))],
  };
}

/** Where the trace and span ids of an encoded request sit (byte offsets), from `idOffsetsOf`. */
export interface IdOffsets {
  spanIds: number[];
  traceIds: number[];
}

/**
 * A copy of an encoded request whose trace and span ids (parent ids included) are all XORed with
 * one mask: its first four bytes come from `n`, the rest are random. Every `n` then gives a
 * request of other spans with the same shape (load generators re-send a few pre-encoded requests
 * and still store distinct spans), and the copies' ids are as random as an SDK's: a copy shares no
 * byte pattern with another copy of the same request, so the ids compress no better than real
 * ones. Links and parent ids inside the request keep pointing at the same spans. `idOffsets` comes
 * from `idOffsetsOf` (computed once per request).
 */
export function withIdsVaried(body: Buffer, idOffsets: IdOffsets, n: number): Buffer {
  const out = Buffer.from(body);
  const mask = randomBytes(16);
  // n times an odd constant: distinct for distinct n, and not a counter in the stored ids
  mask.writeUInt32LE(Math.imul(n, 0x9e3779b1) >>> 0, 0);
  const words = [0, 4, 8, 12].map((at) => mask.readUInt32LE(at));
  const xor = (at: number, bytes: number): void => {
    for (let w = 0; w < bytes; w += 4)
      out.writeUInt32LE((out.readUInt32LE(at + w) ^ words[w >> 2]) >>> 0, at + w);
  };
  for (const at of idOffsets.spanIds) xor(at, 8);
  for (const at of idOffsets.traceIds) xor(at, 16);
  return out;
}

/**
 * Where the ids of `spanIds` and their traces sit in `body` (every occurrence). Ids are random
 * bytes, so searching for them finds only the ids themselves.
 */
export function idOffsetsOf(body: Buffer, spanIds: string[], traceIds: string[]): IdOffsets {
  const find = (hexes: string[]): number[] => {
    const offsets: number[] = [];
    for (const hex of new Set(hexes)) {
      const id = Buffer.from(hex, "hex");
      for (let at = body.indexOf(id); at >= 0; at = body.indexOf(id, at + id.length)) offsets.push(at);
    }
    return offsets;
  };
  return { spanIds: find(spanIds), traceIds: find(traceIds) };
}
