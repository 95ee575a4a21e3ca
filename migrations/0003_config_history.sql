-- Config history (recorder/): append-only, one row per observed version of a resource, plus
-- deletion markers (deleted = 1, empty doc). `seen_at` is when that version was first seen; the
-- end of a version is the next row's seen_at. State at T = the latest row per resource with
-- seen_at <= T. Replays of the same row collapse (ReplacingMergeTree on the full key); two recorders
-- that both record one change at different times leave two rows with the same hash, which readers
-- collapse (a row whose hash equals the previous row's is not a new version).
-- Placeholders: {database} {on_cluster} {engine:<family>}; see core/store/migrations.ts.
CREATE TABLE IF NOT EXISTS {database}.config_versions {on_cluster}
(
    tenant LowCardinality(String) CODEC(ZSTD(1)),
    collection LowCardinality(String) CODEC(ZSTD(1)),
    account LowCardinality(String) CODEC(ZSTD(1)),
    region LowCardinality(String) CODEC(ZSTD(1)),
    id String CODEC(ZSTD(1)),
    seen_at DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    hash String CODEC(ZSTD(1)),
    deleted UInt8 CODEC(ZSTD(1)),
    -- normalised JSON: keys sorted, volatile fields removed; '' for a deletion marker
    doc String CODEC(ZSTD(3))
)
ENGINE = {engine:ReplacingMergeTree}
PARTITION BY toYYYYMM(seen_at)
ORDER BY (tenant, collection, id, account, region, seen_at, hash);

-- whoHad(ip, at): one row each time a resource starts (held = 1) or stops (held = 0) holding an IP,
-- written alongside the versions. Holder at T = resources whose latest row for the IP at or
-- before T has held = 1.
CREATE TABLE IF NOT EXISTS {database}.config_ip_holders {on_cluster}
(
    tenant LowCardinality(String) CODEC(ZSTD(1)),
    ip String CODEC(ZSTD(1)),
    seen_at DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    collection LowCardinality(String) CODEC(ZSTD(1)),
    account LowCardinality(String) CODEC(ZSTD(1)),
    region LowCardinality(String) CODEC(ZSTD(1)),
    id String CODEC(ZSTD(1)),
    held UInt8 CODEC(ZSTD(1))
)
ENGINE = {engine:ReplacingMergeTree}
ORDER BY (tenant, ip, seen_at, collection, id, account, region);

-- Crawl log, for coverage: one row per crawl of one collection in one account/region. A crawl that
-- is not 'success' wrote no deletion markers; its time range is a gap in the record.
CREATE TABLE IF NOT EXISTS {database}.config_crawls {on_cluster}
(
    tenant LowCardinality(String) CODEC(ZSTD(1)),
    collection LowCardinality(String) CODEC(ZSTD(1)),
    account LowCardinality(String) CODEC(ZSTD(1)),
    region LowCardinality(String) CODEC(ZSTD(1)),
    started_at DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    finished_at DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    status Enum8('success' = 1, 'failed' = 2, 'partial' = 3, 'discarded' = 4),
    resources UInt32,
    changes UInt32,
    recorder String,
    error String CODEC(ZSTD(1))
)
ENGINE = {engine:ReplacingMergeTree}
ORDER BY (tenant, collection, account, region, started_at, recorder);

-- Validity intervals, so "live at T" reads only rows whose interval can contain T (the primary key
-- on valid_from and a minmax index on valid_to skip the rest). One open row (valid_to far in the
-- future, closed = 0) per config_versions row; the next row of that resource closes it with a row
-- of the same key (closed = 1), always inserted later, so it is the one the ReplacingMergeTree keeps
-- (no version column: {engine:} takes no arguments). Deletion markers have intervals too. Before
-- merges a stale open row may remain; readers take the latest valid_from per resource, which is
-- always the version current at T.
CREATE TABLE IF NOT EXISTS {database}.config_intervals {on_cluster}
(
    tenant LowCardinality(String) CODEC(ZSTD(1)),
    collection LowCardinality(String) CODEC(ZSTD(1)),
    account LowCardinality(String) CODEC(ZSTD(1)),
    region LowCardinality(String) CODEC(ZSTD(1)),
    id String CODEC(ZSTD(1)),
    valid_from DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),
    valid_to DateTime64(9, 'UTC') CODEC(ZSTD(1)),
    deleted UInt8,
    closed UInt8,
    INDEX valid_to_minmax valid_to TYPE minmax GRANULARITY 1
)
ENGINE = {engine:ReplacingMergeTree}
PARTITION BY toYYYYMM(valid_from)
ORDER BY (tenant, collection, valid_from, id, account, region);
