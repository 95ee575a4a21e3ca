-- `spans` sorted by trace within each service and hour: ORDER BY (tenant, service_name,
-- toStartOfHour(start_time), trace_id, start_time) instead of (..., name, start_time).
-- Placeholders: {database} {on_cluster} {engine:<family>} {ttl:<class>:<time expression>}; see
-- core/store/migrations.ts. REBUILD is Skald's own step, not ClickHouse SQL (see there).
--
-- Trace by id reads whole granules: 8,192 rows of every column it shows, around each span it
-- wants. Sorted by operation, the spans of one trace sat in as many granules as the trace has
-- operations per service (four for bench:query's 8-span traces), and most of the read was
-- decompressing attribute maps of other traces. Sorted by trace, a service's spans of one trace
-- are neighbours: one granule. On a copy of bench:query's 10M spans, trace by id (core columns and
-- attributes, four rounds of 100 traces, alternating) took p50 28-31 / p99 35-40 ms against
-- 39-45 / 53-65, and the table stored 35.7 bytes per span against 45.1 (a trace's ids, parent ids
-- and attributes repeat within it, so ZSTD finds them close together).
-- Searches keep their pruning by tenant, service and hour; a search by operation filters `name`
-- within those granules instead of narrowing them by the key.
--
-- A sort key cannot be altered in place, so the table is rebuilt: the new table below (its comment
-- tells a finished exchange from an unfinished one), then REBUILD copies every row into it,
-- exchanges the two names and drops the old table. The views
-- that read `spans` follow the name, so they fire once per span before and after and never for
-- the copy. The copy needs `spans` idle while it runs: `skald start` migrates before it accepts
-- spans; on a cluster, stop the ingesters first (Kafka keeps what arrives meanwhile).
CREATE TABLE IF NOT EXISTS {database}.spans_by_trace {on_cluster}
(
    tenant LowCardinality(String) CODEC(ZSTD(1)),
    trace_id String CODEC(ZSTD(1)),
    span_id String CODEC(ZSTD(1)),
    parent_span_id String CODEC(ZSTD(1)),
    trace_state String CODEC(ZSTD(1)),
    flags UInt32 CODEC(ZSTD(1)),
    name LowCardinality(String) CODEC(ZSTD(1)),
    kind Enum8('UNSPECIFIED' = 0, 'INTERNAL' = 1, 'SERVER' = 2, 'CLIENT' = 3, 'PRODUCER' = 4, 'CONSUMER' = 5) CODEC(ZSTD(1)),
    service_name LowCardinality(String) CODEC(ZSTD(1)),
    start_time DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    duration_ns UInt64 CODEC(T64, ZSTD(1)),
    status_code Enum8('UNSET' = 0, 'OK' = 1, 'ERROR' = 2) CODEC(ZSTD(1)),
    status_message String CODEC(ZSTD(1)),
    attributes Map(String, String) CODEC(ZSTD(3)),
    attribute_types Map(String, String) CODEC(ZSTD(1)),
    dropped_attributes_count UInt32 CODEC(ZSTD(1)),
    resource_attributes Map(String, String) CODEC(ZSTD(3)),
    resource_attribute_types Map(String, String) CODEC(ZSTD(1)),
    resource_dropped_attributes_count UInt32 CODEC(ZSTD(1)),
    scope_name String CODEC(ZSTD(1)),
    scope_version String CODEC(ZSTD(1)),
    `events.time` Array(DateTime64(9)) CODEC(ZSTD(1)),
    `events.name` Array(String) CODEC(ZSTD(1)),
    `events.attributes` Array(String) CODEC(ZSTD(3)),
    `events.dropped_attributes_count` Array(UInt32) CODEC(ZSTD(1)),
    dropped_events_count UInt32 CODEC(ZSTD(1)),
    `links.trace_id` Array(String) CODEC(ZSTD(1)),
    `links.span_id` Array(String) CODEC(ZSTD(1)),
    `links.trace_state` Array(String) CODEC(ZSTD(1)),
    `links.attributes` Array(String) CODEC(ZSTD(3)),
    `links.dropped_attributes_count` Array(UInt32) CODEC(ZSTD(1)),
    `links.flags` Array(UInt32) CODEC(ZSTD(1)),
    dropped_links_count UInt32 CODEC(ZSTD(1)),
    local_parent UInt8 DEFAULT 0 CODEC(ZSTD(1)),
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_attr_keys mapKeys(attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_values mapValues(attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_keys mapKeys(resource_attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_values mapValues(resource_attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration duration_ns TYPE minmax GRANULARITY 1
)
ENGINE = {engine:MergeTree}
PARTITION BY toDate(start_time)
ORDER BY (tenant, service_name, toStartOfHour(start_time), trace_id, start_time)
{ttl:spans:toDateTime(start_time)}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000
COMMENT 'spans, sorted by trace within service and hour (migration 0021)';

REBUILD {database}.spans AS {database}.spans_by_trace;
