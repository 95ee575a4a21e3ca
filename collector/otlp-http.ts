import { gunzip } from "node:zlib";
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from "fastify";
import { type Authenticator, headerLookup, openAuthenticator } from "../core/auth/authenticator.js";
import type { TenantSpanLimits } from "../core/auth/rate-limit.js";
import type { OtlpConfig } from "../core/config/schema.js";
import { httpStatusOf, retryAfterSeconds } from "../core/error-mapping.js";
import { asSkaldError, invalidInput, limitExceeded, SkaldError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { SkaldMetrics } from "../core/metrics.js";
import { decodeTracesJson, OtlpDecodeError, readTracesProto } from "../core/otlp/index.js";
import type { SpanSink } from "../core/pipeline/span-sink.js";
import { httpsOptionsOf, type ServerTls } from "../core/tls.js";
import type { Receiver } from "./otlp-grpc.js";
import { exportResponseJson, exportResponseProto, statusJson, statusProto } from "./otlp-responses.js";
import { acceptedSpans, countRefused, exportTraces } from "./trace-export.js";

export interface OtlpHttpDeps {
  config: OtlpConfig;
  sink: SpanSink;
  metrics: SkaldMetrics;
  logger: Logger;
  /** Serve over TLS (config `tls`); plaintext when absent. */
  tls?: ServerTls;
  /** Who may send (API keys → tenant); default: nobody is asked, the tenant header decides. */
  auth?: Authenticator;
  /** Spans per second per tenant. */
  tenantLimits?: TenantSpanLimits;
}

const PROTOBUF = "application/x-protobuf";
const JSON_TYPE = "application/json";

/** gRPC code numbers carried in the google.rpc.Status body of OTLP/HTTP errors. */
function grpcCodeForHttp(status: number): number {
  if (status === 400 || status === 413) return 3; // INVALID_ARGUMENT
  if (status === 401) return 16; // UNAUTHENTICATED
  if (status === 403) return 7; // PERMISSION_DENIED
  if (status === 429) return 8; // RESOURCE_EXHAUSTED
  if (status === 503) return 14; // UNAVAILABLE
  if (status === 415 || status === 404 || status === 405) return 12; // UNIMPLEMENTED
  return 13; // INTERNAL
}

function gunzipLimited(body: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(body, { maxOutputLength: maxBytes }, (err, out) => {
      if (!err) return resolve(out);
      if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
        reject(limitExceeded("BODY_TOO_LARGE", `decompressed request body exceeds ${maxBytes} bytes`));
      } else reject(invalidInput("OTLP_BAD_ENCODING", `request body is not valid gzip: ${err.message}`));
    });
  });
}

/**
 * OTLP/HTTP `POST /v1/traces`: binary protobuf or JSON, optionally gzip. Responses use the
 * request's content type; errors carry a google.rpc.Status body and, when retryable, Retry-After.
 */
export function createOtlpHttpReceiver(deps: OtlpHttpDeps): Receiver {
  const { config, sink, metrics, logger } = deps;
  const app = Fastify({
    bodyLimit: config.maxRequestBytes,
    logger: false,
    return503OnClosing: true,
    ...(deps.tls ? { https: httpsOptionsOf(deps.tls) } : {}),
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  const sendError = (req: FastifyRequest, reply: FastifyReply, err: SkaldError) => {
    const status = httpStatusOf(err);
    const code = grpcCodeForHttp(status);
    const retry = retryAfterSeconds(err);
    if (retry !== undefined && (status === 429 || status === 503)) reply.header("retry-after", String(retry));
    const asJson = (req.headers["content-type"] ?? "").toLowerCase().startsWith(JSON_TYPE);
    reply.code(status).type(asJson ? JSON_TYPE : PROTOBUF);
    return reply.send(
      asJson
        ? statusJson(code, err.message, err.retryAfterMs)
        : statusProto(code, err.message, err.retryAfterMs),
    );
  };

  app.setErrorHandler((error: FastifyError, req, reply) => {
    let e: SkaldError;
    if (error instanceof SkaldError) e = error;
    else if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      e = limitExceeded("BODY_TOO_LARGE", `request body exceeds ${config.maxRequestBytes} bytes`);
    } else if (error.statusCode !== undefined && error.statusCode < 500) {
      e = invalidInput("BAD_REQUEST", error.message);
    } else e = asSkaldError(error);
    if (e.kind !== "retryable") countRefused("otlp_http", e, metrics);
    return sendError(req, reply, e);
  });

  const auth = deps.auth ?? openAuthenticator(config);
  // Credentials are checked before the body is read, so strangers cannot make Skald buffer bodies.
  app.addHook("onRequest", async (req) => {
    if (req.method !== "POST" || req.routeOptions.url !== "/v1/traces") return;
    const p = auth.sender(headerLookup(req));
    (req as FastifyRequest & { tenant?: string }).tenant = p.tenant;
  });

  app.setNotFoundHandler((req, reply) => {
    reply
      .code(404)
      .type("text/plain")
      .send(`no route for ${req.method} ${req.url}; OTLP traces go to POST /v1/traces`);
  });

  app.post("/v1/traces", async (req, reply) => {
    const contentType = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    if (contentType !== PROTOBUF && contentType !== JSON_TYPE) {
      countRefused("otlp_http", invalidInput("UNSUPPORTED_MEDIA_TYPE", ""), metrics);
      reply.code(415).type("text/plain");
      return `unsupported content type "${contentType}": use ${PROTOBUF} or ${JSON_TYPE}`;
    }
    let body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
    const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
    if (encoding === "gzip") body = await gunzipLimited(body, config.maxRequestBytes);
    else if (encoding !== "identity") {
      throw invalidInput("OTLP_BAD_ENCODING", `unsupported content-encoding "${encoding}": use gzip or none`);
    }
    const tenant = (req as FastifyRequest & { tenant?: string }).tenant ?? config.defaultTenant;
    let decoded: ReturnType<typeof readTracesProto> | ReturnType<typeof decodeTracesJson>;
    try {
      decoded = contentType === PROTOBUF ? readTracesProto(body, tenant) : decodeTracesJson(body);
    } catch (err) {
      if (err instanceof OtlpDecodeError) throw invalidInput("OTLP_MALFORMED", err.message);
      throw err;
    }
    deps.tenantLimits?.admit(tenant, acceptedSpans(decoded));
    const outcome = await exportTraces("otlp_http", tenant, decoded, sink, metrics).catch((err) => {
      const e = asSkaldError(err);
      if (e.kind !== "retryable") logger.error({ err: e }, "OTLP HTTP export failed");
      throw e;
    });
    reply.code(200);
    if (contentType === PROTOBUF) {
      reply.type(PROTOBUF);
      return exportResponseProto(outcome.rejected, outcome.message);
    }
    reply.type(JSON_TYPE);
    return exportResponseJson(outcome.rejected, outcome.message);
  });

  let started = false;
  let stopped: Promise<void> | undefined;
  return {
    async start() {
      try {
        await app.listen({ host: config.host, port: config.httpPort });
      } catch (err) {
        throw new Error(
          `OTLP HTTP cannot listen on ${config.host}:${config.httpPort}: ${(err as Error).message}`,
        );
      }
      started = true;
      const addr = app.server.address();
      return typeof addr === "object" && addr ? `${config.host}:${addr.port}` : String(addr);
    },
    shutdown() {
      if (!started) return Promise.resolve();
      stopped ??= app.close();
      return stopped;
    },
  };
}
