import { invalidInput } from "../../core/errors.js";
import type { Store } from "../../core/store/store.js";
import { Params, type SqlRunner } from "../sql.js";
import { type FlowGroup, type LabelInput, unknownHolderLabels } from "./enrich.js";

export interface MatrixRow {
  source: string;
  destination: string;
  bytes: number;
  packets: number;
  flows: number;
}

const MAX_WINDOW_NS = 31n * 86_400n * 1_000_000_000n;
const MAX_LIMIT = 10_000;

export interface MatrixQuery {
  tenant: string;
  from: bigint;
  to: bigint;
  group: FlowGroup;
  limit: number;
  /** Keep only rows whose two sides differ (inter-zone / inter-region). */
  crossOnly?: boolean;
}

/** Builds the enriched label query from address pairs; see enrich.ts for the contract. */
export type LabelSql = (
  input: LabelInput,
  group: FlowGroup,
  p: Params,
  tenant: string,
  sql: SqlRunner,
) => string | Promise<string>;

/**
 * Reads flow totals from the per-minute address-pair rollup (never the raw flows), so a 24-hour
 * question reads at most 1,440 minutes of pairs whatever the flow rate was.
 */
export class FlowReader {
  constructor(
    private readonly store: Store,
    private readonly sql: SqlRunner,
    private readonly labels: LabelSql = (input) => unknownHolderLabels(input),
  ) {}

  async matrix(q: MatrixQuery): Promise<MatrixRow[]> {
    if (q.to <= q.from) throw invalidInput("BAD_TIME_RANGE", "`to` must be after `from`");
    if (q.to - q.from > MAX_WINDOW_NS)
      throw invalidInput("BAD_TIME_RANGE", "the window is longer than 31 days");
    if (q.limit < 1 || q.limit > MAX_LIMIT) throw invalidInput("BAD_LIMIT", `limit must be 1..${MAX_LIMIT}`);
    const p = new Params();
    const db = this.store.database;
    const t = p.bind("String", q.tenant);
    const from = `toStartOfMinute(${p.time(q.from)})`;
    const to = p.time(q.to);
    // Whole hours from the hourly rollup, the partial hours at either edge from the minutes.
    const h0 = `toStartOfHour(${from} + INTERVAL 59 MINUTE)`;
    const h1 = `greatest(toStartOfHour(${to}), ${h0})`;
    const cols = "src_addr, dst_addr, bytes, packets, flows";
    const windowPairs = `SELECT ${cols} FROM ${db}.flows_hour_pairs WHERE tenant = ${t} AND hour >= ${h0} AND hour < ${h1}
        UNION ALL
        SELECT ${cols} FROM ${db}.flows_minute_pairs WHERE tenant = ${t} AND minute >= ${from} AND minute < ${to}
          AND (minute < ${h0} OR minute >= ${h1})`;
    const inner =
      q.group === "ADDRESS"
        ? `SELECT src_addr AS source, dst_addr AS destination, bytes, packets, flows FROM (${windowPairs})`
        : await this.labels(
            {
              windowPairs,
              hourPairs: `SELECT hour, ${cols} FROM ${db}.flows_hour_pairs WHERE tenant = ${t} AND hour >= ${h0} AND hour < ${h1}`,
              minutePairs: `SELECT minute, ${cols} FROM ${db}.flows_minute_pairs WHERE tenant = ${t} AND minute >= ${from} AND minute < ${to}`,
              fromMinute: `toDateTime64(${from}, 9, 'UTC')`,
              to,
              h0,
              h1,
            },
            q.group,
            p,
            q.tenant,
            this.sql,
          );
    const rows = await this.sql.rows<Record<string, string | number>>(
      "flow_matrix",
      `SELECT source, destination, sum(bytes) AS b, sum(packets) AS pk, sum(flows) AS f
       FROM (${inner})
       GROUP BY source, destination ${q.crossOnly ? "HAVING source != destination" : ""}
       ORDER BY b DESC, source, destination
       LIMIT ${p.bind("UInt32", q.limit)}`,
      p,
    );
    return rows.map((r) => ({
      source: String(r.source),
      destination: String(r.destination),
      bytes: Number(r.b),
      packets: Number(r.pk),
      flows: Number(r.f),
    }));
  }
}
