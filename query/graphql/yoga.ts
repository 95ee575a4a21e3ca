import type { IncomingHttpHeaders } from "node:http";
import { createSchema, createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import type { OtlpConfig, SkaldConfig } from "../../core/config/schema.js";
import type { Logger } from "../../core/log.js";
import { resolveTenant } from "../../core/tenant.js";
import type { QueryModule } from "../module.js";
import type { SpanReader } from "../span-reader.js";
import { createMaskError, hasClientCode } from "./errors.js";
import type { ExecutionResult, ValidationRule } from "./gql.js";
import { aliasLimitRule, complexityLimitRule, DEFAULT_MAX_ALIASES, depthLimitRule } from "./limits.js";
import { type QueryContext, resolvers } from "./resolvers.js";
import { typeDefs } from "./schema.js";

/** What the HTTP integration hands Yoga per request. */
export interface ServerContext {
  req: { headers: IncomingHttpHeaders };
}

export type GraphQLHandler = YogaServerInstance<ServerContext, QueryContext>;

export interface GraphQLDeps {
  reader: SpanReader;
  config: SkaldConfig;
  logger: Logger;
  /** Feature modules whose SDL and resolvers join the base schema. */
  modules?: QueryModule[];
}

/** The tenant of a query request: the tenant header, or the default tenant when absent. */
export function tenantOf(headers: IncomingHttpHeaders, otlp: OtlpConfig): string {
  return resolveTenant(headers[otlp.tenantHeader.toLowerCase()], otlp);
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
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
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
    plugins: [limitsPlugin(config), errorCodesPlugin(maskError)],
    context: ({ req }) => ({ tenant: tenantOf(req.headers, config.otlp), reader }),
  });
}
