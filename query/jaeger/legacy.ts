import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { parseTraceId } from "../ids.js";
import { nowNanos } from "../time.js";
import { type DependencyLink, readDependencyLinks } from "./dependencies.js";
import type { JaegerContext } from "./index.js";
import { toJaegerTrace } from "./model.js";
import {
  all,
  countParam,
  durationParam,
  intParam,
  microsParam,
  one,
  ParamError,
  type Query,
  tagsParam,
} from "./params.js";
import { JAEGER_KIND, readTraces, searchTraceIds, tagsToFilter } from "./search.js";

/**
 * Jaeger's legacy JSON query API (jaeger cmd/query/app/http_handler.go), under `prefix`:
 * every answer is the envelope `{data, total, limit, offset, errors}`; errors are
 * `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"..."}]}`.
 */

/** Jaeger's defaults: 100 traces per search, 1 h search window, 24 h dependency lookback. */
const DEFAULT_LIMIT = 100;
const HOUR_NS = 3_600_000_000_000n;
const DAY_MS = 86_400_000n;

interface StructuredError {
  code: number;
  msg: string;
  traceID?: string;
}

export function envelope(data: unknown, total = 0, errors: StructuredError[] | null = null) {
  return { data, total, limit: 0, offset: 0, errors };
}

export function sendLegacyError(reply: FastifyReply, code: number, msg: string): FastifyReply {
  return reply.status(code).send({ data: null, total: 0, limit: 0, offset: 0, errors: [{ code, msg }] });
}

export function registerLegacyRoutes(app: FastifyInstance, prefix: string, ctx: JaegerContext): void {
  const { handle } = ctx;
  const get = (path: string, fn: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    app.get(`${prefix}${path}`, (req, reply) => handle("legacy", req, reply, fn));

  get("/api/services", async (req) => {
    const services = await ctx.reader.listServices(ctx.tenant(req));
    return envelope(
      services.map((s) => s.name),
      services.length,
    );
  });

  get("/api/services/:service/operations", async (req) => {
    const { service } = req.params as { service: string };
    const ops = await ctx.reader.listOperations(ctx.tenant(req), service);
    const names = [...new Set(ops.map((o) => o.name))];
    return envelope(names, names.length);
  });

  get("/api/operations", async (req) => {
    const q = req.query as Query;
    const service = one(q, "service");
    if (service === undefined) throw new ParamError("service", "parameter 'service' is required");
    const kind = spanKindParam(q, "spanKind");
    const ops = await ctx.reader.listOperations(ctx.tenant(req), service, kind);
    const data = ops.map((o) => ({ name: o.name, spanKind: JAEGER_KIND[o.kind] ?? "" }));
    return envelope(data, data.length);
  });

  get("/api/traces", async (req) => {
    const q = req.query as Query;
    const tenant = ctx.tenant(req);
    const ids = all(q, "traceID").map((id) => {
      try {
        return parseTraceId(id.padStart(32, "0"));
      } catch (err) {
        throw new ParamError("traceID", `cannot parse traceID param: ${(err as Error).message}`);
      }
    });
    if (ids.length > 0) {
      const traces = await readTraces(ctx.reader, ctx.sql, tenant, ids);
      const found = new Set(traces.map((t) => t[0].traceId));
      const errors = ids
        .filter((id) => !found.has(id))
        .map((id) => ({ code: 404, msg: "trace not found", traceID: id }));
      return envelope(
        traces.map((t) => toJaegerTrace(t[0].traceId, t)),
        0,
        errors.length ? errors : null,
      );
    }
    const service = one(q, "service");
    if (service === undefined) throw new ParamError("service", "parameter 'service' is required");
    const endNs = microsParam(q, "end") ?? nowNanos();
    const startNs = microsParam(q, "start") ?? endNs - HOUR_NS;
    if (startNs > endNs) throw new ParamError("start", "'start' should be before 'end'");
    const minDurationNs = durationParam(q, "minDuration");
    const maxDurationNs = durationParam(q, "maxDuration");
    if (minDurationNs != null && maxDurationNs != null && maxDurationNs < minDurationNs) {
      throw new ParamError("maxDuration", "'maxDuration' should be greater than 'minDuration'");
    }
    const limit = countParam(q, "limit") || DEFAULT_LIMIT;
    const filter = tagsToFilter(tagsParam(q), {
      service,
      operation: one(q, "operation") ?? null,
      kind: spanKindParam(q, "spanKind"),
      minDurationNs,
      maxDurationNs,
      fromNs: startNs,
      toNs: endNs,
    });
    const found = await searchTraceIds(ctx.reader, tenant, filter, limit);
    const traces = await readTraces(ctx.reader, ctx.sql, tenant, found);
    return envelope(traces.map((t) => toJaegerTrace(t[0].traceId, t)));
  });

  get("/api/traces/:traceID", async (req, reply) => {
    const { traceID } = req.params as { traceID: string };
    const q = req.query as Query;
    let id: string;
    try {
      id = parseTraceId(traceID.padStart(32, "0"));
    } catch (err) {
      throw new ParamError("traceID", `cannot parse traceID param: ${(err as Error).message}`);
    }
    const startNs = microsParam(q, "start");
    const endNs = microsParam(q, "end");
    const [spans] = await readTraces(ctx.reader, ctx.sql, ctx.tenant(req), [id]);
    // `start`/`end` bound where the trace is looked for: a trace wholly outside is not found.
    const outside =
      spans &&
      ((startNs != null && spans.every((s) => s.endTimeUnixNano < startNs)) ||
        (endNs != null && spans.every((s) => s.startTimeUnixNano > endNs)));
    if (!spans || outside) return sendLegacyError(reply, 404, "trace not found");
    return envelope([toJaegerTrace(id, spans)]);
  });

  get("/api/dependencies", async (req) => {
    const q = req.query as Query;
    const endMs = intParam(q, "endTs") ?? BigInt(Date.now());
    const lookbackMs = intParam(q, "lookback") ?? DAY_MS;
    if (endMs < 0n) throw new ParamError("endTs", "unable to parse param 'endTs': negative time");
    if (lookbackMs < 0n)
      throw new ParamError("lookback", "unable to parse param 'lookback': negative duration");
    const fromMs = endMs > lookbackMs ? endMs - lookbackMs : 0n;
    const links: DependencyLink[] = await readDependencyLinks(
      ctx.sql,
      ctx.database,
      ctx.tenant(req),
      fromMs,
      endMs,
      ctx.latenessMs,
    );
    return envelope(links);
  });
}

/** `spanKind` as Jaeger names it (server, client, …), or null when absent. */
export function spanKindParam(q: Query, name: string): number | null {
  const v = one(q, name);
  if (v === undefined) return null;
  const kind = JAEGER_KIND.indexOf(v.toLowerCase() as (typeof JAEGER_KIND)[number]);
  if (kind <= 0) {
    throw new ParamError(name, `unable to parse param '${name}': unknown span kind "${v.slice(0, 32)}"`);
  }
  return kind;
}
