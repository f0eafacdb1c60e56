// Browser sessions: cookies, CSRF, rotation with single flight, family revocation on reuse, no
// refresh on a WebSocket upgrade, and a valid access token served when a refresh fails.
import { newWebSocketRpcSession, type RpcStub } from "capnweb";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/auth/hash";
import { signWithIssuerKey } from "../src/auth/issuer";
import { REUSE_GRACE_MS, rotateRefreshToken } from "../src/auth/sessions";
import type { Session } from "../src/rpc/api";
import { AT, RT, absorb, accessToken, auditCursor, authAudit, browser, cookieHeader, decodePart, login, now, setCookies, type Jar } from "./auth-helpers";
import { BASE, call, newUser } from "./helpers";

/** An access token for the session that has `left` seconds to live: due for a refresh. */
function dueAccess(userId: string, sessionId: string, left = 30): Promise<string> {
  return signWithIssuerKey(env, { iss: BASE, aud: "capstan", sub: userId, iat: now() - 270, nbf: now() - 270, exp: now() + left, jti: `tok_${crypto.randomUUID()}`, sid: sessionId, cap_projects: {} });
}

async function familyTokens(sessionId: string): Promise<{ hash: string; rotated_at: number | null; successor: string | null }[]> {
  const { results } = await env.DB.prepare(`SELECT hash, rotated_at, successor FROM refresh_tokens WHERE family_id = ? ORDER BY created_at, hash`)
    .bind(sessionId)
    .all<{ hash: string; rotated_at: number | null; successor: string | null }>();
  return results;
}

const familyRevoked = (sessionId: string) => env.DB.prepare(`SELECT revoked_reason FROM session_families WHERE id = ?`).bind(sessionId).first<string | null>("revoked_reason");

/** A user with a session whose access token is due for a refresh. */
async function dueSession(): Promise<{ key: string; userId: string; sessionId: string; jar: Jar }> {
  const { key, userId } = await newUser();
  const { jar, body } = await login(key);
  jar.set(AT, await dueAccess(userId, body.sessionId));
  return { key, userId, sessionId: body.sessionId, jar };
}

async function wsWithCookies(jar: Jar, origin = BASE): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}/rpc`, { headers: { upgrade: "websocket", cookie: cookieHeader(jar), origin } }));
}

describe("opening a session", () => {
  it("POST /v1/session with an API key sets HttpOnly, Secure, SameSite=Strict, Path=/ cookies holding an access and a refresh token", async () => {
    const { key, userId } = await newUser();
    const res = await call("/v1/session", { method: "POST", token: key });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { userId: string; sessionId: string };
    expect(body.userId).toBe(userId);
    const cookies = setCookies(res);
    expect(cookies.map((c) => c.name).sort()).toEqual([AT, RT].sort());
    for (const c of cookies) {
      for (const attr of ["Path=/", "HttpOnly", "Secure", "SameSite=Strict"]) expect(c.attrs.split("; ")).toContain(attr);
      expect(c.attrs).not.toMatch(/Domain/i);
    }
    const access = cookies.find((c) => c.name === AT)!;
    // No longer than the token inside it lives.
    expect(access.attrs).toMatch(/Max-Age=(299|300)$/);
    expect(decodePart(access.value, 1)).toMatchObject({ sub: userId, sid: body.sessionId });
    expect(cookies.find((c) => c.name === RT)!.value).toMatch(/^crt_[A-Za-z0-9_-]{43}$/);
    // Only the hash of the refresh token is stored.
    const rows = await familyTokens(body.sessionId);
    expect(rows.map((r) => r.hash)).toEqual([await sha256Hex(cookies.find((c) => c.name === RT)!.value)]);
    expect(await authAudit({ event: "session.created", userId })).toHaveLength(1);
  });

  it("takes only an API key", async () => {
    const { key } = await newUser();
    expect((await call("/v1/session", { method: "POST", token: await accessToken(key) })).status).toBe(403);
    expect((await call("/v1/session", { method: "POST" })).status).toBe(401);
  });

  it("authenticates every route with the cookies alone, with no refresh while the access token is fresh", async () => {
    const { key, userId } = await newUser();
    const { jar } = await login(key);
    const res = await browser("/v1/projects", jar);
    expect(res.status).toBe(200);
    expect(setCookies(res)).toEqual([]);
    const me = (await (await browser("/v1/session", jar)).json()) as { userId: string; via: string };
    expect(me).toMatchObject({ userId, via: "token" });
  });
});

describe("CSRF", () => {
  it("refuses a cookie-authenticated change without the x-capstan-csrf header, or from another origin; audits it; writes nothing", async () => {
    const { key, userId } = await newUser();
    const { jar } = await login(key);
    const body = JSON.stringify({ name: "csrf" });
    const cursor = await auditCursor();
    const noHeader = await browser("/v1/projects", jar, { method: "POST", body });
    expect(noHeader.status).toBe(403);
    const otherOrigin = await browser("/v1/projects", jar, { method: "POST", body, csrf: true, origin: "https://evil.example" });
    expect(otherOrigin.status).toBe(403);
    const crossSite = await browser("/v1/projects", jar, { method: "POST", body, csrf: true, headers: { "sec-fetch-site": "cross-site" } });
    expect(crossSite.status).toBe(403);
    expect((await authAudit({ after: cursor })).map((r) => r.reason)).toEqual(["csrf_header_missing", "csrf_origin", "csrf_cross_site"]);
    expect(await (await browser("/v1/projects", jar)).json()).toEqual([]);

    const ok = await browser("/v1/projects", jar, { method: "POST", body, csrf: true });
    expect(ok.status).toBe(201);
    expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM projects WHERE owner_id = ?`).bind(userId).first("n")).toBe(1);
  });

  it("does not apply to bearer requests (a browser never attaches a bearer token itself)", async () => {
    const { key } = await newUser();
    const res = await call("/v1/projects", { method: "POST", token: key, body: JSON.stringify({ name: "b" }), headers: { origin: "https://elsewhere.example" } });
    expect(res.status).toBe(201);
  });
});

