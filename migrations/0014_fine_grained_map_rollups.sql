-- Rollups of the service map with small granules (256 rows instead of 8,192), for the map's reads.
-- Placeholders: {database} {on_cluster} {engine:<family>} {ttl:<class>:<time expression>}; see core/store/migrations.ts.
--
-- A latency sketch (a DDSketch state) is deserialised for every row of every granule a query
-- touches, whether the row matches or not. Nine ragged minutes of service RED merged 60 sketches
-- but deserialised the whole granule of the day's part (thousands): 25.6 ms, against 5.8 ms from
-- the same rows in 256-row granules (one run, 10M spans stored, 17 services). The granularity of an
-- existing table cannot be changed, so the tables the map reads minute and ten-minute rows from
-- get fine-grained twins, filled by views from the same inserts as the originals (the job's RED
-- and edge inserts, so no span passes through an extra view); existing rows are copied at creation.
-- The originals stay: the job inserts into sm_edges_1m and sm_red_1m, the hourly rollups are
-- filled from them, and readers of an older Skald keep working during a rolling upgrade.
-- On a live cluster, a window finished between a copy and its view's creation (a few
-- milliseconds; the job finishes one window per 30 s) is missing from that twin.

CREATE TABLE IF NOT EXISTS {database}.sm_service_red_1m_v2 {on_cluster}
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
-- a window finished twice inserts the same block again: skipped here too (0012)
SETTINGS index_granularity = 256, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000
AS SELECT tenant, minute, service, sum(calls) AS calls, sum(errors) AS errors,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_service_red_1m
GROUP BY tenant, minute, service;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_service_red_1m_v2_mv {on_cluster} TO {database}.sm_service_red_1m_v2 AS
SELECT tenant, minute, service, sum(calls) AS calls, sum(errors) AS errors,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_red_1m
GROUP BY tenant, minute, service;

-- one row per minute, edge and arrival window, as sm_edges_1m (readers take finished windows only)
CREATE TABLE IF NOT EXISTS {database}.sm_edges_1m_v2 {on_cluster}
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
SETTINGS index_granularity = 256, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000
AS SELECT tenant, minute, source, target_kind, target, window_end,
    sum(calls) AS calls, sum(errors) AS errors, sum(late) AS late,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_edges_1m
GROUP BY tenant, minute, source, target_kind, target, window_end;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_edges_1m_v2_mv {on_cluster} TO {database}.sm_edges_1m_v2 AS
SELECT tenant, minute, source, target_kind, target, window_end,
    sum(calls) AS calls, sum(errors) AS errors, sum(late) AS late,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_edges_1m
GROUP BY tenant, minute, source, target_kind, target, window_end;

CREATE TABLE IF NOT EXISTS {database}.sm_edges_10m_v2 {on_cluster}
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
SETTINGS index_granularity = 256, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000
AS SELECT tenant, ten_minutes, source, target_kind, target,
    sum(calls) AS calls, sum(errors) AS errors, sum(late) AS late,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_edges_10m
GROUP BY tenant, ten_minutes, source, target_kind, target;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_edges_10m_v2_mv {on_cluster} TO {database}.sm_edges_10m_v2 AS
SELECT tenant, toStartOfTenMinutes(minute) AS ten_minutes, source, target_kind, target,
    sum(calls) AS calls, sum(errors) AS errors, sum(late) AS late,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_edges_1m
GROUP BY tenant, ten_minutes, source, target_kind, target;
