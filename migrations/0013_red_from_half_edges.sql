-- Service RED computed by the pairing job per arrival window, not by a view per insert.
-- Placeholders: {database} {on_cluster}; see core/store/migrations.ts.
--
-- Until now every spans insert also went through sm_red_1m_mv (GROUP BY with DDSketch states) and,
-- by the views chained on sm_red_1m, wrote parts into sm_red_1m, sm_red_1h, sm_service_red_1m and
-- sm_service_red_1h: five parts per insert, each merged again later. In one run of inserts of
-- 10,000 live-like spans (the batch size of OTLP ingest at about 50,000 spans/s), those views cost
-- 35% more insert CPU than no service map; the half-edge view alone 2%.
--
-- Now the half edge of an entry span (SERVER, CONSUMER, or a root) also carries its operation,
-- `service.version` and instance, and the job (core/service-map/job.ts) aggregates each finished
-- arrival window's entry spans into sm_red_1m in one insert; the views chained on sm_red_1m fill
-- the hourly and per-service rollups from that insert as before. Readers add the entries that
-- arrived after the watermark (core/service-map/red.ts), so RED is complete the moment spans are
-- stored. A late span is counted in the window it arrived in, in the minute it started.
--
-- Half edges written before this migration have is_entry = 0: their RED is already in sm_red_1m,
-- so nothing is counted twice. On a live cluster, an entry span inserted between the new view's
-- creation and the old RED view's drop is counted by both (a few milliseconds of inserts).
ALTER TABLE {database}.sm_half_edges {on_cluster}
    ADD COLUMN IF NOT EXISTS is_entry UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS operation LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS version LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS instance LowCardinality(String) DEFAULT '';

-- Created before the old half-edge view is dropped, so no span is missed; a span written by both
-- for a moment is read once (pairing and RED group half edges by span id).
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sm_half_edges_entry_mv {on_cluster} TO {database}.sm_half_edges AS
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

DROP VIEW IF EXISTS {database}.sm_half_edges_mv {on_cluster};

DROP VIEW IF EXISTS {database}.sm_red_1m_mv {on_cluster};
