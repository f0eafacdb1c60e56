// Bad input and refused egress: a clear 4xx or typed error naming what was wrong, nothing sent
// upstream, nothing half-written.
import { inject, describe, expect, it } from "vitest";
import { allowUpstreams, call, connect, newProject, newUser, tag, upstreamSeen } from "./helpers";

const upstream = inject("upstream");
const host = new URL(upstream).host;

async function rpcError(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error("expected the call to fail");
}

describe("refused egress sends nothing", () => {
  it("refuses a secret bound to another host, naming the secret, and audits the refusal", async () => {
    const { key } = await newUser();
    const { session, close } = await connect(key);
    try {
      const { id } = await session.createProject("r");
      await allowUpstreams(key, id);
      const p = session.project(id);
      const value = `v-${crypto.randomUUID()}`;
      await p.setSecret("ELSEWHERE", value, { hosts: ["api.example.com"] });
      const t = tag();
      const err = await rpcError(p.fetch(`${upstream}/echo/${t}`, { headers: { authorization: 'Bearer getSecret("ELSEWHERE")' } }));
      expect(err.code).toBe("secret_not_bound");
      expect(err.message).toContain('"ELSEWHERE"');
      expect(err.message).toContain(host);
      expect(err.message).not.toContain(value);
      expect(await upstreamSeen(upstream, t)).toEqual([]);
      const [row] = await p.audit({ capability: "fetch" });
      expect(row).toMatchObject({ outcome: "error", errorCode: "secret_not_bound", egress: { host, secrets: ["ELSEWHERE"], status: 0 } });
    } finally {
      close();
    }
  });

  it("binds to scheme and port: the same host on another port or over https is refused", async () => {
    const { key } = await newUser();
    const { session, close } = await connect(key);
    try {
      const { id } = await session.createProject("r");
      await allowUpstreams(key, id);
      const p = session.project(id);
      await p.setSecret("PORTED", "pv-0001", { hosts: [`http://127.0.0.1:1`] });
      const t = tag();
      const err = await rpcError(p.fetch(`${upstream}/echo/${t}`, { headers: { "x-k": 'getSecret("PORTED")' } }));
      expect(err.code).toBe("secret_not_bound");
      expect(await upstreamSeen(upstream, t)).toEqual([]);
    } finally {
      close();
    }
  });

  it("refuses an unknown secret and a placeholder in a small body, before sending", async () => {
    const { key } = await newUser();
    const { session, close } = await connect(key);
    try {
      const { id } = await session.createProject("r");
      await allowUpstreams(key, id);
      const p = session.project(id);
      const t = tag();
      const unknown = await rpcError(p.fetch(`${upstream}/echo/${t}?q=getSecret("NOPE")`));
      expect(unknown).toMatchObject({ code: "secret_unknown" });
      expect(unknown.message).toContain('"NOPE"');
      const inBody = await rpcError(
        p.fetch(`${upstream}/echo/${t}`, { method: "POST", headers: { "content-type": "text/plain" }, body: 'x getSecret("NOPE") y' }),
      );
      expect(inBody.code).toBe("secret_unknown");
      expect(await upstreamSeen(upstream, t)).toEqual([]);
    } finally {
      close();
    }
  });

  it("refuses a Host header that disagrees with the URL", async () => {
    const { key } = await newUser();
    const { session, close } = await connect(key);
    try {
      const { id } = await session.createProject("r");
      await allowUpstreams(key, id);
      const t = tag();
      const err = await rpcError(session.project(id).fetch(`${upstream}/echo/${t}`, { headers: { host: "evil.example" } }));
      expect(err.code).toBe("bad_request");
      expect(err.message).toMatch(/Host header "evil.example" disagrees/);
      expect(await upstreamSeen(upstream, t)).toEqual([]);
    } finally {
      close();
    }
  });
});

describe("bad input gets a clear error and writes nothing", () => {
  it("answers malformed JSON, a malformed secret name and a malformed binding with 400s naming the field", async () => {
    const { key } = await newUser();
    const id = await newProject(key);
    const bad = await call(`/v1/projects/${id}/secrets/OK`, { method: "PUT", token: key, body: "{not json" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/JSON/);

    const name = await call(`/v1/projects/${id}/secrets/bad%20name!`, { method: "PUT", token: key, body: JSON.stringify({ value: "v", hosts: ["a.example"] }) });
    expect(name.status).toBe(400);
    expect(((await name.json()) as { error: { message: string } }).error.message).toMatch(/^name /);

    const hosts = await call(`/v1/projects/${id}/secrets/OK`, { method: "PUT", token: key, body: JSON.stringify({ value: "v", hosts: ["https://a.example/path"] }) });
    expect(hosts.status).toBe(400);
    expect(((await hosts.json()) as { error: { message: string } }).error.message).toMatch(/^body\.hosts\.0 /);

    const none = await call(`/v1/projects/${id}/secrets/OK`, { method: "PUT", token: key, body: JSON.stringify({ value: "v", hosts: [] }) });
    expect(none.status).toBe(400);

    const list = await call(`/v1/projects/${id}/secrets`, { token: key });
    expect(await list.json()).toEqual([]);
  });

  it("refuses a missing or wrong key with 401, on routes and over capnweb", async () => {
    expect((await call("/v1/projects")).status).toBe(401);
    const wrong = await call("/v1/projects", { token: "cap_not-a-real-key" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const { session, close } = await connect("cap_not-a-real-key");
    try {
      expect(await rpcError(session.projects())).toMatchObject({ code: "unauthorized" });
    } finally {
      close();
    }
  });

  it("hides another user's project: 404 on routes, not_found over capnweb, nothing written", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const aliceProject = await newProject(alice.key);
    const put = await call(`/v1/projects/${aliceProject}/secrets/S`, { method: "PUT", token: bob.key, body: JSON.stringify({ value: "v", hosts: ["a.example"] }) });
    expect(put.status).toBe(404);
    expect((await call(`/v1/projects/${aliceProject}/secrets`, { token: bob.key })).status).toBe(404);
    expect((await call(`/v1/projects/prj_doesnotexist0000000000`, { token: bob.key })).status).toBe(404);
    const { session, close } = await connect(bob.key);
    try {
      expect(await rpcError(session.project(aliceProject).listSecrets())).toMatchObject({ code: "not_found" });
      expect(await rpcError(session.project("not an id").listSecrets())).toMatchObject({ code: "bad_request" });
    } finally {
      close();
    }
    expect(await (await call(`/v1/projects/${aliceProject}/secrets`, { token: alice.key })).json()).toEqual([]);
  });

  it("validates capnweb arguments: wrong types get a typed error naming the field", async () => {
    const { key } = await newUser();
    const { session, close } = await connect(key);
    try {
      expect(await rpcError(session.createProject(42 as unknown as string))).toMatchObject({ code: "bad_request" });
      const { id } = await session.createProject("v");
      const p = session.project(id);
      const e1 = await rpcError(p.setSecret("A", "v", { hosts: "a.example" } as unknown as { hosts: string[] }));
      expect(e1).toMatchObject({ code: "bad_request" });
      expect(e1.message).toMatch(/^options\.hosts/);
      const e2 = await rpcError(p.fetch(`${upstream}/x`, { method: "GET", body: "no" }));
      expect(e2.message).toMatch(/init\.body/);
      const e3 = await rpcError(p.fetch("not a url"));
      expect(e3).toMatchObject({ code: "bad_request" });
      expect(await p.listSecrets()).toEqual([]);
    } finally {
      close();
    }
  });
});
