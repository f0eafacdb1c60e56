// Access-token verification: the attack set, the claims that authorize, and where keys come from
// (the built-in issuer's D1, a pinned AUTH_JWKS, or a remote JWKS).
import { env } from "cloudflare:workers";
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type JWTPayload } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { principalForToken } from "../src/auth/principal";
import { signWithIssuerKey } from "../src/auth/issuer";
import { activeSigner } from "../src/auth/signing-keys";
import { verifyAccessToken } from "../src/auth/verify-jwt";
import { EXTERNAL_ISSUER, accessToken, auditCursor, authAudit, b64url, decodePart, externalToken, now } from "./auth-helpers";
import { BASE, call, connect, newProject, newUser } from "./helpers";

const ISSUER = BASE;

function claims(userId: string, extra: JWTPayload = {}): JWTPayload {
  return { iss: ISSUER, aud: "capstan", sub: userId, iat: now(), nbf: now(), exp: now() + 300, jti: `tok_${crypto.randomUUID()}`, cap_projects: {}, ...extra };
}

async function refusedWith(token: string, reason: string): Promise<void> {
  const cursor = await auditCursor();
  const res = await call("/v1/projects", { token });
  expect(res.status, reason).toBe(401);
  const text = await res.text();
  expect(text).not.toContain(token);
  const rows = await authAudit({ after: cursor });
  expect(rows.map((r) => r.reason)).toEqual([reason]);
  expect(rows[0]!.via).toBe("token");
  expect(JSON.stringify(rows)).not.toContain(token);
}

afterEach(() => vi.restoreAllMocks());

describe("the built-in issuer's tokens", () => {
  it("work as bearer tokens on routes, on /rpc, and in capnweb authenticate(token)", async () => {
    const { key, userId } = await newUser();
    const project = await newProject(key);
    const token = await accessToken(key);
    const res = await call("/v1/projects", { token });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }[]).map((p) => p.id)).toEqual([project]);
    expect((await call(`/v1/projects/${project}/secrets`, { token })).status).toBe(200);
    const { session, close } = await connect(token);
    try {
      expect((await session.whoami()).userId).toBe(userId);
      expect((await session.projects()).map((p) => p.id)).toEqual([project]);
      expect(await session.project(project).listSecrets()).toEqual([]);
    } finally {
      close();
    }
  });

  it("carry the user and a snapshot of their grants in the claims", async () => {
    const { key, userId } = await newUser();
    const project = await newProject(key);
    const token = await accessToken(key);
    expect(decodePart(token, 0)).toMatchObject({ alg: "ES256", typ: "at+jwt", kid: expect.any(String) });
    expect(decodePart(token, 1)).toMatchObject({ iss: ISSUER, aud: "capstan", sub: userId, cap_projects: { [project]: "owner" } });
  });
});

