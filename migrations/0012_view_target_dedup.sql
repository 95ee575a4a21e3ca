-- Insert deduplication for every table a materialized view fills from a deduplicated insert.
-- Placeholders: {database} {on_cluster}; see core/store/migrations.ts.
--
-- Spans, flows and service-map edge windows are inserted with an insert_deduplication_token and
-- deduplicate_blocks_in_dependent_materialized_views = 1, so that a retried batch (an insert that
-- timed out after ClickHouse wrote it, a Kafka batch replayed after a crash, a pairing window
-- finished twice) is stored once. With that setting each view's target checks the block against
-- its own deduplication log, and a non-replicated MergeTree keeps none unless
-- non_replicated_deduplication_window is set: the retried block was skipped in `spans` or `flows`
-- but added again to these rollups (RED calls, flow bytes and ten-minute edges counted twice).
-- Replicated tables (cluster mode) deduplicate by default; the setting is harmless there.
ALTER TABLE {database}.trace_index {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {database}.operations {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {database}.sm_half_edges {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {database}.sm_red_1m {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {database}.sm_red_1h {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {database}.sm_service_red_1m {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {database}.sm_service_red_1h {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {database}.sm_edges_10m {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {database}.flows_minute {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {database}.flows_minute_pairs {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {database}.flows_hour_pairs {on_cluster} MODIFY SETTING non_replicated_deduplication_window = 1000;
