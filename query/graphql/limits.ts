import { limitError } from "./errors.js";
import {
  type ASTVisitor,
  type FieldNode,
  type GraphQLCompositeType,
  type GraphQLField,
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "./gql.js";

/**
 * Request limits as graphql-js validation rules, so an over-limit query is refused before any
 * resolver runs. Each walks every operation with its fragments expanded. Introspection
 * (`__schema`, `__type`) is not counted: GraphiQL's own introspection query is deep by nature.
 * The rules do not read variables: Yoga caches validation per document, so a verdict must not
 * depend on them.
 */

export interface LimitOptions {
  maxDepth: number;
  maxComplexity: number;
  maxAliases: number;
  /** Page size assumed for a list field whose `first` is a variable without a default. */
  maxPageFor(fieldName: string): number;
}

/** Default alias budget: enough for a dashboard, far too few to multiply work meaningfully. */
export const DEFAULT_MAX_ALIASES = 30;

interface Visit<S> {
  field: FieldNode;
  def: GraphQLField<unknown, unknown> | undefined;
  state: S;
}

/**
 * Calls `visit` for every field under `set`, fragments expanded, fragment cycles cut; a field's
 * children are walked only if `visit` calls `descend` with their state.
 */
function walk<S>(
  ctx: ValidationContext,
  set: SelectionSetNode,
  type: GraphQLCompositeType | undefined,
  state: S,
  visit: (v: Visit<S>, descend: (childState: S) => void) => void,
  seen: Set<string> = new Set(),
): void {
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      if (sel.name.value === "__schema" || sel.name.value === "__type") continue;
      const def =
        type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[sel.name.value] : undefined;
      const childType = def ? getNamedType(def.type) : undefined;
      visit({ field: sel, def, state }, (childState) => {
        if (sel.selectionSet) {
          const composite = childType && isCompositeType(childType) ? childType : undefined;
          walk(ctx, sel.selectionSet, composite, childState, visit, seen);
        }
      });
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      const cond = sel.typeCondition ? ctx.getSchema().getType(sel.typeCondition.name.value) : type;
      walk(ctx, sel.selectionSet, cond && isCompositeType(cond) ? cond : type, state, visit, seen);
    } else {
      const name = sel.name.value;
      const fragment = ctx.getFragment(name);
      if (!fragment || seen.has(name)) continue; // unknown or cyclic: other rules report it
      const cond = ctx.getSchema().getType(fragment.typeCondition.name.value);
      seen.add(name);
      walk(ctx, fragment.selectionSet, cond && isCompositeType(cond) ? cond : type, state, visit, seen);
      seen.delete(name);
    }
  }
}

function rootType(ctx: ValidationContext, op: OperationDefinitionNode): GraphQLCompositeType | undefined {
  const schema = ctx.getSchema();
  const t =
    op.operation === "query"
      ? schema.getQueryType()
      : op.operation === "mutation"
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  return t ?? undefined;
}

function operationRule(check: (ctx: ValidationContext, op: OperationDefinitionNode) => void): ValidationRule {
  return (ctx) =>
    ({
      OperationDefinition(op) {
        check(ctx, op);
      },
    }) as ASTVisitor;
}

/** Nesting of fields: `{ trace { spans { spanId } } }` has depth 3. */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return operationRule((ctx, op) => {
    let deepest = 0;
    walk(ctx, op.selectionSet, rootType(ctx, op), 1, ({ state: depth }, descend) => {
      if (depth > deepest) deepest = depth;
      if (depth <= maxDepth) descend(depth + 1);
    });
    if (deepest > maxDepth) {
      ctx.reportError(
        limitError(`Query depth exceeds the limit of ${maxDepth} (query.maxDepth): it reaches ${deepest}`, [
          op,
        ]),
      );
    }
  });
}

/** Aliased fields in an operation, fragments counted each time they are spread. */
export function aliasLimitRule(maxAliases: number): ValidationRule {
  return operationRule((ctx, op) => {
    let aliases = 0;
    walk(ctx, op.selectionSet, rootType(ctx, op), null, ({ field }, descend) => {
      if (field.alias) aliases++;
      if (aliases <= maxAliases) descend(null);
    });
    if (aliases > maxAliases) {
      ctx.reportError(
        limitError(`Query uses more than the limit of ${maxAliases} aliases (alias limit)`, [op]),
      );
    }
  });
}

