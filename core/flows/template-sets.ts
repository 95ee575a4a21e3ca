import { applyField, newTimes, resetTimes, resolveTimes } from "./fields.js";
import { emptyFlow, type FlowDropReason, type FlowRecord, type FlowSourceType } from "./model.js";
import type { DomainState, Template, TemplateField } from "./template-cache.js";

/** More fields than any real template has; a longer one is refused (bad_template). */
export const MAX_TEMPLATE_FIELDS = 512;
const VARIABLE = 65535;

export interface SetContext {
  sourceType: FlowSourceType;
  exporter: string;
  domain: DomainState;
  exportMs: number;
  /** NetFlow v9 header sysUptime, -1 for IPFIX. */
  headerUptimeMs: number;
  /** Records this packet may still produce (amplification bound); decremented. */
  budget: { records: number };
  drop(reason: FlowDropReason, n?: number): void;
}

/** Parsed template records of one template set; `bad` is set if parsing stopped on an error. */
export interface ParsedTemplates {
  templates: Template[];
  withdrawn: number[];
}

function finish(id: number, fields: TemplateField[], options: boolean, nowMs: number): Template {
  let minLength = 0;
  for (const f of fields) minLength += f.len === VARIABLE ? 1 : f.len;
  return { id, fields, options, minLength, refreshedMs: nowMs };
}

/**
 * IPFIX template (set id 2) or options template (set id 3) records, RFC 7011 3.4. A record with
 * field count 0 withdraws its id. Enterprise elements are kept as skipped fields (ie -1).
 */
export function parseIpfixTemplates(
  b: Buffer,
  start: number,
  end: number,
  options: boolean,
  nowMs: number,
  drop: SetContext["drop"],
): ParsedTemplates {
  const out: ParsedTemplates = { templates: [], withdrawn: [] };
  let pos = start;
  while (end - pos >= 4) {
    const id = b.readUInt16BE(pos);
    const count = b.readUInt16BE(pos + 2);
    pos += 4;
    if (id === 0 && count === 0) break; // padding
    if (count === 0) {
      out.withdrawn.push(id);
      continue;
    }
    if (id < 256 || count > MAX_TEMPLATE_FIELDS) {
      drop("bad_template");
      return out;
    }
    let scope = 0;
    if (options) {
      if (end - pos < 2) {
        drop("truncated_set");
        return out;
      }
      scope = b.readUInt16BE(pos);
      pos += 2;
      if (scope === 0 || scope > count) {
        drop("bad_template");
        return out;
      }
    }
    const fields: TemplateField[] = [];
    for (let i = 0; i < count; i++) {
      if (end - pos < 4) {
        drop("truncated_set");
        return out;
      }
      let ie = b.readUInt16BE(pos);
      const len = b.readUInt16BE(pos + 2);
      pos += 4;
      if (ie & 0x8000) {
        if (end - pos < 4) {
          drop("truncated_set");
          return out;
        }
        pos += 4;
        ie = -1;
      }
      fields.push({ ie, len });
    }
    const t = finish(id, fields, options, nowMs);
    if (t.minLength === 0) {
      drop("bad_template"); // zero-length records would decode forever from nothing
      continue;
    }
    out.templates.push(t);
  }
  return out;
}

/**
 * NetFlow v9 template (flowset 0) or options template (flowset 1) records, RFC 3954 5.2 and 6.1.
 * Option scope fields use their own numbering (system, interface, …), so they are skipped.
 */
export function parseV9Templates(
  b: Buffer,
  start: number,
  end: number,
  options: boolean,
  nowMs: number,
  drop: SetContext["drop"],
): ParsedTemplates {
  const out: ParsedTemplates = { templates: [], withdrawn: [] };
  let pos = start;
  while (end - pos >= (options ? 6 : 4)) {
    const id = b.readUInt16BE(pos);
    let scopeFields = 0;
    let count: number;
    if (options) {
      const scopeLen = b.readUInt16BE(pos + 2);
      const optionLen = b.readUInt16BE(pos + 4);
      pos += 6;
      if (scopeLen % 4 !== 0 || optionLen % 4 !== 0) {
        drop("bad_template");
        return out;
      }
      scopeFields = scopeLen / 4;
      count = scopeFields + optionLen / 4;
    } else {
      count = b.readUInt16BE(pos + 2);
      pos += 4;
    }
    if (id === 0 && count === 0) break; // padding
    if (id < 256 || count === 0 || count > MAX_TEMPLATE_FIELDS) {
      drop("bad_template");
      return out;
    }
    const fields: TemplateField[] = [];
    for (let i = 0; i < count; i++) {
      if (end - pos < 4) {
        drop("truncated_set");
        return out;
      }
      const ie = b.readUInt16BE(pos);
      const len = b.readUInt16BE(pos + 2);
      pos += 4;
      // v9 has no variable-length fields: 65535 is just an absurd fixed length.
      fields.push({ ie: i < scopeFields ? -1 : ie, len: len === VARIABLE ? VARIABLE - 1 : len });
    }
    const t = finish(id, fields, options, nowMs);
    if (t.minLength === 0) {
      drop("bad_template");
      continue;
    }
    out.templates.push(t);
  }
  return out;
}

const times = newTimes();

/**
 * Decodes the data records of one set with its template into `out` (options records update the
 * domain's systemInitTime instead). Trailing bytes shorter than a record are padding. Returns the
 * records decoded, for IPFIX sequence accounting.
 */
export function decodeDataSet(
  tpl: Template,
  b: Buffer,
  start: number,
  end: number,
  ctx: SetContext,
  out: FlowRecord[],
): number {
  let pos = start;
  let n = 0;
  while (end - pos >= tpl.minLength) {
    if (ctx.budget.records <= 0) {
      ctx.drop("record_limit");
      break;
    }
    const f = emptyFlow(ctx.sourceType, ctx.exporter, ctx.domain.domain);
    resetTimes(times);
    let ok = true;
    for (const field of tpl.fields) {
      let len = field.len;
      if (len === VARIABLE) {
        if (pos >= end) {
          ok = false;
          break;
        }
        len = b[pos++];
        if (len === 255) {
          if (end - pos < 2) {
            ok = false;
            break;
          }
          len = b.readUInt16BE(pos);
          pos += 2;
        }
      }
      if (end - pos < len) {
        ok = false;
        break;
      }
      if (field.ie >= 0 && len > 0) applyField(f, times, field.ie, b, pos, len);
      pos += len;
    }
    if (!ok) {
      ctx.drop("bad_record");
      break;
    }
    n++;
    ctx.budget.records--;
    if (tpl.options) {
      if (times.initMs >= 0) ctx.domain.initMs = times.initMs;
      continue;
    }
    resolveTimes(f, times, ctx.exportMs, ctx.headerUptimeMs, ctx.domain.initMs);
    out.push(f);
  }
  return n;
}
