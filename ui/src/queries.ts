/**
 * Every GraphQL document the dashboard sends. Their result and variable types are generated from
 * the server's schema into generated/graphql.ts (`npm run codegen`; test/ui-codegen.test.ts fails
 * when that file is stale), and each document carries them (`Document<Result, Variables>`), so
 * `gql`/`useQuery` check the variables a page passes and type what it reads. The names below are
 * parts of those generated types that pages use.
 */

import type { Document } from "./api.js";
import type * as G from "./generated/graphql.js";
import { BLOCK, FIRST_BLOCK, type WaterfallSpan } from "./waterfall.js";

type Item<T> = T extends ReadonlyArray<infer U> ? U : never;

export const SERVICES: Document<G.ServicesQuery, G.ServicesVariables> =
  /* GraphQL */ `query Services($from: DateTime, $to: DateTime, $environment: String) {
  services(from: $from, to: $to, environment: $environment) { name spanCount }
}`;

export const ENVIRONMENTS: Document<G.EnvironmentsQuery, G.EnvironmentsVariables> =
  /* GraphQL */ `query Environments($from: DateTime, $to: DateTime) {
  environments(from: $from, to: $to)
}`;

export const OPERATIONS: Document<G.OperationsQuery, G.OperationsVariables> =
  /* GraphQL */ `query Operations($service: String!, $from: DateTime, $to: DateTime) {
  operations(service: $service, from: $from, to: $to) { name kind }
}`;

export const SEARCH_TRACES: Document<G.SearchTracesQuery, G.SearchTracesVariables> =
  /* GraphQL */ `query SearchTraces($filter: TraceFilter, $first: Int, $after: String) {
  traces(filter: $filter, first: $first, after: $after) {
    edges { node { traceId rootServiceName rootOperation startTime duration spanCount errorCount services } }
    pageInfo { hasNextPage endCursor }
  }
}`;
export type TraceSummary = Item<G.SearchTracesQuery["traces"]["edges"]>["node"];

export const TRACE_HEADER: Document<G.TraceHeaderQuery, G.TraceHeaderVariables> =
  /* GraphQL */ `query TraceHeader($id: ID!) {
  trace(id: $id) {
    traceId startTime startTimeUnixNano endTimeUnixNano duration spanCount services
    rootSpan { name serviceName }
  }
}`;
export type TraceHeader = NonNullable<G.TraceHeaderQuery["trace"]>;

/**
 * A block of the waterfall at a position (`offset`), so a jump fetches only what it shows: 500
 * spans first so the view renders fast, then 4,000 (the complexity limit counts `status` once per
 * span, so 4,000 stays under the default 5,000). `first` is a literal so the server's complexity
 * check sees it.
 */
type SpanPageNode = Item<NonNullable<G.SpanPageQuery["trace"]>["spanPage"]["edges"]>["node"];
/** A span of a page as the waterfall takes it (`descendantCount` is always set inside spanPage). */
export const waterfallSpan = (n: SpanPageNode): WaterfallSpan => ({
  ...n,
  descendantCount: n.descendantCount ?? 0,
});

export const spanPageQuery = (
  first: number,
): Document<G.SpanPageQuery, G.SpanPageVariables> => /* GraphQL */ `query SpanPage($id: ID!, $offset: Int!) {
  trace(id: $id) {
    spanPage(first: ${first}, offset: $offset) {
      edges { node { spanId parentSpanId name serviceName kind depth descendantCount startTimeUnixNano endTimeUnixNano status { code } } }
      totalCount
    }
  }
}`;
export const SPAN_PAGE_FIRST = spanPageQuery(FIRST_BLOCK);
export const SPAN_PAGE = spanPageQuery(BLOCK);
/** Where a span sits in the waterfall (a shared link to a span deep in a big trace). */
export const SPAN_POSITION: Document<G.SpanPositionQuery, G.SpanPositionVariables> =
  /* GraphQL */ `query SpanPosition($id: ID!, $span: SpanId!) {
  trace(id: $id) { spanPosition(spanId: $span) }
}`;

/** One span in full: the span at waterfall position `offset`. */
export const SPAN_DETAIL: Document<G.SpanDetailQuery, G.SpanDetailVariables> =
  /* GraphQL */ `query SpanDetail($id: ID!, $offset: Int!) {
  trace(id: $id) {
    spans(first: 1, offset: $offset) {
      spanId parentSpanId traceState name kind serviceName startTime startTimeUnixNano endTimeUnixNano duration depth
      status { code message }
      attributes { key value type }
      droppedAttributesCount
      resource { serviceName attributes { key value type } }
      scope { name version }
      events { time timeUnixNano name attributes { key value type } }
      links { traceId spanId traceState attributes { key value type } }
    }
  }
}`;
export type SpanDetail = Item<NonNullable<G.SpanDetailQuery["trace"]>["spans"]>;
export type Attr = Item<SpanDetail["attributes"]>;

