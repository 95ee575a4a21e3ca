import type { QueryConfig } from "../../core/config/schema.js";

/**
 * The GraphQL contract. Names here are what clients depend on: add, never rename. The limits of
 * the running server are written into the descriptions so GraphiQL shows them.
 */
export function typeDefs(q: QueryConfig): string {
  return /* GraphQL */ `
scalar DateTime
scalar Duration
scalar TraceId
scalar SpanId

"OTLP span kind."
enum SpanKind { UNSPECIFIED INTERNAL SERVER CLIENT PRODUCER CONSUMER }

"OTLP status code."
enum StatusCode { UNSET OK ERROR }

"""
Every query is scoped to the tenant named by the tenant header (x-scope-orgid by default).
"""
type Query {
  """
  Services that recorded spans in the window (whole days; default: every retained day), by name.
  With \`environment\`: only services with spans of that deployment environment, counted from the
  spans themselves (exact window; default: the day before \`to\`, default now).
  """
  services(from: DateTime, to: DateTime, environment: String): [Service!]!

  """
  Deployment environments of spans in the window, sorted: the resource attribute
  \`deployment.environment.name\`, else \`deployment.environment\`. Read from spans; default window:
  the day before \`to\` (default now).
  """
  environments(from: DateTime, to: DateTime): [String!]!

  "Operations (span name and kind) of a service in the window (whole days; default: every retained day)."
  operations(service: String!, kind: SpanKind, from: DateTime, to: DateTime): [Operation!]!

  """
  A trace by id (32 hex characters; anything else is BAD_USER_INPUT), or null if unknown.
  No time range is needed.
  """
  trace(id: ID!): Trace

  """
  Traces with at least one span matching every condition of the filter, newest first (by the
  start of the earliest matching span in the window). \`first\`: default 20, at most
  ${q.maxSearchLimit}. \`after\`: an endCursor of a previous page.
  """
  traces(filter: TraceFilter, first: Int, after: String): TraceConnection!

  """
  Traces carrying \`value\` in attribute \`key\` of a span or of its resource (for example a request
  GUID), or in any attribute when \`key\` is omitted; newest first. Without from/to every retained
  day is searched. \`first\`: default 20, at most ${q.maxSearchLimit}.
  """
  traceByAttribute(key: String, value: String!, from: DateTime, to: DateTime, first: Int): [TraceSummary!]!
}

type Service {
  name: String!
  "Spans in the window (exact up to 2^53)."
  spanCount: Float!
  lastSeen: DateTime!
  "Operations of this service in the same window."
  operations(kind: SpanKind): [Operation!]!
}

type Operation {
  serviceName: String!
  "Span name."
  name: String!
  kind: SpanKind!
  spanCount: Float!
  lastSeen: DateTime!
}

type Trace {
  traceId: TraceId!
  "Earliest span start."
  startTime: DateTime!
  "Latest span end."
  endTime: DateTime!
  startTimeUnixNano: String!
  endTimeUnixNano: String!
  duration: Duration!
  "Distinct spans stored for this trace."
  spanCount: Int!
  "Distinct service names, sorted."
  services: [String!]!
  "The earliest span without a parent, or null if it has not arrived."
  rootSpan: Span
  """
  Spans in waterfall order: depth first, parent before children, siblings by start time then
  span id; a span whose parent is missing is a root. \`first\`: default and maximum
  ${q.maxTracePage}. \`after\`: a cursor from spanPage, or the span id of the last span received.
  \`offset\`: instead of \`after\`, the waterfall position of the first span wanted (0 is the
  first span; past the end gives an empty page), to jump into a large trace without paging to it.
  """
  spans(first: Int, after: String, offset: Int): [Span!]!
  "The same pages as \`spans\`, as a connection with cursors and the total."
  spanPage(first: Int, after: String, offset: Int): SpanConnection!
  "Waterfall position of a span (what \`offset\` takes to start a page at it), or null if it is not in this trace."
  spanPosition(spanId: SpanId!): Int
}

type SpanConnection {
  edges: [SpanEdge!]!
  pageInfo: PageInfo!
  "Spans in the whole trace."
  totalCount: Int!
}

type SpanEdge {
  cursor: String!
  node: Span!
}

type PageInfo {
  hasNextPage: Boolean!
  endCursor: String
}

type Span {
  traceId: TraceId!
  spanId: SpanId!
  "Null for a root span."
  parentSpanId: SpanId
  traceState: String!
  flags: Int!
  name: String!
  kind: SpanKind!
  serviceName: String!
  startTime: DateTime!
  endTime: DateTime!
  "Exact nanoseconds since the Unix epoch, as a decimal string."
  startTimeUnixNano: String!
  endTimeUnixNano: String!
  duration: Duration!
  "Depth in the trace's waterfall (roots are 0)."
  depth: Int!
  """
  Spans under this one in the trace's waterfall (its whole subtree, itself excluded): they follow
  it directly, so a client can collapse a subtree it has not loaded. Null outside \`spans\`,
  \`spanPage\` and \`rootSpan\`.
  """
  descendantCount: Int
  status: SpanStatus!
  attributes: [Attribute!]!
  droppedAttributesCount: Int!
  resource: Resource!
  scope: InstrumentationScope!
  events: [SpanEvent!]!
  droppedEventsCount: Int!
  links: [SpanLink!]!
  droppedLinksCount: Int!
}

type SpanStatus {
  code: StatusCode!
  message: String!
}

"""
An attribute. \`value\` is the canonical text: strings as is, bools "true"/"false", ints in decimal,
doubles as JavaScript prints them, bytes in base64, arrays and kvlists as JSON, empty as "".
\`type\` is one of: string, bool, int, double, bytes, array, kvlist, empty.
"""
type Attribute {
  key: String!
  value: String!
  type: String!
}

type Resource {
  serviceName: String!
  attributes: [Attribute!]!
  droppedAttributesCount: Int!
}

type InstrumentationScope {
  name: String!
  version: String!
}

type SpanEvent {
  time: DateTime!
  timeUnixNano: String!
  name: String!
  attributes: [Attribute!]!
  droppedAttributesCount: Int!
}

type SpanLink {
  traceId: TraceId!
  spanId: SpanId!
  traceState: String!
  attributes: [Attribute!]!
  droppedAttributesCount: Int!
  flags: Int!
}

"Attribute equality, or presence of the key when \`value\` is omitted."
input AttributeFilter {
  key: String!
  value: String
}

"All conditions must hold on the same span. Default window: the hour before \`to\` (default now)."
input TraceFilter {
  service: String
  "Span name."
  operation: String
  kind: SpanKind
  status: StatusCode
  attributes: [AttributeFilter!]
  resourceAttributes: [AttributeFilter!]
  "Deployment environment of the span's resource (\`deployment.environment.name\`, else \`deployment.environment\`)."
  environment: String
  minDuration: Duration
  maxDuration: Duration
  "Inclusive bounds on span start."
  from: DateTime
  to: DateTime
}

type TraceConnection {
  edges: [TraceEdge!]!
  pageInfo: PageInfo!
}

type TraceEdge {
  cursor: String!
  node: TraceSummary!
}

type TraceSummary {
  traceId: TraceId!
  "Service of the root span; null if no span without a parent has arrived."
  rootServiceName: String
  "Operation (span name) of the root span; null if no span without a parent has arrived."
  rootOperation: String
  startTime: DateTime!
  endTime: DateTime!
  duration: Duration!
  spanCount: Int!
  "Spans with status ERROR."
  errorCount: Int!
  "Distinct service names, sorted."
  services: [String!]!
}
`;
}
