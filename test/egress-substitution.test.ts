// Where placeholders are expanded and how: URL, header values, JSON and form bodies; Basic auth
// from two secrets; single pass; refusals for CR/LF in a header, userinfo and too many secrets;
// binary bodies passed as written; and workload identity tokens checked against the JWKS.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { inject, describe, expect, it } from "vitest";
import { anyBindingAllows } from "../core/host-binding";
import { call, newUser, newProject, connect, tag, upstreamSeen } from "./helpers";
import { project, rpcError } from "./egress-helpers";

const upstream = inject("upstream");
const host = new URL(upstream).host;

describe("secret bindings as data", () => {
  const allows = (b: Parameters<typeof anyBindingAllows>[0][number], url: string, method = "GET") => anyBindingAllows([b], new URL(url), method);
  it("narrow a host pattern by ports, path prefixes and methods", () => {
    const b = { host: "api.x.com", ports: [443, 8443], paths: ["/v1/chat"], methods: ["POST"] };
    expect(allows(b, "https://api.x.com/v1/chat/completions", "POST")).toBe(true);
    expect(allows(b, "https://api.x.com:8443/v1/chat", "POST")).toBe(true);
    expect(allows(b, "https://api.x.com/v1/chat", "GET")).toBe(false);
    expect(allows(b, "https://api.x.com/v1/chatter", "POST")).toBe(false);
    expect(allows(b, "https://api.x.com/v1/chat/../../admin", "POST")).toBe(false);
    expect(allows(b, "https://api.x.com:9443/v1/chat", "POST")).toBe(false);
  });
  it("never match an IP literal to a name pattern, nor a name to an IP pattern", () => {
    expect(allows("*.x.com", "https://1.2.3.4/")).toBe(false);
    expect(allows("http://127.0.0.1:80", "http://localhost/")).toBe(false);
    expect(allows("http://localhost:80", "http://127.0.0.1/")).toBe(false);
  });

  it("are validated on PUT, with 400s naming the field, and stored as given", async () => {
    const { key } = await newUser();
    const id = await newProject(key);
    const put = (hosts: unknown) => call(`/v1/projects/${id}/secrets/B`, { method: "PUT", token: key, body: JSON.stringify({ value: "v", hosts }) });
    for (const [hosts, message] of [
      [[{ host: "api.x.com", methods: ["post"] }], /body\.hosts\.0\.methods\.0 must be an HTTP method/],
      [[{ host: "api.x.com", paths: ["v1"] }], /body\.hosts\.0\.paths\.0 must be a path/],
      [[{ host: "api.x.com", ports: [0] }], /body\.hosts\.0\.ports\.0 must be a port/],
      [[{ host: "user@api.x.com" }], /body\.hosts\.0\.host .*not a host pattern/],
      [[{ host: "api.x.com", extra: true }], /body\.hosts\.0/],
      [[42], /body\.hosts\.0 must be a host pattern or/],
    ] as const) {
      const res = await put(hosts);
      expect(res.status, JSON.stringify(hosts)).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
    }
    expect(await (await call(`/v1/projects/${id}/secrets`, { token: key })).json()).toEqual([]);
    expect((await put([{ host: `http://${host}`, paths: ["/echo/only"], methods: ["GET"] }, "api.x.com"])).status).toBe(204);
    const [listed] = (await (await call(`/v1/projects/${id}/secrets`, { token: key })).json()) as { hosts: unknown[] }[];
    expect(listed!.hosts).toEqual([{ host: `http://${host}`, paths: ["/echo/only"], methods: ["GET"] }, "api.x.com"]);
    const { session, close } = await connect(key);
    try {
      const p = session.project(id);
      const t = tag();
      expect((await p.fetch(`${upstream}/echo/only/${t}`, { headers: { "x-k": 'getSecret("B")' } })).status).toBe(200);
      expect((await rpcError(p.fetch(`${upstream}/echo/other/${t}`, { headers: { "x-k": 'getSecret("B")' } }))).code).toBe("secret_not_bound");
      expect((await rpcError(p.fetch(`${upstream}/echo/only/${t}`, { method: "POST", headers: { "x-k": 'getSecret("B")' } }))).code).toBe("secret_not_bound");
      expect(await upstreamSeen(upstream, t)).toHaveLength(1);
    } finally {
      close();
    }
  });
});

