-- The job stages, per arrival window, the CLIENT/PRODUCER spans with a peer that are still pending
-- at its end, so the virtual calls of a lateness bound are not paired again by every read.
-- Placeholders: {database} {on_cluster} {engine:<family>}; see core/store/migrations.ts.
--
-- A virtual call (a database, a cache, a queue, an external API) is done one lateness bound after
-- its CLIENT/PRODUCER span arrived, if no child in another service arrived by then. The map's live
-- part counts the calls not yet done as well, so each read paired a whole bound of those spans
-- from sm_arrivals, grouped by span with their children: at 10,000 spans/s crossing services,
-- about 825,000 spans per read, most of a map's cost. The job now keeps, for each window it
-- finishes, the window's spans that no child in another service took out by its end
-- (sm_pending), the keys of earlier windows' spans that a child arriving in the window took out
-- (sm_resolved), and records in sm_windows that it did (pending = 1); see
-- core/service-map/pairing.ts. A read whose watermark has every window of the last bound staged
-- takes those spans from sm_pending, less the resolved keys and the ones a child arriving since
-- the watermark takes out, and pairs only the spans that arrived since the watermark; the job
-- counts a window's virtual calls the same way. Windows finished before this migration, or by an older runner, have pending = 0: their
-- spans are paired from sm_arrivals as before, until a bound of windows has passed.
CREATE TABLE IF NOT EXISTS {database}.sm_pending {on_cluster}
(
    window_end DateTime64(3),
    tenant LowCardinality(String),
    trace_id FixedString(16),
    span_id FixedString(8),
    service LowCardinality(String),
    start_time DateTime64(9),
    duration_ns UInt64,
    is_error UInt8,
    peer_kind LowCardinality(String),
    peer_name LowCardinality(String),
    -- first arrival, ms since the epoch (server clock)
    arrived_ms Int64
)
ENGINE = {engine:MergeTree}
PARTITION BY toStartOfHour(window_end)
ORDER BY (tenant, window_end, trace_id, span_id)
TTL toDateTime(window_end) + toIntervalDay(1)
-- a window staged again (a retry, a second runner) carries its first insert's dedup tokens
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;

-- The keys of staged spans of earlier windows that a child in another service, arriving in the
-- window, took out (at most a bound after the span arrived).
CREATE TABLE IF NOT EXISTS {database}.sm_resolved {on_cluster}
(
    window_end DateTime64(3),
    tenant LowCardinality(String),
    trace_id FixedString(16),
    span_id FixedString(8)
)
ENGINE = {engine:MergeTree}
PARTITION BY toStartOfHour(window_end)
ORDER BY (tenant, window_end, trace_id, span_id)
TTL toDateTime(window_end) + toIntervalDay(1)
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 10000;

ALTER TABLE {database}.sm_windows {on_cluster} ADD COLUMN IF NOT EXISTS pending UInt8 DEFAULT 0;
