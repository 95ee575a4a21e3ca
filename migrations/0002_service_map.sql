-- Service map and RED metrics (README "Service map"; core/service-map/README.md has the full design).
-- Placeholders: {database} {on_cluster} {engine:<family>} {ttl:<class>:<time expression>}; see core/store/migrations.ts.

-- Half edges: one slim row per span, written by a materialized view at insert time. A span is a
-- potential parent (trace_id, span_id, service, kind) and, when it has one, a child of
-- (ref_trace_id, ref_span_id): its parent, or its first link for a parentless CONSUMER span.
-- CLIENT/PRODUCER spans also carry the virtual node they point at (peer_kind, peer_name).
-- `inserted_at` is the ClickHouse server's clock at insert: pairing and lateness are defined on
-- arrival time, so backfilled data is paired like live data. Kept one day: pairing only ever
-- needs the last lateness bound plus the job's backlog. Fifteen-minute partitions by arrival let
-- the live pairing of the open window and each job window read only the newest partitions.
CREATE TABLE IF NOT EXISTS {database}.sm_spans {on_cluster}
(
    tenant LowCardinality(String),
    trace_id String CODEC(ZSTD(1)),
    span_id String CODEC(ZSTD(1)),
    ref_trace_id String CODEC(ZSTD(1)),
    ref_span_id String CODEC(ZSTD(1)),
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
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_spans_mv {on_cluster} TO {database}.sm_spans AS
SELECT
    tenant,
    trace_id,
    span_id,
    if(by_link, `links.trace_id`[1], trace_id) AS ref_trace_id,
    if(by_link, `links.span_id`[1], parent_span_id) AS ref_span_id,
    service_name,
    kind,
    start_time,
    duration_ns,
    toUInt8(status_code = 'ERROR') AS is_error,
    multiIf(
        kind NOT IN ('CLIENT', 'PRODUCER'), '',
        attributes['messaging.destination.name'] != '' OR attributes['messaging.system'] != '', 'queue',
        db_system IN ('redis', 'memcached', 'valkey', 'hazelcast', 'aerospike', 'coherence'), 'cache',
        db_system != '', 'database',
        attributes['peer.service'] != '' OR attributes['server.address'] != '', 'external',
        '') AS peer_kind,
    multiIf(
        peer_kind = 'queue', if(attributes['messaging.destination.name'] != '', attributes['messaging.destination.name'], attributes['messaging.system']),
        peer_kind IN ('cache', 'database'), if(attributes['server.address'] != '', concat(db_system, '@', attributes['server.address']), db_system),
        peer_kind = 'external', if(attributes['peer.service'] != '', attributes['peer.service'], attributes['server.address']),
        '') AS peer_name,
    now64(3) AS inserted_at
FROM
(
    SELECT *,
        parent_span_id = '' AND kind = 'CONSUMER' AND notEmpty(`links.span_id`) AS by_link,
        if(attributes['db.system'] != '', attributes['db.system'], attributes['db.system.name']) AS db_system
    FROM {database}.spans
);

-- Edges per minute of the child's (or virtual call's) start, written by the pairing job once per
-- arrival window. `window_end` is part of the key so a reader can take exactly the windows the job
-- has finished (`window_end <= watermark`) and pair the rest live, without double counting.
-- Quantiles: DDSketch (quantilesDD) with relative accuracy 0.01, see the README.
CREATE TABLE IF NOT EXISTS {database}.sm_edges_1m {on_cluster}
(
    tenant LowCardinality(String),
    minute DateTime,
    source LowCardinality(String),
    target_kind LowCardinality(String),
    target LowCardinality(String),
    window_end DateTime64(3),
    calls SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    late SimpleAggregateFunction(sum, UInt64),
    duration AggregateFunction(quantilesDD(0.01, 0.5, 0.9, 0.95, 0.99), UInt64),
    slow_trace AggregateFunction(argMax, String, UInt64),
    error_trace SimpleAggregateFunction(max, String)
)
ENGINE = {engine:AggregatingMergeTree}
PARTITION BY toDate(minute)
ORDER BY (tenant, minute, source, target_kind, target, window_end)
{ttl:spans:minute}
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS {database}.sm_edges_1h {on_cluster}
(
    tenant LowCardinality(String),
    hour DateTime,
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
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, source, target_kind, target)
{ttl:spans:hour}
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_edges_1h_mv {on_cluster} TO {database}.sm_edges_1h AS
SELECT tenant, toStartOfHour(minute) AS hour, source, target_kind, target,
    sum(calls) AS calls, sum(errors) AS errors, sum(late) AS late,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace,
    max(error_trace) AS error_trace
