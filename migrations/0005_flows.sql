-- Packet flows (NetFlow v5/v9, IPFIX, VPC Flow Logs): one row per flow record as exported.
-- Partitioned and expired by arrival day (flow times from a broken clock cannot fan a batch out
-- over many partitions); flow_start drives queries and rollups. Retention class `flows`.
-- Placeholders: {database} {on_cluster} {engine:<family>} {ttl:<class>:<time expression>}; see core/store/migrations.ts.
CREATE TABLE IF NOT EXISTS {database}.flows {on_cluster}
(
    tenant LowCardinality(String) CODEC(ZSTD(1)),
    source_type LowCardinality(String) CODEC(ZSTD(1)),
    exporter LowCardinality(String) CODEC(ZSTD(1)),
    domain UInt32 CODEC(ZSTD(1)),
    time_received DateTime64(6, 'UTC') CODEC(Delta(8), ZSTD(1)),
    flow_start DateTime64(6, 'UTC') CODEC(Delta(8), ZSTD(1)),
    flow_end DateTime64(6, 'UTC') CODEC(Delta(8), ZSTD(1)),
    src_addr String CODEC(ZSTD(1)),
    dst_addr String CODEC(ZSTD(1)),
    src_port UInt16 CODEC(ZSTD(1)),
    dst_port UInt16 CODEC(ZSTD(1)),
    protocol UInt8 CODEC(ZSTD(1)),
    bytes UInt64 CODEC(T64, ZSTD(1)),
    packets UInt64 CODEC(T64, ZSTD(1)),
    tcp_flags UInt8 CODEC(ZSTD(1)),
    tos UInt8 CODEC(ZSTD(1)),
    input_if UInt32 CODEC(ZSTD(1)),
    output_if UInt32 CODEC(ZSTD(1)),
    vlan UInt16 CODEC(ZSTD(1)),
    direction UInt8 CODEC(ZSTD(1)),
    next_hop String CODEC(ZSTD(1)),
    src_as UInt32 CODEC(ZSTD(1)),
    dst_as UInt32 CODEC(ZSTD(1)),
    -- fields without a column: VPC account/interface/instance ids, action, log status, …
    extra Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    INDEX idx_src src_addr TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_dst dst_addr TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = {engine:MergeTree}
PARTITION BY toDate(time_received)
ORDER BY (tenant, toStartOfHour(flow_start), src_addr, dst_addr, flow_start)
{ttl:flows:toDateTime(time_received)}
SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

-- Per-minute totals by endpoints, ports and protocol (retention class `flow_rollups`).
CREATE TABLE IF NOT EXISTS {database}.flows_minute {on_cluster}
(
    tenant LowCardinality(String) CODEC(ZSTD(1)),
    minute DateTime('UTC') CODEC(Delta(4), ZSTD(1)),
    src_addr String CODEC(ZSTD(1)),
    dst_addr String CODEC(ZSTD(1)),
    protocol UInt8,
    src_port UInt16,
    dst_port UInt16,
    bytes UInt64 CODEC(T64, ZSTD(1)),
    packets UInt64 CODEC(T64, ZSTD(1)),
    flows UInt64 CODEC(T64, ZSTD(1))
)
ENGINE = {engine:SummingMergeTree}
PARTITION BY toDate(minute)
ORDER BY (tenant, minute, src_addr, dst_addr, protocol, src_port, dst_port)
{ttl:flow_rollups:minute}
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.flows_minute_mv {on_cluster} TO {database}.flows_minute AS
SELECT tenant, toStartOfMinute(flow_start) AS minute, src_addr, dst_addr, protocol, src_port, dst_port,
       sum(bytes) AS bytes, sum(packets) AS packets, count() AS flows
FROM {database}.flows
GROUP BY tenant, minute, src_addr, dst_addr, protocol, src_port, dst_port;

-- Per-minute totals by address pair only: what flowMatrix, top talkers and networkMap read, so a
-- 24 h question touches at most 1,440 minutes of pairs and never the ports' cardinality.
CREATE TABLE IF NOT EXISTS {database}.flows_minute_pairs {on_cluster}
(
    tenant LowCardinality(String) CODEC(ZSTD(1)),
    minute DateTime('UTC') CODEC(Delta(4), ZSTD(1)),
    src_addr String CODEC(ZSTD(1)),
    dst_addr String CODEC(ZSTD(1)),
    bytes UInt64 CODEC(T64, ZSTD(1)),
    packets UInt64 CODEC(T64, ZSTD(1)),
    flows UInt64 CODEC(T64, ZSTD(1))
)
ENGINE = {engine:SummingMergeTree}
PARTITION BY toDate(minute)
ORDER BY (tenant, minute, src_addr, dst_addr)
{ttl:flow_rollups:minute}
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.flows_minute_pairs_mv {on_cluster} TO {database}.flows_minute_pairs AS
SELECT tenant, toStartOfMinute(flow_start) AS minute, src_addr, dst_addr,
       sum(bytes) AS bytes, sum(packets) AS packets, count() AS flows
FROM {database}.flows
GROUP BY tenant, minute, src_addr, dst_addr;

-- Per-hour totals by address pair: long ADDRESS windows read whole hours here and only the partial
-- hours at the edges from flows_minute_pairs (24 h = 24 hours of pairs, not 1,440 minutes).
CREATE TABLE IF NOT EXISTS {database}.flows_hour_pairs {on_cluster}
(
    tenant LowCardinality(String) CODEC(ZSTD(1)),
    hour DateTime('UTC') CODEC(Delta(4), ZSTD(1)),
    src_addr String CODEC(ZSTD(1)),
    dst_addr String CODEC(ZSTD(1)),
    bytes UInt64 CODEC(T64, ZSTD(1)),
    packets UInt64 CODEC(T64, ZSTD(1)),
    flows UInt64 CODEC(T64, ZSTD(1))
)
ENGINE = {engine:SummingMergeTree}
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, src_addr, dst_addr)
{ttl:flow_rollups:hour}
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.flows_hour_pairs_mv {on_cluster} TO {database}.flows_hour_pairs AS
SELECT tenant, toStartOfHour(flow_start) AS hour, src_addr, dst_addr,
       sum(bytes) AS bytes, sum(packets) AS packets, count() AS flows
FROM {database}.flows
GROUP BY tenant, hour, src_addr, dst_addr;
