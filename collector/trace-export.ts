import { asSkaldError, type SkaldError } from "../core/errors.js";
import type { SkaldMetrics } from "../core/metrics.js";
import type { DecodedTraces } from "../core/model/span.js";
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
 */
export async function exportTraces(
  receiver: ReceiverName,
  tenant: string,
  decoded: DecodedTraces,
  sink: SpanSink,
  metrics: SkaldMetrics,
): Promise<ExportOutcome> {
  const accepted = decoded.spans.length;
  metrics.spansReceived.inc({ receiver }, accepted + decoded.rejected);
  if (decoded.rejected > 0) metrics.spansRejected.inc({ receiver, reason: "invalid" }, decoded.rejected);
  try {
    await sink.consume(tenant, decoded.spans);
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
  metrics.requests.inc({ receiver, outcome: decoded.rejected > 0 ? "partial" : "ok" });
  return {
    rejected: decoded.rejected,
    message: decoded.rejected > 0 ? `${decoded.rejected} span(s) rejected: ${decoded.rejectReason}` : "",
  };
}

/** Counts a request refused before any span was accepted (malformed, too large, bad tenant). */
export function countRefused(receiver: ReceiverName, err: SkaldError, metrics: SkaldMetrics): void {
  metrics.requests.inc({ receiver, outcome: err.kind === "limit" ? "too_large" : "malformed" });
}
