// The built-in issuer: discovery, JWKS, the token endpoint and its TTL bounds, a signing key
// that survives restarts, and rotation that keeps the previous key published.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgetSigningKeys } from "../src/auth/signing-keys";
import { accessToken, authAudit, decodePart } from "./auth-helpers";
import { BASE, SERVICE_TOKEN, call, newUser } from "./helpers";

type Jwks = { keys: { kid: string; kty: string; crv: string; alg: string; use: string; d?: string }[] };

const jwks = async (): Promise<Jwks> => (await call("/.well-known/jwks.json")).json();
const rotate = () => call("/internal/auth/rotate-signing-key", { method: "POST", token: SERVICE_TOKEN });

describe("discovery and keys", () => {
  it("serves OpenID metadata naming the issuer, its JWKS and its token endpoint", async () => {
    const res = await call("/.well-known/openid-configuration");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      issuer: BASE,
      jwks_uri: `${BASE}/.well-known/jwks.json`,
      token_endpoint: `${BASE}/v1/token`,
      id_token_signing_alg_values_supported: ["ES256"],
    });
  });

  it("publishes ES256 P-256 public keys with a kid, and nothing private", async () => {
    const set = await jwks();
    expect(set.keys.length).toBeGreaterThanOrEqual(1);
    for (const k of set.keys) {
      expect(k).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig", kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
      expect(k.d).toBeUndefined();
    }
  });
});

describe("POST /v1/token", () => {
  it("exchanges an API key for an access token that lives 300 s by default", async () => {
    const { key, userId } = await newUser();
    const res = await call("/v1/token", { method: "POST", token: key });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toContain("no-store");
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 300 });
    const claims = decodePart(body.access_token, 1) as { exp: number; iat: number; sub: string };
    expect(claims.exp - claims.iat).toBe(300);
    expect(claims.sub).toBe(userId);
    const rows = await authAudit({ event: "token.minted", userId });
    expect(rows).toEqual([expect.objectContaining({ via: "api_key", detail: expect.objectContaining({ ttl: 300 }) })]);
    expect(JSON.stringify(rows)).not.toContain(body.access_token);
  });

  it("takes a ttl within [60, 3600] and answers 400 naming body.ttl outside it", async () => {
    const { key } = await newUser();
    for (const ttl of [60, 3600, 900]) {
      const token = await accessToken(key, ttl);
      const c = decodePart(token, 1) as { exp: number; iat: number };
      expect(c.exp - c.iat).toBe(ttl);
    }
    for (const ttl of [59, 3601, 0, -1, 120.5, "300", null, 1e12]) {
      const res = await call("/v1/token", { method: "POST", token: key, body: JSON.stringify({ ttl }) });
      expect(res.status, String(ttl)).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^body\.ttl /);
    }
  });

  it("takes only an API key: an access token cannot mint tokens, and anonymous callers get 401", async () => {
    const { key } = await newUser();
    const token = await accessToken(key);
    expect((await call("/v1/token", { method: "POST", token })).status).toBe(403);
    expect((await call("/v1/token", { method: "POST" })).status).toBe(401);
    expect((await call("/v1/token", { method: "GET", token: key })).status).toBe(405);
  });
});

describe("the signing key", () => {
  it("is generated once, kept sealed in D1, and survives a restart: old tokens verify, new ones use the same kid", async () => {
    const { key } = await newUser();
    const before = await accessToken(key);
    const kid = decodePart(before, 0).kid as string;

    const row = await env.DB.prepare(`SELECT kid, public_jwk, sealed_private FROM auth_signing_keys WHERE state = 'active'`).first<{
      kid: string;
      public_jwk: string;
      sealed_private: ArrayBuffer;
    }>();
    expect(row!.kid).toBe(kid);
    expect(JSON.parse(row!.public_jwk).d).toBeUndefined();
    const sealed = new TextDecoder("latin1").decode(new Uint8Array(row!.sealed_private));
    expect(sealed).not.toMatch(/"d"|"kty"|P-256/);

    // A cold start: this isolate forgets every key it held and must read D1 again.
    forgetSigningKeys();
    expect((await call("/v1/projects", { token: before })).status).toBe(200);
    forgetSigningKeys();
    const after = await accessToken(key);
    expect(decodePart(after, 0).kid).toBe(kid);
    expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM auth_signing_keys`).first("n")).toBe(1);
  });

  it("rotates (service token only): the new key signs, the old stays published until its tokens expire, its private half is gone", async () => {
    const { key } = await newUser();
    const old = await accessToken(key, 3600);
    const oldKid = decodePart(old, 0).kid as string;

    for (const token of [undefined, key, old, `${SERVICE_TOKEN}x`]) expect((await call("/internal/auth/rotate-signing-key", { method: "POST", token })).status).toBe(401);
    const res = await rotate();
    expect(res.status).toBe(200);
    const { kid, retired } = (await res.json()) as { kid: string; retired: string };
    expect(retired).toBe(oldKid);
    expect(kid).not.toBe(oldKid);

    const fresh = await accessToken(key);
    expect(decodePart(fresh, 0).kid).toBe(kid);
    expect((await jwks()).keys.map((k) => k.kid).sort()).toEqual([kid, oldKid].sort());
    forgetSigningKeys();
    expect((await call("/v1/projects", { token: old })).status).toBe(200);
    expect((await call("/v1/projects", { token: fresh })).status).toBe(200);

    const retiredRow = await env.DB.prepare(`SELECT sealed_private, publish_until, retired_at FROM auth_signing_keys WHERE kid = ?`)
      .bind(oldKid)
      .first<{ sealed_private: null; publish_until: number; retired_at: number }>();
    expect(retiredRow!.sealed_private).toBeNull();
    // Published for at least the longest token lifetime plus skew after retirement.
    expect(retiredRow!.publish_until - retiredRow!.retired_at).toBeGreaterThanOrEqual((3600 + 30) * 1000);
    expect(await authAudit({ event: "signing_key.rotated" })).toEqual(expect.arrayContaining([expect.objectContaining({ detail: { retired: oldKid } })]));

    // Once its publication ends (moved forward here), the old key's tokens are refused and it leaves the JWKS.
    await env.DB.prepare(`UPDATE auth_signing_keys SET publish_until = ? WHERE kid = ?`).bind(Date.now() - 1, oldKid).run();
    forgetSigningKeys();
    expect((await call("/v1/projects", { token: old })).status).toBe(401);
    expect((await jwks()).keys.map((k) => k.kid)).toEqual([kid]);
    expect((await call("/v1/projects", { token: fresh })).status).toBe(200);
  });

  it("recovers from a SECRETS_KEY change by rotation: signing fails closed with 503 until then", async () => {
    const { key } = await newUser();
    await accessToken(key);
    const otherRoot = { ...env, SECRETS_KEY: btoa("another-32-byte-root-key-for-it!") } as Env;
    forgetSigningKeys();
    const { issueAccessToken } = await import("../src/auth/issuer");
    const { rotateSigningKey } = await import("../src/auth/signing-keys");
    const { userId } = await newUser();
    await expect(issueAccessToken(otherRoot, { userId })).rejects.toMatchObject({ code: "auth_unavailable" });
    await rotateSigningKey(otherRoot);
    await expect(issueAccessToken(otherRoot, { userId })).resolves.toMatchObject({ token: expect.any(String) });
    // Put the suite's own key back in charge.
    await rotate();
  });
});
