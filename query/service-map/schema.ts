/** GraphQL SDL of the service map (the contract in issue 4; add fields, never rename). */
export const SERVICE_MAP_SDL = /* GraphQL */ `
"Kind of a service-map node. Virtual nodes (all but service) are named from CLIENT/PRODUCER span attributes."
enum ServiceNodeKind { service database cache external queue }

enum ServiceMetricsGroupBy { VERSION INSTANCE OPERATION }

"""
Rate, errors, duration over a window. Latency quantiles are DDSketch estimates (ClickHouse
quantilesDD, relative accuracy 0.01: within 1% of the exact quantile's value).
"""
interface RedMetrics {
  calls: Float!
  errors: Float!
  "calls per second over the window"
  rate: Float!
  "errors / calls (0 without calls)"
  errorRate: Float!
  p50: Duration
  p90: Duration
  p95: Duration
  p99: Duration
  "A trace of the slowest call in the window."
  slowTraceId: TraceId
  "A trace of a failed call in the window."
  errorTraceId: TraceId
}

type ServiceMapNode implements RedMetrics {
  "kind:name, e.g. service:checkout, database:postgresql@orders-db"
  id: ID!
  "service.name for a service; peer.service, db.system[@server.address] or the destination otherwise"
  name: String!
  kind: ServiceNodeKind!
  calls: Float!
  errors: Float!
  rate: Float!
  errorRate: Float!
  p50: Duration
  p90: Duration
  p95: Duration
  p99: Duration
  slowTraceId: TraceId
  errorTraceId: TraceId
}

type ServiceMapEdge implements RedMetrics {
  "node id of the caller (always a service)"
  source: ID!
  "node id of the callee"
  target: ID!
  calls: Float!
  errors: Float!
  "Calls whose parent and child spans arrived further apart than the lateness bound (not in calls)."
  late: Float!
  rate: Float!
  errorRate: Float!
  p50: Duration
  p90: Duration
  p95: Duration
  p99: Duration
  slowTraceId: TraceId
  errorTraceId: TraceId
}

type ServiceMap {
  nodes: [ServiceMapNode!]!
  edges: [ServiceMapEdge!]!
  "Arrival time up to which edges come from pre-aggregated rows; later calls are paired live."
  aggregatedUntil: DateTime
}

input ServiceMapFilter {
  "Keep only nodes of these kinds (and edges between kept nodes)."
  kinds: [ServiceNodeKind!]
  "Keep only nodes whose name contains this text."
  nameContains: String
  "Drop edges with fewer calls."
  minCalls: Float
}

type MetricPoint implements RedMetrics {
  "start of the bucket"
  time: DateTime!
  calls: Float!
  errors: Float!
  rate: Float!
  errorRate: Float!
  p50: Duration
  p90: Duration
  p95: Duration
  p99: Duration
  slowTraceId: TraceId
  errorTraceId: TraceId
}

type MetricSeries {
  "value of the groupBy dimension (\\"\\" when not grouped or not set on the spans)"
  group: String!
  points: [MetricPoint!]!
}

extend type Query {
  """
  Who calls whom in [from, to) (widened to whole minutes), with RED per node and edge. A service
  edge is a span whose parent is in another service; CLIENT/PRODUCER spans without a child in
  another service point at virtual nodes. With \`focus\` (a node id), only nodes within \`depth\`
  hops (default 1, either direction) of it. With \`environment\`: only services with spans of that
  deployment environment in the window (see \`environments\`) and the calls among them or to
  virtual nodes; RED is not split by environment (a service in two environments shows all its
  calls in both).
  """
  serviceMap(
    from: DateTime!
    to: DateTime!
    focus: ID
    depth: Int
    filter: ServiceMapFilter
    environment: String
  ): ServiceMap!

  """
  RED of a service's entry spans (SERVER, CONSUMER, or roots) in buckets of \`step\` (default 1m,
  a whole number of minutes), optionally one operation, one series per group.
  """
  serviceMetrics(
    service: String!
    operation: String
    groupBy: ServiceMetricsGroupBy
    from: DateTime!
    to: DateTime!
    step: Duration
  ): [MetricSeries!]!
}
`;
