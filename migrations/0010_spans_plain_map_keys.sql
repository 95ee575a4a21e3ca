-- Attribute maps keyed by plain String instead of LowCardinality(String): with ten attributes per
-- span, ClickHouse spent more CPU keeping the per-part key dictionaries than they saved: insert CPU
-- -16% to -32% (npm run bench:insert-profile, "plain map keys"; one merge pass of `spans` from no
-- change to -35% across runs). Values and codecs unchanged; existing parts are rewritten by a
-- background mutation; queries read the same maps.
-- Placeholders: {database} {on_cluster}; see core/store/migrations.ts.
ALTER TABLE {database}.spans {on_cluster}
    MODIFY COLUMN attributes Map(String, String),
    MODIFY COLUMN attribute_types Map(String, LowCardinality(String)),
    MODIFY COLUMN resource_attributes Map(String, String),
    MODIFY COLUMN resource_attribute_types Map(String, LowCardinality(String));
