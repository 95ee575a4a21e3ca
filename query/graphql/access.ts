import type { AuditLog } from "../../core/auth/audit.js";
import type { Authenticator, Principal } from "../../core/auth/authenticator.js";
import { type Capability, ROLE_FOR } from "../../core/auth/policy.js";
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
} from "./gql.js";

const ROOTS = new Set(["Query", "Mutation", "Subscription"]);

/**
 * Root field → capability, from SDL: every root field a piece of SDL declares (type Query /
 * extend type Query / Mutation / Subscription) needs that piece's capability.
 */
export function rootFieldAccess(
  parts: Array<{ typeDefs: string; capability: Capability }>,
): Map<string, Capability> {
  const out = new Map<string, Capability>();
  for (const { typeDefs, capability } of parts) {
    for (const def of parse(typeDefs).definitions) {
      if (
        (def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.OBJECT_TYPE_EXTENSION) &&
        ROOTS.has(def.name.value)
      ) {
        for (const f of def.fields ?? []) out.set(`${def.name.value}.${f.name.value}`, capability);
      }
    }
  }
  return out;
}

/** The root fields an operation selects, through fragments and inline fragments. */
export function rootFieldsOf(doc: DocumentNode, op: OperationDefinitionNode): string[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const out = new Set<string>();
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) out.add(s.name.value);
      else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet);
      else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        const f = fragments.get(s.name.value);
        if (f) walk(f.selectionSet);
      }
    }
  };
  walk(op.selectionSet);
  return [...out];
}

const ROOT_TYPE = { query: "Query", mutation: "Mutation", subscription: "Subscription" } as const;

/**
 * Checks an operation against the caller's roles before it runs: every root field it selects must
 * be granted (introspection is open to any signed-in caller; a field no SDL part claims needs
 * admin). Returns the fields and their capabilities, for the audit log.
 */
export function checkOperation(
  doc: DocumentNode,
  op: OperationDefinitionNode,
  principal: Principal,
  access: ReadonlyMap<string, Capability>,
  auth: Authenticator,
): Array<{ field: string; capability: Capability }> {
  const root = ROOT_TYPE[op.operation];
  const touched: Array<{ field: string; capability: Capability }> = [];
  for (const field of rootFieldsOf(doc, op)) {
    if (field.startsWith("__")) continue;
    const capability = access.get(`${root}.${field}`) ?? "admin";
    try {
      auth.require(principal, capability);
    } catch {
      throw new GraphQLError(`${field} needs the ${ROLE_FOR[capability]} role`, {
        extensions: { code: "FORBIDDEN", http: { status: 403 } },
      });
    }
    touched.push({ field, capability });
  }
  return touched;
}

/** Whether a GraphQL operation goes to the audit log: config reads, canary changes, admin. */
export function auditedOperation(
  op: OperationDefinitionNode,
  touched: Array<{ capability: Capability }>,
): boolean {
  return touched.some(
    (t) =>
      t.capability === "config" ||
      t.capability === "admin" ||
      (t.capability === "canary" && op.operation === "mutation"),
  );
}

export type { AuditLog };
