-- A window's service map is published in one short step, so readers see it whole or not at all.
-- Placeholders: {database} {on_cluster} {engine:<family>}; see core/store/migrations.ts.
--
-- The map's readers add the rollups of finished windows to a live pairing of everything done since
-- the watermark. The ten-minute and hourly rollups (and the RED ones) hold no window, so a reader
-- cannot leave out a window it reads live. The job used to insert a window's calls slice by slice
-- straight into sm_edges_1m (whose views fill the rollups), then its RED, then its record in
-- sm_windows: for the seconds that took, the rollups already held part of a window that readers
-- also paired live, and those calls were counted twice. Now each slice goes to sm_edges_stage and
-- the window's RED to sm_red_stage. Then the job records the window in sm_publishing, copies both
-- from the stages into sm_edges_1m and sm_red_1m, and records it in sm_windows. A reader that
-- sees a window in sm_publishing but not in sm_windows, or either change while it reads, reads
-- again (core/service-map/publication.ts).

CREATE TABLE IF NOT EXISTS {database}.sm_edges_stage {on_cluster}
(
    tenant LowCardinality(String),
    minute DateTime,
    source LowCardinality(String),
    target_kind LowCardinality(String),
    target LowCardinality(String),
    window_end DateTime64(3),
    calls UInt64,
    errors UInt64,
    late UInt64,
    duration AggregateFunction(quantilesDD(0.01, 0.5, 0.9, 0.95, 0.99), UInt64),
    slow_trace AggregateFunction(argMax, String, UInt64),
    error_trace String
)
ENGINE = {engine:MergeTree}
ORDER BY window_end
TTL toDateTime(window_end) + toIntervalDay(2)
-- a slice paired again (a retry, a second runner) carries its first insert's dedup token
SETTINGS non_replicated_deduplication_window = 10000;

-- A window's RED (core/service-map/red.ts), computed before its publication so that the
-- publication only copies it: readers wait while a window is in publication.
CREATE TABLE IF NOT EXISTS {database}.sm_red_stage {on_cluster}
(
    window_end DateTime64(3),
    tenant LowCardinality(String),
    minute DateTime,
    service LowCardinality(String),
    operation LowCardinality(String),
    version LowCardinality(String),
    instance LowCardinality(String),
    calls UInt64,
    errors UInt64,
    duration AggregateFunction(quantilesDD(0.01, 0.5, 0.9, 0.95, 0.99), UInt64),
    slow_trace AggregateFunction(argMax, String, UInt64),
    error_trace String
)
ENGINE = {engine:MergeTree}
ORDER BY window_end
TTL toDateTime(window_end) + toIntervalDay(2)
SETTINGS non_replicated_deduplication_window = 10000;

-- Windows whose publication began; the window is published once it is in sm_windows too.
CREATE TABLE IF NOT EXISTS {database}.sm_publishing {on_cluster}
(
    window_end DateTime64(3),
    started_at DateTime64(3) DEFAULT now64(3)
)
ENGINE = {engine:ReplacingMergeTree}
ORDER BY window_end
TTL toDateTime(window_end) + toIntervalDay(2);
