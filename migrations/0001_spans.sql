-- Spans: one row per span, OTel data model. Sort key starts with the tenant; the hour bucket lets
-- a search by service and time range prune granules whether or not an operation is given.
-- Placeholders: {database} {on_cluster} {engine:<family>} {ttl:<class>:<time expression>}; see core/store/migrations.ts.
CREATE TABLE IF NOT EXISTS {database}.spans {on_cluster}
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
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    -- type of every attribute whose value is not a string (bool, int, double, bytes, array, kvlist, empty)
    attribute_types Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1)),
    dropped_attributes_count UInt32 CODEC(ZSTD(1)),
    resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_attribute_types Map(LowCardinality(String), LowCardinality(String)) CODEC(ZSTD(1)),
    resource_dropped_attributes_count UInt32 CODEC(ZSTD(1)),
    scope_name LowCardinality(String) CODEC(ZSTD(1)),
    scope_version LowCardinality(String) CODEC(ZSTD(1)),
    -- events and links keep their attributes as JSON arrays of [key, type, value]: they are read
    -- back whole, never searched
    `events.time` Array(DateTime64(9)) CODEC(ZSTD(1)),
    `events.name` Array(LowCardinality(String)) CODEC(ZSTD(1)),
    `events.attributes` Array(String) CODEC(ZSTD(1)),
    `events.dropped_attributes_count` Array(UInt32) CODEC(ZSTD(1)),
    dropped_events_count UInt32 CODEC(ZSTD(1)),
    `links.trace_id` Array(String) CODEC(ZSTD(1)),
    `links.span_id` Array(String) CODEC(ZSTD(1)),
    `links.trace_state` Array(String) CODEC(ZSTD(1)),
    `links.attributes` Array(String) CODEC(ZSTD(1)),
    `links.dropped_attributes_count` Array(UInt32) CODEC(ZSTD(1)),
    `links.flags` Array(UInt32) CODEC(ZSTD(1)),
    dropped_links_count UInt32 CODEC(ZSTD(1)),
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_attr_keys mapKeys(attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_values mapValues(attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_keys mapKeys(resource_attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_values mapValues(resource_attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration duration_ns TYPE minmax GRANULARITY 1
)
ENGINE = {engine:MergeTree}
PARTITION BY toDate(start_time)
ORDER BY (tenant, service_name, toStartOfHour(start_time), name, start_time)
{ttl:spans:toDateTime(start_time)}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

-- Trace id -> time range, so trace-by-id needs no time bounds from the user and never scans:
-- one primary-key lookup here, then partition pruning plus the bloom filter on spans.
CREATE TABLE IF NOT EXISTS {database}.trace_index {on_cluster}
(
    tenant LowCardinality(String) CODEC(ZSTD(1)),
    trace_id String CODEC(ZSTD(1)),
    day Date,
    start_time SimpleAggregateFunction(min, DateTime64(9)) CODEC(ZSTD(1)),
    end_time SimpleAggregateFunction(max, DateTime64(9)) CODEC(ZSTD(1)),
    span_count SimpleAggregateFunction(sum, UInt64) CODEC(ZSTD(1))
)
ENGINE = {engine:AggregatingMergeTree}
PARTITION BY day
ORDER BY (tenant, trace_id, day)
{ttl:spans:day}
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.trace_index_mv {on_cluster} TO {database}.trace_index AS
SELECT tenant, trace_id, day, min(span_start) AS start_time, max(span_end) AS end_time, count() AS span_count
FROM
(
    SELECT
        tenant,
        trace_id,
        toDate(start_time) AS day,
        start_time AS span_start,
        addNanoseconds(start_time, duration_ns) AS span_end
    FROM {database}.spans
)
GROUP BY tenant, trace_id, day;

-- Services and operations per day, so listing them reads a few rows instead of spans.
CREATE TABLE IF NOT EXISTS {database}.operations {on_cluster}
(
    tenant LowCardinality(String),
    day Date,
    service_name LowCardinality(String),
    name LowCardinality(String),
    kind Enum8('UNSPECIFIED' = 0, 'INTERNAL' = 1, 'SERVER' = 2, 'CLIENT' = 3, 'PRODUCER' = 4, 'CONSUMER' = 5),
    span_count SimpleAggregateFunction(sum, UInt64),
    last_seen SimpleAggregateFunction(max, DateTime64(9))
)
ENGINE = {engine:AggregatingMergeTree}
PARTITION BY day
ORDER BY (tenant, service_name, name, kind, day)
{ttl:spans:day}
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.operations_mv {on_cluster} TO {database}.operations AS
SELECT
    tenant,
    toDate(start_time) AS day,
    service_name,
    name,
    kind,
    count() AS span_count,
    max(start_time) AS last_seen
FROM {database}.spans
GROUP BY tenant, day, service_name, name, kind;