/**
 * Cost model: every field in the document costs 1; a field returning objects costs 1 more for
 * each item of every enclosing list, where a list has as many items as the `first` argument of
 * the field that pages it (itself, or its connection field) says, and 1 when `first` is absent.
 * Scalars inside lists are not multiplied: they come out of rows already read, so a full page
 * of span ids is cheap while expanding attributes or status on each of 10,000 spans is not.
 * Connection plumbing (`edges`, `node`) costs nothing. A `first` given as a variable counts as
 * the variable's default, else as the largest page that field allows.
 */
export function complexityLimitRule(
  opts: Pick<LimitOptions, "maxComplexity" | "maxPageFor">,
): ValidationRule {
  return operationRule((ctx, op) => {
    const variableDefaults = new Map<string, number>();
    for (const v of op.variableDefinitions ?? []) {
      if (v.defaultValue?.kind === Kind.INT)
        variableDefaults.set(v.variable.name.value, Number(v.defaultValue.value));
    }
    const firstOf = (field: FieldNode): number | undefined => {
      const arg = field.arguments?.find((a) => a.name.value === "first");
      if (!arg) return undefined;
      if (arg.value.kind === Kind.INT) return Math.max(1, Number(arg.value.value));
      if (arg.value.kind === Kind.VARIABLE) {
        return variableDefaults.get(arg.value.name.value) ?? opts.maxPageFor(field.name.value);
      }
      return undefined;
    };
    let cost = 0;
    // items: objects the enclosing lists produce; pending: a page size a connection hands to its list.
    type State = { items: number; pending: number | undefined };
    walk<State>(ctx, op.selectionSet, rootType(ctx, op), { items: 1, pending: undefined }, (v, descend) => {
      if (cost > opts.maxComplexity) return;
      const name = v.field.name.value;
      const leaf = !v.field.selectionSet;
      const plumbing = name === "edges" || name === "node";
      cost += leaf ? 1 : plumbing ? 0 : v.state.items;
      if (leaf || !v.def) return;
      const page = firstOf(v.field);
      const isList = isListType(getNullableType(v.def.type));
      descend({
        items: isList ? v.state.items * (page ?? v.state.pending ?? 1) : v.state.items,
        pending: isList ? undefined : (page ?? v.state.pending),
      });
    });
    if (cost > opts.maxComplexity) {
      ctx.reportError(
        limitError(`Query complexity exceeds the limit of ${opts.maxComplexity} (query.maxComplexity)`, [op]),
      );
    }
  });
}

/** Longest GraphQL document accepted, in characters. */
export const MAX_DOCUMENT_LENGTH = 100_000;
/** Deepest `{` / `(` / `[` nesting accepted in a document's text. */
export const MAX_DOCUMENT_NESTING = 64;

/**
 * A cheap scan of a document's text before it is parsed: its length and the nesting of its
 * brackets (outside strings and comments). Parsing and validating are recursive, so a document
 * nested thousands of levels deep (through inline fragments, which the depth rule does not see as
 * fields) must be refused before either runs. Returns the problem, or null.
 */
export function documentShapeProblem(text: string): string | null {
  if (text.length > MAX_DOCUMENT_LENGTH) {
    return `the query is ${text.length} characters long; the limit is ${MAX_DOCUMENT_LENGTH}`;
  }
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === '"') {
      const block = text.startsWith('"""', i);
      i += block ? 3 : 1;
      while (i < text.length) {
        if (text[i] === "\\") i += 2;
        else if (block ? text.startsWith('"""', i) : text[i] === '"' || text[i] === "\n") break;
        else i++;
      }
      if (block) i += 2;
    } else if (c === "{" || c === "(" || c === "[") {
      depth++;
      if (depth > max) max = depth;
      if (max > MAX_DOCUMENT_NESTING) {
        return `the query nests deeper than ${MAX_DOCUMENT_NESTING} levels of brackets`;
      }
    } else if (c === "}" || c === ")" || c === "]") depth--;
  }
  return null;
}