FROM {database}.sm_edges_1m
GROUP BY tenant, hour, source, target_kind, target;

-- Arrival windows the pairing job has finished; the watermark is max(window_end).
CREATE TABLE IF NOT EXISTS {database}.sm_windows {on_cluster}
(
    window_end DateTime64(3),
    finished_at DateTime64(3) DEFAULT now64(3)
)
ENGINE = {engine:ReplacingMergeTree}
ORDER BY window_end
TTL toDateTime(window_end) + toIntervalDay(2);

-- RED per service, operation, version and instance, from entry spans (SERVER, CONSUMER, or a
-- root span of any kind): one span = one request. Per span, no pairing: a materialized view.
CREATE TABLE IF NOT EXISTS {database}.sm_red_1m {on_cluster}
(
    tenant LowCardinality(String),
    minute DateTime,
    service LowCardinality(String),
    operation LowCardinality(String),
    version LowCardinality(String),
    instance LowCardinality(String),
    calls SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    duration AggregateFunction(quantilesDD(0.01, 0.5, 0.9, 0.95, 0.99), UInt64),
    slow_trace AggregateFunction(argMax, String, UInt64),
    error_trace SimpleAggregateFunction(max, String)
)
ENGINE = {engine:AggregatingMergeTree}
PARTITION BY toDate(minute)
ORDER BY (tenant, service, minute, operation, version, instance)
{ttl:spans:minute}
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_red_1m_mv {on_cluster} TO {database}.sm_red_1m AS
SELECT
    tenant,
    toStartOfMinute(start_time) AS minute,
    service_name AS service,
    name AS operation,
    resource_attributes['service.version'] AS version,
    if(resource_attributes['service.instance.id'] != '', resource_attributes['service.instance.id'], resource_attributes['host.name']) AS instance,
    count() AS calls,
    countIf(status_code = 'ERROR') AS errors,
    quantilesDDState(0.01, 0.5, 0.9, 0.95, 0.99)(duration_ns) AS duration,
    argMaxState(trace_id, duration_ns) AS slow_trace,
    maxIf(trace_id, status_code = 'ERROR') AS error_trace
FROM {database}.spans
WHERE kind IN ('SERVER', 'CONSUMER') OR parent_span_id = ''
GROUP BY tenant, minute, service, operation, version, instance;

CREATE TABLE IF NOT EXISTS {database}.sm_red_1h {on_cluster}
(
    tenant LowCardinality(String),
    hour DateTime,
    service LowCardinality(String),
    operation LowCardinality(String),
    version LowCardinality(String),
    instance LowCardinality(String),
    calls SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    duration AggregateFunction(quantilesDD(0.01, 0.5, 0.9, 0.95, 0.99), UInt64),
    slow_trace AggregateFunction(argMax, String, UInt64),
    error_trace SimpleAggregateFunction(max, String)
)
ENGINE = {engine:AggregatingMergeTree}
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, service, hour, operation, version, instance)
{ttl:spans:hour}
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_red_1h_mv {on_cluster} TO {database}.sm_red_1h AS
SELECT tenant, toStartOfHour(minute) AS hour, service, operation, version, instance,
    sum(calls) AS calls, sum(errors) AS errors,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace,
    max(error_trace) AS error_trace
FROM {database}.sm_red_1m
GROUP BY tenant, hour, service, operation, version, instance;
