// Egress policy as data in the actor: ordered rules, a default, private ranges closed unless a
// rule names them, owner-only changes, and clear refusals that write nothing.
import { inject, describe, expect, it } from "vitest";
import { decide, DEFAULT_POLICY, type EgressPolicy } from "../core/egress-policy";
import { isPrivateHost } from "../core/private-address";
import { call, connect, newProject, newUser, tag, upstreamSeen } from "./helpers";
import { project, rpcError } from "./egress-helpers";

const upstream = inject("upstream");
const other = inject("otherUpstream");

describe("private and metadata destinations", () => {
  it("are recognised in every spelling the URL parser leaves", () => {
    for (const u of [
      "http://127.0.0.1/", "http://127.1/", "http://0x7f000001/", "http://2130706433/", "http://10.1.2.3/", "http://172.16.0.1/",
      "http://192.168.1.1/", "http://100.64.0.1/", "http://169.254.169.254/", "http://0.0.0.0/", "http://[::1]/", "http://[::]/",
      "http://[fd00:ec2::254]/", "http://[fc00::1]/", "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:169.254.169.254]/",
      "http://localhost/", "http://a.localhost/", "http://metadata.google.internal./", "http://METADATA.GOOGLE.INTERNAL/",
    ]) expect(isPrivateHost(new URL(u).hostname), u).toBe(true);
    for (const u of ["https://api.example.com/", "http://8.8.8.8/", "http://[2606:4700::1111]/", "http://100.128.0.1/", "http://172.32.0.1/"]) {
      expect(isPrivateHost(new URL(u).hostname), u).toBe(false);
    }
  });

  it("are refused unless a rule names the host exactly: a wildcard or an allowing default does not open them", () => {
    const url = new URL("http://169.254.169.254/latest/meta-data/");
    expect(decide(DEFAULT_POLICY, url, "GET").action).toBe("deny");
    expect(decide({ ...DEFAULT_POLICY, rules: [{ host: "http://*.254.169.254", action: "allow" }] }, url, "GET").action).toBe("deny");
    expect(decide({ ...DEFAULT_POLICY, rules: [{ host: "http://169.254.169.254", action: "allow" }] }, url, "GET").action).toBe("allow");
  });
});

describe("rules", () => {
  const policy: EgressPolicy = {
    default: "deny",
    holdTimeoutMs: 60_000,
    rules: [
      { host: "api.x.com", path: "/admin", action: "deny" },
      { host: "api.x.com", methods: ["DELETE"], action: "hold" },
      { host: "api.x.com", action: "allow" },
      { host: "*.cdn.x.com", methods: ["GET"], action: "allow" },
    ],
  };
  const d = (u: string, m = "GET") => decide(policy, new URL(u), m).action;
  it("are tried in order: the first that matches host, method and path decides; the default covers the rest", () => {
    expect(d("https://api.x.com/admin/users")).toBe("deny");
    expect(d("https://api.x.com/administrator")).toBe("allow");
    expect(d("https://api.x.com/v1/x", "DELETE")).toBe("hold");
    expect(d("https://api.x.com/v1/x", "POST")).toBe("allow");
    expect(d("https://a.cdn.x.com/f")).toBe("allow");
    expect(d("https://a.cdn.x.com/f", "PUT")).toBe("deny");
    expect(d("https://cdn.x.com/f")).toBe("deny");
    expect(d("https://api.x.com.evil.com/")).toBe("deny");
    expect(d("http://api.x.com/")).toBe("deny");
    expect(d("https://api.x.com:8443/")).toBe("deny");
    expect(d("https://API.X.COM./v1")).toBe("allow");
  });
});

