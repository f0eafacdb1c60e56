// API keys: shown once, stored as a hash, owned by the caller whatever the body says, refused
// at once when revoked or expired.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/auth/hash";
import { accessToken, auditCursor, authAudit } from "./auth-helpers";
import { call, newUser } from "./helpers";

type ErrorBody = { error: { code: string; message: string } };
type KeyInfo = { id: string; name: string; prefix: string; createdAt: string; expiresAt: string | null; lastUsedAt: string | null; revoked: boolean };

async function mint(token: string, body: unknown): Promise<Response> {
  return call("/v1/keys", { method: "POST", token, body: JSON.stringify(body) });
}

describe("minting keys", () => {
  it("shows a new key once: 201 {id, name, prefix, key}; only its sha256 is stored; no later answer contains it", async () => {
    const alice = await newUser();
    const res = await mint(alice.key, { name: "laptop" });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const minted = (await res.json()) as { id: string; name: string; prefix: string; key: string };
    expect(Object.keys(minted).sort()).toEqual(["id", "key", "name", "prefix"]);
    expect(minted.key).toMatch(/^cap_[A-Za-z0-9_-]{43}$/);
    expect(minted.id).toMatch(/^key_/);
    expect(minted.key.startsWith(minted.prefix)).toBe(true);

    const row = await env.DB.prepare(`SELECT * FROM api_keys WHERE id = ?`).bind(minted.id).first<Record<string, unknown>>();
    expect(row!.hash).toBe(await sha256Hex(minted.key));
    expect(JSON.stringify(row)).not.toContain(minted.key);

    const list = await call("/v1/keys", { token: minted.key });
    const text = await list.text();
    expect(text).not.toContain(minted.key);
    expect(text).not.toContain(row!.hash as string);
    const keys = JSON.parse(text) as KeyInfo[];
    expect(keys.map((k) => k.name)).toEqual(["default", "laptop"]);
    expect(Object.keys(keys[1]!).sort()).toEqual(["createdAt", "expiresAt", "id", "lastUsedAt", "name", "prefix", "revoked"]);
    expect(keys[1]).toMatchObject({ id: minted.id, name: "laptop", prefix: minted.prefix, expiresAt: null, revoked: false });

    const audit = await authAudit({ event: "key.minted", userId: alice.userId });
    expect(audit.map((a) => a.keyId)).toContain(minted.id);
    const { results } = await env.DB.prepare(`SELECT * FROM auth_audit`).all();
    expect(JSON.stringify(results)).not.toContain(minted.key);
  });

  it("takes the owner from the caller: a userId, key, id or revoked flag in the body is ignored", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const forged = `cap_${"A".repeat(43)}`;
    const res = await mint(alice.key, { name: "x", userId: bob.userId, key: forged, id: "key_chosenbyattacker0000", revoked: true });
    expect(res.status).toBe(201);
    const minted = (await res.json()) as { id: string; key: string };
    expect(minted.key).not.toBe(forged);
    expect(minted.id).not.toBe("key_chosenbyattacker0000");
    const row = await env.DB.prepare(`SELECT user_id, revoked_at FROM api_keys WHERE id = ?`).bind(minted.id).first();
    expect(row).toEqual({ user_id: alice.userId, revoked_at: null });
    expect((await call("/v1/keys", { token: forged })).status).toBe(401);
    const bobs = (await (await call("/v1/keys", { token: bob.key })).json()) as KeyInfo[];
    expect(bobs.map((k) => k.id)).not.toContain(minted.id);
    // The new key acts as Alice, exactly.
    const who = (await (await call("/v1/session", { token: minted.key })).json()) as { userId: string };
    expect(who.userId).toBe(alice.userId);
  });

  it("validates expiresAt: an ISO date in the future, else 400 naming the field", async () => {
    const { key } = await newUser();
    for (const expiresAt of ["tomorrow", "2020-01-01T00:00:00Z", "2030-13-01T00:00:00Z", 1893456000000, ""]) {
      const res = await mint(key, { name: "x", expiresAt });
      expect(res.status, String(expiresAt)).toBe(400);
      expect(((await res.json()) as ErrorBody).error.message).toMatch(/^body\.expiresAt /);
    }
    for (const body of [{}, { name: "" }, { name: "x".repeat(101) }]) {
      const res = await mint(key, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorBody).error.message).toMatch(/^body\.name /);
    }
    const later = new Date(Date.now() + 86_400_000).toISOString();
    const ok = await mint(key, { name: "x", expiresAt: later });
    expect(ok.status).toBe(201);
    const keys = (await (await call("/v1/keys", { token: key })).json()) as KeyInfo[];
    expect(keys.find((k) => k.name === "x")!.expiresAt).toBe(later);
  });

  it("refuses anonymous callers with 401 and wrong methods with 405 and Allow", async () => {
    const anon = await call("/v1/keys", { method: "POST", body: JSON.stringify({ name: "x" }) });
    expect(anon.status).toBe(401);
    expect(anon.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await call("/v1/keys")).status).toBe(401);
    const { key } = await newUser();
    const put = await call("/v1/keys", { method: "PUT", token: key });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("POST, GET");
    const patch = await call("/v1/keys/key_0000000000000000", { method: "PATCH", token: key });
    expect(patch.status).toBe(405);
    expect(patch.headers.get("allow")).toBe("DELETE");
  });

  it("mints keys for a caller holding an access token, as that user", async () => {
    const alice = await newUser();
    const token = await accessToken(alice.key);
    const res = await mint(token, { name: "from-a-token" });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(await env.DB.prepare(`SELECT user_id FROM api_keys WHERE id = ?`).bind(id).first("user_id")).toBe(alice.userId);
  });
});

