-- Attribute maps keyed by plain String instead of LowCardinality(String): with ten attributes per
-- span, ClickHouse spent more CPU keeping the per-part key dictionaries than they saved, on insert
-- (-16%) and above all in every merge of `spans` (-35% per merge pass), which is what ingest pays
-- for continuously (npm run bench:insert-profile: "plain map keys"). Values and codecs unchanged;
-- existing parts are rewritten by a background mutation; queries read the same maps.
-- Placeholders: {database} {on_cluster}; see core/store/migrations.ts.
ALTER TABLE {database}.spans {on_cluster}
    MODIFY COLUMN attributes Map(String, String),
    MODIFY COLUMN attribute_types Map(String, LowCardinality(String)),
    MODIFY COLUMN resource_attributes Map(String, String),
    MODIFY COLUMN resource_attribute_types Map(String, LowCardinality(String));
