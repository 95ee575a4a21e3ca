/**
 * Every GraphQL document the dashboard sends, with hand-written result types. The e2e suite
 * (test/e2e/ui.test.ts) validates each document against the server's real schema (base SDL plus
 * the feature modules) with graphql-js `validate`, so a renamed field fails a test, not a user.
 */

import { BLOCK, FIRST_BLOCK, type WaterfallSpan } from "./waterfall.js";

export const SERVICES = /* GraphQL */ `query Services($from: DateTime, $to: DateTime, $environment: String) {
  services(from: $from, to: $to, environment: $environment) { name spanCount }
}`;

export const ENVIRONMENTS = /* GraphQL */ `query Environments($from: DateTime, $to: DateTime) {
  environments(from: $from, to: $to)
}`;
export interface EnvironmentsResult {
  environments: string[];
}
export interface ServicesResult {
  services: Array<{ name: string; spanCount: number }>;
}

export const OPERATIONS = /* GraphQL */ `query Operations($service: String!, $from: DateTime, $to: DateTime) {
  operations(service: $service, from: $from, to: $to) { name kind }
}`;
export interface OperationsResult {
  operations: Array<{ name: string; kind: string }>;
}

export const SEARCH_TRACES = /* GraphQL */ `query SearchTraces($filter: TraceFilter, $first: Int, $after: String) {
  traces(filter: $filter, first: $first, after: $after) {
    edges { node { traceId rootServiceName rootOperation startTime duration spanCount errorCount services } }
    pageInfo { hasNextPage endCursor }
  }
}`;
export interface TraceSummary {
  traceId: string;
  rootServiceName: string | null;
  rootOperation: string | null;
  startTime: string;
  duration: string;
  spanCount: number;
  errorCount: number;
  services: string[];
}
export interface SearchTracesResult {
  traces: {
    edges: Array<{ node: TraceSummary }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

export const TRACE_HEADER = /* GraphQL */ `query TraceHeader($id: ID!) {
  trace(id: $id) {
    traceId startTime startTimeUnixNano endTimeUnixNano duration spanCount services
    rootSpan { name serviceName }
  }
}`;
export interface TraceHeaderResult {
  trace: {
    traceId: string;
    startTime: string;
    startTimeUnixNano: string;
    endTimeUnixNano: string;
    duration: string;
    spanCount: number;
    services: string[];
    rootSpan: { name: string; serviceName: string } | null;
  } | null;
}

/**
 * A block of the waterfall at a position (`offset`), so a jump fetches only what it shows: 500
 * spans first so the view renders fast, then 4,000 (the complexity limit counts `status` once per
 * span, so 4,000 stays under the default 5,000). `first` is a literal so the server's complexity
 * check sees it.
 */
export const spanPageQuery = (first: number) => /* GraphQL */ `query SpanPage($id: ID!, $offset: Int!) {
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
export const SPAN_POSITION = /* GraphQL */ `query SpanPosition($id: ID!, $span: SpanId!) {
  trace(id: $id) { spanPosition(spanId: $span) }
}`;
export interface SpanPositionResult {
  trace: { spanPosition: number | null } | null;
}
export interface SpanPageResult {
  trace: {
    spanPage: {
      edges: Array<{ node: WaterfallSpan }>;
      totalCount: number;
    };
  } | null;
}

/** One span in full: the span at waterfall position `offset`. */
export const SPAN_DETAIL = /* GraphQL */ `query SpanDetail($id: ID!, $offset: Int!) {
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
export interface Attr {
  key: string;
  value: string;
  type: string;
}
export interface SpanDetail {
  spanId: string;
  parentSpanId: string | null;
  traceState: string;
  name: string;
  kind: string;
  serviceName: string;
  startTime: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  duration: string;
  depth: number;
  status: { code: string; message: string };
  attributes: Attr[];
  droppedAttributesCount: number;
  resource: { serviceName: string; attributes: Attr[] };
  scope: { name: string; version: string };
  events: Array<{ time: string; timeUnixNano: string; name: string; attributes: Attr[] }>;
  links: Array<{ traceId: string; spanId: string; traceState: string; attributes: Attr[] }>;
}
export interface SpanDetailResult {
  trace: { spans: SpanDetail[] } | null;
}

const RED = "calls errors rate errorRate p50 p95 p99 slowTraceId errorTraceId";

export const SERVICE_MAP = /* GraphQL */ `query ServiceMap($from: DateTime!, $to: DateTime!, $focus: ID, $depth: Int, $filter: ServiceMapFilter, $environment: String) {
  serviceMap(from: $from, to: $to, focus: $focus, depth: $depth, filter: $filter, environment: $environment) {
    nodes { id name kind ${RED} }
    edges { source target ${RED} }
  }
}`;
export interface Red {
  calls: number;
  errors: number;
  rate: number;
  errorRate: number;
  p50: string | null;
  p95: string | null;
  p99: string | null;
  slowTraceId: string | null;
  errorTraceId: string | null;
}
export interface MapNode extends Red {
  id: string;
  name: string;
  kind: "service" | "database" | "cache" | "external" | "queue";
}
export interface MapEdge extends Red {
  source: string;
  target: string;
}
export interface ServiceMapResult {
  serviceMap: { nodes: MapNode[]; edges: MapEdge[] };
}

export const SERVICE_METRICS = /* GraphQL */ `query ServiceMetrics($service: String!, $groupBy: ServiceMetricsGroupBy, $from: DateTime!, $to: DateTime!) {
  serviceMetrics(service: $service, groupBy: $groupBy, from: $from, to: $to) {
    group
    points { time ${RED} }
  }
}`;
export interface ServiceMetricsResult {
  serviceMetrics: Array<{ group: string; points: Array<Red & { time: string }> }>;
}

/** Root fields each page needs; a page whose fields the server lacks says its API is not there yet. */
export const PAGE_FIELDS = {
  map: ["serviceMap", "serviceMetrics"],
  config: ["configResources"],
  canary: ["canaryRuns"],
  flows: ["flowMatrix"],
} as const;

export const ROOT_FIELDS = /* GraphQL */ `query RootFields { __schema { queryType { fields { name } } } }`;
export interface RootFieldsResult {
  __schema: { queryType: { fields: Array<{ name: string }> } };
}

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

export const FLOW_GROUPS = ["SERVICE", "INSTANCE", "ADDRESS", "ZONE", "REGION", "VPC"] as const;
export type FlowGroup = (typeof FLOW_GROUPS)[number];

const MATRIX = "groupBy rows { source destination bytes packets flows }";
export const FLOWS_PAGE = /* GraphQL */ `query FlowsPage($from: DateTime!, $to: DateTime!, $groupBy: FlowGroup!) {
  flowMatrix(from: $from, to: $to, groupBy: $groupBy, limit: 400) { ${MATRIX} }
  topTalkers(from: $from, to: $to, groupBy: $groupBy, limit: 15) { name bytes bytesOut bytesIn packets flows }
  interZoneTraffic(from: $from, to: $to, limit: 20) { ${MATRIX} }
  interRegionTraffic(from: $from, to: $to, limit: 20) { ${MATRIX} }
}`;
export interface FlowRow {
  source: string;
  destination: string;
  bytes: number;
  packets: number;
  flows: number;
}
export interface FlowsPageResult {
  flowMatrix: { groupBy: FlowGroup; rows: FlowRow[] };
  topTalkers: Array<{
    name: string;
    bytes: number;
    bytesOut: number;
    bytesIn: number;
    packets: number;
    flows: number;
  }>;
  interZoneTraffic: { rows: FlowRow[] };
  interRegionTraffic: { rows: FlowRow[] };
}
ALL_DOCUMENTS.FLOWS_PAGE = FLOWS_PAGE;

const CANARY_RUN_FIELDS = `id status service from to score verdict reasons error
  groups { name score weight }
  metrics { name group classification observed direction critical muted criticalFailure pValue
    shiftEstimate shiftLower shiftUpper effectSize explanation
    baseline { count mean median min max } canary { count mean median min max } }
  zones { zone score verdict metrics { name classification } }`;
export const CANARY_RUNS = /* GraphQL */ `query CanaryRuns($service: String) {
  canaryRuns(service: $service, first: 50) { id status service from score verdict }
}`;
export const CANARY_RUN = /* GraphQL */ `query CanaryRun($id: ID!) { canaryRun(id: $id) { ${CANARY_RUN_FIELDS} } }`;
export const CANARY_SIGNATURE = /* GraphQL */ `query CanarySignature($id: ID!, $metric: String) {
  canaryRun(id: $id) { signatures(metric: $metric) { metric zone baseline { time value } canary { time value } } }
}`;
export const START_CANARY = /* GraphQL */ `query StartCanary($service: String!, $baseline: String!, $canary: String!, $from: DateTime!, $to: DateTime!) {
  canaryAnalysis(service: $service, baseline: $baseline, canary: $canary, from: $from, to: $to) { id }
}`;
export interface CanaryStats {
  count: number;
  mean: number | null;
  median: number | null;
  min: number | null;
  max: number | null;
}
export interface CanaryMetric {
  name: string;
  group: string;
  classification: string;
  observed: string;
  direction: string;
  critical: boolean;
  muted: boolean;
  criticalFailure: boolean;
  pValue: number | null;
  shiftEstimate: number | null;
  shiftLower: number | null;
  shiftUpper: number | null;
  effectSize: number | null;
  explanation: string;
  baseline: CanaryStats;
  canary: CanaryStats;
}
export interface CanaryRunSummary {
  id: string;
  status: string;
  service: string;
  from: string;
  score: number;
  verdict: string | null;
}
export interface CanaryRunFull extends CanaryRunSummary {
  to: string;
  reasons: string[];
  error: string | null;
  groups: Array<{ name: string; score: number | null; weight: number }>;
  metrics: CanaryMetric[];
  zones: Array<{
    zone: string;
    score: number;
    verdict: string;
    metrics: Array<{ name: string; classification: string }>;
  }>;
}
export interface CanarySignatureResult {
  canaryRun: {
    signatures: Array<{
      metric: string;
      zone: string | null;
      baseline: Array<{ time: string; value: number | null }>;
      canary: Array<{ time: string; value: number | null }>;
    }>;
  } | null;
}
ALL_DOCUMENTS.CANARY_RUNS = CANARY_RUNS;
ALL_DOCUMENTS.CANARY_RUN = CANARY_RUN;
ALL_DOCUMENTS.CANARY_SIGNATURE = CANARY_SIGNATURE;
ALL_DOCUMENTS.START_CANARY = START_CANARY;

export const CONFIG_RESOURCES = /* GraphQL */ `query ConfigResources($type: String!, $at: DateTime) {
  resources(type: $type, at: $at, limit: 500) { type id account region since }
}`;
export const CONFIG_HISTORY = /* GraphQL */ `query ConfigHistory($type: String!, $id: String!) {
  resource(type: $type, id: $id) { type id versions { at until hash deleted account region } }
}`;
export const CONFIG_DIFF = /* GraphQL */ `query ConfigDiff($type: String!, $id: String!, $from: DateTime, $to: DateTime) {
  resource(type: $type, id: $id) { diff(from: $from, to: $to) { from to sideBySide { left right change } } }
}`;
export const CONFIG_CHANGES = /* GraphQL */ `query ConfigChanges($since: DateTime!, $until: DateTime) {
  changes(since: $since, until: $until) { type id account region at kind }
}`;
export const WHO_HAD = /* GraphQL */ `query WhoHad($ip: String!, $at: DateTime!) {
  whoHad(ip: $ip, at: $at) { type id account region since }
}`;
export interface ConfigResourceRow {
  type: string;
  id: string;
  account: string;
  region: string;
  since: string;
}
export interface ConfigVersionRow {
  at: string;
  until: string | null;
  hash: string;
  deleted: boolean;
  account: string;
  region: string;
}
export interface ConfigDiffResult {
  resource: {
    diff: {
      from: string | null;
      to: string | null;
      sideBySide: Array<{ left: string | null; right: string | null; change: string }>;
    } | null;
  } | null;
}
ALL_DOCUMENTS.CONFIG_RESOURCES = CONFIG_RESOURCES;
ALL_DOCUMENTS.CONFIG_HISTORY = CONFIG_HISTORY;
ALL_DOCUMENTS.CONFIG_DIFF = CONFIG_DIFF;
ALL_DOCUMENTS.CONFIG_CHANGES = CONFIG_CHANGES;
ALL_DOCUMENTS.WHO_HAD = WHO_HAD;

/** Observed traffic between services (flows enriched by the recorder's instance tags). */
export const NETWORK_MAP = /* GraphQL */ `query NetworkMap($from: DateTime!, $to: DateTime!) {
  networkMap(from: $from, to: $to, groupBy: SERVICE, limit: 2000) {
    nodes { id bytesOut bytesIn }
    edges { source destination bytes packets flows }
  }
}`;
export interface NetworkMapResult {
  networkMap: {
    nodes: Array<{ id: string; bytesOut: number; bytesIn: number }>;
    edges: Array<{ source: string; destination: string; bytes: number; packets: number; flows: number }>;
  };
}
ALL_DOCUMENTS.NETWORK_MAP = NETWORK_MAP;

/** Saved security questions over config history (the security-queries page). */
export const OPEN_TO_WORLD = /* GraphQL */ `query OpenToWorld($port: Float!, $at: DateTime) {
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
export interface OpenToWorldResult {
  resources: ConfigResourceRow[];
}
export interface ConfigChangeRow {
  type: string;
  id: string;
  account: string;
  region: string;
  at: string;
  kind: string;
}
ALL_DOCUMENTS.OPEN_TO_WORLD = OPEN_TO_WORLD;
