import * as grpc from "@grpc/grpc-js";
import { type Authenticator, openAuthenticator } from "../core/auth/authenticator.js";
import type { TenantSpanLimits } from "../core/auth/rate-limit.js";
import type { OtlpConfig } from "../core/config/schema.js";
import { grpcStatusOf } from "../core/error-mapping.js";
import { asSkaldError, invalidInput, type SkaldError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { SkaldMetrics } from "../core/metrics.js";
import { OtlpDecodeError, readTracesProto } from "../core/otlp/index.js";
import type { SpanSink } from "../core/pipeline/span-sink.js";
import type { ServerTls } from "../core/tls.js";
import { exportResponseProto, statusProto } from "./otlp-responses.js";
import { acceptedSpans, countRefused, exportTraces } from "./trace-export.js";

export interface OtlpGrpcDeps {
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

/** Server credentials: TLS with the configured pair (and client CA), or insecure. */
export function grpcCredentialsOf(tls: ServerTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    tls.ca ?? null,
    [{ private_key: tls.key, cert_chain: tls.cert }],
    tls.requireClientCert,
  );
}

export interface Receiver {
  /** Binds and starts serving; resolves with the bound address once listening. */
  start(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish. Safe before start and twice. */
  shutdown(): Promise<void>;
}

const identity = (b: Buffer) => b;

/** OTLP/gRPC TraceService/Export. Bytes are decoded by Skald's own decoder, not by grpc-js. */
export const traceServiceDefinition: grpc.ServiceDefinition = {
  Export: {
    path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

function toGrpcError(err: SkaldError): Partial<grpc.StatusObject> {
  const code = grpcStatusOf(err);
  const metadata = new grpc.Metadata();
  if (err.retryAfterMs !== undefined) {
    metadata.set("grpc-status-details-bin", statusProto(code, err.message, err.retryAfterMs));
  }
  return { code, details: err.message, metadata };
}

export function createOtlpGrpcReceiver(deps: OtlpGrpcDeps): Receiver {
  const { config, sink, metrics, logger } = deps;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": config.maxRequestBytes,
    "grpc.max_send_message_length": 1024 * 1024,
  });
  const auth = deps.auth ?? openAuthenticator(config);

  const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    let tenant: string;
    let decoded: ReturnType<typeof readTracesProto>;
    try {
      tenant = auth.sender((name) => {
        const raw = call.metadata.get(name)[0];
        return typeof raw === "string" ? raw : raw?.toString();
      }).tenant;
      decoded = readTracesProto(call.request, tenant);
      deps.tenantLimits?.admit(tenant, acceptedSpans(decoded));
    } catch (err) {
      const e =
        err instanceof OtlpDecodeError ? invalidInput("OTLP_MALFORMED", err.message) : asSkaldError(err);
      countRefused("otlp_grpc", e, metrics);
      callback(toGrpcError(e));
      return;
    }
    exportTraces("otlp_grpc", tenant, decoded, sink, metrics).then(
      (outcome) => callback(null, exportResponseProto(outcome.rejected, outcome.message)),
      (err) => {
        const e = asSkaldError(err);
        if (e.kind !== "retryable") logger.error({ err: e }, "OTLP gRPC export failed");
        callback(toGrpcError(e));
      },
    );
  };
  server.addService(traceServiceDefinition, { Export: handler });

  let started = false;
  let stopped: Promise<void> | undefined;
  return {
    start() {
      return new Promise((resolve, reject) => {
        server.bindAsync(`${config.host}:${config.grpcPort}`, grpcCredentialsOf(deps.tls), (err, port) => {
          if (err)
            return reject(
              new Error(`OTLP gRPC cannot listen on ${config.host}:${config.grpcPort}: ${err.message}`),
            );
          started = true;
          resolve(`${config.host}:${port}`);
        });
      });
    },
    shutdown() {
      if (!started) return Promise.resolve();
      stopped ??= new Promise<void>((resolve) => {
        // Refuse new calls at once; in-flight calls end when their spans are durable (or refused).
        const force = setTimeout(() => server.forceShutdown(), 30_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return stopped;
    },
  };
}
