import type { Kafka } from "kafkajs";
import type { Authenticator } from "../../core/auth/authenticator.js";
import type { FlowsConfig, KafkaConfig } from "../../core/config/schema.js";
import type { FlowDecoderLimits } from "../../core/flows/decoder.js";
import { createStoreFlowSink, type FlowSink } from "../../core/flows/flow-sink.js";
import { createKafkaFlowSink } from "../../core/flows/kafka-flow-sink.js";
import { createFlowMetrics, type FlowMetrics } from "../../core/flows/metrics.js";
import type { Logger } from "../../core/log.js";
import type { SkaldMetrics } from "../../core/metrics.js";
import type { Store } from "../../core/store/store.js";
import { type ServerTls, schemeOf } from "../../core/tls.js";
import type { Receiver } from "../otlp-grpc.js";
import { createFlowUdpReceiver } from "./udp-receiver.js";
import { createVpcHttpReceiver } from "./vpc-http.js";

export interface FlowReceiversDeps {
  config: FlowsConfig;
  sink: FlowSink;
  metrics: FlowMetrics;
  logger: Logger;
  /** With authentication on: which exporters are heard, as which tenant (auth.flowSources). */
  sourceTenant?: (address: string) => string | undefined;
}

export function decoderLimitsOf(config: FlowsConfig): FlowDecoderLimits {
  return {
    templateTimeoutMs: config.templateTimeoutSeconds * 1000,
    maxTemplatesPerDomain: config.maxTemplatesPerDomain,
    maxDomains: config.maxDomains,
    pendingMaxBytes: config.pendingMaxBytes,
    pendingTimeoutMs: config.pendingTimeoutMs,
    maxRecordsPerPacket: config.maxRecordsPerPacket,
  };
}

/** The NetFlow and IPFIX UDP receivers, named as `skald start` lists them. */
export function createFlowReceivers(deps: FlowReceiversDeps): Array<{ name: string; receiver: Receiver }> {
  const { config } = deps;
  const common = {
    host: config.host,
    tenant: config.tenant,
    sourceTenant: deps.sourceTenant,
    recvBufferBytes: config.recvBufferBytes,
    limits: decoderLimitsOf(config),
    sink: deps.sink,
    metrics: deps.metrics,
    logger: deps.logger,
  };
  return [
    {
      name: "netflow",
      receiver: createFlowUdpReceiver({ ...common, name: "netflow", port: config.netflowPort }),
    },
    { name: "ipfix", receiver: createFlowUdpReceiver({ ...common, name: "ipfix", port: config.ipfixPort }) },
  ];
}

export interface FlowPipeline {
  /** Listener name → address, for `skald start`'s listing (netflow, ipfix, vpcFlowLogs). */
  listeners: Record<string, string>;
  /** Stops the receivers, then writes every flow accepted. Safe twice. */
  shutdown(): Promise<void>;
}

/**
 * Starts the flow receivers (the collector role of `skald start` and `skald collector`) over the
 * same two sinks as the spans: with `kafka` (SKALD_KAFKA_BROKERS set), a Kafka sink producing to
 * `kafka.flows.topic` (`skald.flows`; format in core/kafka/flow-format.ts), from which the flows
 * ingester writes `flows`; else a store sink writing `flows` directly.
 */
export async function startFlowPipeline(deps: {
  config: FlowsConfig;
  /** The store sink's store; unused (and may be absent) with `kafka`. */
  store?: Store;
  /** Produce to Kafka instead: the client (the collector's fail-fast one) and the `kafka` config. */
  kafka?: { client: Kafka; config: KafkaConfig };
  metrics: SkaldMetrics;
  logger: Logger;
  tenantHeader: string;
  /** TLS of the VPC Flow Logs HTTP endpoint (config `tls`). */
  tls?: ServerTls;
  /** Senders' API keys on the VPC endpoint; the UDP allow-list below. */
  auth?: Authenticator;
  sourceTenant?: (address: string) => string | undefined;
}): Promise<FlowPipeline> {
  const flowMetrics = createFlowMetrics(deps.metrics.registry);
  let sink: FlowSink;
  if (deps.kafka) {
    sink = await createKafkaFlowSink({
      kafka: deps.kafka.client,
      config: deps.kafka.config,
      metrics: deps.metrics,
      flowMetrics,
      logger: deps.logger,
    });
  } else if (deps.store) {
    sink = createStoreFlowSink(deps.store, deps.config, deps.metrics, flowMetrics);
  } else {
    throw new Error("startFlowPipeline: neither a store nor Kafka to write flows to");
  }
  const receivers = createFlowReceivers({
    config: deps.config,
    sink,
    metrics: flowMetrics,
    logger: deps.logger,
    sourceTenant: deps.sourceTenant,
  });
  if (deps.config.vpcHttpPort !== undefined) {
    const receiver = createVpcHttpReceiver({
      config: deps.config,
      sink,
      metrics: flowMetrics,
      logger: deps.logger,
      tenantHeader: deps.tenantHeader,
      tls: deps.tls,
      auth: deps.auth,
    });
    receivers.push({ name: "vpcFlowLogs", receiver });
  }
  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      await Promise.all(receivers.map((r) => r.receiver.shutdown()));
      await sink.shutdown();
    })();
    return stopping;
  };
  const listeners: Record<string, string> = {};
  try {
    for (const r of receivers) listeners[r.name] = await r.receiver.start();
  } catch (err) {
    await shutdown();
    throw err;
  }
  if (listeners.vpcFlowLogs) {
    listeners.vpcFlowLogs = `${schemeOf(deps.tls)}://${listeners.vpcFlowLogs}/v1/flows/vpc`;
  }
  return { listeners, shutdown };
}
