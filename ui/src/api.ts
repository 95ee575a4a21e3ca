import { useEffect, useRef, useState } from "react";

/** A GraphQL error as the server reports it (message and code only: nothing else is shown). */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = "skald.token";

/** The bearer token the reader signed in with (kept for this browser tab only). */
export function authToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setAuthToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Fired on window when the server asks for credentials (401): the app shows its sign-in form. */
export const UNAUTHENTICATED_EVENT = "skald:unauthenticated";

/**
 * A GraphQL document that knows its result `R` and variables `V` (types generated from the
 * schema, see queries.ts). The fields exist only for the type checker.
 */
export type Document<R, V> = string & { readonly __result?: R; readonly __variables?: V };

/** POSTs one operation to /graphql; rejects with the first error's message and code. */
export async function gql<T, V>(query: Document<T, V>, variables: V, signal?: AbortSignal): Promise<T> {
  const res = await fetch("/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...(authToken() ? { authorization: `Bearer ${authToken()}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  const body = (await res.json().catch(() => ({}))) as {
    data?: T;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
  if (res.status === 401) window.dispatchEvent(new Event(UNAUTHENTICATED_EVENT));
  if (body.errors?.length) {
    const e = body.errors[0];
    throw new GraphQLRequestError(e.message, e.extensions?.code);
  }
  if (!res.ok || !body.data) throw new GraphQLRequestError(`HTTP ${res.status}`);
  return body.data;
}

export type Loadable<T> =
  | { state: "loading" }
  | { state: "error"; error: string }
  | { state: "done"; data: T };

/**
 * Runs `query` whenever `key` changes (a string of everything it depends on); earlier requests
 * are aborted so a slow answer never overwrites a newer one.
 */
export function useQuery<T, V>(query: Document<T, V> | null, variables: V, key: string): Loadable<T> {
  const [result, setResult] = useState<Loadable<T>>({ state: "loading" });
  const vars = useRef(variables);
  vars.current = variables;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for query and variables.
  useEffect(() => {
    if (!query) return;
    const ctl = new AbortController();
    setResult({ state: "loading" });
    gql(query, vars.current, ctl.signal).then(
      (data) => setResult({ state: "done", data }),
      (err: unknown) => {
        if (!ctl.signal.aborted)
          setResult({ state: "error", error: err instanceof Error ? err.message : String(err) });
      },
    );
    return () => ctl.abort();
  }, [query, key]);
  return result;
}
