-- Half edges with binary ids, and per-service RED and ten-minute edge rollups for the map.
-- Placeholders: {database} {on_cluster} {engine:<family>}; see core/store/migrations.ts.
--
-- sm_spans (0002) kept trace and span ids as hex text: four strings of 16 to 32 characters per
-- span to sort, compress and merge. sm_half_edges holds the same rows with the ids as bytes
-- (FixedString 16 and 8), a parent in the same trace leaving ref_trace_id all zeros and a span
-- without parent leaving ref_span_id all zeros (an all-zero id is invalid in OTLP). In one run of
-- inserts of 50,000 live-like spans with ten attributes, the view filling it added 18.8% to the CPU
-- of a spans insert with the hex table and 13.6% with this one, merges included (9.4% and 5.0%
-- without them); npm run bench:service-map prints the whole ratio. The last day of sm_spans is copied over, then the
-- old view and table go; spans inserted while this migration runs, between the copy and the new
-- view, are missed by the map (the spans themselves are stored).
CREATE TABLE IF NOT EXISTS {database}.sm_half_edges {on_cluster}
(
    tenant LowCardinality(String),
    trace_id FixedString(16),
    span_id FixedString(8),
    ref_trace_id FixedString(16),
    ref_span_id FixedString(8),
    service_name LowCardinality(String),
    kind Enum8('UNSPECIFIED' = 0, 'INTERNAL' = 1, 'SERVER' = 2, 'CLIENT' = 3, 'PRODUCER' = 4, 'CONSUMER' = 5),
    start_time DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    duration_ns UInt64 CODEC(T64, ZSTD(1)),
    is_error UInt8,
    peer_kind LowCardinality(String),
    peer_name LowCardinality(String),
    inserted_at DateTime64(3) CODEC(Delta(8), ZSTD(1)),
    INDEX idx_inserted inserted_at TYPE minmax GRANULARITY 1
)
ENGINE = {engine:MergeTree}
PARTITION BY toStartOfFifteenMinutes(inserted_at)
ORDER BY (tenant, trace_id, span_id)
TTL toDateTime(inserted_at) + toIntervalDay(1)
SETTINGS ttl_only_drop_parts = 1
AS SELECT tenant,
    toFixedString(unhex(hex_trace), 16) AS trace_id,
    toFixedString(unhex(hex_span), 8) AS span_id,
    if(hex_ref_trace IN ('', hex_trace), toFixedString('', 16), toFixedString(unhex(hex_ref_trace), 16)) AS ref_trace_id,
    toFixedString(unhex(hex_ref_span), 8) AS ref_span_id,
    service_name, kind, start_time, duration_ns, is_error, peer_kind, peer_name, inserted_at
FROM (
    -- renamed first: an alias equal to a column name would shadow the column in the comparisons
    SELECT *, trace_id AS hex_trace, span_id AS hex_span, ref_trace_id AS hex_ref_trace, ref_span_id AS hex_ref_span
    FROM {database}.sm_spans
);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_half_edges_mv {on_cluster} TO {database}.sm_half_edges AS
SELECT
    tenant,
    toFixedString(unhex(trace_id), 16) AS trace_id,
    toFixedString(unhex(span_id), 8) AS span_id,
    if(by_link, toFixedString(unhex(`links.trace_id`[1]), 16), toFixedString('', 16)) AS ref_trace_id,
    toFixedString(unhex(if(by_link, `links.span_id`[1], parent_span_id)), 8) AS ref_span_id,
    service_name,
    kind,
    start_time,
    duration_ns,
    toUInt8(status_code = 'ERROR') AS is_error,
    if(kind IN ('CLIENT', 'PRODUCER'), multiIf(
        attributes['messaging.destination.name'] != '' OR attributes['messaging.system'] != '', 'queue',
        db_system IN ('redis', 'memcached', 'valkey', 'hazelcast', 'aerospike', 'coherence'), 'cache',
        db_system != '', 'database',
        attributes['peer.service'] != '' OR attributes['server.address'] != '', 'external',
        ''), '') AS peer_kind,
    multiIf(
        peer_kind = '', '',
        peer_kind = 'queue', if(attributes['messaging.destination.name'] != '', attributes['messaging.destination.name'], attributes['messaging.system']),
        peer_kind IN ('cache', 'database'), if(attributes['server.address'] != '', concat(db_system, '@', attributes['server.address']), db_system),
        if(attributes['peer.service'] != '', attributes['peer.service'], attributes['server.address'])) AS peer_name,
    now64(3) AS inserted_at
FROM
(
    SELECT *,
        parent_span_id = '' AND kind = 'CONSUMER' AND notEmpty(`links.span_id`) AS by_link,
        if(kind IN ('CLIENT', 'PRODUCER'),
            if(attributes['db.system'] != '', attributes['db.system'], attributes['db.system.name']), '') AS db_system
    FROM {database}.spans
);

DROP VIEW IF EXISTS {database}.sm_spans_mv {on_cluster};

DROP TABLE IF EXISTS {database}.sm_spans {on_cluster};

