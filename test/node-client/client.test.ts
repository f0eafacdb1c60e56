// The typed client in Node against a real `wrangler dev`: typed stubs, typed errors, and
// reconnection: backoff with jitter, authenticating again, and stream subscriptions resumed
// from the last delivered offset so that each event reaches the callback once, in order; and a
// heartbeat that notices a socket gone silent without closing.
import { RpcTarget } from "capnweb";
import { describe, expect, it } from "vitest";
import { CapstanError, connect, type ApprovalEvent, type ConnectionState, type StoredEvent } from "../../client/index";
import { backoffDelay } from "../../client/backoff";
import { freePort } from "./dev-server";
import { capstanUrl, freezableProxy, newProject, newUser, recordingUpstream, until } from "./helpers";

describe("connect()", () => {
  it("offers the capnweb API with typed answers", async () => {
    const { userId, key } = await newUser();
    const client = await connect({ url: capstanUrl(), token: key });
    try {
      expect((await client.whoami()).userId).toBe(userId);
      const created = await client.createProject("typed");
      expect(created).toMatchObject({ name: "typed", role: "owner" });
      expect((await client.projects()).map((p) => p.id)).toContain(created.id);
      const project = client.project(created.id);
      const caps = await project.capabilities();
      expect(caps.map((c) => c.name)).toEqual(expect.arrayContaining(["fetch", "streams"]));
      const streams = project.streams();
      expect(await streams.append("orders", { n: 1 })).toEqual({ offset: 1 });
      const page = await streams.read("orders");
      expect(page.events.map((e) => e.event)).toEqual([{ n: 1 }]);
      const repl = await project.repl();
      const logs: string[] = [];
      const outcome = await repl.eval("console.log('hi'); 6 * 7", (entry) => void logs.push(entry.args.join(" ")));
      expect(outcome).toMatchObject({ type: "result", value: "42" });
      expect(logs).toEqual(["hi"]);
      expect((await repl.history()).map((h) => h.code)).toEqual(["console.log('hi'); 6 * 7"]);
      const audit = await project.audit({ capability: "streams" });
      expect(audit.map((r) => r.method)).toEqual(expect.arrayContaining(["append", "read"]));
    } finally {
      client.close();
    }
  });

  it("defines, calls and shadows capabilities through typed stubs", async () => {
    const { key } = await newUser();
    const client = await connect({ url: capstanUrl(), token: key });
    try {
      const project = client.project(await newProject(key));
      const defined = await project.define("greeter", { source: "export function hello(name) { return `hello, ${name}`; }" });
      expect(defined).toMatchObject({ name: "greeter", kind: "source", methods: ["hello"] });
      expect(await project.call("greeter", "hello", "node")).toBe("hello, node");
      const greeter = await project.cap<RpcTarget & { hello(name: string): Promise<string> }>("greeter");
      expect(await greeter.hello("stub")).toBe("hello, stub");

      // A shadow of fetch answers for the project; its handle revokes it.
      class Answer extends RpcTarget {
        fetch(request: Request) {
          return new Response(`shadowed ${new URL(request.url).pathname}`, { status: 203 });
        }
      }
      const handle = await project.shadow("fetch", new Answer());
      expect(await handle.name).toBe("fetch");
      const res = await project.fetch("https://example.invalid/path", { headers: { "x-test": "1" } });
      expect([res.status, await res.text()]).toEqual([203, "shadowed /path"]);
      expect((await project.capabilities()).find((c) => c.name === "fetch")).toMatchObject({ kind: "shadow", depth: 1 });
      await handle.revoke();
      expect((await project.capabilities()).find((c) => c.name === "fetch")).toMatchObject({ kind: "builtin", depth: 0 });
      await project.remove("greeter");
      await expect(project.call("greeter", "hello", "x")).rejects.toMatchObject({ code: "capability_unknown" });
    } finally {
      client.close();
    }
  });

  it("holds a request under the egress policy until it is approved through the client", async () => {
    const { key } = await newUser();
    const client = await connect({ url: capstanUrl(), token: key });
    const upstream = await recordingUpstream();
    try {
      const project = client.project(await newProject(key));
      const policy = await project.setPolicy({ rules: [{ host: upstream.url, action: "hold" }] });
      expect(policy).toMatchObject({ rules: [{ host: upstream.url, action: "hold" }], default: "allow" });
      expect(await project.policy()).toEqual(policy);
      const events: ApprovalEvent[] = [];
      const watch = await project.watchApprovals((e) => void events.push(e));
      const held = project.fetch(`${upstream.url}/held`);
      const pending = await until("the hold", () => events.find((e) => e.type === "held"));
      expect(upstream.seen).toHaveLength(0);
      expect((await project.approvals()).map((a) => a.id)).toEqual([pending.approval.id]);
      expect(await project.approve(pending.approval.id)).toMatchObject({ state: "approved" });
      expect((await held).status).toBe(200);
      expect(upstream.seen.map((s) => s.url)).toEqual(["/held"]);
      await until("the decision", () => events.some((e) => e.type === "decided"));
      await watch.close();
      await expect(project.deny(pending.approval.id)).rejects.toBeInstanceOf(CapstanError);
    } finally {
      upstream.close();
      client.close();
    }
  });

  it("reports failures as CapstanError with the server's code", async () => {
    const { key } = await newUser();
    const client = await connect({ url: capstanUrl(), token: key });
    try {
      const missing = client.project("prj_doesnotexist0000000000");
      await expect(missing.capabilities()).rejects.toMatchObject({ name: "CapstanError", code: "not_found" });
      const project = client.project(await newProject(key));
      const err = await project.streams().append("Bad Name!", 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CapstanError);
      expect(err).toMatchObject({ code: "bad_request", message: expect.stringContaining("stream") });
      // The message is the bare text: the "[code] " wire prefix has been parsed off.
      expect((err as Error).message).not.toMatch(/^\[/);
    } finally {
      client.close();
    }
  });

  it("refuses a bad token and an unreachable server up front", async () => {
    await expect(connect({ url: capstanUrl(), token: "cap_not-a-real-key" })).rejects.toMatchObject({ code: "unauthorized" });
    const port = await freePort();
    await expect(connect({ url: `http://127.0.0.1:${port}`, token: "cap_x" })).rejects.toMatchObject({ code: "unreachable" });
  });
});

describe("backoff", () => {
  it("grows exponentially up to the cap, jittered between half and all of it", () => {
    const b = { initialMs: 100, maxMs: 1000, factor: 2 };
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(b, n, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(b, n, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

describe("reconnecting", () => {
  it("comes back after the socket drops, with backoff, and the subscriber misses nothing and sees nothing twice", async () => {
    const { key } = await newUser();
    const projectId = await newProject(key);
    let offline = false;
    const sockets: WebSocket[] = [];
    const attempts: number[] = [];
    const states: ConnectionState[] = [];
    const client = await connect({
      url: capstanUrl(),
      token: key,
      backoff: { initialMs: 100, maxMs: 2000 },
      onStateChange: (s) => void states.push(s),
      // The test's way to drop the socket and to keep the server out of reach for a while.
      webSocket: (url) => {
        attempts.push(Date.now());
        if (offline) throw new Error("offline (test)");
        const ws = new WebSocket(url);
        sockets.push(ws);
        return ws;
      },
    });
    const writer = await connect({ url: capstanUrl(), token: key });
    try {
      const writes = writer.project(projectId).streams();
      await writes.appendBatch("feed", [1, 2, 3]);
      const seen: StoredEvent[] = [];
      const sub = await client.project(projectId).streams().subscribe("feed", (events) => void seen.push(...events), { after: "start" });
      await until("the first three events", () => seen.length === 3);

      offline = true;
      const before = attempts.length;
      sockets.at(-1)!.close();
      await until("the client to notice", () => client.state === "reconnecting");
      // A call made while disconnected waits for the connection rather than failing.
      const pendingRead = client.project(projectId).streams().read("feed");
      for (let i = 4; i <= 8; i++) await writes.append("feed", i);
      await until("four failed attempts", () => attempts.length - before >= 4, 10_000);
      offline = false;
      await until("the client to be back", () => client.state === "open", 10_000);
      for (let i = 9; i <= 10; i++) await writes.append("feed", i);
      await until("all ten events", () => seen.length >= 10);
      await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive by now

      expect(seen.map((e) => e.offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(seen.map((e) => e.event)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(sub.after).toBe(10);
      expect(sub.resubscriptions).toBe(1);
      expect((await pendingRead).events.length).toBeGreaterThanOrEqual(8);
      expect(states).toContain("reconnecting");
      // Backoff: the gaps between failed attempts grow (jitter keeps each in [½, 1] of its step).
      const gaps = attempts.slice(before).map((t, i, a) => (i ? t - a[i - 1]! : 0)).slice(1);
      expect(gaps[2]!).toBeGreaterThan(gaps[0]!);
      // It authenticated again: a new socket, and calls on it work.
      expect(sockets.length).toBe(2);
      expect((await client.whoami()).userId).toMatch(/^usr_/);
      await sub.unsubscribe();
      await writes.append("feed", 11);
      await new Promise((r) => setTimeout(r, 200));
      expect(seen.length).toBe(10);
    } finally {
      client.close();
      writer.close();
    }
  });

  it("fails a call that was in flight when the socket dropped with `disconnected`", async () => {
    const { key } = await newUser();
    const projectId = await newProject(key);
    const sockets: WebSocket[] = [];
    const client = await connect({
      url: capstanUrl(),
      token: key,
      backoff: { initialMs: 50 },
      webSocket: (url) => {
        const ws = new WebSocket(url);
        sockets.push(ws);
        return ws;
      },
    });
    try {
      const repl = await client.project(projectId).repl();
      const slow = repl.eval("await new Promise((r) => setTimeout(r, 3000)); 1");
      await new Promise((r) => setTimeout(r, 300));
      sockets.at(-1)!.close();
      await expect(slow).rejects.toMatchObject({ code: "disconnected" });
      // The REPL session is reopened by its id on the new socket.
      await until("the client to be back", () => client.state === "open");
      expect(await repl.eval("2 + 2")).toMatchObject({ type: "result", value: "4" });
    } finally {
      client.close();
    }
  });

  it("drops a half-open socket by its heartbeat, fails the call waiting on it, and comes back", async () => {
    const { key } = await newUser();
    const proxy = await freezableProxy(capstanUrl());
    const states: ConnectionState[] = [];
    const heartbeat = { intervalMs: 300, timeoutMs: 300 };
    const client = await connect({ url: proxy.url, token: key, heartbeat, backoff: { initialMs: 50, maxMs: 200 }, onStateChange: (s) => void states.push(s) });
    // The same freeze, with the heartbeat off: nothing notices.
    const deaf = await connect({ url: proxy.url, token: key, heartbeat: false });
    try {
      expect((await client.whoami()).userId).toMatch(/^usr_/);
      proxy.freeze();
      const waiting = client.whoami().then(() => null, (e: unknown) => e);
      const deafWaiting = deaf.whoami().then(() => "answered", () => "failed");
      await until("the heartbeat to drop the socket", () => client.state === "reconnecting", 5_000);
      expect(await waiting).toMatchObject({ code: "disconnected" });
      await until("the client to be back", () => client.state === "open", 5_000);
      expect((await client.whoami()).userId).toMatch(/^usr_/);
      expect(states).toEqual(["connecting", "open", "reconnecting", "open"]);
      // Two heartbeats' worth later, the client without one still waits on its dead socket.
      await new Promise((r) => setTimeout(r, 2 * (heartbeat.intervalMs + heartbeat.timeoutMs)));
      expect(deaf.state).toBe("open");
      expect(await Promise.race([deafWaiting, new Promise((r) => setTimeout(() => r("still waiting"), 10))])).toBe("still waiting");
    } finally {
      client.close();
      deaf.close();
      proxy.close();
    }
  });

  it("stops, rather than retrying forever, when the token is refused on reconnecting", async () => {
    const { key } = await newUser();
    const minted = await fetch(`${capstanUrl()}/v1/keys`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ name: "short-lived" }) });
    const second = (await minted.json()) as { id: string; key: string };
    const sockets: WebSocket[] = [];
    const states: [ConnectionState, string | undefined][] = [];
    const client = await connect({
      url: capstanUrl(),
      token: second.key,
      backoff: { initialMs: 50 },
      onStateChange: (s, e) => void states.push([s, e?.code]),
      webSocket: (url) => {
        const ws = new WebSocket(url);
        sockets.push(ws);
        return ws;
      },
    });
    await fetch(`${capstanUrl()}/v1/keys/${second.id}`, { method: "DELETE", headers: { authorization: `Bearer ${key}` } });
    sockets.at(-1)!.close();
    await until("the client to give up", () => client.state === "closed");
    expect(states.at(-1)).toEqual(["closed", "unauthorized"]);
    await expect(client.projects()).rejects.toMatchObject({ code: "unauthorized" });
  });
});
