-- The service map's half edges sorted by arrival first: sm_arrivals replaces sm_half_edges.
-- Placeholders: {database} {on_cluster} {engine:<family>}; see core/store/migrations.ts.
--
-- Everything that reads half edges starts from what arrived in a window: the pairing job's
-- candidates and due spans, RED per window, and the readers' live part since the watermark
-- (core/service-map/pairing.ts, red.ts). Sorted by (tenant, trace_id, span_id), a window's
-- arrivals sat in every granule of their fifteen-minute partition, so each of those reads
-- decompressed the partition. Sorted by (tenant, ten-second arrival bucket, trace_id, span_id),
-- they read the window's buckets; within a bucket rows are still sorted by trace id, so the
-- job's slices of the trace-id space are still pruned by the key. On bench:service-map's
-- steady-state store (300,000 arrivals a window, 21 minutes stored), the pairing query took
-- 1.58-1.77 CPU-s a window against 1.88-2.11.
--
-- The table is created empty and filled by its own view first; then the old rows are copied
-- (a span inserted meanwhile is in both copies, and every reader of half edges reads a span id
-- once), and the old view and table go. For older Skald versions (a rolling upgrade, or a
-- rollback), sm_half_edges stays as a view of the new table: they read the same rows.
CREATE TABLE IF NOT EXISTS {database}.sm_arrivals {on_cluster}
(
    tenant LowCardinality(String),
    trace_id FixedString(16),
    span_id FixedString(8),
    ref_trace_id FixedString(16),
    ref_span_id FixedString(8),
    service_name LowCardinality(String),
    kind Enum8('UNSPECIFIED' = 0, 'INTERNAL' = 1, 'SERVER' = 2, 'CLIENT' = 3, 'PRODUCER' = 4, 'CONSUMER' = 5),
    start_time DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    duration_ns UInt64 CODEC(T64, ZSTD(1)),
    is_error UInt8,
    peer_kind LowCardinality(String),
    peer_name LowCardinality(String),
    inserted_at DateTime64(3) CODEC(Delta(8), ZSTD(1)),
    is_entry UInt8 DEFAULT 0,
    operation LowCardinality(String) DEFAULT '',
    version LowCardinality(String) DEFAULT '',
    instance LowCardinality(String) DEFAULT ''
)
ENGINE = {engine:MergeTree}
PARTITION BY toStartOfFifteenMinutes(inserted_at)
ORDER BY (tenant, toStartOfInterval(inserted_at, toIntervalSecond(10)), trace_id, span_id)
TTL toDateTime(inserted_at) + toIntervalDay(1)
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_arrivals_mv {on_cluster} TO {database}.sm_arrivals AS
SELECT
    tenant,
    toFixedString(unhex(trace_id), 16) AS trace_id,
    toFixedString(unhex(span_id), 8) AS span_id,
    if(by_link, toFixedString(unhex(`links.trace_id`[1]), 16), toFixedString('', 16)) AS ref_trace_id,
    toFixedString(unhex(if(by_link, `links.span_id`[1], parent_span_id)), 8) AS ref_span_id,
    service_name,
    kind,
    start_time,
    duration_ns,
    toUInt8(status_code = 'ERROR') AS is_error,
    if(kind IN ('CLIENT', 'PRODUCER'), multiIf(
        attributes['messaging.destination.name'] != '' OR attributes['messaging.system'] != '', 'queue',
        db_system IN ('redis', 'memcached', 'valkey', 'hazelcast', 'aerospike', 'coherence'), 'cache',
        db_system != '', 'database',
        attributes['peer.service'] != '' OR attributes['server.address'] != '', 'external',
        ''), '') AS peer_kind,
    multiIf(
        peer_kind = '', '',
        peer_kind = 'queue', if(attributes['messaging.destination.name'] != '', attributes['messaging.destination.name'], attributes['messaging.system']),
        peer_kind IN ('cache', 'database'), if(attributes['server.address'] != '', concat(db_system, '@', attributes['server.address']), db_system),
        if(attributes['peer.service'] != '', attributes['peer.service'], attributes['server.address'])) AS peer_name,
    now64(3) AS inserted_at,
    toUInt8(entry) AS is_entry,
    if(entry, name, '') AS operation,
    if(entry, resource_attributes['service.version'], '') AS version,
    if(entry, if(resource_attributes['service.instance.id'] != '', resource_attributes['service.instance.id'],
        resource_attributes['host.name']), '') AS instance
FROM
(
    SELECT *,
        parent_span_id = '' AND kind = 'CONSUMER' AND notEmpty(`links.span_id`) AS by_link,
        if(kind IN ('CLIENT', 'PRODUCER'),
            if(attributes['db.system'] != '', attributes['db.system'], attributes['db.system.name']), '') AS db_system,
        kind IN ('SERVER', 'CONSUMER') OR parent_span_id = '' AS entry
    FROM {database}.spans
);

INSERT INTO {database}.sm_arrivals (tenant, trace_id, span_id, ref_trace_id, ref_span_id, service_name, kind, start_time,
    duration_ns, is_error, peer_kind, peer_name, inserted_at, is_entry, operation, version, instance)
SELECT tenant, trace_id, span_id, ref_trace_id, ref_span_id, service_name, kind, start_time, duration_ns, is_error,
    peer_kind, peer_name, inserted_at, is_entry, operation, version, instance
FROM {database}.sm_half_edges
-- once: a re-run after an interruption finds sm_half_edges already a view of sm_arrivals
WHERE (SELECT count() FROM system.tables
       WHERE database = '{database}' AND name = 'sm_half_edges' AND engine != 'View') > 0;

DROP VIEW IF EXISTS {database}.sm_half_edges_entry_mv {on_cluster};

DROP TABLE IF EXISTS {database}.sm_half_edges {on_cluster};

CREATE VIEW IF NOT EXISTS {database}.sm_half_edges {on_cluster} AS
SELECT tenant, trace_id, span_id, ref_trace_id, ref_span_id, service_name, kind, start_time, duration_ns, is_error,
    peer_kind, peer_name, inserted_at, is_entry, operation, version, instance
FROM {database}.sm_arrivals;
