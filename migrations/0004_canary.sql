-- Canary analysis: configs (every version kept) and runs (status rows, the latest wins).
-- Both are small; they keep no TTL (a saved run stays re-readable until deleted by hand).
-- Placeholders: {database} {on_cluster} {engine:<family>}; see core/store/migrations.ts.
CREATE TABLE IF NOT EXISTS {database}.canary_configs {on_cluster}
(
    tenant LowCardinality(String),
    id String,
    version UInt32,
    name String,
    -- the whole config as JSON (validated by query/canary/config.ts before it is stored)
    body String CODEC(ZSTD(3)),
    created_at DateTime64(3) DEFAULT now64(3)
)
ENGINE = {engine:ReplacingMergeTree}
ORDER BY (tenant, id, version);

CREATE TABLE IF NOT EXISTS {database}.canary_runs {on_cluster}
(
    tenant LowCardinality(String),
    id String,
    -- a run is written when it starts (status 'running') and again when it ends; reads take the row with
    -- the highest updated_at (argMax), so merges need no version column
    updated_at DateTime64(6),
    created_at DateTime64(6),
    status LowCardinality(String),
    service LowCardinality(String),
    config_id String,
    config_version UInt32,
    window_start DateTime64(9),
    window_end DateTime64(9),
    score Float64,
    verdict LowCardinality(String),
    -- the run request and the full result (per-metric results, zones, signature series) as JSON
    request String CODEC(ZSTD(3)),
    result String CODEC(ZSTD(3)),
    error String
)
ENGINE = {engine:ReplacingMergeTree}
ORDER BY (tenant, id);
