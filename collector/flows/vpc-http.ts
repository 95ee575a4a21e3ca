import { gunzipSync } from "node:zlib";
import Fastify from "fastify";
import { type Authenticator, headerLookup, openAuthenticator } from "../../core/auth/authenticator.js";
import type { FlowsConfig } from "../../core/config/schema.js";
import { httpStatusOf, retryAfterSeconds } from "../../core/error-mapping.js";
import { asSkaldError, invalidInput } from "../../core/errors.js";
import type { FlowSink } from "../../core/flows/flow-sink.js";
import type { FlowMetrics } from "../../core/flows/metrics.js";
import { parseVpcFormat, parseVpcLines, VPC_DEFAULT_FORMAT } from "../../core/flows/vpc.js";
import type { Logger } from "../../core/log.js";
import { httpsOptionsOf, type ServerTls } from "../../core/tls.js";
import type { Receiver } from "../otlp-grpc.js";

/** Header declaring a request's VPC Flow Logs format (AWS `${field} …` syntax or plain names). */
export const VPC_FORMAT_HEADER = "x-skald-vpc-format";
const MAX_BODY = 32 * 1024 * 1024;

/**
 * `POST /v1/flows/vpc`: VPC Flow Logs lines, plain text or gzip (content-encoding). Unlike UDP,
 * HTTP can push back: a full pipeline answers 429/503 with Retry-After and nothing is dropped.
 * Answers 200 with `{ accepted, skipped }` once the flows are stored.
 */
export function createVpcHttpReceiver(deps: {
  config: FlowsConfig;
  sink: FlowSink;
  metrics: FlowMetrics;
  logger: Logger;
  tenantHeader: string;
  /** Serve over TLS (config `tls`); plaintext when absent. */
  tls?: ServerTls;
  /** Senders' API keys (auth); default: nobody is asked, the tenant header decides. */
  auth?: Authenticator;
}): Receiver {
  const { config, sink, metrics } = deps;
  // Authentication off: the tenant header (or flows.tenant) decides.
  const auth = deps.auth?.enabled
    ? deps.auth
    : openAuthenticator({ tenantHeader: deps.tenantHeader, defaultTenant: config.tenant });
  const defaultFormat = parseVpcFormat(config.vpcFormat ?? VPC_DEFAULT_FORMAT);
  const app = Fastify({
    bodyLimit: MAX_BODY,
    logger: false,
    return503OnClosing: true,
    ...(deps.tls ? { https: httpsOptionsOf(deps.tls) } : {}),
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  app.setErrorHandler((error, _req, reply) => {
    const e = asSkaldError(error);
    const status = (error as { statusCode?: number }).statusCode ?? httpStatusOf(e);
    const retry = retryAfterSeconds(e);
    if (retry !== undefined) reply.header("retry-after", String(retry));
    reply.code(status >= 400 ? status : 500).send({ error: e.code, message: e.message });
  });
  // Credentials are checked before the body is read.
  app.addHook("onRequest", async (req) => {
    const p = auth.sender(headerLookup(req));
    (req as typeof req & { tenant?: string }).tenant = p.tenant;
  });
  app.post("/v1/flows/vpc", async (req, reply) => {
    metrics.packets.inc({ receiver: "vpc" });
    const tenant = (req as typeof req & { tenant?: string }).tenant ?? config.tenant;
    let body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
    if ((req.headers["content-encoding"] ?? "").toLowerCase() === "gzip") {
      try {
        body = gunzipSync(body, { maxOutputLength: MAX_BODY });
      } catch (err) {
        metrics.dropped.inc({ receiver: "vpc", reason: "too_large" });
        throw invalidInput(
          "BAD_ENCODING",
          `body is not gzip or inflates beyond ${MAX_BODY} bytes: ${(err as Error).message}`,
        );
      }
    }
    let format = defaultFormat;
    const declared = req.headers[VPC_FORMAT_HEADER];
    if (typeof declared === "string" && declared.trim() !== "") {
      try {
        format = parseVpcFormat(declared);
      } catch (err) {
        throw invalidInput("BAD_VPC_FORMAT", `${VPC_FORMAT_HEADER}: ${(err as Error).message}`);
      }
    }
    const r = parseVpcLines(body.toString("utf8"), format);
    metrics.countDrops("vpc", r.dropped);
    if (r.flows.length > 0) metrics.decoded.inc({ receiver: "vpc", source_type: "vpc" }, r.flows.length);
    await sink.consume(tenant, r.flows, Date.now());
    const skipped = Object.values(r.dropped).reduce((a, b) => a + (b ?? 0), 0);
    reply.code(200);
    return { accepted: r.flows.length, skipped };
  });
  let started = false;
  let stopped: Promise<void> | undefined;
  return {
    async start() {
      await app.listen({ host: config.host, port: config.vpcHttpPort ?? 0 });
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
