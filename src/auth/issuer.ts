// The built-in issuer: mints short-lived ES256 access tokens (RFC 9068 shape) whose claims
// carry the user and a snapshot of their project grants, and describes itself for verifiers.
import { SignJWT, type JWTPayload } from "jose";
import { CapstanError } from "../../core/errors";
import { ACCESS_TOKEN_TYP, ACCESS_TTL, BUILTIN_ALG, authConfig } from "./config";
import { membershipClaims, type Grants } from "./grants";
import { mintTokenId } from "./ids";
import { activeSigner } from "./signing-keys";

/** Claims of ours, next to the registered ones. */
export const PROJECTS_CLAIM = "cap_projects";
/** Set instead of PROJECTS_CLAIM when the user has too many projects: verifiers look membership up. */
export const PROJECTS_OVERFLOW_CLAIM = "cap_projects_overflow";

/** Signs a payload exactly as given with the active key. Everything the issuer mints comes through here. */
export async function signWithIssuerKey(env: Env, payload: JWTPayload, typ = ACCESS_TOKEN_TYP): Promise<string> {
  const { kid, key } = await activeSigner(env);
  return new SignJWT(payload).setProtectedHeader({ alg: BUILTIN_ALG, kid, typ }).sign(key);
}

/** How long a workload identity token lives: long enough to be exchanged, no longer. */
export const WORKLOAD_TOKEN_TTL_S = 300;

/**
 * A workload identity token for `getIdToken("audience")` in egress: sub is the project, aud is
 * what the caller named. Its typ is "JWT", not the access-token typ, and our own audience is
 * refused, so such a token can never stand in for a Capstan access token.
 */
export async function issueWorkloadToken(env: Env, projectId: string, audience: string): Promise<string> {
  const { builtinIssuer, audience: ours } = authConfig(env);
  if (audience === ours || audience === builtinIssuer) {
    throw new CapstanError("bad_request", `getIdToken cannot mint a token for Capstan's own audience "${audience}"`);
  }
  const now = Math.floor(Date.now() / 1000);
  return signWithIssuerKey(
    env,
    { iss: builtinIssuer, sub: projectId, aud: audience, iat: now, nbf: now, exp: now + WORKLOAD_TOKEN_TTL_S, jti: mintTokenId() },
    "JWT",
  );
}

export type IssuedToken = { token: string; tokenId: string; expiresAt: number; grants: Grants | null };

export async function issueAccessToken(env: Env, opts: { userId: string; ttl?: number; sessionId?: string }): Promise<IssuedToken> {
  const { builtinIssuer, audience } = authConfig(env);
  const ttl = opts.ttl ?? ACCESS_TTL.default;
  const now = Math.floor(Date.now() / 1000);
  const tokenId = mintTokenId();
  const projects = await membershipClaims(env, opts.userId);
  const payload: JWTPayload = {
    iss: builtinIssuer,
    aud: audience,
    sub: opts.userId,
    iat: now,
    nbf: now,
    exp: now + ttl,
    jti: tokenId,
    ...(projects ? { [PROJECTS_CLAIM]: projects } : { [PROJECTS_OVERFLOW_CLAIM]: true }),
    ...(opts.sessionId ? { sid: opts.sessionId } : {}),
  };
  const grants = projects ? new Map(Object.entries(projects)) : null;
  return { token: await signWithIssuerKey(env, payload), tokenId, expiresAt: (now + ttl) * 1000, grants };
}

/** Where the issuer's endpoints live: AUTH_PUBLIC_URL, else the origin the request came to. */
export function issuerBaseUrl(env: Env, request: Request): string {
  return authConfig(env).publicUrl ?? new URL(request.url).origin;
}

/**
 * OpenID Provider metadata, for verifiers: what they need is `issuer` and `jwks_uri`. The issuer
 * mints access tokens in exchange for API keys, so it has no authorization endpoint.
 */
export function discoveryDocument(env: Env, request: Request): Record<string, unknown> {
  const base = issuerBaseUrl(env, request);
  return {
    issuer: authConfig(env).builtinIssuer,
    jwks_uri: `${base}/.well-known/jwks.json`,
    token_endpoint: `${base}/v1/token`,
    token_endpoint_auth_methods_supported: ["bearer"],
    grant_types_supported: ["urn:capstan:grant-type:api-key"],
    response_types_supported: [],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [BUILTIN_ALG],
    access_token_signing_alg_values_supported: [BUILTIN_ALG],
    claims_supported: ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", PROJECTS_CLAIM, PROJECTS_OVERFLOW_CLAIM],
  };
}