describe("refresh", () => {
  it("rotates the refresh token when the access token is due, setting both cookies on the response", async () => {
    const s = await dueSession();
    const res = await browser("/v1/projects", s.jar);
    expect(res.status).toBe(200);
    const next = absorb(s.jar, res);
    expect(next.get(RT)).not.toBe(s.jar.get(RT));
    expect(next.get(AT)).not.toBe(s.jar.get(AT));
    expect(decodePart(next.get(AT)!, 1)).toMatchObject({ sid: s.sessionId, sub: s.userId });
    const rows = await familyTokens(s.sessionId);
    expect(rows).toHaveLength(2);
    const old = rows.find((r) => r.hash === (rows.find((x) => x.successor)!.hash))!;
    expect(old.successor).toBe(await sha256Hex(next.get(RT)!));
    // The new pair works and is not refreshed again.
    const again = await browser("/v1/projects", next);
    expect(again.status).toBe(200);
    expect(setCookies(again)).toEqual([]);
  });

  it("refreshes a session whose access cookie is gone (expired in the browser)", async () => {
    const s = await dueSession();
    s.jar.delete(AT);
    const res = await browser("/v1/projects", s.jar);
    expect(res.status).toBe(200);
    expect(absorb(s.jar, res).get(AT)).toBeDefined();
  });

  it("is single-flight: concurrent requests with the same cookies cause one rotation and all get its cookies", async () => {
    const s = await dueSession();
    const responses = await Promise.all(Array.from({ length: 8 }, () => browser("/v1/projects", s.jar)));
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    const refreshes = new Set(responses.map((r) => absorb(new Map(), r).get(RT)));
    expect(refreshes.size).toBe(1);
    expect([...refreshes][0]).toMatch(/^crt_/);
    expect(await familyTokens(s.sessionId)).toHaveLength(2);
    expect(await familyRevoked(s.sessionId)).toBeNull();
  });

  it("rotates a token once even across isolates: the conditional write lets exactly one of two racing rotations win", async () => {
    const s = await dueSession();
    const hash = await sha256Hex(s.jar.get(RT)!);
    // Called directly, past this isolate's single-flight map, as two isolates would.
    const [a, b] = await Promise.all([rotateRefreshToken(env, hash, null), rotateRefreshToken(env, hash, null)]);
    expect([a.ok, b.ok].sort()).toEqual([false, true]);
    expect([a, b].find((o) => !o.ok)).toMatchObject({ reason: "refresh_raced" });
    expect(await familyTokens(s.sessionId)).toHaveLength(2);
    expect(await familyRevoked(s.sessionId)).toBeNull();
  });

  it("revokes the whole family when a rotated refresh token is reused after the grace period", async () => {
    const s = await dueSession();
    const rotated = absorb(s.jar, await browser("/v1/projects", s.jar));
    // A thief replays the old refresh token, well after the rotation.
    await env.DB.prepare(`UPDATE refresh_tokens SET rotated_at = rotated_at - ? WHERE family_id = ? AND rotated_at IS NOT NULL`)
      .bind(REUSE_GRACE_MS + 1000, s.sessionId)
      .run();
    const stolen = new Map(s.jar);
    stolen.delete(AT);
    const replay = await browser("/v1/projects", stolen);
    expect(replay.status).toBe(401);
    expect(setCookies(replay).every((c) => c.attrs.includes("Max-Age=0"))).toBe(true);
    expect(await familyRevoked(s.sessionId)).toBe("refresh_reuse");
    expect(await authAudit({ event: "session.revoked", userId: s.userId })).toEqual([expect.objectContaining({ reason: "refresh_reuse", sessionId: s.sessionId })]);

    // The legitimate holder's newer refresh token is dead too, and its due access token is not served.
    rotated.set(AT, await dueAccess(s.userId, s.sessionId));
    expect((await browser("/v1/projects", rotated)).status).toBe(401);
    rotated.delete(AT);
    expect((await browser("/v1/projects", rotated)).status).toBe(401);
  });

  it("treats reuse within the grace period as a straggler: no revocation, no new tokens, served on a valid access token", async () => {
    const s = await dueSession();
    const first = await browser("/v1/projects", s.jar);
    expect(first.status).toBe(200);
    // A request that left before the first one's cookies arrived.
    const straggler = await browser("/v1/projects", s.jar);
    expect(straggler.status).toBe(200);
    expect(setCookies(straggler)).toEqual([]);
    const noAccess = new Map(s.jar);
    noAccess.delete(AT);
    const retry = await browser("/v1/projects", noAccess);
    expect(retry.status).toBe(401);
    expect(setCookies(retry)).toEqual([]);
    expect(await familyRevoked(s.sessionId)).toBeNull();
    expect((await browser("/v1/projects", absorb(s.jar, first))).status).toBe(200);
  });

  it("serves the request on a still-valid access token when the refresh fails", async () => {
    const s = await dueSession();
    const cursor = await auditCursor();
    const broken = new Map(s.jar);
    broken.set(RT, `crt_${"Z".repeat(43)}`);
    const res = await browser("/v1/projects", broken);
    expect(res.status).toBe(200);
    expect(setCookies(res)).toEqual([]);
    expect((await authAudit({ after: cursor })).map((r) => r.reason)).toEqual(["unknown_refresh_token"]);
    // With the access token expired as well, it is a 401 and the cookies are cleared.
    broken.set(AT, await dueAccess(s.userId, s.sessionId, -120));
    const expired = await browser("/v1/projects", broken);
    expect(expired.status).toBe(401);
    expect(setCookies(expired).map((c) => c.attrs.includes("Max-Age=0"))).toEqual([true, true]);
  });
});