describe("revoking and expiring keys", () => {
  it("refuses a revoked key at once, on routes and over capnweb, and audits both", async () => {
    const alice = await newUser();
    const minted = (await (await mint(alice.key, { name: "doomed" })).json()) as { id: string; key: string };
    expect((await call("/v1/projects", { token: minted.key })).status).toBe(200);
    const cursor = await auditCursor();
    expect((await call(`/v1/keys/${minted.id}`, { method: "DELETE", token: alice.key })).status).toBe(204);
    const refused = await call("/v1/projects", { token: minted.key });
    expect(refused.status).toBe(401);
    expect(await refused.text()).not.toContain(minted.key);
    expect((await call("/v1/token", { method: "POST", token: minted.key })).status).toBe(401);
    // Revoking again is a no-op; the list shows it revoked.
    expect((await call(`/v1/keys/${minted.id}`, { method: "DELETE", token: alice.key })).status).toBe(204);
    const keys = (await (await call("/v1/keys", { token: alice.key })).json()) as KeyInfo[];
    expect(keys.find((k) => k.id === minted.id)!.revoked).toBe(true);

    const rows = await authAudit({ after: cursor });
    expect(rows.filter((r) => r.event === "key.revoked")).toEqual([expect.objectContaining({ keyId: minted.id, userId: alice.userId })]);
    expect(rows.filter((r) => r.reason === "revoked_key").length).toBe(2);
    expect(JSON.stringify(rows)).not.toContain(minted.key);
  });

  it("answers 404 for another user's key and leaves it working; 400 for a malformed id", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const bobsKeyId = (await (await call("/v1/keys", { token: bob.key })).json() as KeyInfo[])[0]!.id;
    expect((await call(`/v1/keys/${bobsKeyId}`, { method: "DELETE", token: alice.key })).status).toBe(404);
    expect((await call("/v1/projects", { token: bob.key })).status).toBe(200);
    const bad = await call(`/v1/keys/not-a-key`, { method: "DELETE", token: alice.key });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).error.message).toMatch(/^id /);
  });

  it("refuses an expired key the moment it expires", async () => {
    const { key, userId } = await newUser();
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    const minted = (await (await mint(key, { name: "short", expiresAt })).json()) as { key: string; id: string };
    expect((await call("/v1/projects", { token: minted.key })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    expect((await call("/v1/projects", { token: minted.key })).status).toBe(401);
    const rows = await authAudit({ event: "auth.refused", userId });
    expect(rows.at(-1)).toMatchObject({ reason: "expired_key", keyId: minted.id });
  });

  it("refuses unknown and malformed keys, auditing why without the presented value", async () => {
    const cursor = await auditCursor();
    const unknown = `cap_${"B".repeat(43)}`;
    expect((await call("/v1/projects", { token: unknown })).status).toBe(401);
    expect((await call("/v1/projects", { token: "cap_short" })).status).toBe(401);
    expect((await call("/v1/projects", { token: "x".repeat(10_000) })).status).toBe(401);
    const rows = await authAudit({ after: cursor });
    expect(rows.map((r) => r.reason)).toEqual(["unknown_key", "malformed_token", "malformed_token"]);
    expect(JSON.stringify(rows)).not.toContain(unknown);
    expect(JSON.stringify(rows)).not.toContain("cap_short");
  });
});

describe("lastUsedAt", () => {
  async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
    for (let i = 0; i < 100; i++) {
      const v = await read();
      if (done(v)) return v;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("timed out waiting");
  }

  it("is set on use, after the response, and written at most once a minute", async () => {
    const { key, userId } = await newUser();
    const lastUsed = () => env.DB.prepare(`SELECT last_used_at FROM api_keys WHERE user_id = ?`).bind(userId).first<number | null>("last_used_at");
    expect(await lastUsed()).toBeNull();
    await call("/v1/projects", { token: key });
    const first = (await eventually(lastUsed, (v) => v !== null))!;

    await Promise.all(Array.from({ length: 5 }, () => call("/v1/projects", { token: key })));
    await new Promise((r) => setTimeout(r, 100));
    expect(await lastUsed()).toBe(first);

    // A minute on (the clock is moved back here instead), the next use is recorded again.
    await env.DB.prepare(`UPDATE api_keys SET last_used_at = last_used_at - 61000 WHERE user_id = ?`).bind(userId).run();
    await call("/v1/projects", { token: key });
    const second = (await eventually(lastUsed, (v) => v! > first - 61000))!;
    const listed = (await (await call("/v1/keys", { token: key })).json()) as KeyInfo[];
    expect(listed[0]!.lastUsedAt).toBe(new Date(second).toISOString());
  });
});