describe("lookalike destinations, through the pipe", () => {
  it("refuse a bound secret for a name that only starts with the bound host, an IP for a name, and another port", async () => {
    const { p, close } = await project();
    try {
      const port = new URL(upstream).port;
      await p.setSecret("L", `l-${crypto.randomUUID()}`, { hosts: [`http://localhost:${port}`] });
      await p.setPolicy({ rules: [{ host: upstream, action: "allow" }, { host: inject("otherUpstream"), action: "allow" }] });
      const t = tag();
      for (const url of [`http://localhost.evil.example:${port}/echo/${t}`, `${upstream}/echo/${t}`, `${inject("otherUpstream")}/echo/${t}`]) {
        const err = await rpcError(p.fetch(url, { headers: { "x-k": 'getSecret("L")' } }));
        expect(err.code, url).toBe("secret_not_bound");
      }
      expect((await rpcError(p.fetch(`http://localhost:${port}@evil.example/echo/${t}`, { headers: { "x-k": 'getSecret("L")' } }))).code).toBe("bad_request");
      expect(await upstreamSeen(upstream, t)).toEqual([]);
    } finally {
      close();
    }
  });
});

describe("substitution", () => {
  it("builds Basic auth from two secrets and scrubs the credentials it made", async () => {
    const { p, close } = await project();
    try {
      await p.setSecret("USER", "alice", { hosts: [`http://${host}`] });
      await p.setSecret("PASS", `pw-${crypto.randomUUID()}`, { hosts: [`http://${host}`] });
      const t = tag();
      const res = await p.fetch(`${upstream}/echo/${t}`, { headers: { authorization: 'Basic basicAuth(getSecret("USER"), getSecret("PASS"))' } });
      const [seen] = await upstreamSeen(upstream, t);
      const sent = seen!.headers.authorization!.replace(/^Basic /, "");
      expect(atob(sent)).toMatch(/^alice:pw-/);
      expect(res.headers.get("x-echo-auth")).toBe("Basic [redacted:basicAuth:USER:PASS]");
      expect(await res.text()).not.toContain(sent);
    } finally {
      close();
    }
  });

  it("refuses a secret with CR or LF in a header, and userinfo in the URL, before sending", async () => {
    const { p, close } = await project();
    try {
      await p.setSecret("CRLF", "a\r\nx-injected: 1", { hosts: [`http://${host}`] });
      const t = tag();
      const err = await rpcError(p.fetch(`${upstream}/echo/${t}`, { headers: { "x-k": 'getSecret("CRLF")' } }));
      expect(err.code).toBe("secret_invalid");
      expect(err.message).toMatch(/secret "CRLF" contains CR, LF or NUL/);
      const u = new URL(upstream);
      expect((await rpcError(p.fetch(`http://${host}@evil.example/${t}`))).code).toBe("bad_request");
      expect((await rpcError(p.fetch(`http://u:p@${u.host}/echo/${t}`))).message).toMatch(/user:password/);
      expect(await upstreamSeen(upstream, t)).toEqual([]);
    } finally {
      close();
    }
  });

  it("expands once: a secret whose value is a placeholder is sent as that text", async () => {
    const { p, close } = await project();
    try {
      await p.setSecret("OUTER", 'getSecret("INNER")', { hosts: [`http://${host}`] });
      await p.setSecret("INNER", "inner-value-1", { hosts: [`http://${host}`] });
      const t = tag();
      await p.fetch(`${upstream}/echo/${t}`, { method: "POST", headers: { "x-k": 'getSecret("OUTER")', "content-type": "text/plain" }, body: 'getSecret("OUTER")' });
      const [seen] = await upstreamSeen(upstream, t);
      expect(seen!.headers["x-k"]).toBe('getSecret("INNER")');
      expect(seen!.body).toBe('getSecret("INNER")');
    } finally {
      close();
    }
  });

  it("passes a placeholder in a binary body through as written (an undeclared place)", async () => {
    const { p, close } = await project();
    try {
      await p.setSecret("BIN", "bin-value-1", { hosts: [`http://${host}`] });
      const t = tag();
      await p.fetch(`${upstream}/echo/${t}`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: 'raw getSecret("BIN") bytes' });
      const [seen] = await upstreamSeen(upstream, t);
      expect(seen!.body).toBe('raw getSecret("BIN") bytes');
      expect((await p.audit({ capability: "fetch" })).at(-1)!.egress!.secrets).toEqual([]);
    } finally {
      close();
    }
  });

  it("handles thousands of placeholders, and refuses more than 64 distinct secrets before sending", async () => {
    const { p, close } = await project();
    try {
      await p.setSecret("MANY", "m-1", { hosts: [`http://${host}`] });
      const t = tag();
      const body = JSON.stringify({ k: Array.from({ length: 5000 }, () => "getSecret('MANY')") });
      const res = await p.fetch(`${upstream}/echo/${t}`, { method: "POST", headers: { "content-type": "application/json" }, body });
      expect(res.status).toBe(200);
      const [seen] = await upstreamSeen(upstream, t);
      expect((JSON.parse(seen!.body) as { k: string[] }).k.filter((v) => v === "m-1")).toHaveLength(5000);
      const echoed = await res.text();
      expect(echoed.split("[redacted:MANY]").length - 1).toBe(5000);

      const t2 = tag();
      const names = Array.from({ length: 65 }, (_, i) => `getSecret("S${i}")`).join(" ");
      expect((await rpcError(p.fetch(`${upstream}/echo/${t2}`, { headers: { "x-k": names } }))).code).toBe("limit_exceeded");
      expect(await upstreamSeen(upstream, t2)).toEqual([]);
    } finally {
      close();
    }
  });

  it("never reaches another project's secret of the same name", async () => {
    const a = await project("a");
    const b = await project("b");
    try {
      await a.p.setSecret("SHARED", "a-only-1", { hosts: [`http://${host}`] });
      const t = tag();
      expect((await rpcError(b.p.fetch(`${upstream}/echo/${t}`, { headers: { "x-k": 'getSecret("SHARED")' } }))).code).toBe("secret_unknown");
      expect(await upstreamSeen(upstream, t)).toEqual([]);
    } finally {
      a.close();
      b.close();
    }
  });
});