describe("the policy of a project", () => {
  it("refuses loopback by default, before anything is sent, and audits the refusal as deny", async () => {
    const { key } = await newUser();
    const id = await newProject(key, "p", { allowUpstreams: false });
    const { session, close } = await connect(key);
    const p = session.project(id);
    try {
      const t = tag();
      const err = await rpcError(p.fetch(`${upstream}/echo/${t}`));
      expect(err.code).toBe("egress_denied");
      expect(err.message).toMatch(/private or metadata address/);
      expect(await upstreamSeen(upstream, t)).toEqual([]);
      const [row] = await p.audit({ capability: "fetch" });
      expect(row).toMatchObject({ outcome: "error", errorCode: "egress_denied", egress: { decision: "deny" } });
    } finally {
      close();
    }
  });

  it("is read and replaced over HTTP and capnweb, and applies to requests without secrets", async () => {
    const { key, id, p, close } = await project();
    try {
      const res = await call(`/v1/projects/${id}/egress-policy`, { token: key });
      expect(res.status).toBe(200);
      expect(((await res.json()) as EgressPolicy).rules).toHaveLength(2);
      await p.setPolicy({ rules: [{ host: upstream, path: "/echo", methods: ["GET"], action: "allow" }, { host: other, action: "allow" }], default: "deny" });
      expect(await p.policy()).toMatchObject({ default: "deny", holdTimeoutMs: 60_000, rules: [{ host: upstream, path: "/echo" }, { host: other }] });
      const t = tag();
      expect((await p.fetch(`${upstream}/echo/${t}`)).status).toBe(200);
      expect((await rpcError(p.fetch(`${upstream}/quiet/${t}`))).code).toBe("egress_denied");
      expect((await rpcError(p.fetch(`${upstream}/echo/${t}`, { method: "POST", body: "x" }))).code).toBe("egress_denied");
      expect(await upstreamSeen(upstream, t)).toHaveLength(1);
    } finally {
      close();
    }
  });

  it("answers bad input with a 400 naming the field, and keeps the policy it had", async () => {
    const { key, id, p, close } = await project();
    try {
      const before = await p.policy();
      const put = (body: unknown) => call(`/v1/projects/${id}/egress-policy`, { method: "PUT", token: key, body: JSON.stringify(body) });
      const cases: [unknown, RegExp][] = [
        [{ rules: [{ host: "a.example", action: "maybe" }] }, /policy\.rules\.0\.action must be allow, deny or hold/],
        [{ rules: [{ host: "https://a.example/path", action: "allow" }] }, /policy\.rules\.0\.host .*not a host pattern/],
        [{ rules: [{ host: "a.example", action: "allow", methods: ["get"] }] }, /policy\.rules\.0\.methods\.0/],
        [{ rules: [{ host: "a.example", action: "allow", path: "no-slash" }] }, /policy\.rules\.0\.path/],
        [{ rules: [], holdTimeoutMs: 5 }, /policy\.holdTimeoutMs must be at least 100 ms/],
        [{ rules: [], extra: 1 }, /policy/],
        [{}, /policy\.rules/],
      ];
      for (const [body, message] of cases) {
        const res = await put(body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
      }
      expect((await rpcError(p.setPolicy({ rules: "all" }))).code).toBe("bad_request");
      expect(await p.policy()).toEqual(before);
    } finally {
      close();
    }
  });

  it("may be changed by an owner only; members read it", async () => {
    const { key, id, close } = await project();
    close();
    const bob = await newUser();
    const add = await call(`/v1/projects/${id}/members`, { method: "POST", token: key, body: JSON.stringify({ userId: bob.userId, role: "member" }) });
    expect(add.status).toBe(201);
    expect((await call(`/v1/projects/${id}/egress-policy`, { token: bob.key })).status).toBe(200);
    const put = await call(`/v1/projects/${id}/egress-policy`, { method: "PUT", token: bob.key, body: JSON.stringify({ rules: [] }) });
    expect(put.status).toBe(403);
    expect(((await (await call(`/v1/projects/${id}/egress-policy`, { token: key })).json()) as EgressPolicy).rules).toHaveLength(2);
  });
});