-- For Skald versions before this migration (a rolling upgrade, or a rollback): sm_spans as a view
-- over the new table with the ids as hex text again. Their pairing reads it correctly, though
-- without the primary key, so they are slow; windows they finish are the same as this version's.
CREATE VIEW IF NOT EXISTS {database}.sm_spans {on_cluster} AS
SELECT tenant,
    lower(hex(bin_trace)) AS trace_id,
    lower(hex(bin_span)) AS span_id,
    if(empty(bin_ref_trace), lower(hex(bin_trace)), lower(hex(bin_ref_trace))) AS ref_trace_id,
    if(empty(bin_ref_span), '', lower(hex(bin_ref_span))) AS ref_span_id,
    service_name, kind, start_time, duration_ns, is_error, peer_kind, peer_name, inserted_at
FROM (
    SELECT *, trace_id AS bin_trace, span_id AS bin_span, ref_trace_id AS bin_ref_trace, ref_span_id AS bin_ref_span
    FROM {database}.sm_half_edges
);

-- RED per service and minute (and hour), whatever the operation, version or instance: the nodes of
-- the map. Summing sm_red_1m over a day read every operation x version x instance row (thousands a
-- minute); these hold one row per service and minute. Filled from sm_red_1m's inserts (the rows its
-- view aggregated per insert block), so spans pass through no extra view. Existing rows are copied.
CREATE TABLE IF NOT EXISTS {database}.sm_service_red_1m {on_cluster}
(
    tenant LowCardinality(String),
    minute DateTime,
    service LowCardinality(String),
    calls SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    duration AggregateFunction(quantilesDD(0.01, 0.5, 0.9, 0.95, 0.99), UInt64),
    slow_trace AggregateFunction(argMax, String, UInt64),
    error_trace SimpleAggregateFunction(max, String)
)
ENGINE = {engine:AggregatingMergeTree}
PARTITION BY toDate(minute)
ORDER BY (tenant, minute, service)
{ttl:spans:minute}
SETTINGS ttl_only_drop_parts = 1
AS SELECT tenant, minute, service, sum(calls) AS calls, sum(errors) AS errors,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_red_1m
GROUP BY tenant, minute, service;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_service_red_1m_mv {on_cluster} TO {database}.sm_service_red_1m AS
SELECT tenant, minute, service, sum(calls) AS calls, sum(errors) AS errors,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_red_1m
GROUP BY tenant, minute, service;

CREATE TABLE IF NOT EXISTS {database}.sm_service_red_1h {on_cluster}
(
    tenant LowCardinality(String),
    hour DateTime,
    service LowCardinality(String),
    calls SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    duration AggregateFunction(quantilesDD(0.01, 0.5, 0.9, 0.95, 0.99), UInt64),
    slow_trace AggregateFunction(argMax, String, UInt64),
    error_trace SimpleAggregateFunction(max, String)
)
ENGINE = {engine:AggregatingMergeTree}
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, service)
{ttl:spans:hour}
SETTINGS ttl_only_drop_parts = 1
AS SELECT tenant, hour, service, sum(calls) AS calls, sum(errors) AS errors,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_red_1h
GROUP BY tenant, hour, service;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_service_red_1h_mv {on_cluster} TO {database}.sm_service_red_1h AS
SELECT tenant, toStartOfHour(minute) AS hour, service, sum(calls) AS calls, sum(errors) AS errors,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_service_red_1m
GROUP BY tenant, hour, service;

-- Edges per ten minutes: a window's ragged ends read at most nine minutes each from sm_edges_1m
-- (one row per minute, edge and arrival window) and the rest from here or sm_edges_1h. Filled from
-- the pairing job's inserts into sm_edges_1m, which hold finished windows only.
CREATE TABLE IF NOT EXISTS {database}.sm_edges_10m {on_cluster}
(
    tenant LowCardinality(String),
    ten_minutes DateTime,
    source LowCardinality(String),
    target_kind LowCardinality(String),
    target LowCardinality(String),
    calls SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    late SimpleAggregateFunction(sum, UInt64),
    duration AggregateFunction(quantilesDD(0.01, 0.5, 0.9, 0.95, 0.99), UInt64),
    slow_trace AggregateFunction(argMax, String, UInt64),
    error_trace SimpleAggregateFunction(max, String)
)
ENGINE = {engine:AggregatingMergeTree}
PARTITION BY toDate(ten_minutes)
ORDER BY (tenant, ten_minutes, source, target_kind, target)
{ttl:spans:ten_minutes}
SETTINGS ttl_only_drop_parts = 1
AS SELECT tenant, toStartOfTenMinutes(minute) AS ten_minutes, source, target_kind, target,
    sum(calls) AS calls, sum(errors) AS errors, sum(late) AS late,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_edges_1m
GROUP BY tenant, ten_minutes, source, target_kind, target;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_edges_10m_mv {on_cluster} TO {database}.sm_edges_10m AS
SELECT tenant, toStartOfTenMinutes(minute) AS ten_minutes, source, target_kind, target,
    sum(calls) AS calls, sum(errors) AS errors, sum(late) AS late,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_edges_1m
GROUP BY tenant, ten_minutes, source, target_kind, target;
