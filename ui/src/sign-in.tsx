import { type FormEvent, useEffect, useState } from "react";
import { authToken, setAuthToken, UNAUTHENTICATED_EVENT } from "./api.js";

/** Whether the server has asked for credentials this page could not give. */
export function useSignInNeeded(): boolean {
  const [needed, setNeeded] = useState(false);
  useEffect(() => {
    const on = () => setNeeded(true);
    window.addEventListener(UNAUTHENTICATED_EVENT, on);
    return () => window.removeEventListener(UNAUTHENTICATED_EVENT, on);
  }, []);
  return needed;
}

/**
 * Sign-in for a Skald that requires credentials: the reader pastes a bearer token (a static token
 * from the configuration or a JWT from the organisation's identity provider). It is kept in this
 * tab's session storage and sent with every request.
 */
export function SignIn() {
  const [token, setToken] = useState("");
  const had = authToken() !== null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAuthToken(token.trim());
    window.location.reload();
  };
  return (
    <div className="sign-in" role="dialog" aria-modal="true" aria-labelledby="sign-in-title">
      <form onSubmit={submit}>
        <h1 id="sign-in-title">Sign in to Skald</h1>
        <p>
          {had
            ? "The token was refused (unknown, expired, or for another tenant). Paste a valid one."
            : "This Skald requires a bearer token: a reader token from its configuration or a JWT from your identity provider."}
        </p>
        <label>
          Token
          <input
            type="password"
            autoComplete="off"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            required
          />
        </label>
        <button type="submit">Sign in</button>
      </form>
    </div>
  );
}

/** Forgets the token (shown in the top bar when one is in use). */
export function SignOut() {
  if (authToken() === null) return null;
  return (
    <button
      type="button"
      onClick={() => {
        setAuthToken(null);
        window.location.reload();
      }}
    >
      Sign out
    </button>
  );
}
