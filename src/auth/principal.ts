// Who is calling, decided once at the edge (law 6). The single entry for a presented token is
// principalForToken: an API key (cap_…) or an access token (a JWT from a trusted issuer). HTTP
// requests may instead carry a browser session's cookies (sessions.ts).
import { checkApiKey } from "./api-keys";
import { timingSafeEqualText } from "./hash";
import { API_KEY } from "./ids";
import { tokenPrincipal, type ApiKeyPrincipal, type Principal } from "./principal-types";
import { clientIp, refuse } from "./refusals";
import { sessionPrincipal } from "./sessions";
import { verifyAccessToken } from "./verify-jwt";

export type { ApiKeyPrincipal, Principal, TokenPrincipal } from "./principal-types";

/** Large enough for a token carrying MAX_PROJECT_CLAIMS grants; anything longer is not ours. */
const MAX_TOKEN_CHARS = 8192;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function bearerToken(request: Request): string | null {
  const h = request.headers.get("authorization");
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m ? m[1]! : null;
}

export async function principalForToken(env: Env, token: unknown, seen: { ip?: string | null } = {}): Promise<Principal> {
  const ip = seen.ip ?? null;
  if (typeof token !== "string" || token.length === 0) throw await refuse(env, "missing_token", "a bearer token is required", { ip });
  if (token.length <= 64 && API_KEY.test(token)) {
    const k = await checkApiKey(env, token);
    if (k.ok) return { kind: "api_key", userId: k.userId, keyId: k.keyId };
    throw await refuse(env, k.reason, "the API key is unknown, revoked or expired", { via: "api_key", ip, userId: k.userId, keyId: k.keyId });
  }
  if (token.length <= MAX_TOKEN_CHARS && JWT_SHAPE.test(token)) {
    const v = await verifyAccessToken(env, token);
    if (v.ok) return tokenPrincipal(v.token);
    if (v.reason === "issuer_unreachable") {
      throw await refuse(env, v.reason, "the token's issuer could not be reached to verify it; retry later", { via: "token", ip, detail: v.detail }, "auth_unavailable");
    }
    throw await refuse(env, v.reason, `the access token was refused (${v.reason.replace(/_/g, " ")})`, { via: "token", ip, detail: v.detail });
  }
  throw await refuse(env, "malformed_token", "the bearer token is neither an API key (cap_…) nor an access token (JWT)", { ip });
}

/** The caller of an HTTP request: its bearer token, else its session cookies; 401 if neither. */
export async function requirePrincipal(env: Env, request: Request): Promise<Principal> {
  const who = await optionalPrincipal(env, request);
  if (who) return who;
  throw await refuse(env, "missing_token", "a bearer token or a session is required", { ip: clientIp(request) });
}

/** As requirePrincipal, but null for a request that presents nothing (capnweb's Gate takes those). */
export async function optionalPrincipal(env: Env, request: Request): Promise<Principal | null> {
  const token = bearerToken(request);
  if (token) return principalForToken(env, token, { ip: clientIp(request) });
  return sessionPrincipal(env, request);
}

/** For what only an API key may do: exchanging it for tokens or a session (a token must not beget tokens). */
export async function requireApiKey(env: Env, request: Request): Promise<ApiKeyPrincipal> {
  const token = bearerToken(request);
  if (!token) throw await refuse(env, "missing_token", "this route takes an API key as the bearer token", { ip: clientIp(request) });
  const who = await principalForToken(env, token, { ip: clientIp(request) });
  if (who.kind === "api_key") return who;
  throw await refuse(env, "api_key_required", "this route takes an API key, not an access token", { via: "token", ip: clientIp(request), userId: who.userId }, "forbidden");
}

/** The /internal routes answer only to the deployment's service token, compared in constant time. */
export async function requireServiceToken(env: Env, request: Request): Promise<void> {
  const token = bearerToken(request);
  const ok = !!env.SERVICE_TOKEN && !!token && (await timingSafeEqualText(token, env.SERVICE_TOKEN));
  if (ok) return;
  const reason = !env.SERVICE_TOKEN ? "service_token_unset" : token ? "service_token_mismatch" : "missing_token";
  throw await refuse(env, reason, "this route requires the service token", { via: "service", ip: clientIp(request) });
}
