import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Every metric Skald's core exposes on /metrics. One instance per process (per app in tests). */
export interface SkaldMetrics {
  registry: Registry;
  spansReceived: Counter<"receiver">;
  spansAccepted: Counter<"receiver">;
  spansRejected: Counter<"receiver" | "reason">;
  spansDropped: Counter<"reason">;
  requests: Counter<"receiver" | "outcome">;
  batchSpans: Histogram;
  insertSeconds: Histogram<"table">;
  insertFailures: Counter<"table">;
  queueDepth: Gauge;
  queueCapacity: Gauge;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): SkaldMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "skald_process_" });
  const registers = [registry];
  return {
    registry,
    spansReceived: new Counter({
      name: "skald_spans_received_total",
      help: "Spans decoded from requests, by receiver.",
      labelNames: ["receiver"],
      registers,
    }),
    spansAccepted: new Counter({
      name: "skald_spans_accepted_total",
      help: "Spans acknowledged to senders (durably stored), by receiver.",
      labelNames: ["receiver"],
      registers,
    }),
    spansRejected: new Counter({
      name: "skald_spans_rejected_total",
      help: "Spans refused, by receiver and reason (malformed, invalid, throttled, unavailable).",
      labelNames: ["receiver", "reason"],
      registers,
    }),
    spansDropped: new Counter({
      name: "skald_spans_dropped_total",
      help: "Spans accepted into the pipeline and then lost, by reason. Should stay at zero.",
      labelNames: ["reason"],
      registers,
    }),
    requests: new Counter({
      name: "skald_receiver_requests_total",
      help: "Export requests by receiver and outcome.",
      labelNames: ["receiver", "outcome"],
      registers,
    }),
    batchSpans: new Histogram({
      name: "skald_batch_spans",
      help: "Spans per insert batch.",
      buckets: [1, 10, 100, 1000, 5000, 10000, 20000, 50000, 100000],
      registers,
    }),
    insertSeconds: new Histogram({
      name: "skald_insert_duration_seconds",
      help: "Time to insert one batch into ClickHouse.",
      labelNames: ["table"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    insertFailures: new Counter({
      name: "skald_insert_failures_total",
      help: "Failed insert attempts (each retried or reported to senders).",
      labelNames: ["table"],
      registers,
    }),
    queueDepth: new Gauge({
      name: "skald_pipeline_queue_spans",
      help: "Spans accepted and waiting to be written.",
      registers,
    }),
    queueCapacity: new Gauge({
      name: "skald_pipeline_queue_capacity_spans",
      help: "Spans the pipeline holds before it throttles senders.",
      registers,
    }),
  };
}
