import { Counter, Gauge, type Registry } from "prom-client";
import type { FlowDropReason } from "./model.js";

/** Flow metrics, registered on the process registry next to the span metrics. */
export interface FlowMetrics {
  packets: Counter<"receiver">;
  decoded: Counter<"receiver" | "source_type">;
  dropped: Counter<"receiver" | "reason">;
  stored: Counter;
  clamped: Counter;
  templates: Gauge;
  exporters: Gauge;
  pendingBytes: Gauge;
  sequenceLost: Counter<"exporter">;
  /** Adds a decoder report's drops. */
  countDrops(receiver: string, dropped: Partial<Record<FlowDropReason, number>>): void;
}

export function createFlowMetrics(registry: Registry): FlowMetrics {
  const registers = [registry];
  const dropped = new Counter({
    name: "skald_flows_dropped_total",
    help: "Flow records (or packets/sets when records cannot be counted) not stored, by receiver and reason.",
    labelNames: ["receiver", "reason"],
    registers,
  });
  return {
    packets: new Counter({
      name: "skald_flow_packets_received_total",
      help: "Export packets (UDP datagrams or HTTP requests) received, by receiver.",
      labelNames: ["receiver"],
      registers,
    }),
    decoded: new Counter({
      name: "skald_flows_decoded_total",
      help: "Flow records decoded, by receiver and source type.",
      labelNames: ["receiver", "source_type"],
      registers,
    }),
    dropped,
    stored: new Counter({
      name: "skald_flows_stored_total",
      help: "Flow records written to storage.",
      registers,
    }),
    clamped: new Counter({
      name: "skald_flows_time_clamped_total",
      help: "Flow records whose times were more than 30 days from arrival and were set to the arrival time.",
      registers,
    }),
    templates: new Gauge({
      name: "skald_flow_templates",
      help: "NetFlow v9 / IPFIX templates held.",
      registers,
    }),
    exporters: new Gauge({
      name: "skald_flow_exporter_domains",
      help: "(exporter, observation domain) pairs tracked.",
      registers,
    }),
    pendingBytes: new Gauge({
      name: "skald_flow_pending_bytes",
      help: "Bytes of data sets held while waiting for their template.",
      registers,
    }),
    sequenceLost: new Counter({
      name: "skald_flow_sequence_lost_total",
      help: "Export units lost according to sequence numbers, per exporter (v9: packets; IPFIX and v5: records).",
      labelNames: ["exporter"],
      registers,
    }),
    countDrops(receiver, drops) {
      for (const [reason, n] of Object.entries(drops)) if (n) dropped.inc({ receiver, reason }, n);
    },
  };
}
