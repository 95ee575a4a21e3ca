-- Audit log: reads of config history, canary changes and admin actions (who, what, when, outcome).
-- Written by the query server (core/auth/audit.ts), read by `auditLog` (admin role only).
-- Placeholders: {database} {on_cluster} {engine:<family>} {ttl:<class>:<time expression>}; see core/store/migrations.ts.
CREATE TABLE IF NOT EXISTS {database}.audit_log {on_cluster}
(
    tenant LowCardinality(String),
    at DateTime64(3),
    -- the credential's configured name, or jwt:<subject>; never the secret
    principal String,
    via LowCardinality(String),
    roles Array(LowCardinality(String)),
    -- e.g. "graphql query", "GET /api/v2/*", "POST /kayenta/canary/:configId"
    action LowCardinality(String),
    -- what was touched: GraphQL root fields, or the request path
    target String,
    status UInt16,
    -- the requester's address
    source String,
    -- one row per event; the token keeps a retried insert from writing it twice
    event_id String
)
ENGINE = {engine:ReplacingMergeTree}
ORDER BY (tenant, at, event_id)
{ttl:audit:toDateTime(at)};
