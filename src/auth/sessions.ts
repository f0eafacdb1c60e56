// Browser sessions: an access token and a rotating refresh token, both in HttpOnly cookies.
//
// - A session is a family of refresh tokens, opened with an API key. Each refresh rotates the
//   token: the old one is marked with its successor by one conditional D1 write, so two
//   isolates can never both rotate it. Within an isolate, concurrent requests carrying the same
//   refresh token share one refresh (single flight).
// - Presenting a token that was rotated more than REUSE_GRACE_MS ago is reuse: someone else
//   holds a copy, so the whole family is revoked. Within the grace period it is a request that
//   set off before the rotation's cookies arrived; it is not given new tokens, and is served on
//   its access token if that is still valid.
// - The access token is refreshed shortly before it expires, so that stragglers still carry a
//   valid one. A refresh that fails while the access token is valid serves the request anyway,
//   unless the failure shows the session itself was revoked.
// - A WebSocket upgrade is never refreshed: its response cannot set a cookie that the browser
//   would keep, so the rotated token would be lost and its next use would look like reuse.
import { CapstanError } from "../../core/errors";
import { auditStatement, audit } from "./audit";
import { ACCESS_COOKIE, REFRESH_COOKIE, clearSessionCookies, queueCookies, readCookies, setCookie } from "./cookies";
import { checkCsrf } from "./csrf";
import { sha256Hex } from "./hash";
import { mintRefreshToken, mintSessionFamilyId, REFRESH_TOKEN } from "./ids";
import { issueAccessToken, type IssuedToken } from "./issuer";
import { tokenPrincipal, type ApiKeyPrincipal, type TokenPrincipal } from "./principal-types";
import { clientIp, refuse } from "./refusals";
import { verifyAccessToken } from "./verify-jwt";

/** A session ends this long after it was opened, however active. */
const SESSION_MAX_MS = 7 * 24 * 3600_000;
/** A refresh token unused for this long has expired (the session was idle). */
const REFRESH_IDLE_MS = 24 * 3600_000;
/** Access tokens in cookies live this long. */
export const SESSION_ACCESS_TTL_S = 300;
/** Refresh when the access token has less than this left. */
const REFRESH_MARGIN_MS = 60_000;
/** See the top of the file. */
export const REUSE_GRACE_MS = 10_000;

export type OpenedSession = { sessionId: string; userId: string; accessExpiresAt: number; expiresAt: number };

