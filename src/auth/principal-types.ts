// Who a caller is, once authenticated. An API key is its user, with grants read from D1 on
// each use; a token is its user with the grants its claims carry (null: look them up).
import type { Grants } from "./grants";
import type { VerifiedToken } from "./verify-jwt";

export type ApiKeyPrincipal = { kind: "api_key"; userId: string; keyId: string };
export type TokenPrincipal = {
  kind: "token";
  userId: string;
  issuer: "builtin" | "external";
  grants: Grants | null;
  /** The browser session the token was minted for, if any. */
  sessionId: string | null;
  expiresAt: number;
};
export type Principal = ApiKeyPrincipal | TokenPrincipal;

export function tokenPrincipal(t: Pick<VerifiedToken, "userId" | "issuer" | "grants" | "sessionId" | "expiresAt">): TokenPrincipal {
  return { kind: "token", userId: t.userId, issuer: t.issuer, grants: t.grants, sessionId: t.sessionId, expiresAt: t.expiresAt };
}

/** How a principal authenticated, as the audit names it. */
export function viaOf(who: Principal): "api_key" | "session" | "token" {
  return who.kind === "api_key" ? "api_key" : who.sessionId ? "session" : "token";
}