const RED = "calls errors rate errorRate p50 p95 p99 slowTraceId errorTraceId";

export const SERVICE_MAP: Document<G.ServiceMapQuery, G.ServiceMapVariables> =
  /* GraphQL */ `query ServiceMap($from: DateTime!, $to: DateTime!, $focus: ID, $depth: Int, $filter: ServiceMapFilter, $environment: String) {
  serviceMap(from: $from, to: $to, focus: $focus, depth: $depth, filter: $filter, environment: $environment) {
    nodes { id name kind ${RED} }
    edges { source target ${RED} }
  }
}`;
export type NetworkMapResult = G.NetworkMapQuery;
export type MapNode = Item<G.ServiceMapQuery["serviceMap"]["nodes"]>;
export type MapEdge = Item<G.ServiceMapQuery["serviceMap"]["edges"]>;
/** RED fields, as every node, edge and metric point has them. */
export type Red = Omit<MapEdge, "source" | "target">;

export const SERVICE_METRICS: Document<G.ServiceMetricsQuery, G.ServiceMetricsVariables> =
  /* GraphQL */ `query ServiceMetrics($service: String!, $groupBy: ServiceMetricsGroupBy, $from: DateTime!, $to: DateTime!) {
  serviceMetrics(service: $service, groupBy: $groupBy, from: $from, to: $to) {
    group
    points { time ${RED} }
  }
}`;

/** Root fields each page needs; a page whose fields the server lacks says its API is not there yet. */
export const PAGE_FIELDS = {
  map: ["serviceMap", "serviceMetrics"],
  config: ["configResources"],
  canary: ["canaryRuns"],
  flows: ["flowMatrix"],
} as const;

export const ROOT_FIELDS: Document<G.RootFieldsQuery, G.RootFieldsVariables> =
  /* GraphQL */ `query RootFields { __schema { queryType { fields { name } } } }`;
export type RootFieldsResult = G.RootFieldsQuery;

/** All documents, for the schema validation test. */
export const ALL_DOCUMENTS: Record<string, string> = {
  SERVICES,
  ENVIRONMENTS,
  OPERATIONS,
  SEARCH_TRACES,
  TRACE_HEADER,
  SPAN_PAGE_FIRST,
  SPAN_PAGE,
  SPAN_DETAIL,
  SPAN_POSITION,
  SERVICE_MAP,
  SERVICE_METRICS,
  ROOT_FIELDS,
};

export const FLOW_GROUPS = [
  "SERVICE",
  "INSTANCE",
  "ADDRESS",
  "ZONE",
  "REGION",
  "VPC",
] as const satisfies readonly G.FlowGroup[];
export type FlowGroup = G.FlowGroup;

const MATRIX = "groupBy rows { source destination bytes packets flows }";
export const FLOWS_PAGE: Document<G.FlowsPageQuery, G.FlowsPageVariables> =
  /* GraphQL */ `query FlowsPage($from: DateTime!, $to: DateTime!, $groupBy: FlowGroup!) {
  flowMatrix(from: $from, to: $to, groupBy: $groupBy, limit: 400) { ${MATRIX} }
  topTalkers(from: $from, to: $to, groupBy: $groupBy, limit: 15) { name bytes bytesOut bytesIn packets flows }
  interZoneTraffic(from: $from, to: $to, limit: 20) { ${MATRIX} }
  interRegionTraffic(from: $from, to: $to, limit: 20) { ${MATRIX} }
}`;
export type FlowRow = Item<G.FlowsPageQuery["flowMatrix"]["rows"]>;
ALL_DOCUMENTS.FLOWS_PAGE = FLOWS_PAGE;

const CANARY_RUN_FIELDS = `id status service from to score verdict reasons error
  groups { name score weight }
  metrics { name group classification observed direction critical muted criticalFailure pValue
    shiftEstimate shiftLower shiftUpper effectSize explanation
    baseline { count mean median min max } canary { count mean median min max } }
  zones { zone score verdict metrics { name classification } }`;
export const CANARY_RUNS: Document<G.CanaryRunsQuery, G.CanaryRunsVariables> =
  /* GraphQL */ `query CanaryRuns($service: String) {
  canaryRuns(service: $service, first: 50) { id status service from score verdict }
}`;
export const CANARY_RUN: Document<G.CanaryRunQuery, G.CanaryRunVariables> =
  /* GraphQL */ `query CanaryRun($id: ID!) { canaryRun(id: $id) { ${CANARY_RUN_FIELDS} } }`;
