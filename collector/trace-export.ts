import { asSkaldError, type SkaldError } from "../core/errors.js";
import type { SkaldMetrics } from "../core/metrics.js";
import type { DecodedTraces, TranscodedTraces } from "../core/model/span.js";
import type { SpanSink } from "../core/pipeline/span-sink.js";

export type ReceiverName = "otlp_grpc" | "otlp_http";

/** What the sender is told on success: OTLP partial success when some spans were rejected. */
export interface ExportOutcome {
  rejected: number;
  message: string;
}

/**
 * The part of an export both receivers share: count, hand valid spans to the sink, wait until they
 * are durable, and report partial success. Throws a SkaldError the receiver maps to its protocol.
 * `decoded` is handed over synchronously and not referenced while the sink works, so its buffers
 * (a whole request's rows) can be collected young instead of living through the round trip.
 */
export function exportTraces(
  receiver: ReceiverName,
  tenant: string,
  decoded: DecodedTraces | TranscodedTraces,
  sink: SpanSink,
  metrics: SkaldMetrics,
): Promise<ExportOutcome> {
  const accepted = acceptedSpans(decoded);
  const { rejected, rejectReason } = decoded;
  metrics.spansReceived.inc({ receiver }, accepted + rejected);
  if (rejected > 0) metrics.spansRejected.inc({ receiver, reason: "invalid" }, rejected);
  let durable: Promise<void>;
  try {
    durable =
      "rows" in decoded ? sink.consumeRows(tenant, decoded.rows) : sink.consume(tenant, decoded.spans);
  } catch (err) {
    durable = Promise.reject(err);
  }
  return settle(receiver, durable, accepted, rejected, rejectReason, metrics);
}

async function settle(
  receiver: ReceiverName,
  durable: Promise<void>,
  accepted: number,
  rejected: number,
  rejectReason: string,
  metrics: SkaldMetrics,
): Promise<ExportOutcome> {
  try {
    await durable;
  } catch (err) {
    const e = asSkaldError(err);
    metrics.spansRejected.inc(
      { receiver, reason: e.code === "QUEUE_FULL" ? "throttled" : "unavailable" },
      accepted,
    );
    metrics.requests.inc({ receiver, outcome: e.code === "QUEUE_FULL" ? "throttled" : "unavailable" });
    throw e;
  }
  metrics.spansAccepted.inc({ receiver }, accepted);
  metrics.requests.inc({ receiver, outcome: rejected > 0 ? "partial" : "ok" });
  return {
    rejected,
    message: rejected > 0 ? `${rejected} span(s) rejected: ${rejectReason}` : "",
  };
}

/** Counts a request refused before any span was accepted (malformed, too large, bad tenant). */
export function countRefused(receiver: ReceiverName, err: SkaldError, metrics: SkaldMetrics): void {
  metrics.requests.inc({ receiver, outcome: err.kind === "limit" ? "too_large" : "malformed" });
}

/** How many valid spans a decoded or transcoded request holds. */
export function acceptedSpans(decoded: DecodedTraces | TranscodedTraces): number {
  return "rows" in decoded ? decoded.rows.count : decoded.spans.length;
}
