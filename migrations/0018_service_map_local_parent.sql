-- local_parent: 1 when a span's parent came in the same ResourceSpans of its export request, so
-- it is of the same service. Placeholders: {database} {on_cluster}; see core/store/migrations.ts.
--
-- Such a span is never the child of a call between services: the service-map job need not find
-- its parent (core/service-map/pairing.ts). The receivers set it while they read a request
-- (core/otlp/transcode-traces-proto.ts, core/store/span-encoder.ts localParents); rows written
-- before this migration, or by an older collector (spans-rowbinary/1 on Kafka), take 0, which
-- only means the job looks for their parent as before. A trace whose spans all stay in one
-- service is then never grouped by the job at all.
--
-- In `spans` it costs a byte per row before compression (one value in eight differs on
-- bench:ingest's traces). The view's query is replaced in place (MODIFY QUERY): no insert runs
-- without it, as it would between a DROP and a CREATE.
ALTER TABLE {database}.spans {on_cluster} ADD COLUMN IF NOT EXISTS local_parent UInt8 DEFAULT 0 CODEC(ZSTD(1));

-- remote_child: the span may be the child of a call between services (it has a parent, in its own
-- trace or by a link, that did not come in its ResourceSpans). One column, so the job's reads over
-- the lookback skip everything else by reading one byte per row. Rows stored before this migration
-- take it from their parent reference.
ALTER TABLE {database}.sm_arrivals {on_cluster}
    ADD COLUMN IF NOT EXISTS remote_child UInt8 DEFAULT toUInt8(notEmpty(ref_span_id));

ALTER TABLE {database}.sm_arrivals_mv {on_cluster} MODIFY QUERY
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
        resource_attributes['host.name']), '') AS instance,
    toUInt8(notEmpty(ref_span_id) AND local_parent = 0) AS remote_child
FROM
(
    SELECT *,
        parent_span_id = '' AND kind = 'CONSUMER' AND notEmpty(`links.span_id`) AS by_link,
        if(kind IN ('CLIENT', 'PRODUCER'),
            if(attributes['db.system'] != '', attributes['db.system'], attributes['db.system.name']), '') AS db_system,
        kind IN ('SERVER', 'CONSUMER') OR parent_span_id = '' AS entry
    FROM {database}.spans
);