describe("WebSocket upgrades", () => {
  it("never refresh: a due-but-valid access token connects, nothing is rotated, no cookie is set", async () => {
    const s = await dueSession();
    const res = await wsWithCookies(s.jar);
    expect(res.status).toBe(101);
    expect(setCookies(res)).toEqual([]);
    const ws = res.webSocket!;
    ws.accept();
    const session = newWebSocketRpcSession<Session>(ws as unknown as WebSocket) as unknown as RpcStub<Session>;
    try {
      expect((await session.whoami()).userId).toBe(s.userId);
    } finally {
      ws.close();
    }
    expect((await familyTokens(s.sessionId)).map((r) => r.rotated_at)).toEqual([null]);
  });

  it("with an expired access token: 401, still no refresh", async () => {
    const s = await dueSession();
    s.jar.set(AT, await dueAccess(s.userId, s.sessionId, -120));
    const res = await wsWithCookies(s.jar);
    expect(res.status).toBe(401);
    expect(setCookies(res)).toEqual([]);
    s.jar.delete(AT);
    expect((await wsWithCookies(s.jar)).status).toBe(401);
    expect((await familyTokens(s.sessionId)).map((r) => r.rotated_at)).toEqual([null]);
  });

  it("from another origin: refused (cross-site WebSocket hijacking)", async () => {
    const { key } = await newUser();
    const { jar } = await login(key);
    expect((await wsWithCookies(jar, "https://evil.example")).status).toBe(403);
  });
});

describe("ending sessions", () => {
  it("logout revokes the family and clears the cookies; it needs the CSRF header", async () => {
    const s = await dueSession();
    expect((await browser("/v1/session/logout", s.jar, { method: "POST" })).status).toBe(403);
    const res = await browser("/v1/session/logout", s.jar, { method: "POST", csrf: true });
    expect(res.status).toBe(204);
    expect(setCookies(res).map((c) => [c.name, c.attrs.includes("Max-Age=0")])).toEqual([
      [AT, true],
      [RT, true],
    ]);
    expect(await familyRevoked(s.sessionId)).toBe("logout");
    expect((await browser("/v1/projects", s.jar)).status).toBe(401);
  });

  it("revoking the API key a session was opened with ends the session at its next refresh", async () => {
    const s = await dueSession();
    const keyId = await env.DB.prepare(`SELECT key_id FROM session_families WHERE id = ?`).bind(s.sessionId).first<string>("key_id");
    expect((await call(`/v1/keys/${keyId}`, { method: "DELETE", token: s.key })).status).toBe(204);
    expect(await familyRevoked(s.sessionId)).toBe("key_revoked");
    expect((await browser("/v1/projects", s.jar)).status).toBe(401);
  });
});