describe("workload identity", () => {
  it("getIdToken(audience) becomes a short-lived ES256 JWT for the project that verifies against the issuer's JWKS, and is scrubbed", async () => {
    const { id, p, close } = await project();
    try {
      const t = tag();
      const res = await p.fetch(`${upstream}/echo/${t}`, { headers: { authorization: 'Bearer getIdToken("https://sts.example.test")' } });
      const [seen] = await upstreamSeen(upstream, t);
      const token = seen!.headers.authorization!.replace(/^Bearer /, "");
      const jwks = createLocalJWKSet(await (await call("/.well-known/jwks.json")).json());
      const { payload } = await jwtVerify(token, jwks, { audience: "https://sts.example.test", issuer: "http://capstan.test" });
      expect(decodeProtectedHeader(token)).toMatchObject({ alg: "ES256", typ: "JWT" });
      expect(payload.sub).toBe(id);
      expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(300);
      expect(res.headers.get("x-echo-auth")).toBe("Bearer [redacted:idToken:https://sts.example.test]");
      expect(await res.text()).not.toContain(token);
      // It is not an access token to Capstan itself.
      expect((await call("/v1/projects", { token })).status).toBe(401);
      expect((await rpcError(p.fetch(`${upstream}/echo/${t}`, { headers: { authorization: 'getIdToken("capstan")' } }))).code).toBe("bad_request");
    } finally {
      close();
    }
  });
});
