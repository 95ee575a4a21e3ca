/**
 * npm run bench:insert — the insert path in isolation, embedded store: decoded OTLP spans (512
 * spans × 10 attributes per request) written as (a) Skald's TabSeparated encoding through chDB's
 * byte passthrough and (b) JSONEachRow objects through @clickhouse/client, alternating rounds of
 * BENCH_ROWS (default 200,000) rows. Prints rows/s for encode only and for encode + insert.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../core/config/load.js";
import type { Attr, Span } from "../core/model/span.js";
import { decodeTracesProto } from "../core/otlp/index.js";
import { migrate, retentionDaysOf } from "../core/store/migrations.js";
import { attributesJson, encodeSpans, SPAN_COLUMNS } from "../core/store/span-encoder.js";
import { encodeSpansRowBinary } from "../core/store/span-row-binary.js";
import { openStore } from "../core/store/store.js";
import { generateRequest } from "../test/support/otlp-encode.js";
import { fmt } from "./support.js";

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const KINDS = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];
const STATUSES = ["UNSET", "OK", "ERROR"];

const mapOf = (attrs: Attr[]) => Object.fromEntries(attrs.map((a) => [a.key, a.value]));
const typesOf = (attrs: Attr[]) =>
  Object.fromEntries(attrs.filter((a) => a.type !== "string").map((a) => [a.key, a.type]));
const nanos = (ns: bigint) => {
  const s = ns.toString().padStart(19, "0");
  return `${s.slice(0, -9)}.${s.slice(-9)}`;
};

/** The straightforward alternative: one JS object per row, serialised by the client as JSON. */
function toJsonRow(tenant: string, s: Span): Record<string, unknown> {
  return {
    tenant,
    trace_id: s.traceId,
    span_id: s.spanId,
    parent_span_id: s.parentSpanId,
    trace_state: s.traceState,
    flags: s.flags,
    name: s.name,
    kind: KINDS[s.kind],
    service_name: s.resource.serviceName,
    start_time: nanos(s.startTimeUnixNano),
    duration_ns: (s.endTimeUnixNano - s.startTimeUnixNano).toString(),
    status_code: STATUSES[s.statusCode],
    status_message: s.statusMessage,
    attributes: mapOf(s.attributes),
    attribute_types: typesOf(s.attributes),
    dropped_attributes_count: s.droppedAttributesCount,
    resource_attributes: mapOf(s.resource.attributes),
    resource_attribute_types: typesOf(s.resource.attributes),
    resource_dropped_attributes_count: s.resource.droppedAttributesCount,
    scope_name: s.scope.name,
    scope_version: s.scope.version,
    "events.time": s.events.map((e) => nanos(e.timeUnixNano)),
    "events.name": s.events.map((e) => e.name),
    "events.attributes": s.events.map((e) => attributesJson(e.attributes)),
    "events.dropped_attributes_count": s.events.map((e) => e.droppedAttributesCount),
    dropped_events_count: s.droppedEventsCount,
    "links.trace_id": [],
    "links.span_id": [],
    "links.trace_state": [],
    "links.attributes": [],
    "links.dropped_attributes_count": [],
    "links.flags": [],
    dropped_links_count: s.droppedLinksCount,
  };
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "skald-bench-insert-"));
  const config = loadConfig({ env: {}, overrides: { "storage.dataDir": dataDir } });
  const store = await openStore(config.storage);
  await migrate(store, retentionDaysOf(config.storage));
  const batches: Span[][] = [];
  for (let n = 0; n < ROWS; n += 512) {
    batches.push(
      decodeTracesProto(generateRequest({ service: `svc-${n % 7}`, count: 512, attrs: 10 }).body).spans,
    );
  }
  const rows = batches.length * 512;
  console.log(`bench:insert: ${fmt(rows)} decoded spans (512 × 10 attributes per request), embedded store`);
  const results: Record<string, number[]> = {
    "tsv encode": [],
    "tsv encode+insert": [],
    "rowbinary encode": [],
    "rowbinary encode+insert": [],
    "json encode+insert": [],
  };
  for (let round = 0; round < 3; round++) {
    let t0 = performance.now();
    const bodies = batches.map((b) => encodeSpans("default", b));
    const encodeSeconds = (performance.now() - t0) / 1000;
    await store.insertTsv("spans", SPAN_COLUMNS, Buffer.concat(bodies), {
      insert_deduplication_token: `tsv-${round}`,
    });
    results["tsv encode"].push(rows / encodeSeconds);
    results["tsv encode+insert"].push(rows / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    const binary = batches.map((b) => encodeSpansRowBinary("default", b));
    const binarySeconds = (performance.now() - t0) / 1000;
    await store.insertRowBinary("spans", SPAN_COLUMNS, Buffer.concat(binary), {
      insert_deduplication_token: `rb-${round}`,
    });
    results["rowbinary encode"].push(rows / binarySeconds);
    results["rowbinary encode+insert"].push(rows / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    await store.client.insert({
      table: `${store.database}.spans`,
      values: batches.flatMap((b) => b.map((s) => toJsonRow("default", s))),
      format: "JSONEachRow",
    });
    results["json encode+insert"].push(rows / ((performance.now() - t0) / 1000));
  }
  for (const [name, rates] of Object.entries(results)) {
    console.log(`${name}: ${fmt(Math.max(...rates))} rows/s (best of 3)`);
  }
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
