import { createSocket, type Socket } from "node:dgram";
import { asSkaldError } from "../../core/errors.js";
import { FlowDecoder, type FlowDecoderLimits } from "../../core/flows/decoder.js";
import type { FlowSink } from "../../core/flows/flow-sink.js";
import type { FlowMetrics } from "../../core/flows/metrics.js";
import type { Logger } from "../../core/log.js";
import type { Receiver } from "../otlp-grpc.js";

export interface FlowUdpDeps {
  /** Metric label and log name: "netflow" or "ipfix". */
  name: string;
  host: string;
  port: number;
  tenant: string;
  /**
   * With authentication on: the tenant of an exporter's address, undefined for one not allowed
   * (its packets are dropped and counted, reason `unauthorized_source`). Unset: every exporter
   * is heard, as `tenant`.
   */
  sourceTenant?: (address: string) => string | undefined;
  recvBufferBytes: number;
  limits: FlowDecoderLimits;
  sink: FlowSink;
  metrics: FlowMetrics;
  logger: Logger;
}

/**
 * A UDP listener for NetFlow v5/v9 and IPFIX (each port accepts every version). UDP cannot be
 * throttled, so when the pipeline refuses flows (queue full, storage down) they are counted as
 * dropped with that reason; nothing is ever retried or buffered beyond the batcher's bound.
 * Binds with SO_REUSEADDR so a restarted collector rebinds at once.
 */
export function createFlowUdpReceiver(deps: FlowUdpDeps): Receiver & { decoder: FlowDecoder } {
  const { name, sink, metrics, logger } = deps;
  const decoder = new FlowDecoder(deps.limits);
  let socket: Socket | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let stopped: Promise<void> | undefined;
  let warned = false;

  const refresh = () => {
    metrics.templates.set(decoder.cache.templateCount);
    metrics.exporters.set(decoder.cache.domainCount);
    metrics.pendingBytes.set(decoder.cache.pendingByteCount);
  };

  const onMessage = (msg: Buffer, rinfo: { address: string }) => {
    metrics.packets.inc({ receiver: name });
    const tenant = deps.sourceTenant ? deps.sourceTenant(rinfo.address) : deps.tenant;
    if (tenant === undefined) {
      metrics.dropped.inc({ receiver: name, reason: "unauthorized_source" });
      return;
    }
    const now = Date.now();
    const r = decoder.decode(msg, rinfo.address, now);
    metrics.countDrops(name, r.dropped);
    if (r.sequenceGap > 0) metrics.sequenceLost.inc({ exporter: rinfo.address }, r.sequenceGap);
    if (r.flows.length === 0) return;
    metrics.decoded.inc({ receiver: name, source_type: r.flows[0].sourceType }, r.flows.length);
    const n = r.flows.length;
    sink.consume(tenant, r.flows, now).catch((err) => {
      const e = asSkaldError(err);
      // KAFKA_TIMEOUT / KAFKA_UNAVAILABLE: the Kafka flow sink (SKALD_KAFKA_BROKERS) was not acknowledged
      const reason =
        e.code === "QUEUE_FULL"
          ? "queue_full"
          : e.code.startsWith("KAFKA_")
            ? "kafka_unavailable"
            : "store_unavailable";
      metrics.dropped.inc({ receiver: name, reason }, n);
      if (!warned) {
        warned = true;
        logger.warn({ err: e, receiver: name }, "flows dropped (counted in skald_flows_dropped_total)");
      }
    });
  };

  return {
    decoder,
    start() {
      return new Promise<string>((resolve, reject) => {
        const s = createSocket({ type: deps.host.includes(":") ? "udp6" : "udp4", reuseAddr: true });
        s.once("error", (err) =>
          reject(new Error(`${name} UDP cannot listen on ${deps.host}:${deps.port}: ${err.message}`)),
        );
        s.on("message", onMessage);
        s.bind(deps.port, deps.host, () => {
          s.removeAllListeners("error");
          s.on("error", (err) => logger.error({ err, receiver: name }, "flow socket error"));
          try {
            s.setRecvBufferSize(deps.recvBufferBytes);
          } catch {
            // the kernel caps it at net.core.rmem_max; the smaller buffer still works
          }
          socket = s;
          sweeper = setInterval(() => {
            const expired = decoder.sweep();
            if (expired > 0) metrics.dropped.inc({ receiver: name, reason: "pending_expired" }, expired);
            refresh();
          }, 1000);
          sweeper.unref();
          resolve(`${deps.host}:${s.address().port}`);
        });
      });
    },
    shutdown() {
      stopped ??= new Promise<void>((resolve) => {
        if (sweeper) clearInterval(sweeper);
        if (!socket) return resolve();
        socket.close(() => resolve());
      });
      return stopped;
    },
  };
}
