// The REPL: protocol and the semantics people expect, with code running in a loaded isolate
// under the project's posture (fetch through the project's capability, shadows, substitution).
import { RpcTarget } from "capnweb";
import { inject, describe, expect, it } from "vitest";
import { allowUpstreams, connect, newProject, newUser, tag, upstreamSeen } from "./helpers";
import { openRepl, type ReplSocket } from "./repl-client";

const upstream = inject("upstream");
const host = new URL(upstream).host;

async function ready(projectId: string, token: string, session?: string): Promise<ReplSocket> {
  const { repl, res } = await openRepl(projectId, { token, session });
  if (!repl) throw new Error(`no socket: ${res.status} ${await res.text()}`);
  await repl.next((m) => m.type === "ready");
  return repl;
}

describe("REPL semantics", () => {
  it("returns the last expression, rendered like util.inspect, with a JSON form", async () => {
    const { key } = await newUser();
    const repl = await ready(await newProject(key), key);
    try {
      expect((await repl.eval("1+1")).final).toMatchObject({ type: "result", value: "2", json: 2 });
      expect((await repl.eval("'hi'")).final).toMatchObject({ value: "'hi'", json: "hi" });
      expect((await repl.eval("({a:1, b:'x', c:[1, 2, {d:{e:{f:1}}}]})")).final.value).toBe("{ a: 1, b: 'x', c: [ 1, 2, { d: [Object] } ] }");
      expect((await repl.eval("new Map([['k', 1]])")).final.value).toBe("Map(1) { 'k' => 1 }");
      expect((await repl.eval("[undefined, null, 10n, () => 1]")).final.value).toBe("[ undefined, null, 10n, [Function (anonymous)] ]");
      const fn = (await repl.eval("function named() {}; named")).final;
      expect(fn).toMatchObject({ value: "[Function: named]" });
      expect(fn.json).toBeUndefined();
      expect((await repl.eval("let nothing = 1")).final).toMatchObject({ type: "result", value: "undefined" });
    } finally {
      repl.close();
    }
  });

  it("supports top-level await and carries declarations and _ across lines", async () => {
    const { key } = await newUser();
    const repl = await ready(await newProject(key), key);
    try {
      await repl.eval("const a = await Promise.resolve(40); let b = 2");
      await repl.eval("function add(x, y) { return x + y }\nclass P { constructor(n) { this.n = n } get twice() { return this.n * 2 } }");
      await repl.eval("const sq = (x) => x * x; var v = { list: [1, 2, 3], when: new Date(0) }");
      expect((await repl.eval("add(a, b)")).final).toMatchObject({ value: "42" });
      expect((await repl.eval("_ + 1")).final).toMatchObject({ value: "43" });
      expect((await repl.eval("new P(sq(3)).twice")).final).toMatchObject({ value: "18" });
      expect((await repl.eval("b = b + 1; v.list.push(4); b")).final).toMatchObject({ value: "3" });
      expect((await repl.eval("[b, v.list.length, v.when.getTime()]")).final).toMatchObject({ json: [3, 4, 0] });
      const redeclared = await repl.eval("const a = 'again'; a");
      expect(redeclared.final).toMatchObject({ value: "'again'" });
      expect((await repl.eval("a = 1")).final).toMatchObject({ type: "error", name: "TypeError" });
    } finally {
      repl.close();
    }
  });

  it("says which values cannot carry over, and does not carry them", async () => {
    const { key } = await newUser();
    const repl = await ready(await newProject(key), key);
    try {
      const made = await repl.eval("class Counter { n = 0; inc() { return ++this.n } }\nconst c = new Counter(); const r = new Response('x'); const ok = 1");
      expect(made.final.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^c is not kept.*instance of Counter/), expect.stringMatching(/^r is not kept.*instance of Response/)]));
      expect((await repl.eval("[typeof c, typeof r, ok]")).final).toMatchObject({ json: ["undefined", "undefined", 1] });
    } finally {
      repl.close();
    }
  });

  it("streams console output while the line runs, before its result", async () => {
    const { key } = await newUser();
    const repl = await ready(await newProject(key), key);
    try {
      repl.send({ type: "eval", id: "x", code: "console.log('first', {a: 1}); await new Promise((r) => setTimeout(r, 50)); console.error('second'); 7" });
      const log1 = await repl.next((m) => m.type === "log");
      expect(log1).toMatchObject({ id: "x", level: "log", args: ["first", "{ a: 1 }"] });
      const log2 = await repl.next((m) => m.type === "log");
      expect(log2).toMatchObject({ id: "x", level: "error", args: ["second"] });
      expect(await repl.next((m) => m.id === "x" && m.type === "result")).toMatchObject({ value: "7" });
    } finally {
      repl.close();
    }
  });

  it("points a stack at the line and column the user typed, whatever earlier lines carried", async () => {
    const { key } = await newUser();
    const repl = await ready(await newProject(key), key);
    try {
      // A fresh session: nothing is restored in front of the line.
      expect((await repl.eval("throw new Error('first')")).final.stack).toMatch(/<repl>:1:7\b/);
      // Multi-line sources and values carried from earlier lines sit in front of later lines.
      await repl.eval("function helper(a) {\n  // spans\n  // lines\n  return a;\n}");
      await repl.eval("class Shape {\n  area() { return 0; }\n}\nconst n = 3;");
      const later = (await repl.eval("const y = 2;\n\n    throw new TypeError('later')")).final;
      expect(later).toMatchObject({ type: "error", name: "TypeError", message: "later" });
      expect(later.stack).toMatch(/<repl>:3:11\b/);
      // Inside a loop, where the REPL adds its own step counter.
      const looped = (await repl.eval("for (let i = 0; i < 2; i++) { if (i) throw new Error('in loop'); }")).final;
      expect(looped.stack).toMatch(/<repl>:1:44\b/);
      // A frame in a function carried from an earlier line cannot name its position: no wrong one.
      await repl.eval("function thrower() {\n  throw new Error('carried');\n}");
      const carried = (await repl.eval("\nthrower()")).final;
      expect(carried.stack).toMatch(/at thrower \(<repl>\)/);
      expect(carried.stack).toMatch(/<repl>:2:1\b/);
    } finally {
      repl.close();
    }
  });

  it("shows an uncaught error's name, message and a stack pointing at the user's line", async () => {
    const { key } = await newUser();
    const repl = await ready(await newProject(key), key);
    try {
      const { final } = await repl.eval("const x = 1;\nfunction f() {\n  return null.boom;\n}\nf()");
      expect(final).toMatchObject({ type: "error", name: "TypeError" });
      expect(final.message).toMatch(/boom/);
      expect(final.stack).toMatch(/<repl>:3:/);
      const syntax = (await repl.eval("let = ;")).final;
      expect(syntax).toMatchObject({ type: "error", name: "SyntaxError" });
      expect((await repl.eval("throw new RangeError('mine')")).final).toMatchObject({ type: "error", name: "RangeError", message: "mine" });
      expect((await repl.eval("x")).final).toMatchObject({ value: "1" });
    } finally {
      repl.close();
    }
  });

  it("stops a line that runs too long, and the session stays usable", async () => {
    const { key } = await newUser();
    const repl = await ready(await newProject(key), key);
    try {
      await repl.eval("let kept = 'still here'");
      const { final } = await repl.eval("for (;;) {}");
      expect(final).toMatchObject({ type: "error", code: "cpu_limit" });
      expect(final.message).toMatch(/loop iterations/);
      expect((await repl.eval("kept")).final).toMatchObject({ value: "'still here'" });
    } finally {
      repl.close();
    }
  });
});

