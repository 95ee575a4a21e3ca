import { type RunningApp, runRole } from "../../cli/app.js";
import { loadConfig } from "../../core/config/load.js";
import { createLogger } from "../../core/log.js";

/** Starts `skald start` in this process on free ports with the given config overrides. */
export async function startApp(
  overrides: Record<string, unknown>,
): Promise<RunningApp & { graphqlUrl: string }> {
  const config = loadConfig({
    env: {},
    overrides: {
      "otlp.grpcPort": 0,
      "otlp.httpPort": 0,
      "query.port": 0,
      "log.level": "silent",
      ...overrides,
    },
  });
  const app = await runRole("start", config, createLogger("silent"));
  return { ...app, graphqlUrl: app.listeners.graphql };
}

export async function graphql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as {
    data?: T;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
}
