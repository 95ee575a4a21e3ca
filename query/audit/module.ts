import type { AuditLog } from "../../core/auth/audit.js";
import { invalidInput } from "../../core/errors.js";
import type { QueryContext } from "../graphql/resolvers.js";
import type { QueryModule } from "../module.js";

const typeDefs = /* GraphQL */ `
  "One audited request: a config-history read, a canary change or an admin action."
  type AuditEntry {
    at: String!
    "The credential's configured name, or jwt:<subject>."
    principal: String!
    "api_key, token, jwt or anonymous."
    via: String!
    roles: [String!]!
    "e.g. 'graphql query', 'GET /api/v2/*'."
    action: String!
    "GraphQL root fields or the request path."
    target: String!
    "HTTP status of the answer (403: refused)."
    status: Int!
    source: String!
  }

  extend type Query {
    "The caller's tenant's audit log, newest first (admin role). Times are epoch milliseconds."
    auditLog(fromMs: Float, toMs: Float, principal: String, action: String, first: Int = 100): [AuditEntry!]!
  }
`;

/** The audit log's GraphQL view (admin only, by its capability). */
export function createAuditModule(audit: AuditLog): QueryModule {
  return {
    name: "audit",
    capability: "admin",
    typeDefs,
    resolvers: {
      Query: {
        auditLog(
          _: unknown,
          a: {
            fromMs?: number | null;
            toMs?: number | null;
            principal?: string | null;
            action?: string | null;
            first: number;
          },
          ctx: QueryContext,
        ) {
          if (!Number.isInteger(a.first) || a.first < 1 || a.first > 10_000) {
            throw invalidInput("BAD_LIMIT", "first must be between 1 and 10000");
          }
          return audit.list(ctx.tenant, {
            fromMs: a.fromMs ?? undefined,
            toMs: a.toMs ?? undefined,
            principal: a.principal ?? undefined,
            action: a.action ?? undefined,
            limit: a.first,
          });
        },
      },
    },
  };
}
