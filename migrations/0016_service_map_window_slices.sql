-- How many slices of the trace-id space each window's pairing was cut into (core/service-map/job.ts).
-- Placeholders: {database} {on_cluster} {engine:<family>}; see core/store/migrations.ts.
--
-- A window's calls are inserted slice by slice, each insert under the dedup token of its slice.
-- A retry after a crash, or a second runner, must cut the same slices, or a call inserted under
-- one cut would be inserted again under another: the first runner's count is recorded here (its
-- insert carries a per-window dedup token, and the earliest decision wins) and every runner of the
-- window reads it back before pairing.
CREATE TABLE IF NOT EXISTS {database}.sm_window_slices {on_cluster}
(
    window_end DateTime64(3),
    slices UInt16,
    decided_at DateTime64(3) DEFAULT now64(3)
)
ENGINE = {engine:MergeTree}
ORDER BY window_end
TTL toDateTime(window_end) + toIntervalDay(2)
SETTINGS non_replicated_deduplication_window = 10000;