describe("REPL protocol", () => {
  it("cancels a waiting line on {type:\"cancel\"}, and the session goes on", async () => {
    const { key } = await newUser();
    const repl = await ready(await newProject(key), key);
    try {
      repl.send({ type: "eval", id: "slow", code: "await new Promise((r) => setTimeout(r, 20000)); 'late'" });
      await new Promise((r) => setTimeout(r, 200));
      repl.send({ type: "cancel" });
      const started = Date.now();
      expect(await repl.next((m) => m.id === "slow")).toMatchObject({ type: "error", name: "CancelledError", code: "cancelled" });
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await repl.eval("'next'")).final).toMatchObject({ value: "'next'" });
    } finally {
      repl.close();
    }
  });

  it("authenticates in-band for browsers, and refuses a bad token", async () => {
    const { key } = await newUser();
    const id = await newProject(key);
    const { repl } = await openRepl(id);
    repl!.send({ type: "eval", id: 1, code: "1" });
    expect(await repl!.next((m) => m.type === "error")).toMatchObject({ name: "ProtocolError" });
    repl!.send({ type: "auth", token: key });
    await repl!.next((m) => m.type === "ready");
    expect((await repl!.eval("2*3")).final).toMatchObject({ value: "6" });
    repl!.close();

    const bad = (await openRepl(id)).repl!;
    bad.send({ type: "auth", token: "cap_wrong" });
    expect(await bad.next((m) => m.type === "error")).toMatchObject({ name: "AuthError" });
    await expect(bad.next(() => false, 5_000)).rejects.toThrow(/closed 4401/);
  });

  it("refuses at connect: a wrong key (401), another user's project (404), no upgrade (400)", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const id = await newProject(alice.key);
    expect((await openRepl(id, { token: "cap_nope" })).res.status).toBe(401);
    expect((await openRepl(id, { token: bob.key })).res.status).toBe(404);
    expect((await openRepl(id, { token: alice.key, session: "bad session!" })).res.status).toBe(400);
  });

  it("answers malformed messages with a ProtocolError and stays usable", async () => {
    const { key } = await newUser();
    const repl = await ready(await newProject(key), key);
    try {
      repl.send("{not json");
      expect(await repl.next((m) => m.type === "error")).toMatchObject({ name: "ProtocolError", message: expect.stringMatching(/JSON/) });
      repl.send({ type: "eval", code: 5 });
      expect(await repl.next((m) => m.type === "error")).toMatchObject({ name: "ProtocolError", message: expect.stringMatching(/^message\./) });
      expect((await repl.eval("'fine'")).final).toMatchObject({ value: "'fine'" });
    } finally {
      repl.close();
    }
  });

  it("keeps history and bindings across reconnects with the same session id, for its owner only", async () => {
    const { key } = await newUser();
    const id = await newProject(key);
    const session = `s${tag()}`;
    const first = await ready(id, key, session);
    await first.eval("const saved = 41");
    await first.eval("saved + 1");
    first.close();
    const again = await ready(id, key, session);
    try {
      expect((await again.eval("saved + 1")).final).toMatchObject({ value: "42" });
      again.send({ type: "history" });
      const h = await again.next((m) => m.type === "history");
      expect((h.entries as { code: string; outcome: string }[]).map((e) => e.code)).toEqual(["const saved = 41", "saved + 1", "saved + 1"]);
    } finally {
      again.close();
    }
  });

  it("is reachable over capnweb: project.repl() with eval, history and close", async () => {
    const { key } = await newUser();
    const { session, close } = await connect(key);
    try {
      const { id } = await session.createProject("r");
      await allowUpstreams(key, id);
      const repl = session.project(id).repl();
      const logs: unknown[] = [];
      const out = await repl.eval("console.log('via rpc'); let n = 20; n + 1", (entry: unknown) => void logs.push(entry));
      expect(out).toMatchObject({ type: "result", value: "21", json: 21 });
      expect(logs).toEqual([{ level: "log", args: ["via rpc"] }]);
      expect(await repl.eval("n * 2")).toMatchObject({ value: "40" });
      expect((await repl.history()).map((h) => h.outcome)).toEqual(["ok", "ok"]);
      await repl.close();
      expect(await repl.eval("typeof n")).toMatchObject({ value: "'undefined'" });
    } finally {
      close();
    }
  });
});

