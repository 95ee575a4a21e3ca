import type { FastifyInstance } from "fastify";
import { loadConfig } from "../../core/config/load.js";
import type { SkaldConfig } from "../../core/config/schema.js";
import { createLogger } from "../../core/log.js";
import { createMetrics, type SkaldMetrics } from "../../core/metrics.js";
import type { Attr, Resource, Span } from "../../core/model/span.js";
import { migrate, retentionDaysOf } from "../../core/store/migrations.js";
import { encodeSpans, SPAN_COLUMNS } from "../../core/store/span-encoder.js";
import { openStore, type Store } from "../../core/store/store.js";
import type { StoreTarget } from "../../test/support/targets.js";
import { createQueryServer } from "../server.js";

/** Test support for the query suites: a store on a target, a query server on it, span builders. */

export interface QueryHarness {
  store: Store;
  config: SkaldConfig;
  metrics: SkaldMetrics;
  app: FastifyInstance;
  ready: { value: boolean };
  insert(tenant: string, spans: Span[]): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  target: StoreTarget,
  overrides: Record<string, unknown> = {},
): Promise<QueryHarness> {
  const t = await target.setup();
  const config = loadConfig({ env: {}, overrides: { storage: t.storage, ...overrides } });
  const store = await openStore(config.storage);
  await migrate(store, retentionDaysOf(config.storage));
  const metrics = createMetrics({ defaultMetrics: false });
  const ready = { value: true };
  const app = await createQueryServer({
    store,
    config,
    metrics,
    logger: createLogger(process.env.SKALD_TEST_LOG ?? "silent"),
    isReady: () => ready.value,
  });
  await app.ready();
  return {
    store,
    config,
    metrics,
    app,
    ready,
    async insert(tenant, spans) {
      await store.insertTsv("spans", SPAN_COLUMNS, encodeSpans(tenant, spans));
    },
    async close() {
      await app.close();
      await store.close();
      await t.cleanup();
    },
  };
}

export interface GqlResult<T> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string; [k: string]: unknown } }>;
}

/** POSTs a GraphQL request through Fastify's inject (no port). */
export async function gql<T = Record<string, unknown>>(
  app: FastifyInstance,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GqlResult<T>> {
  const res = await app.inject({
    method: "POST",
    url: "/graphql",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    payload: JSON.stringify({ query, variables }),
  });
  return { status: res.statusCode, ...(JSON.parse(res.body) as Omit<GqlResult<T>, "status">) };
}

export const attr = (key: string, value: string, type: Attr["type"] = "string"): Attr => ({
  key,
  value,
  type,
});

export function resource(serviceName: string, extra: Attr[] = []): Resource {
  return {
    serviceName,
    droppedAttributesCount: 0,
    attributes: [attr("service.name", serviceName), ...extra],
  };
}

/** Nanoseconds `ms` milliseconds (plus `ns`) after `base`. */
export const after = (base: bigint, ms: number, ns = 0): bigint =>
  base + BigInt(ms) * 1_000_000n + BigInt(ns);

/** A span with sensible defaults; `durationMs` sets the end relative to the start. */
export function span(over: Partial<Span> & { start: bigint; durationMs?: number }): Span {
  const { start, durationMs = 10, ...rest } = over;
  return {
    traceId: "00000000000000000000000000000001",
    spanId: "0000000000000001",
    parentSpanId: "",
    traceState: "",
    flags: 1,
    name: "op",
    kind: 1,
    startTimeUnixNano: start,
    endTimeUnixNano: after(start, durationMs),
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: 0,
    statusMessage: "",
    resource: resource("svc"),
    scope: { name: "test", version: "1.0" },
    ...rest,
  };
}

/** Deterministic 32-hex / 16-hex ids from a number. */
export const traceIdOf = (n: number): string => n.toString(16).padStart(32, "0");
export const spanIdOf = (n: number): string => n.toString(16).padStart(16, "0");

/** Current time in nanoseconds, rounded to the millisecond. */
export const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;
