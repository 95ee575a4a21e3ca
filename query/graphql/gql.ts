/**
 * graphql-js, as the one instance graphql-yoga uses. graphql 16 has no "exports" map, so Node
 * resolves a bare "graphql" to its CommonJS "main" (what yoga and envelop load), while Vite, and
 * so vitest, resolves it to the "module" (.mjs) build: two instances, and graphql-js rejects
 * schema objects from the other one. Naming the CommonJS entry makes both agree.
 */
export * from "graphql/index.js";
