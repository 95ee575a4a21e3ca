import { emptyFlow, type FlowDropReason, type FlowRecord } from "./model.js";

/** The default (version 2) VPC Flow Logs format. */
export const VPC_DEFAULT_FORMAT =
  "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

/** Every field name of versions 2 to 5 (AWS "Available fields"); others are kept in `extra`. */
export const VPC_KNOWN_FIELDS = new Set([
  ...VPC_DEFAULT_FORMAT.split(" "),
  "vpc-id",
  "subnet-id",
  "instance-id",
  "tcp-flags",
  "type",
  "pkt-srcaddr",
  "pkt-dstaddr",
  "region",
  "az-id",
  "sublocation-type",
  "sublocation-id",
  "pkt-src-aws-service",
  "pkt-dst-aws-service",
  "flow-direction",
  "traffic-path",
]);

export interface VpcParseResult {
  flows: FlowRecord[];
  dropped: Partial<Record<FlowDropReason, number>>;
}

/**
 * Parses a format string as written in AWS (`${version} ${srcaddr} …` or plain names); returns
 * the field names or throws an Error naming the problem.
 */
export function parseVpcFormat(format: string): string[] {
  const names = format
    .trim()
    .split(/\s+/)
    .map((n) => n.replace(/^\$\{(.+)\}$/, "$1"));
  if (names.length === 0 || names[0] === "") throw new Error("VPC flow log format is empty");
  for (const n of names)
    if (!/^[a-z0-9-]+$/.test(n)) throw new Error(`VPC flow log format: bad field "${n}"`);
  return names;
}

const int = (v: string) => (v === "-" ? 0 : Number.parseInt(v, 10) || 0);

/**
 * Parses VPC Flow Logs lines in the given format. A line that repeats the field names (the header
 * of an S3 log file) switches to that format. `-` means "no value" (0 or empty). NODATA records
 * (no traffic in the window) and SKIPDATA records (AWS skipped records) carry no flow and are
 * counted, like lines whose field count does not match the format.
 */
export function parseVpcLines(text: string, format: string[]): VpcParseResult {
  const r: VpcParseResult = { flows: [], dropped: {} };
  const drop = (reason: FlowDropReason) => {
    r.dropped[reason] = (r.dropped[reason] ?? 0) + 1;
  };
  let names = format;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const v = line.split(/\s+/);
    if (v[0] === names[0] && !/^\d/.test(v[0])) {
      try {
        names = parseVpcFormat(line);
      } catch {
        drop("malformed_line");
      }
      continue;
    }
    if (v.length !== names.length) {
      drop("malformed_line");
      continue;
    }
    const f = emptyFlow("vpc", "", 0);
    const extra: Record<string, string> = {};
    let status = "";
    for (let i = 0; i < names.length; i++) {
      const x = v[i];
      switch (names[i]) {
        case "srcaddr":
          f.srcAddr = x === "-" ? "" : x;
          break;
        case "dstaddr":
          f.dstAddr = x === "-" ? "" : x;
          break;
        case "srcport":
          f.srcPort = int(x) & 0xffff;
          break;
        case "dstport":
          f.dstPort = int(x) & 0xffff;
          break;
        case "protocol":
          f.protocol = int(x) & 0xff;
          break;
        case "packets":
          f.packets = int(x);
          break;
        case "bytes":
          f.bytes = int(x);
          break;
        case "start":
          f.startMs = int(x) * 1000;
          break;
        case "end":
          f.endMs = int(x) * 1000;
          break;
        case "tcp-flags":
          f.tcpFlags = int(x) & 0xff;
          break;
        case "interface-id":
          f.exporter = x === "-" ? "" : x;
          if (x !== "-") extra[names[i]] = x;
          break;
        case "flow-direction":
          f.direction = x === "ingress" ? 0 : x === "egress" ? 1 : 255;
          if (x !== "-") extra[names[i]] = x;
          break;
        case "log-status":
          status = x;
          extra[names[i]] = x;
          break;
        default:
          if (x !== "-") extra[names[i]] = x;
      }
    }
    if (status === "NODATA") {
      drop("vpc_nodata");
      continue;
    }
    if (status === "SKIPDATA") {
      drop("vpc_skipdata");
      continue;
    }
    if (f.endMs === 0) f.endMs = f.startMs;
    f.extra = extra;
    r.flows.push(f);
  }
  return r;
}