describe("REPL code runs under the project's posture", () => {
  it("its fetch goes through the project's fetch capability: substitution, scrubbing, shadows, audit", async () => {
    const { key } = await newUser();
    const { session, close } = await connect(key);
    try {
      const { id } = await session.createProject("r");
      await allowUpstreams(key, id);
      const p = session.project(id);
      const value = `repl-${crypto.randomUUID()}`;
      await p.setSecret("K", value, { hosts: [`http://${host}`] });
      const repl = await ready(id, key);
      const t = tag();
      const { final } = await repl.eval(`const r = await fetch("${upstream}/echo/${t}", { headers: { "x-k": 'getSecret("K")' } });\nconst body = await r.text();\n[r.status, body.includes("[redacted:K]")]`);
      expect(final).toMatchObject({ type: "result", json: [200, true] });
      expect(JSON.stringify(final)).not.toContain(value);
      expect((await upstreamSeen(upstream, t))[0]!.headers["x-k"]).toBe(value);

      const seen: string[] = [];
      class Spy extends RpcTarget {
        async fetch(request: Request, next: (r: Request) => Promise<Response>) {
          seen.push(request.headers.get("x-k") ?? "");
          return next(request);
        }
      }
      const handle = await p.shadow("fetch", new Spy());
      expect((await repl.eval(`(await project.fetch("${upstream}/quiet/${t}", { headers: { "x-k": 'getSecret("K")' } })).status`)).final).toMatchObject({ value: "200" });
      expect(seen).toEqual(['getSecret("K")']);
      await handle.revoke();

      const rows = await p.audit({});
      expect(rows.some((r) => r.capability === "fetch" && r.caller.startsWith("repl:") && r.egress?.secrets.includes("K"))).toBe(true);
      expect(rows.some((r) => r.capability === "repl" && r.method === "eval")).toBe(true);
      repl.close();
    } finally {
      close();
    }
  });
});
