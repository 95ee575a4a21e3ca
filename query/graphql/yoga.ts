import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { createSchema, createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import type { AuditLog } from "../../core/auth/audit.js";
import {
  type Authenticator,
  headerLookup,
  openAuthenticator,
  type Principal,
} from "../../core/auth/authenticator.js";
import type { Capability } from "../../core/auth/policy.js";
import type { SkaldConfig } from "../../core/config/schema.js";
import type { Logger } from "../../core/log.js";
import type { QueryModule } from "../module.js";
import type { SpanReader } from "../span-reader.js";
import { auditedOperation, checkOperation, rootFieldAccess } from "./access.js";
import { createMaskError, hasClientCode, limitError } from "./errors.js";
import {
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  getOperationAST,
  type ValidationRule,
} from "./gql.js";
import {
  aliasLimitRule,
  complexityLimitRule,
  DEFAULT_MAX_ALIASES,
  depthLimitRule,
  documentShapeProblem,
} from "./limits.js";
import { type QueryContext, resolvers } from "./resolvers.js";
import { typeDefs } from "./schema.js";

/** What the HTTP integration hands Yoga per request. */
export interface ServerContext {
  req: { headers: IncomingHttpHeaders; principal?: Principal; ip?: string };
}

export type GraphQLHandler = YogaServerInstance<ServerContext, QueryContext>;

export interface GraphQLDeps {
  reader: SpanReader;
  config: SkaldConfig;
  logger: Logger;
  /** Feature modules whose SDL and resolvers join the base schema. */
  modules?: QueryModule[];
  /** Who may run which root field; default: authentication off. */
  auth?: Authenticator;
  audit?: AuditLog;
}

function named(rule: ValidationRule, name: string): ValidationRule {
  // Yoga keys its validation cache on rule names; anonymous rules would all read "".
  Object.defineProperty(rule, "name", { value: name });
  return rule;
}

/** Adds the request limits to graphql-js validation (what envelop's useValidationRule does). */
function limitsPlugin(config: SkaldConfig): Plugin {
  const q = config.query;
  const rules = [
    named(depthLimitRule(q.maxDepth), "SkaldDepthLimit"),
    named(aliasLimitRule(DEFAULT_MAX_ALIASES), "SkaldAliasLimit"),
    named(
      complexityLimitRule({
        maxComplexity: q.maxComplexity,
        maxPageFor: (field) =>
          field === "spans" || field === "spanPage" ? q.maxTracePage : q.maxSearchLimit,
      }),
      "SkaldComplexityLimit",
    ),
  ];
  return {
    onParams({ params }) {
      const problem = typeof params.query === "string" ? documentShapeProblem(params.query) : null;
      if (problem) throw limitError(problem);
    },
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
    },
  };
}

/**
 * Role checks of every operation, queries, mutations and subscriptions alike, before anything runs
 * (query/graphql/access.ts), and the audit record of config-history reads, canary changes and
 * admin queries.
 */
function accessPlugin(
  auth: Authenticator,
  access: ReadonlyMap<string, Capability>,
  audit: AuditLog | undefined,
): Plugin<ServerContext & QueryContext> {
  const check = (
    doc: DocumentNode,
    operationName: string | null | undefined,
    ctx: ServerContext & QueryContext,
  ): GraphQLError | undefined => {
    const op = getOperationAST(doc, operationName);
    if (!op) return undefined; // graphql-js reports the missing operation itself
    try {
      const touched = checkOperation(doc, op, ctx.principal, access, auth);
      if (audit && auditedOperation(op, touched)) {
        audit.record({
          principal: ctx.principal,
          action: `graphql ${op.operation}`,
          target: touched.map((t) => t.field).join(","),
          status: 200,
          source: ctx.req.ip ?? "",
        });
      }
      return undefined;
    } catch (err) {
      if (audit && ctx.principal.via !== "anonymous") {
        audit.record({
          principal: ctx.principal,
          action: `graphql ${op.operation}`,
          target: (err as Error).message,
          status: 403,
          source: ctx.req.ip ?? "",
        });
      }
      return err as GraphQLError;
    }
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const e = check(args.document, args.operationName, args.contextValue);
      if (e) setResultAndStopExecution({ errors: [e] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const e = check(args.document, args.operationName, args.contextValue);
      if (e) setResultAndStopExecution({ errors: [e] });
    },
  };
}

/** With `limits.persistedQueries` set, only those documents (by sha256 of the text) run. */
function persistedQueriesPlugin(allowed: readonly string[]): Plugin {
  const set = new Set(allowed);
  return {
    onParams({ params }) {
      if (set.size === 0) return;
      const hash = createHash("sha256")
        .update(params.query ?? "")
        .digest("hex");
      if (!set.has(hash)) {
        throw new GraphQLError("this query is not on the allow-list (limits.persistedQueries)", {
          extensions: { code: "FORBIDDEN", http: { status: 403 } },
        });
      }
    },
  };
}

/** Gives every error of a result a code from errors.ts, whichever stage raised it. */
function errorCodesPlugin(mask: (error: unknown, message: string) => Error): Plugin {
  const fix = <R extends ExecutionResult>(r: R): R =>
    r.errors?.some((e) => !hasClientCode(e))
      ? { ...r, errors: r.errors.map((e) => (hasClientCode(e) ? e : mask(e, "Unexpected error."))) }
      : r;
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result)) setResult(result.map(fix));
      else if (!(Symbol.asyncIterator in result)) setResult(fix(result));
    },
  };
}

export function createGraphQLHandler(deps: GraphQLDeps): GraphQLHandler {
  const { reader, config, logger } = deps;
  const modules = deps.modules ?? [];
  const log = logger.child({ component: "graphql" });
  const maskError = createMaskError(log);
  const auth = deps.auth ?? openAuthenticator(config.otlp);
  const access = rootFieldAccess([
    { typeDefs: typeDefs(config.query), capability: "traces" },
    ...modules.flatMap((m) => (m.typeDefs ? [{ typeDefs: m.typeDefs, capability: m.capability }] : [])),
  ]);
  return createYoga<ServerContext, QueryContext>({
    schema: createSchema<ServerContext & QueryContext>({
      typeDefs: [typeDefs(config.query), ...modules.flatMap((m) => (m.typeDefs ? [m.typeDefs] : []))],
      resolvers: [
        resolvers,
        ...modules.flatMap((m) => (m.resolvers ? [m.resolvers as typeof resolvers] : [])),
      ],
    }),
    graphqlEndpoint: "/graphql",
    graphiql: { title: "Skald" },
    landingPage: false,
    maskedErrors: { maskError },
    logging: {
      debug: (...args: unknown[]) => log.debug({ args }, "yoga"),
      info: (...args: unknown[]) => log.info({ args }, "yoga"),
      warn: (...args: unknown[]) => log.warn({ args }, "yoga"),
      // The masking hook has already logged what matters; yoga repeats it here.
      error: (...args: unknown[]) => log.debug({ args }, "yoga error"),
    },
    plugins: [
      persistedQueriesPlugin(config.limits.persistedQueries),
      limitsPlugin(config),
      accessPlugin(auth, access, deps.audit),
      errorCodesPlugin(maskError),
    ],
    context: async ({ req }) => {
      // The query server's hook has authenticated the request; direct callers (tests) get it here.
      const principal = req.principal ?? (await auth.reader(headerLookup(req)));
      return { tenant: principal.tenant, principal, reader };
    },
  });
}
