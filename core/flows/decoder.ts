import type { DecodeReport, FlowDropReason, FlowRecord, FlowSourceType } from "./model.js";
import { readV5Header, readV5Records, V5_HEADER, V5_MAX_COUNT, V5_RECORD } from "./netflow-v5.js";
import {
  type DomainState,
  defaultTemplateCacheLimits,
  TemplateCache,
  type TemplateCacheLimits,
} from "./template-cache.js";
import {
  decodeDataSet,
  type ParsedTemplates,
  parseIpfixTemplates,
  parseV9Templates,
  type SetContext,
} from "./template-sets.js";

export interface FlowDecoderLimits extends TemplateCacheLimits {
  /** Flow records one UDP packet may produce; more are dropped (record_limit). */
  maxRecordsPerPacket: number;
}

export const defaultFlowDecoderLimits = (): FlowDecoderLimits => ({
  ...defaultTemplateCacheLimits(),
  maxRecordsPerPacket: 4096,
});

export interface DecodeResult extends DecodeReport {
  flows: FlowRecord[];
  version: number;
}

const HALF = 2 ** 31;

/**
 * Decodes NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export packets from any number
 * of exporters. Never throws on packet content: whatever cannot be decoded is counted in the
 * result's `dropped` by reason. State (templates, held data sets, sequence numbers) is bounded by
 * the limits. Not safe to share between threads; one per receiver.
 */
export class FlowDecoder {
  readonly cache: TemplateCache;

  constructor(readonly limits: FlowDecoderLimits = defaultFlowDecoderLimits()) {
    this.cache = new TemplateCache(limits);
  }

  decode(b: Buffer, exporter: string, nowMs: number = Date.now()): DecodeResult {
    const r: DecodeResult = { flows: [], dropped: {}, sequenceGap: 0, version: 0 };
    const drop = (reason: FlowDropReason, n = 1) => {
      r.dropped[reason] = (r.dropped[reason] ?? 0) + n;
    };
    if (b.length < 4) {
      drop("truncated_header");
      return r;
    }
    r.version = b.readUInt16BE(0);
    if (r.version === 5) this.decodeV5(b, exporter, nowMs, r, drop);
    else if (r.version === 9 || r.version === 10) this.decodeTemplated(b, exporter, nowMs, r, drop);
    else drop("unknown_version");
    return r;
  }

  /** Expires held data sets and stale templates; returns the number of held sets dropped. */
  sweep(nowMs: number = Date.now()): number {
    return this.cache.sweep(nowMs);
  }

  private decodeV5(b: Buffer, exporter: string, nowMs: number, r: DecodeResult, drop: SetContext["drop"]) {
    if (b.length < V5_HEADER) return drop("truncated_header");
    const h = readV5Header(b);
    if (h.count === 0 || h.count > V5_MAX_COUNT || b.length < V5_HEADER + h.count * V5_RECORD) {
      return drop("bad_length", Math.max(1, Math.min(h.count, V5_MAX_COUNT)));
    }
    readV5Records(b, h, exporter, r.flows);
    // v5 flow_sequence counts flows: the next packet should start where this one ends.
    const d = this.cache.domain(exporter, h.engine, nowMs);
    r.sequenceGap = gap(d, h.sequence);
    d.nextSeq = (h.sequence + h.count) >>> 0;
  }

  private decodeTemplated(
    b: Buffer,
    exporter: string,
    nowMs: number,
    r: DecodeResult,
    drop: SetContext["drop"],
  ) {
    const ipfix = r.version === 10;
    const headerLen = ipfix ? 16 : 20;
    if (b.length < headerLen) return drop("truncated_header");
    let end = b.length;
    if (ipfix) {
      const length = b.readUInt16BE(2);
      if (length < headerLen || length > b.length) return drop("bad_length");
      end = length;
    }
    const uptime = ipfix ? -1 : b.readUInt32BE(4);
    const exportMs = b.readUInt32BE(ipfix ? 4 : 8) * 1000;
    const sequence = b.readUInt32BE(ipfix ? 8 : 12);
    const domainId = b.readUInt32BE(ipfix ? 12 : 16);
    const sourceType: FlowSourceType = ipfix ? "ipfix" : "netflow9";
    const domain = this.cache.domain(exporter, domainId, nowMs);
    const ctx: SetContext = {
      sourceType,
      exporter,
      domain,
      exportMs,
      headerUptimeMs: uptime,
      budget: { records: this.limits.maxRecordsPerPacket },
      drop,
    };
    let dataRecords = 0;
    let complete = true;
    let pos = headerLen;
    while (end - pos >= 4) {
      const setId = b.readUInt16BE(pos);
      const setLen = b.readUInt16BE(pos + 2);
      if (setLen < 4 || pos + setLen > end) {
        drop("truncated_set");
        complete = false;
        break;
      }
      const start = pos + 4;
      const setEnd = pos + setLen;
      pos = setEnd;
      const templateSet = ipfix ? setId === 2 || setId === 3 : setId === 0 || setId === 1;
      if (templateSet) {
        const options = ipfix ? setId === 3 : setId === 1;
        const parsed = ipfix
          ? parseIpfixTemplates(b, start, setEnd, options, nowMs, drop)
          : parseV9Templates(b, start, setEnd, options, nowMs, drop);
        this.install(domain, parsed, ctx, r.flows);
      } else if (setId >= 256) {
        const tpl = this.cache.get(domain, setId, nowMs);
        if (tpl) {
          dataRecords += decodeDataSet(tpl, b, start, setEnd, ctx, r.flows);
        } else {
          complete = false;
          const held = this.cache.hold(domain, {
            templateId: setId,
            body: Buffer.from(b.subarray(start, setEnd)),
            exportMs,
            headerUptimeMs: uptime,
            arrivedMs: nowMs,
          });
          if (!held) drop("pending_overflow");
        }
      } else {
        drop("bad_set_id");
      }
    }
    if (ipfix) {
      // IPFIX sequence numbers count data records; unknown when some sets could not be decoded.
      r.sequenceGap = gap(domain, sequence);
      domain.nextSeq = complete ? (sequence + dataRecords) >>> 0 : -1;
    } else {
      // NetFlow v9 sequence numbers count export packets.
      r.sequenceGap = gap(domain, sequence);
      domain.nextSeq = (sequence + 1) >>> 0;
    }
  }

  /**
   * Installs templates (replacing same ids) and decodes the data sets held for them (their
   * records belong to earlier packets, so they do not count towards this packet's sequence).
   */
  private install(domain: DomainState, parsed: ParsedTemplates, ctx: SetContext, out: FlowRecord[]): void {
    for (const id of parsed.withdrawn) this.cache.withdraw(domain, id);
    for (const t of parsed.templates) {
      if (!this.cache.put(domain, t)) {
        ctx.drop("template_limit");
        continue;
      }
      for (const p of this.cache.release(domain, t.id)) {
        const held: SetContext = { ...ctx, exportMs: p.exportMs, headerUptimeMs: p.headerUptimeMs };
        decodeDataSet(t, p.body, 0, p.body.length, held, out);
      }
    }
  }
}

/** Units lost between the expected and the received sequence number; resets (jumps back) are 0. */
function gap(d: DomainState, sequence: number): number {
  if (d.nextSeq < 0) return 0;
  const diff = (sequence - d.nextSeq) >>> 0;
  return diff > 0 && diff < HALF ? diff : 0;
}