describe("the JWT attack set is refused, each with its reason audited", () => {
  it("alg none", async () => {
    const { userId } = await newUser();
    const { kid } = await activeSigner(env);
    const token = `${b64url(JSON.stringify({ alg: "none", typ: "at+jwt", kid }))}.${b64url(JSON.stringify(claims(userId)))}.`;
    await refusedWith(token, "alg_not_allowed");
  });

  it("HS256 signed with the issuer's public key (as JWK JSON and as PEM)", async () => {
    const { userId } = await newUser();
    const jwks = (await (await call("/.well-known/jwks.json")).json()) as { keys: (JsonWebKey & { kid: string })[] };
    const pub = jwks.keys[0]!;
    const pem = await exportSPKI((await crypto.subtle.importKey("jwk", pub, { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"])) as CryptoKey);
    for (const secret of [JSON.stringify(pub), pem]) {
      const hmac = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const token = await new SignJWT(claims(userId)).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: pub.kid }).sign(hmac);
      await refusedWith(token, "alg_not_allowed");
    }
  });

  it("expired, and too old by its iat", async () => {
    const { userId } = await newUser();
    await refusedWith(await signWithIssuerKey(env, claims(userId, { iat: now() - 900, nbf: now() - 900, exp: now() - 600 })), "expired");
    await refusedWith(await signWithIssuerKey(env, claims(userId, { iat: now() - 7200, nbf: now() - 7200, exp: now() + 60 })), "expired");
  });

  it("within the clock skew it is still accepted", async () => {
    const { userId } = await newUser();
    const token = await signWithIssuerKey(env, claims(userId, { exp: now() - 10, nbf: now() + 10, iat: now() + 10 }));
    expect((await call("/v1/projects", { token })).status).toBe(200);
  });

  it("not yet valid (nbf, or iat in the future)", async () => {
    const { userId } = await newUser();
    await refusedWith(await signWithIssuerKey(env, claims(userId, { nbf: now() + 600, exp: now() + 900 })), "not_yet_valid");
    await refusedWith(await signWithIssuerKey(env, claims(userId, { iat: now() + 600, nbf: undefined, exp: now() + 900 })), "not_yet_valid");
  });

  it("wrong iss: the genuine key cannot vouch for another issuer, nor pass as the external one", async () => {
    const { userId } = await newUser();
    await refusedWith(await signWithIssuerKey(env, claims(userId, { iss: "https://evil.test" })), "untrusted_issuer");
    await refusedWith(await signWithIssuerKey(env, claims(userId, { iss: `${ISSUER}/` })), "untrusted_issuer");
    await refusedWith(await signWithIssuerKey(env, claims(userId, { iss: EXTERNAL_ISSUER })), "unknown_kid");
  });

  it("wrong aud", async () => {
    const { userId } = await newUser();
    await refusedWith(await signWithIssuerKey(env, claims(userId, { aud: "someone-else" })), "wrong_audience");
    await refusedWith(await signWithIssuerKey(env, claims(userId, { aud: undefined })), "wrong_audience");
  });

  it("unknown kid", async () => {
    const { userId } = await newUser();
    const { key } = await activeSigner(env);
    const token = await new SignJWT(claims(userId)).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "not-a-kid-we-hold" }).sign(key);
    await refusedWith(token, "unknown_kid");
  });

  it("a tampered payload (another user, more grants)", async () => {
    const victim = await newUser();
    const victimsProject = await newProject(victim.key);
    const attacker = await newUser();
    const token = await accessToken(attacker.key);
    const [h, , s] = token.split(".");
    const payload = { ...decodePart(token, 1), sub: victim.userId, cap_projects: { [victimsProject]: "owner" } };
    await refusedWith(`${h}.${b64url(JSON.stringify(payload))}.${s}`, "bad_signature");
  });

  it("a token from another issuer: its own key, whether it names itself, us, or our kid", async () => {
    const { userId } = await newUser();
    const { kid } = await activeSigner(env);
    const other = await generateKeyPair("ES256");
    const sign = (payload: JWTPayload, k: string) => new SignJWT(payload).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: k }).sign(other.privateKey);
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    await refusedWith(await sign(claims(userId, { iss: "https://other-issuer.test" }), "other"), "untrusted_issuer");
    await refusedWith(await sign(claims(userId), "other"), "unknown_kid");
    await refusedWith(await sign(claims(userId), kid), "bad_signature");
    // Nothing was fetched from where the token pointed.
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("a JWT of another type (no at+jwt typ), a malformed one, and bad claims", async () => {
    const { userId } = await newUser();
    const { kid, key } = await activeSigner(env);
    await refusedWith(await new SignJWT(claims(userId)).setProtectedHeader({ alg: "ES256", kid }).sign(key), "wrong_type");
    await refusedWith(await new SignJWT(claims(userId)).setProtectedHeader({ alg: "ES256", typ: "JWT", kid }).sign(key), "wrong_type");
    await refusedWith(await signWithIssuerKey(env, claims("root")), "bad_claims");
    await refusedWith(await signWithIssuerKey(env, claims(userId, { cap_projects: { "not-a-project": "owner" } })), "bad_claims");
    await refusedWith(await signWithIssuerKey(env, claims(userId, { cap_projects: { prj_aaaaaaaaaaaaaaaaaaaaaaaa: "god" } })), "bad_claims");
    await refusedWith("eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln", "malformed");
  });

  it("over capnweb too: authenticate(token) with a bad token fails unauthorized", async () => {
    const { userId } = await newUser();
    const token = await signWithIssuerKey(env, claims(userId, { aud: "someone-else" }));
    const { session, close } = await connect(token);
    try {
      await expect(session.projects()).rejects.toMatchObject({ code: "unauthorized" });
    } finally {
      close();
    }
  });
});

describe("claims authorize; D1 membership does not, for a token", () => {
  it("a token reaches exactly the projects its claims grant, even ones its user was never added to in D1", async () => {
    const alice = await newUser();
    const project = await newProject(alice.key);
    const bob = await newUser();
    const granted = await externalToken({ sub: bob.userId, cap_projects: { [project]: "member" } });
    const res = await call(`/v1/projects/${project}/secrets`, { token: granted });
    expect(res.status).toBe(200);
    const listed = (await (await call("/v1/projects", { token: granted })).json()) as { id: string; role: string }[];
    expect(listed).toEqual([expect.objectContaining({ id: project, role: "member" })]);
    const notGranted = await externalToken({ sub: alice.userId, cap_projects: {} });
    expect((await call(`/v1/projects/${project}/secrets`, { token: notGranted })).status).toBe(404);
  });

  it("a token is a snapshot: membership gained later needs a new token; a project created in a capnweb session is usable in it", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const project = await newProject(alice.key);
    const before = await accessToken(bob.key);
    const add = await call(`/v1/projects/${project}/members`, { method: "POST", token: alice.key, body: JSON.stringify({ userId: bob.userId, role: "member" }) });
    expect(add.status).toBe(201);
    expect((await call(`/v1/projects/${project}/secrets`, { token: before })).status).toBe(404);
    expect((await call(`/v1/projects/${project}/secrets`, { token: await accessToken(bob.key) })).status).toBe(200);

    const { session, close } = await connect(before);
    try {
      const created = await session.createProject("made-in-session");
      expect(await session.project(created.id).listSecrets()).toEqual([]);
    } finally {
      close();
    }
  });

  it("a user with more projects than a token can carry gets an overflow claim, and membership is looked up", async () => {
    const { key } = await newUser();
    const ids: string[] = [];
    for (let i = 0; i < 51; i++) ids.push(await newProject(key, `p${i}`));
    const token = await accessToken(key);
    const payload = decodePart(token, 1);
    expect(payload.cap_projects).toBeUndefined();
    expect(payload.cap_projects_overflow).toBe(true);
    expect(token.length).toBeLessThan(1024);
    expect((await call(`/v1/projects/${ids[50]}/secrets`, { token })).status).toBe(200);
    const other = await newUser();
    expect((await call(`/v1/projects/${await newProject(other.key)}/secrets`, { token })).status).toBe(404);
  });
});

