-- The time columns of `sm_arrivals` (start_time, duration_ns, inserted_at) compress with LZ4
-- instead of Delta/T64 and ZSTD(1). Placeholders: {database} {on_cluster}; see
-- core/store/migrations.ts.
--
-- `sm_arrivals` holds a row for every span for a day. It is written and merged like a second,
-- slimmer span table: its merges are most of what the service map adds to ingest
-- (README, "Service map"). Its rows are short, so the codecs of its three 8-byte time columns
-- weigh in each merge. The test: 20 inserts of 51,200 bench:ingest spans with merges stopped, then
-- one OPTIMIZE FINAL of the table alone, CPU-s per 100,000 spans, seven alternating rounds. The
-- merge took 0.062-0.100 (LZ4) against 0.085-0.127 (these codecs), lower in six of the seven
-- rounds. It stored 18.5-19.2 bytes per span against 17.9-18.1, kept for one day. Reading is
-- faster as well: every query of the service-map job reads inserted_at first.
--
-- Only the codec changes. Existing parts keep theirs until they merge.
ALTER TABLE {database}.sm_arrivals {on_cluster}
    MODIFY COLUMN start_time CODEC(LZ4),
    MODIFY COLUMN duration_ns CODEC(LZ4),
    MODIFY COLUMN inserted_at CODEC(LZ4);
