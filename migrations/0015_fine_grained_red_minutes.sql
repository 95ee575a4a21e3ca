-- RED per service, operation, version and instance and minute with small granules (256 rows), for
-- serviceMetrics and canary analysis: the reason of 0014 (every latency sketch in a granule read
-- is deserialised, matching or not), for the rollup those two read. One service over an hour, per
-- minute and version: 34-41 ms from sm_red_1m, 20 ms from the same rows in 256-row granules (one
-- run, 10M spans stored, 20 services; the entries since the watermark are read in both).
-- Placeholders: {database} {on_cluster} {engine:<family>} {ttl:<class>:<time expression>}; see core/store/migrations.ts.
--
-- Filled by a view from the job's RED insert into sm_red_1m, which stays (the job writes it and
-- the hourly and per-service rollups are filled from it); existing rows are copied at creation.
-- On a live cluster, a window finished between the copy and the view's creation (a few
-- milliseconds; one window per 30 s) is missing here.
CREATE TABLE IF NOT EXISTS {database}.sm_red_1m_v2 {on_cluster}
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
-- a window finished twice inserts the same block again: skipped here too (0012)
SETTINGS index_granularity = 256, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000
AS SELECT tenant, minute, service, operation, version, instance, sum(calls) AS calls, sum(errors) AS errors,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_red_1m
GROUP BY tenant, minute, service, operation, version, instance;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_red_1m_v2_mv {on_cluster} TO {database}.sm_red_1m_v2 AS
SELECT tenant, minute, service, operation, version, instance, sum(calls) AS calls, sum(errors) AS errors,
    quantilesDDMergeState(0.01, 0.5, 0.9, 0.95, 0.99)(duration) AS duration,
    argMaxMergeState(slow_trace) AS slow_trace, max(error_trace) AS error_trace
FROM {database}.sm_red_1m
GROUP BY tenant, minute, service, operation, version, instance;
