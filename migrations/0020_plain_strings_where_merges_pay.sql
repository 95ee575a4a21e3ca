-- Plain String instead of LowCardinality(String) in the columns whose dictionaries cost the merges
-- more than they save: the small side columns of `spans` (scope name and version, the values of the
-- two attribute-type maps, event names) and the grouping columns of `sm_arrivals`.
-- Placeholders: {database} {on_cluster}; see core/store/migrations.ts.
--
-- Merges are the largest share of ingest CPU (README, "Where the insert CPU goes"). Each part keeps
-- its own dictionary for a LowCardinality column, and a merge rebuilds it row by row. In these
-- columns that buys nothing: they are mostly empty or one value per part, so ZSTD and LZ4 store the
-- plain strings almost as small. Measured with 10 inserts of 51,200 bench:ingest spans, merges
-- stopped, then one OPTIMIZE FINAL of the table alone (process CPU per 100,000 spans, six rounds,
-- alternating with the old types):
--   `spans`: 0.34-0.45 against 0.50-0.69 in every round; 26.4 bytes a span against 25.9;
--   `sm_arrivals`, 20 inserts: 0.079 against 0.127 (minima); the inserts unchanged (0.62 / 0.61).
-- Kept as LowCardinality: the tenant, service and operation names that lead the sort keys and
-- that searches group and filter by (made plain, they did not merge faster).
--
-- What is written and read stays the same: RowBinary and TabSeparated encode both types alike, and
-- every reader gets the same strings. Only the types change (codecs and defaults stay, as in 0010);
-- existing parts are converted by a background mutation.
ALTER TABLE {database}.spans {on_cluster}
    MODIFY COLUMN scope_name String,
    MODIFY COLUMN scope_version String,
    MODIFY COLUMN attribute_types Map(String, String),
    MODIFY COLUMN resource_attribute_types Map(String, String),
    MODIFY COLUMN `events.name` Array(String);

ALTER TABLE {database}.sm_arrivals {on_cluster}
    MODIFY COLUMN service_name String,
    MODIFY COLUMN peer_kind String,
    MODIFY COLUMN peer_name String,
    MODIFY COLUMN operation String,
    MODIFY COLUMN version String,
    MODIFY COLUMN instance String;
