// The registry: source capabilities in loaded isolates, and the audit of every dispatch.
import { env } from "cloudflare:workers";
import { inject, describe, expect, it } from "vitest";
import { connect, newUser, tag, upstreamSeen, allowUpstreams } from "./helpers";

const upstream = inject("upstream");
const host = new URL(upstream).host;

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error("expected the call to fail");
}

async function project() {
  const { key } = await newUser();
  const c = await connect(key);
  const { id } = await c.session.createProject("reg");
  await allowUpstreams(key, id);
  return { ...c, id, p: c.session.project(id) };
}

describe("built-ins", () => {
  it("ping echoes what it is given, through dispatch and audit", async () => {
    const { p, close } = await project();
    try {
      expect(await p.call("ping", "echo", { a: [1, "two"] })).toEqual({ a: [1, "two"] });
      expect(await failure(p.call("ping", "nope"))).toMatchObject({ code: "capability_unknown" });
      const rows = await p.audit({ capability: "ping" });
      expect(rows.map((r) => [r.method, r.outcome, r.args])).toEqual([["echo", "ok", ["object(1)"]], ["nope", "error", []]]);
    } finally {
      close();
    }
  });
});

describe("source capabilities", () => {
  it("define → call → redefine → the call sees the new version; remove", async () => {
    const { p, close } = await project();
    try {
      const v1 = await p.define("greet", { source: `export function hello(name) { return "hello " + name; }`, description: "greets" });
      expect(v1).toMatchObject({ name: "greet", kind: "source", version: 1, methods: ["hello"] });
      expect(await p.call("greet", "hello", "ada")).toBe("hello ada");
      const v2 = await p.define("greet", { source: `export const hello = async (name) => "hi " + name;\nexport function twice(x) { return x * 2 }` });
      expect(v2.version).toBe(2);
      expect(await p.call("greet", "hello", "ada")).toBe("hi ada");
      const stub = (await p.cap("greet")) as unknown as { twice(x: number): Promise<number> };
      expect(await stub.twice(21)).toBe(42);
      const caps = await p.capabilities();
      expect(caps.map((c) => [c.name, c.kind, c.version])).toEqual([["fetch", "builtin", 1], ["greet", "source", 2], ["ping", "builtin", 1], ["streams", "builtin", 1]]);
      const [first] = await p.audit({ capability: "greet" });
      expect(first).toMatchObject({ method: "hello", kind: "source", outcome: "ok", args: ["string(3)"] });
      expect(JSON.stringify(first)).not.toContain("ada");
      await p.remove("greet");
      expect(await failure(p.call("greet", "hello", "x"))).toMatchObject({ code: "capability_unknown" });
      expect(await failure(p.remove("greet"))).toMatchObject({ code: "not_found" });
    } finally {
      close();
    }
  });

  it("refuses bad source with a typed error and stores nothing", async () => {
    const { p, close } = await project();
    try {
      const syntax = await failure(p.define("bad", { source: "export function (" }));
      expect(syntax.code).toBe("bad_source");
      expect(syntax.message).toMatch(/SyntaxError/);
      expect(await failure(p.define("bad", { source: "const x = 1;" }))).toMatchObject({ code: "bad_source" });
      const thrown = await failure(p.define("bad", { source: `throw new Error("boom at load"); export function f() {}` }));
      expect(thrown.code).toBe("bad_source");
      expect(thrown.message).toMatch(/boom at load/);
      const imports = await failure(p.define("bad", { source: `import x from "./nope.js"; export function f() { return x }` }));
      expect(imports.code).toBe("bad_source");
      expect(await failure(p.define("bad", { source: "x".repeat(256 * 1024 + 1) }))).toMatchObject({ code: "bad_request" });
      expect(await failure(p.define("fetch", { source: "export function fetch() {}" }))).toMatchObject({ code: "conflict" });
      expect(await failure(p.define("no spaces", { source: "export function f() {}" }))).toMatchObject({ code: "bad_request" });
      expect((await p.capabilities()).map((c) => c.name)).toEqual(["fetch", "ping", "streams"]);
    } finally {
      close();
    }
  });

  it("stops an endless loop with a typed error, and the actor stays healthy", async () => {
    const { p, close } = await project();
    try {
      await p.define("spin", { source: `export function forever() { let i = 0; while (true) i++; }\nexport function ok() { return "fine" }` });
      const err = await failure(p.call("spin", "forever"));
      expect(err.code).toBe("cpu_limit");
      expect(await p.call("spin", "ok")).toBe("fine");
      const rows = await p.audit({ capability: "spin" });
      expect(rows.map((r) => [r.method, r.outcome, r.errorCode])).toEqual([["forever", "error", "cpu_limit"], ["ok", "ok", null]]);
    } finally {
      close();
    }
  });

  it("reports a capability's own error with its name and message", async () => {
    const { p, close } = await project();
    try {
      await p.define("thrower", { source: `export function go() { throw new RangeError("[internal] not really") }` });
      const err = await failure(p.call("thrower", "go"));
      expect(err.code).toBe("capability_failed");
      expect(err.message).toMatch(/RangeError: not really/);
    } finally {
      close();
    }
  });

  it("gives a source capability's fetch substitution, audited under its own name", async () => {
    const { p, id, close } = await project();
    try {
      const value = `src-${crypto.randomUUID()}`;
      await p.setSecret("SRC", value, { hosts: [`http://${host}`] });
      const t = tag();
      await p.define("client", {
        source: `export async function get(url) { const r = await fetch(url, { headers: { "x-key": 'getSecret("SRC")' } }); return { status: r.status, body: await r.text() }; }
export async function viaProject(url) { const r = await project.fetch(url); return r.status; }
export async function viaCall(name) { return project.call("client", "echo", name); }
export function echo(x) { return x; }`,
      });
      const out = (await p.call("client", "get", `${upstream}/echo/${t}`)) as { status: number; body: string };
      expect(out.status).toBe(200);
      expect(out.body).not.toContain(value);
      expect((await upstreamSeen(upstream, t))[0]!.headers["x-key"]).toBe(value);
      expect(await p.call("client", "viaProject", `${upstream}/quiet/${t}`)).toBe(200);
      expect(await p.call("client", "viaCall", "nested")).toBe("nested");
      const rows = await env.PROJECT_ACTOR.get(env.PROJECT_ACTOR.idFromName(id)).audit({});
      const fetches = rows.filter((r) => r.capability === "fetch");
      expect(fetches.map((r) => r.caller)).toEqual(["capability:client", "capability:client"]);
      expect(fetches[0]).toMatchObject({ outcome: "ok", egress: { host, secrets: ["SRC"] } });
      expect(rows.some((r) => r.capability === "client" && r.method === "echo" && r.caller === "capability:client")).toBe(true);
    } finally {
      close();
    }
  });

  it("runs in an isolate that can reach nothing but its project handle", async () => {
    const { p, close } = await project();
    try {
      await p.define("snoop", {
        source: `import { env } from "cloudflare:workers";
export function look() {
  return { env: Object.keys(env), db: typeof globalThis.DB, loader: typeof globalThis.LOADER,
           globals: Object.keys(globalThis).filter((k) => /DB|LOADER|PROJECT_ACTOR|SECRET|SERVICE/.test(k)) };
}
export async function internal() { try { const r = await fetch("http://capstan.test/v1/projects"); return r.status; } catch (e) { return String(e.message); } }`,
      });
      expect(await p.call("snoop", "look")).toEqual({ env: ["PROJECT"], db: "undefined", loader: "undefined", globals: [] });
      expect(await p.call("snoop", "internal")).toMatch(/upstream_unreachable/);
    } finally {
      close();
    }
  });
});