export const CANARY_SIGNATURE: Document<G.CanarySignatureQuery, G.CanarySignatureVariables> =
  /* GraphQL */ `query CanarySignature($id: ID!, $metric: String) {
  canaryRun(id: $id) { signatures(metric: $metric) { metric zone baseline { time value } canary { time value } } }
}`;
export const START_CANARY: Document<G.StartCanaryQuery, G.StartCanaryVariables> =
  /* GraphQL */ `query StartCanary($service: String!, $baseline: String!, $canary: String!, $from: DateTime!, $to: DateTime!) {
  canaryAnalysis(service: $service, baseline: $baseline, canary: $canary, from: $from, to: $to) { id }
}`;
export type CanaryRunSummary = Item<G.CanaryRunsQuery["canaryRuns"]>;
export type CanaryRunFull = NonNullable<G.CanaryRunQuery["canaryRun"]>;
export type CanaryMetric = Item<CanaryRunFull["metrics"]>;
export type CanaryStats = CanaryMetric["baseline"];
ALL_DOCUMENTS.CANARY_RUNS = CANARY_RUNS;
ALL_DOCUMENTS.CANARY_RUN = CANARY_RUN;
ALL_DOCUMENTS.CANARY_SIGNATURE = CANARY_SIGNATURE;
ALL_DOCUMENTS.START_CANARY = START_CANARY;

export const CONFIG_RESOURCES: Document<G.ConfigResourcesQuery, G.ConfigResourcesVariables> =
  /* GraphQL */ `query ConfigResources($type: String!, $at: DateTime) {
  resources(type: $type, at: $at, limit: 500) { type id account region since }
}`;
export const CONFIG_HISTORY: Document<G.ConfigHistoryQuery, G.ConfigHistoryVariables> =
  /* GraphQL */ `query ConfigHistory($type: String!, $id: String!) {
  resource(type: $type, id: $id) { type id versions { at until hash deleted account region } }
}`;
export const CONFIG_DIFF: Document<G.ConfigDiffQuery, G.ConfigDiffVariables> =
  /* GraphQL */ `query ConfigDiff($type: String!, $id: String!, $from: DateTime, $to: DateTime) {
  resource(type: $type, id: $id) { diff(from: $from, to: $to) { from to sideBySide { left right change } } }
}`;
export const CONFIG_CHANGES: Document<G.ConfigChangesQuery, G.ConfigChangesVariables> =
  /* GraphQL */ `query ConfigChanges($since: DateTime!, $until: DateTime) {
  changes(since: $since, until: $until) { type id account region at kind }
}`;
export const WHO_HAD: Document<G.WhoHadQuery, G.WhoHadVariables> =
  /* GraphQL */ `query WhoHad($ip: String!, $at: DateTime!) {
  whoHad(ip: $ip, at: $at) { type id account region since }
}`;
export type ConfigResourceRow = Item<G.ConfigResourcesQuery["resources"]>;
export type ConfigVersionRow = Item<NonNullable<G.ConfigHistoryQuery["resource"]>["versions"]>;
export type ConfigChangeRow = Item<G.ConfigChangesQuery["changes"]>;
ALL_DOCUMENTS.CONFIG_RESOURCES = CONFIG_RESOURCES;
ALL_DOCUMENTS.CONFIG_HISTORY = CONFIG_HISTORY;
ALL_DOCUMENTS.CONFIG_DIFF = CONFIG_DIFF;
ALL_DOCUMENTS.CONFIG_CHANGES = CONFIG_CHANGES;
ALL_DOCUMENTS.WHO_HAD = WHO_HAD;

/** Observed traffic between services (flows enriched by the recorder's instance tags). */
export const NETWORK_MAP: Document<G.NetworkMapQuery, G.NetworkMapVariables> =
  /* GraphQL */ `query NetworkMap($from: DateTime!, $to: DateTime!) {
  networkMap(from: $from, to: $to, groupBy: SERVICE, limit: 2000) {
    nodes { id bytesOut bytesIn }
    edges { source destination bytes packets flows }
  }
}`;
ALL_DOCUMENTS.NETWORK_MAP = NETWORK_MAP;

/** Saved security questions over config history (the security-queries page). */
export const OPEN_TO_WORLD: Document<G.OpenToWorldQuery, G.OpenToWorldVariables> =
  /* GraphQL */ `query OpenToWorld($port: Float!, $at: DateTime) {
  resources(
    type: "securityGroups"
    at: $at
    limit: 500
    filter: [{ path: "IpPermissions", elem: [
      { path: "IpRanges.CidrIp", eq: "0.0.0.0/0" }
      { path: "FromPort", lte: $port }
      { path: "ToPort", gte: $port }
    ] }]
  ) { type id account region since }
}`;
ALL_DOCUMENTS.OPEN_TO_WORLD = OPEN_TO_WORLD;
