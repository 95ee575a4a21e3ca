import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { logNormal, seededRandom } from "../../core/canary/index.js";

/**
 * Canary traffic through the real OpenTelemetry SDK: one instance per version per zone, SERVER
 * spans with explicit start/end times so a window of traffic is produced in a moment.
 * Latencies come from a seeded generator keyed by (zone, minute), the same for both versions,
 * so an "identical" canary really sends what the baseline sends.
 */
export const ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"];

export interface VersionTraffic {
  version: string;
  /** Multiplies every latency (1 = same as baseline). */
  latencyFactor: number;
  /** Every n-th request of each interval fails (0 = none). */
  errorEvery: number;
}

export async function sendCanaryTraffic(opts: {
  otlpHttpUrl: string;
  service: string;
  startMs: number;
  minutes: number;
  perMinute: number;
  versions: VersionTraffic[];
  headers?: Record<string, string>;
}): Promise<number> {
  let sent = 0;
  for (const v of opts.versions) {
    for (const [zi, zone] of ZONES.entries()) {
      const instance = `${opts.service}-${v.version}-${zone}`;
      const provider = new BasicTracerProvider({
        resource: resourceFromAttributes({
          "service.name": opts.service,
          "service.version": v.version,
          "service.instance.id": instance,
          "k8s.pod.name": instance,
          "cloud.availability_zone": zone,
        }),
        spanProcessors: [
          new BatchSpanProcessor(new OTLPTraceExporter({ url: opts.otlpHttpUrl, headers: opts.headers }), {
            maxExportBatchSize: 1000,
            maxQueueSize: 100_000,
            scheduledDelayMillis: 50,
          }),
        ],
      });
      const tracer = provider.getTracer("canary-e2e");
      for (let minute = 0; minute < opts.minutes; minute++) {
        const rand = seededRandom(1000 * zi + minute + 1);
        for (let i = 0; i < opts.perMinute; i++) {
          const startMs = opts.startMs + minute * 60_000 + (i * 60_000) / opts.perMinute;
          const latencyMs = logNormal(rand, 80, 0.25) * v.latencyFactor;
          const span = tracer.startSpan(i % 2 === 0 ? "GET /checkout" : "POST /checkout", {
            kind: SpanKind.SERVER,
            startTime: startMs,
          });
          if (v.errorEvery > 0 && i % v.errorEvery === 0) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end(startMs + latencyMs);
          sent++;
        }
      }
      await provider.forceFlush();
      await provider.shutdown();
    }
  }
  return sent;
}
