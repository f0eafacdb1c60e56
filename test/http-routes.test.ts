import { describe, expect, it } from "vitest";
import { SERVICE_TOKEN, call, newProject, newUser } from "./helpers";

type ErrorBody = { error: { code: string; message: string } };

describe("HTTP routes", () => {
  it("answers /healthz", async () => {
    const res = await call("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it("creates users only with the service token, refusing near misses", async () => {
    for (const token of [undefined, "", SERVICE_TOKEN.slice(0, -1), `${SERVICE_TOKEN}x`, SERVICE_TOKEN.replace(/.$/, "0")]) {
      const res = await call("/internal/users", { method: "POST", token });
      expect(res.status, `token ${token}`).toBe(401);
    }
    const ok = await call("/internal/users", { method: "POST", token: SERVICE_TOKEN });
    expect(ok.status).toBe(201);
    const body = (await ok.json()) as { userId: string; key: string };
    expect(body.userId).toMatch(/^usr_/);
    expect(body.key).toMatch(/^cap_[A-Za-z0-9_-]{43}$/);
  });

  it("creates and lists only the caller's projects", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const a1 = await newProject(alice.key, "one");
    const a2 = await newProject(alice.key, "two");
    await newProject(bob.key, "bobs");
    const list = (await (await call("/v1/projects", { token: alice.key })).json()) as { id: string; name: string }[];
    expect(list.map((p) => p.id).sort()).toEqual([a1, a2].sort());
    expect(a1).toMatch(/^prj_[A-Za-z0-9_-]{24}$/);
  });

  it("rejects a bad project body with a 400 naming the field, and wrong methods with 405 and Allow", async () => {
    const { key } = await newUser();
    const res = await call("/v1/projects", { method: "POST", token: key, body: JSON.stringify({ name: "" }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toMatch(/^body\.name /);
    const wrong = await call("/v1/projects", { method: "PATCH", token: key });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST, GET");
    expect((await call("/nowhere")).status).toBe(404);
  });

  it("stores secrets write-only: the list shows names and hosts, never a value", async () => {
    const { key } = await newUser();
    const id = await newProject(key);
    const value = `val-${crypto.randomUUID()}`;
    const put = await call(`/v1/projects/${id}/secrets/API_KEY`, { method: "PUT", token: key, body: JSON.stringify({ value, hosts: ["api.example.com", "*.example.org"] }) });
    expect(put.status).toBe(204);
    const list = await call(`/v1/projects/${id}/secrets`, { token: key });
    const text = await list.text();
    expect(text).not.toContain(value);
    expect(JSON.parse(text)).toEqual([{ name: "API_KEY", hosts: ["api.example.com", "*.example.org"], updatedAt: expect.any(String) }]);
    expect((await call(`/v1/projects/${id}/secrets/API_KEY`, { method: "DELETE", token: key })).status).toBe(204);
    const again = await call(`/v1/projects/${id}/secrets/API_KEY`, { method: "DELETE", token: key });
    expect(again.status).toBe(404);
    expect(((await again.json()) as ErrorBody).error.code).toBe("not_found");
  });
});
