-- sm_arrivals keeps the parent of a span only where the service-map job may look for it: for a
-- span whose parent came in its own ResourceSpans (local_parent, migrations/0018) ref_span_id is
-- all zeros. Placeholders: {database} {on_cluster}; see core/store/migrations.ts.
--
-- Such a span is of its parent's service, so it is never the child of a call between services:
-- the job reads parents for remote children only (remote_child = 1), and a span under its
-- parent's key in the same service is dropped as a call to itself (core/service-map/pairing.ts).
-- A parent's id is eight random bytes, which compression shrinks only where the same parent
-- repeats. On bench:ingest's traces seven spans in eight came with their parent (the root, shared
-- by all seven), and sm_arrivals took 16.9 bytes a span against 19.1; traces whose spans have
-- different parents save more. remote_child is computed as before, and the job still finds each
-- of these spans by its own id when it is the parent of a remote child.
--
-- Rows stored before keep their parent's id, which changes no answer; they leave with the
-- table's one-day TTL. The view's query is replaced in place (MODIFY QUERY), as in 0018.
ALTER TABLE {database}.sm_arrivals_mv {on_cluster} MODIFY QUERY
SELECT
    tenant,
    toFixedString(unhex(trace_id), 16) AS trace_id,
    toFixedString(unhex(span_id), 8) AS span_id,
    if(by_link, toFixedString(unhex(`links.trace_id`[1]), 16), toFixedString('', 16)) AS ref_trace_id,
    toFixedString(unhex(if(by_link, `links.span_id`[1], if(local_parent = 1, '', parent_span_id))), 8) AS ref_span_id,
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