describe("the external issuer", () => {
  it("with AUTH_JWKS pinned: ES256 and EdDSA tokens verify with no network at all", async () => {
    const { userId } = await newUser();
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    for (const alg of ["ES256", "EdDSA"] as const) {
      const token = await externalToken({ sub: userId }, { alg });
      expect((await call("/v1/projects", { token })).status, alg).toBe(200);
    }
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("refuses its tokens for the wrong audience, expired, or of an ID-token shape", async () => {
    const { userId } = await newUser();
    await refusedWith(await externalToken({ sub: userId, aud: "another-api" }), "wrong_audience");
    await refusedWith(await externalToken({ sub: userId, exp: now() - 600 }), "expired");
    await refusedWith(await externalToken({ sub: userId }, { header: { typ: "id_token+jwt" } }), "wrong_type");
  });

  it("with a remote JWKS (AUTH_JWKS unset): RS256 verifies, the JWKS is fetched once and cached, an outage is a 503", async () => {
    const { userId } = await newUser();
    const issuer = `https://idp-${crypto.randomUUID()}.test`;
    const remoteEnv = { ...env, AUTH_ISSUER: issuer, AUTH_JWKS: undefined } as Env;
    const { publicKey, privateKey } = await generateKeyPair("RS256", { modulusLength: 2048 });
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "r1", alg: "RS256", use: "sig" }] };
    let up = true;
    const seen: string[] = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!url.startsWith(issuer)) return realFetch(input, init);
      seen.push(url);
      return up ? Response.json(jwks) : new Response("down", { status: 503 });
    });
    const sign = (kid: string) =>
      new SignJWT({ iss: issuer, aud: "capstan", sub: userId, iat: now(), exp: now() + 300 }).setProtectedHeader({ alg: "RS256", kid }).sign(privateKey);

    for (let i = 0; i < 3; i++) {
      const v = await verifyAccessToken(remoteEnv, await sign("r1"));
      expect(v).toMatchObject({ ok: true, token: { userId, issuer: "external" } });
    }
    expect(seen).toEqual([`${issuer}/.well-known/jwks.json`]);

    // A kid it has not seen, during the cooldown after a fetch: refused without another fetch.
    expect(await verifyAccessToken(remoteEnv, await sign("r2"))).toMatchObject({ ok: false, reason: "unknown_kid" });
    expect(seen.length).toBe(1);

    const outageEnv = { ...remoteEnv, AUTH_ISSUER: `${issuer}/down`, AUTH_JWKS_URL: `${issuer}/down/jwks` } as Env;
    up = false;
    const token = await new SignJWT({ iss: `${issuer}/down`, aud: "capstan", sub: userId, iat: now(), exp: now() + 300 })
      .setProtectedHeader({ alg: "RS256", kid: "r1" })
      .sign(privateKey);
    await expect(principalForToken(outageEnv, token)).rejects.toMatchObject({ code: "auth_unavailable" });
  });

  it("refuses a misconfiguration by name rather than trusting something by accident", async () => {
    const { userId } = await newUser();
    const token = await externalToken({ sub: userId });
    await expect(principalForToken({ ...env, AUTH_ISSUER: "", AUTH_JWKS: "" } as Env, token)).rejects.toMatchObject({ code: "unauthorized" });
    await expect(principalForToken({ ...env, AUTH_ISSUER: "http://plain.test", AUTH_JWKS: undefined } as Env, token)).rejects.toMatchObject({
      code: "auth_unavailable",
      message: expect.stringContaining("AUTH_ISSUER"),
    });
    await expect(principalForToken({ ...env, AUTH_JWKS: "{not json" } as Env, token)).rejects.toMatchObject({ message: expect.stringContaining("AUTH_JWKS") });
  });
});