/** Opens a session for an API-key caller and queues its cookies on the request's response. */
export async function openSession(env: Env, request: Request, who: ApiKeyPrincipal): Promise<OpenedSession> {
  const now = Date.now();
  const sessionId = mintSessionFamilyId();
  const expiresAt = now + SESSION_MAX_MS;
  const refresh = mintRefreshToken();
  const refreshExpiresAt = Math.min(now + REFRESH_IDLE_MS, expiresAt);
  const access = await issueAccessToken(env, { userId: who.userId, ttl: SESSION_ACCESS_TTL_S, sessionId });
  const ip = clientIp(request);
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO session_families (id, user_id, key_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`).bind(
      sessionId,
      who.userId,
      who.keyId,
      now,
      expiresAt,
    ),
    env.DB.prepare(`INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) VALUES (?, ?, ?, ?)`).bind(
      await sha256Hex(refresh),
      sessionId,
      now,
      refreshExpiresAt,
    ),
    auditStatement(env, { event: "session.created", userId: who.userId, keyId: who.keyId, sessionId, via: "api_key", ip }),
    auditStatement(env, { event: "token.minted", userId: who.userId, keyId: who.keyId, sessionId, via: "api_key", ip, detail: { jti: access.tokenId } }),
  ]);
  queueCookies(request, sessionCookies(access, refresh, refreshExpiresAt, now));
  return { sessionId, userId: who.userId, accessExpiresAt: access.expiresAt, expiresAt };
}

function sessionCookies(access: IssuedToken, refresh: string, refreshExpiresAt: number, now: number): string[] {
  return [setCookie(ACCESS_COOKIE, access.token, (access.expiresAt - now) / 1000), setCookie(REFRESH_COOKIE, refresh, (refreshExpiresAt - now) / 1000)];
}

/**
 * The principal of a cookie session, refreshing it when due; null when the request carries no
 * session cookies. Cookies set by a refresh are queued on the request (see cookies.ts).
 */
export async function sessionPrincipal(env: Env, request: Request): Promise<TokenPrincipal | null> {
  const cookies = readCookies(request);
  const accessCookie = cookies.get(ACCESS_COOKIE);
  const refreshCookie = cookies.get(REFRESH_COOKIE);
  if (!accessCookie && !refreshCookie) return null;
  await checkCsrf(env, request);
  const ip = clientIp(request);

  const verified = accessCookie ? await verifyAccessToken(env, accessCookie) : null;
  // Only the built-in issuer's session tokens belong in this cookie.
  const access = verified?.ok && verified.token.issuer === "builtin" && verified.token.sessionId ? verified.token : null;
  // An access cookie that merely expired is the normal reason to refresh; anything else is noted.
  if (verified && !access && !(!verified.ok && verified.reason === "expired")) {
    await audit(env, { event: "auth.refused", reason: verified.ok ? "not_a_session_token" : verified.reason, via: "session", ip, detail: verified.ok ? undefined : verified.detail });
  }

  if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
    if (access) return tokenPrincipal(access);
    throw await refuse(env, "session_access_expired_on_upgrade", "the session's access token has expired; refresh it (GET /v1/session) and connect again", { via: "session", ip });
  }

  const now = Date.now();
  if (access && access.expiresAt - now > REFRESH_MARGIN_MS) return tokenPrincipal(access);
  if (!refreshCookie || !REFRESH_TOKEN.test(refreshCookie)) {
    if (access) return tokenPrincipal(access);
    queueCookies(request, clearSessionCookies());
    throw await refuse(env, "session_expired", "the session has expired; sign in again", { via: "session", ip, sessionId: null });
  }

  const outcome = await refreshOnce(env, refreshCookie, ip);
  if (outcome.ok) {
    queueCookies(request, outcome.cookies);
    return outcome.principal;
  }
  // Serve on the access token still in hand, unless the failure was that its own session is over.
  if (access && access.sessionId !== outcome.revokedSession) return tokenPrincipal(access);
  if (outcome.clear) queueCookies(request, clearSessionCookies());
  // The refresh has already audited why it failed.
  throw new CapstanError("unauthorized", outcome.message);
}

export type RefreshOutcome =
  | { ok: true; principal: TokenPrincipal; cookies: string[] }
  | { ok: false; reason: string; message: string; clear: boolean; revokedSession: string | null };

const inflight = new Map<string, Promise<RefreshOutcome>>();

/** One refresh per refresh token at a time in this isolate: concurrent requests share its outcome. */
async function refreshOnce(env: Env, refreshToken: string, ip: string | null): Promise<RefreshOutcome> {
  const hash = await sha256Hex(refreshToken);
  let flight = inflight.get(hash);
  if (!flight) {
    flight = rotateRefreshToken(env, hash, ip).finally(() => inflight.delete(hash));
    inflight.set(hash, flight);
  }
  return flight;
}

type RefreshRow = {
  family_id: string;
  expires_at: number;
  rotated_at: number | null;
  user_id: string;
  key_id: string;
  family_expires_at: number;
  revoked_at: number | null;
  key_revoked_at: number | null;
  key_expires_at: number | null;
};

/** Rotates the refresh token with this hash, or says why not. Not single-flight: see refreshOnce. */
export async function rotateRefreshToken(env: Env, hash: string, ip: string | null): Promise<RefreshOutcome> {
  const now = Date.now();
  const row = await env.DB.prepare(
    `SELECT r.family_id, r.expires_at, r.rotated_at, f.user_id, f.key_id, f.expires_at AS family_expires_at, f.revoked_at,
            k.revoked_at AS key_revoked_at, k.expires_at AS key_expires_at
     FROM refresh_tokens r JOIN session_families f ON f.id = r.family_id JOIN api_keys k ON k.id = f.key_id
     WHERE r.hash = ?`,
  )
    .bind(hash)
    .first<RefreshRow>();
  const fail = async (reason: string, message: string, o: { clear: boolean; revoked?: boolean }): Promise<RefreshOutcome> => {
    await audit(env, { event: "session.refresh_refused", reason, userId: row?.user_id, keyId: row?.key_id, sessionId: row?.family_id, via: "session", ip });
    return { ok: false, reason, message, clear: o.clear, revokedSession: o.revoked && row ? row.family_id : null };
  };
  if (!row) return fail("unknown_refresh_token", "the session is not known; sign in again", { clear: true });
  if (row.revoked_at !== null) return fail("session_revoked", "the session was ended; sign in again", { clear: true, revoked: true });
  if (row.rotated_at !== null) {
    if (now - row.rotated_at <= REUSE_GRACE_MS) {
      return fail("refresh_raced", "the session was refreshed by a concurrent request; retry", { clear: false });
    }
    await revokeFamily(env, row.family_id, row.user_id, "refresh_reuse", ip);
    return fail("refresh_reuse", "a refresh token was used twice; the session has been ended. Sign in again", { clear: true, revoked: true });
  }
  if (row.expires_at <= now || row.family_expires_at <= now) return fail("session_expired", "the session has expired; sign in again", { clear: true });
  if (row.key_revoked_at !== null || (row.key_expires_at !== null && row.key_expires_at <= now)) {
    await revokeFamily(env, row.family_id, row.user_id, "key_revoked", ip);
    return fail("key_revoked", "the API key this session was opened with is no longer valid; sign in again", { clear: true, revoked: true });
  }

  // Mint first: if signing fails, nothing has been rotated and the old token still works.
  const access = await issueAccessToken(env, { userId: row.user_id, ttl: SESSION_ACCESS_TTL_S, sessionId: row.family_id });
  const next = mintRefreshToken();
  const nextHash = await sha256Hex(next);
  const nextExpiresAt = Math.min(now + REFRESH_IDLE_MS, row.family_expires_at);
  const [claimed] = await env.DB.batch([
    // The one write that may rotate this token: it succeeds for exactly one caller, anywhere.
    env.DB.prepare(
      `UPDATE refresh_tokens SET rotated_at = ?, successor = ? WHERE hash = ? AND rotated_at IS NULL
       AND EXISTS (SELECT 1 FROM session_families WHERE id = ? AND revoked_at IS NULL)`,
    ).bind(now, nextHash, hash, row.family_id),
    // Inserted only if the write above was ours.
    env.DB.prepare(
      `INSERT INTO refresh_tokens (hash, family_id, created_at, expires_at) SELECT ?, family_id, ?, ? FROM refresh_tokens WHERE hash = ? AND successor = ?`,
    ).bind(nextHash, now, nextExpiresAt, hash, nextHash),
  ]);
  if (claimed!.meta.changes !== 1) return fail("refresh_raced", "the session was refreshed by a concurrent request; retry", { clear: false });
  await audit(env, { event: "token.minted", userId: row.user_id, keyId: row.key_id, sessionId: row.family_id, via: "session", ip, detail: { jti: access.tokenId } });
  return {
    ok: true,
    principal: tokenPrincipal({ userId: row.user_id, issuer: "builtin", grants: access.grants, sessionId: row.family_id, expiresAt: access.expiresAt }),
    cookies: sessionCookies(access, next, nextExpiresAt, now),
  };
}

async function revokeFamily(env: Env, familyId: string, userId: string, reason: string, ip: string | null): Promise<void> {
  await env.DB.batch([
    env.DB.prepare(`UPDATE session_families SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL`).bind(Date.now(), reason, familyId),
    auditStatement(env, { event: "session.revoked", reason, userId, sessionId: familyId, via: "session", ip }),
  ]);
}

/**
 * Ends the session the request's cookies belong to (by its refresh token, or by its access
 * token's `sid` when only that is left) and clears the cookies either way.
 */
export async function closeSession(env: Env, request: Request): Promise<void> {
  const cookies = readCookies(request);
  queueCookies(request, clearSessionCookies());
  const ip = clientIp(request);
  let familyId: string | null = null;
  let userId: string | null = null;
  const refresh = cookies.get(REFRESH_COOKIE);
  if (refresh && REFRESH_TOKEN.test(refresh)) {
    const row = await env.DB.prepare(`SELECT f.id, f.user_id FROM refresh_tokens r JOIN session_families f ON f.id = r.family_id WHERE r.hash = ?`)
      .bind(await sha256Hex(refresh))
      .first<{ id: string; user_id: string }>();
    if (row) ({ id: familyId, user_id: userId } = row);
  }
  const accessCookie = cookies.get(ACCESS_COOKIE);
  if (!familyId && accessCookie) {
    const v = await verifyAccessToken(env, accessCookie);
    if (v.ok && v.token.issuer === "builtin" && v.token.sessionId) ({ sessionId: familyId, userId } = v.token);
  }
  if (familyId && userId) await revokeFamily(env, familyId, userId, "logout", ip);
}
