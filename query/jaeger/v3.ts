import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { parseTraceId } from "../ids.js";
import type { StoredSpan } from "../span-record.js";
import type { JaegerContext } from "./index.js";
import { spanKindParam } from "./legacy.js";
import { toResourceSpans } from "./otlp-json.js";
import {
  asParamError,
  attributesParam,
  countParam,
  durationParam,
  one,
  ParamError,
  type Query,
  rfc3339Param,
} from "./params.js";
import { JAEGER_KIND, readTraces, searchTraceIds, tagsToFilter } from "./search.js";

/**
 * Jaeger's api/v3 over HTTP (jaeger cmd/query/app/apiv3/http_gateway.go): OTLP/JSON traces in
 * `{"result": {"resourceSpans": [...]}}`, `{"services": [...]}`, `{"operations": [{name, spanKind}]}`,
 * errors as `{"error": {"httpCode": 400, "message": "malformed parameter <name>: ..."}}`, and
 * 404 "No traces found" when a trace read or search finds nothing (as Jaeger does). Parameters
 * are accepted under both Jaeger's current camelCase names and the older snake_case ones.
 */

const DEFAULT_DEPTH = 20;

export function sendV3Error(reply: FastifyReply, httpCode: number, message: string): FastifyReply {
  return reply.status(httpCode).send({ error: { httpCode, message } });
}

/** The first of the alternative names present, with its value. */
function pick(q: Query, ...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = one(q, name);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/** Reads a parameter under whichever of its names was sent, so errors name what the client sent. */
function param<T>(q: Query, parse: (q: Query, name: string) => T, ...names: string[]): T | undefined {
  const hit = pick(q, ...names);
  return hit ? parse(q, hit.name) : undefined;
}

function traces(reply: FastifyReply, list: StoredSpan[][]) {
  if (list.length === 0) return sendV3Error(reply, 404, "No traces found");
  return { result: { resourceSpans: toResourceSpans(list.flat()) } };
}

export function registerV3Routes(app: FastifyInstance, prefix: string, ctx: JaegerContext): void {
  const get = (path: string, fn: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    app.get(`${prefix}${path}`, (req, reply) => ctx.handle("v3", req, reply, fn));

  get("/api/v3/services", async (req) => {
    const services = await ctx.reader.listServices(ctx.tenant(req));
    return { services: services.map((s) => s.name) };
  });

  get("/api/v3/operations", async (req) => {
    const q = req.query as Query;
    const service = one(q, "service");
    if (service === undefined) throw new ParamError("service", "malformed parameter service: required");
    const kindName = pick(q, "spanKind", "span_kind")?.name;
    const kind = kindName ? spanKindParam(q, kindName) : null;
    const ops = await ctx.reader.listOperations(ctx.tenant(req), service, kind);
    // As Jaeger: an operation without a kind is reported as internal.
    return { operations: ops.map((o) => ({ name: o.name, spanKind: JAEGER_KIND[o.kind] || "internal" })) };
  });

  get("/api/v3/traces/:trace_id", async (req, reply) => {
    const q = req.query as Query;
    const { trace_id } = req.params as { trace_id: string };
    let id: string;
    try {
      id = parseTraceId(trace_id);
    } catch (err) {
      throw asParamError(err, "trace_id");
    }
    const startNs = param(q, rfc3339Param, "startTime", "start_time");
    const endNs = param(q, rfc3339Param, "endTime", "end_time");
    const found = await readTraces(ctx.reader, ctx.sql, ctx.tenant(req), [id]);
    const inWindow = found.filter(
      (spans) =>
        !(startNs != null && spans.every((s) => s.endTimeUnixNano < startNs)) &&
        !(endNs != null && spans.every((s) => s.startTimeUnixNano > endNs)),
    );
    return traces(reply, inWindow);
  });

  get("/api/v3/traces", async (req, reply) => {
    const q = req.query as Query;
    const fromNs = param(q, rfc3339Param, "query.startTimeMin", "query.start_time_min");
    const toNs = param(q, rfc3339Param, "query.startTimeMax", "query.start_time_max");
    if (fromNs === undefined || toNs === undefined) {
      throw new ParamError(
        "query.start_time_min",
        "query.start_time_min and query.start_time_max are required",
      );
    }
    if (fromNs > toNs) {
      throw new ParamError(
        "query.start_time_min",
        "malformed parameter query.start_time_min: after query.start_time_max",
      );
    }
    const minDurationNs = param(q, durationParam, "query.durationMin", "query.duration_min");
    const maxDurationNs = param(q, durationParam, "query.durationMax", "query.duration_max");
    const depth =
      param(q, countParam, "query.searchDepth", "query.search_depth", "query.num_traces") || DEFAULT_DEPTH;
    const attrs = attributesParam(q, "query.attributes");
    const filter = tagsToFilter(attrs, {
      service: pick(q, "query.serviceName", "query.service_name")?.value ?? null,
      operation: pick(q, "query.operationName", "query.operation_name")?.value ?? null,
      minDurationNs,
      maxDurationNs,
      fromNs,
      toNs,
    });
    const tenant = ctx.tenant(req);
    const ids = await searchTraceIds(ctx.reader, tenant, filter, depth);
    return traces(reply, await readTraces(ctx.reader, ctx.sql, tenant, ids));
  });
}
