-- "Live at T" without reading history (resources(type, at)): config_intervals (0003) is keyed by
-- valid_from, so a lookup at T read every interval that started before T whose granule also held a
-- long-lived one; over a year that is most of the table. Its rows now feed two tables that answer
-- at T by reading a few thousand rows per resource type, whatever the length of the history:
--
--  * config_current: the open interval of each resource (one row per resource once merged; the
--    last inserted wins). The recorder deletes the rows of a resource it records as deleted, so
--    the table holds about the live resources; a deletion marker inserted by anything else stays
--    and outvotes the stale row.
--  * config_periods: closed intervals [valid_from, valid_to), each filed under a level by its
--    length: level L (0..7) holds intervals no longer than 4^L hours, under every bucket
--    intDiv(time ns, 3600e9 * 4^L) it overlaps (at most two); level 8 holds the longer ones, all in
--    bucket 0. At T a reader reads bucket intDiv(T, size) of each level and keeps the intervals
--    containing T: each level holds only intervals about as long as its buckets, so few rows are
--    read besides the ones live at T. The level sizes are repeated in
--    query/config-history/reader.ts (LEVEL_NS).
--
-- State at T = per resource, the interval with the latest valid_from among config_periods rows
-- containing T and config_current rows starting at or before T; live if that one is not a
-- deletion. Existing intervals are copied at creation (each node copies its own shard: both tables
-- are sharded like config_intervals).
CREATE TABLE IF NOT EXISTS {database}.config_periods {on_cluster}
(
    tenant LowCardinality(String),
    collection LowCardinality(String),
    account LowCardinality(String),
    region LowCardinality(String),
    level UInt8,
    bucket UInt32,
    id String CODEC(ZSTD(1)),
    valid_from DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    valid_to DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    deleted UInt8
)
ENGINE = {engine:ReplacingMergeTree}
ORDER BY (tenant, collection, level, bucket, id, account, region, valid_from)
SETTINGS index_granularity = 1024
AS SELECT tenant, collection, account, region, level,
    arrayJoin(range(toUInt32(intDiv(f, size)), toUInt32(intDiv(t - 1, size) + 1))) AS bucket,
    id, valid_from, valid_to, deleted
FROM (
    SELECT tenant, collection, account, region, id, valid_from, valid_to, deleted,
        toUnixTimestamp64Nano(valid_from) AS f, toUnixTimestamp64Nano(valid_to) AS t,
        toUInt8(multiIf(t - f <= 3600000000000, 0, t - f <= 14400000000000, 1, t - f <= 57600000000000, 2,
            t - f <= 230400000000000, 3, t - f <= 921600000000000, 4, t - f <= 3686400000000000, 5,
            t - f <= 14745600000000000, 6, t - f <= 58982400000000000, 7, 8)) AS level,
        [3600000000000, 14400000000000, 57600000000000, 230400000000000, 921600000000000,
            3686400000000000, 14745600000000000, 58982400000000000, 9223372036854775807][level + 1] AS size
    FROM {database}.config_intervals
    WHERE closed = 1
);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.config_periods_mv {on_cluster} TO {database}.config_periods AS
SELECT tenant, collection, account, region, level,
    arrayJoin(range(toUInt32(intDiv(f, size)), toUInt32(intDiv(t - 1, size) + 1))) AS bucket,
    id, valid_from, valid_to, deleted
FROM (
    SELECT tenant, collection, account, region, id, valid_from, valid_to, deleted,
        toUnixTimestamp64Nano(valid_from) AS f, toUnixTimestamp64Nano(valid_to) AS t,
        toUInt8(multiIf(t - f <= 3600000000000, 0, t - f <= 14400000000000, 1, t - f <= 57600000000000, 2,
            t - f <= 230400000000000, 3, t - f <= 921600000000000, 4, t - f <= 3686400000000000, 5,
            t - f <= 14745600000000000, 6, t - f <= 58982400000000000, 7, 8)) AS level,
        [3600000000000, 14400000000000, 57600000000000, 230400000000000, 921600000000000,
            3686400000000000, 14745600000000000, 58982400000000000, 9223372036854775807][level + 1] AS size
    FROM {database}.config_intervals
    WHERE closed = 1
);

CREATE TABLE IF NOT EXISTS {database}.config_current {on_cluster}
(
    tenant LowCardinality(String),
    collection LowCardinality(String),
    account LowCardinality(String),
    region LowCardinality(String),
    id String CODEC(ZSTD(1)),
    valid_from DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    deleted UInt8
)
ENGINE = {engine:ReplacingMergeTree}
ORDER BY (tenant, collection, id, account, region)
SETTINGS index_granularity = 1024
AS SELECT tenant, collection, account, region, id, since AS valid_from, 0 AS deleted
FROM (
    SELECT tenant, collection, account, region, id, max(valid_from) AS since, argMax(deleted, valid_from) AS gone
    FROM {database}.config_intervals
    GROUP BY tenant, collection, account, region, id
)
WHERE gone = 0;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.config_current_mv {on_cluster} TO {database}.config_current AS
SELECT tenant, collection, account, region, id, valid_from, deleted
FROM {database}.config_intervals
WHERE closed = 0;
