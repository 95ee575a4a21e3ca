/** The query side: span reads over ClickHouse, served as GraphQL on Fastify. */
export { createMaskError, type GraphQLErrorCode, graphqlCodeOf } from "./graphql/errors.js";
export {
  aliasLimitRule,
  complexityLimitRule,
  DEFAULT_MAX_ALIASES,
  depthLimitRule,
} from "./graphql/limits.js";
export type { QueryContext } from "./graphql/resolvers.js";
export { typeDefs } from "./graphql/schema.js";
export { createGraphQLHandler, type GraphQLDeps, type GraphQLHandler } from "./graphql/yoga.js";
export { parseSpanId, parseTraceId } from "./ids.js";
export type { QueryModule, QueryModuleDeps, QueryModuleFactory } from "./module.js";
export { QUERY_MODULES } from "./modules.js";
export { createQueryServer, type QueryServerDeps } from "./server.js";
export {
  type OperationInfo,
  type ServiceInfo,
  SpanReader,
  type SpanReaderOptions,
  type TimeRange,
  type TraceWithSpans,
} from "./span-reader.js";
export { decodeSpan, type StoredSpan } from "./span-record.js";
export { type QueryObserver, storeError } from "./sql.js";
export { formatRfc3339Nanos, parseDurationNanos, parseRfc3339Nanos } from "./time.js";
export { type PagedSpan, type SpanPage, spanCursor, TraceReader, type TraceRef } from "./trace-reader.js";
export {
  type AttributeMatch,
  decodeTraceCursor,
  encodeTraceCursor,
  type TraceFilter,
  TraceSearch,
  type TraceSearchPage,
  type TraceSummary,
} from "./trace-search.js";
export { buildWaterfall, type SkeletonSpan, type Waterfall } from "./waterfall.js";
