// The /internal routes answer to the service token and nothing else, compared in constant time;
// the project-id minter mints without creating.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { accessToken, auditCursor, authAudit } from "./auth-helpers";
import { SERVICE_TOKEN, call, newUser } from "./helpers";

const INTERNAL: [string, string][] = [
  ["POST", "/internal/users"],
  ["POST", "/internal/project/mint-project-id"],
  ["POST", "/internal/auth/rotate-signing-key"],
  ["GET", "/internal/auth/audit"],
];

function flipLast(s: string): string {
  return s.slice(0, -1) + (s.endsWith("0") ? "1" : "0");
}

describe("internal routes", () => {
  it("refuse everything but the service token: none, near misses, other lengths, other schemes, keys and access tokens", async () => {
    const { key } = await newUser();
    const token = await accessToken(key);
    const attempts: { label: string; headers: Record<string, string> }[] = [
      { label: "none", headers: {} },
      { label: "empty bearer", headers: { authorization: "Bearer " } },
      { label: "last char flipped", headers: { authorization: `Bearer ${flipLast(SERVICE_TOKEN)}` } },
      { label: "first char flipped", headers: { authorization: `Bearer X${SERVICE_TOKEN.slice(1)}` } },
      { label: "one char short", headers: { authorization: `Bearer ${SERVICE_TOKEN.slice(0, -1)}` } },
      { label: "one char long", headers: { authorization: `Bearer ${SERVICE_TOKEN}0` } },
      { label: "another length", headers: { authorization: `Bearer ${SERVICE_TOKEN.repeat(3)}` } },
      { label: "case changed", headers: { authorization: `Bearer ${SERVICE_TOKEN.toUpperCase()}` } },
      { label: "basic scheme", headers: { authorization: `Basic ${btoa(`x:${SERVICE_TOKEN}`)}` } },
      { label: "token scheme", headers: { authorization: `Token ${SERVICE_TOKEN}` } },
      { label: "API key", headers: { authorization: `Bearer ${key}` } },
      { label: "access token", headers: { authorization: `Bearer ${token}` } },
    ];
    const users = await env.DB.prepare(`SELECT COUNT(*) AS n FROM users`).first("n");
    const cursor = await auditCursor();
    for (const [method, path] of INTERNAL) {
      for (const a of attempts) {
        const res = await call(path, { method, headers: a.headers });
        expect(res.status, `${method} ${path} with ${a.label}`).toBe(401);
        expect(await res.text()).not.toContain(SERVICE_TOKEN);
      }
    }
    expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM users`).first("n")).toBe(users);
    const rows = await authAudit({ after: cursor, limit: 1000 });
    expect(rows).toHaveLength(INTERNAL.length * attempts.length);
    expect(new Set(rows.map((r) => r.reason))).toEqual(new Set(["missing_token", "service_token_mismatch"]));
    expect(rows.every((r) => r.via === "service" && r.outcome === "refused")).toBe(true);
    const text = JSON.stringify(rows);
    for (const secret of [SERVICE_TOKEN, flipLast(SERVICE_TOKEN), key, token]) expect(text).not.toContain(secret);
  });

  it("answer the service token", async () => {
    for (const [method, path] of INTERNAL) {
      const res = await call(path, { method, token: SERVICE_TOKEN });
      expect(res.status, `${method} ${path}`).toBeLessThan(300);
    }
  });
});

describe("POST /internal/project/mint-project-id", () => {
  it("returns a fresh prj_ id of at least 128 random bits and creates nothing", async () => {
    const before = await env.DB.prepare(`SELECT COUNT(*) AS n FROM projects`).first("n");
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await call("/internal/project/mint-project-id", { method: "POST", token: SERVICE_TOKEN });
      expect(res.status).toBe(200);
      const { id } = (await res.json()) as { id: string };
      expect(id).toMatch(/^prj_[A-Za-z0-9_-]{24}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(20);
    expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM projects`).first("n")).toBe(before);
  });
});

describe("GET /internal/auth/audit", () => {
  it("pages by cursor and filters, validating its query", async () => {
    const { userId } = await newUser();
    const rows = await authAudit({ userId });
    expect(rows.map((r) => r.event)).toEqual(["user.created", "key.minted"]);
    const after = await authAudit({ userId, after: rows[0]!.id });
    expect(after.map((r) => r.event)).toEqual(["key.minted"]);
    const bad = await call("/internal/auth/audit?limit=0", { token: SERVICE_TOKEN });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/^query\.limit /);
  });
});
