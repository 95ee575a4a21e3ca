import { randomUUID } from "node:crypto";
import type { Logger } from "../log.js";
import type { Store } from "../store/store.js";
import type { Principal } from "./authenticator.js";

export interface AuditEvent {
  principal: Principal;
  /** e.g. "graphql query", "GET /api/v2/*". */
  action: string;
  /** What was touched: GraphQL root fields, or the request path. */
  target: string;
  status: number;
  source: string;
}

export interface AuditRow {
  tenant: string;
  at: string;
  principal: string;
  via: string;
  roles: string[];
  action: string;
  target: string;
  status: number;
  source: string;
}

export interface AuditLog {
  record(event: AuditEvent): void;
  /** Newest first, within the tenant. */
  list(
    tenant: string,
    opts: { fromMs?: number; toMs?: number; principal?: string; action?: string; limit: number },
  ): Promise<AuditRow[]>;
  /** Writes what is buffered; safe twice. */
  close(): Promise<void>;
}

const FLUSH_MS = 1000;
const MAX_BUFFERED = 10_000;
const MAX_TEXT = 2000;

/**
 * The audit log (table `audit_log`): who read config history, changed canary configs or used an
 * admin API, when, and with what outcome. Events are buffered for at most a second and written in
 * one insert; each is also logged at info level, so a store outage loses no trace of it. When the
 * buffer is full (store down for long), the oldest events are dropped and that is logged.
 */
export function createAuditLog(store: Store, logger: Logger): AuditLog {
  const log = logger.child({ component: "audit" });
  const table = `${store.database}.audit_log`;
  let buffer: Array<Record<string, unknown>> = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let closed = false;

  const flush = (): Promise<void> => {
    timer = undefined;
    if (buffer.length === 0) return flushing;
    const rows = buffer;
    buffer = [];
    flushing = flushing.then(async () => {
      try {
        await store.client.insert({ table, format: "JSONEachRow", values: rows });
      } catch (err) {
        log.error({ err, events: rows.length }, "audit events not stored (they are in this log)");
      }
    });
    return flushing;
  };

  return {
    record(e) {
      const row = {
        tenant: e.principal.tenant,
        at: Date.now(),
        principal: e.principal.name.slice(0, 200),
        via: e.principal.via,
        roles: [...e.principal.roles],
        action: e.action.slice(0, 200),
        target: e.target.slice(0, MAX_TEXT),
        status: e.status,
        source: e.source.slice(0, 100),
        event_id: randomUUID(),
      };
      log.info({ audit: row }, "audit");
      if (closed) return;
      if (buffer.length >= MAX_BUFFERED) {
        buffer.shift();
        log.warn("audit buffer full: oldest event dropped from the table (kept in this log)");
      }
      buffer.push({ ...row, at: (row.at / 1000).toFixed(3) });
      timer ??= setTimeout(flush, FLUSH_MS);
    },
    async list(tenant, opts) {
      const where = ["tenant = {tenant:String}"];
      if (opts.fromMs !== undefined) where.push("at >= fromUnixTimestamp64Milli({from:Int64})");
      if (opts.toMs !== undefined) where.push("at < fromUnixTimestamp64Milli({to:Int64})");
      if (opts.principal !== undefined) where.push("principal = {principal:String}");
      if (opts.action !== undefined) where.push("action = {action:String}");
      const rs = await store.client.query({
        query: `SELECT tenant, toString(at) AS at, principal, via, roles, action, target, status, source
                FROM ${table} FINAL WHERE ${where.join(" AND ")}
                ORDER BY at DESC, event_id LIMIT {limit:UInt32}`,
        query_params: {
          tenant,
          from: opts.fromMs,
          to: opts.toMs,
          principal: opts.principal,
          action: opts.action,
          limit: opts.limit,
        },
        format: "JSONEachRow",
      });
      return rs.json<AuditRow>();
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await flush();
    },
  };
}
