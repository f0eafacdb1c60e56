// Resolution leases (actors/leases.ts, src/rpc/leased-calls.ts): a session runs calls on a
// resolution its actor lent it, every such call is still audited, and a change to the
// capability applies to the very next call, also across an actor restart.
// (abortAllDurableObjects restarts every actor of this file's Worker, hence a file of its own.)
import { RpcTarget } from "capnweb";
import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { LEASE_TTL_MS } from "../actors/leases";
import { ProjectActor } from "../actors/project-actor";
import { LINGER_MAX_MS, LINGER_MIN_MS, lingerMs } from "../src/rpc/audit-sender";
import { connect, newProject, newUser, tag, until, upstreamSeen } from "./helpers";
import { failure } from "./stream-helpers";

type P = ReturnType<Awaited<ReturnType<typeof connect>>["session"]["project"]>;

/** Calls until the session's own audit shows a call that ran on a lease; returns how many it made. */
async function untilLeased(p: P, call: () => Promise<unknown>): Promise<number> {
  for (let n = 1; n <= 100; n++) {
    await call();
    const rows = await p.audit({ limit: 1000 });
    if (rows.some((r) => r.via === "lease")) return n;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("no call ran on a lease");
}

const upstream = inject("upstream");
const host = new URL(upstream).host;

class FetchShadow extends RpcTarget {
  fetch(request: Request) {
    return new Response(`shadowed ${new URL(request.url).pathname}`);
  }
}

class Shadow extends RpcTarget {
  echo(x: unknown) {
    return { shadowed: x };
  }
}

async function twoSessions() {
  const { key } = await newUser();
  const id = await newProject(key);
  const a = await connect(key);
  const b = await connect(key);
  return { id, a: a.session.project(id), b: b.session.project(id), close: () => (a.close(), b.close()) };
}

describe("resolution leases", () => {
  it("run a pure built-in on a lease and audit every call, in order, as the session's", async () => {
    const { a, close } = await twoSessions();
    try {
      const made = await untilLeased(a, () => a.call("ping", "echo", { n: 0 }));
      for (let i = 1; i <= 20; i++) expect(await a.call("ping", "echo", { n: i })).toEqual({ n: i });
      const rows = (await a.audit({ capability: "ping", limit: 1000 })).filter((r) => r.capability === "ping");
      expect(rows).toHaveLength(made + 20);
      expect(rows.slice(-20).every((r) => r.via === "lease" && r.kind === "builtin" && r.outcome === "ok")).toBe(true);
      expect(new Set(rows.map((r) => r.caller)).size).toBe(1);
      expect(rows.at(-1)!.args).toEqual(["object(1)"]);
      // A method that does not exist is refused the same way on a lease, and audited.
      expect(await failure(a.call("ping", "nope"))).toMatchObject({ code: "capability_unknown" });
      expect((await a.audit({ capability: "ping", limit: 1000 })).at(-1)).toMatchObject({ outcome: "error", errorCode: "capability_unknown" });
    } finally {
      close();
    }
  });

  it("audit every leased call of many sessions of one project, each session reading its own rows at once", async () => {
    const { key } = await newUser();
    const id = await newProject(key);
    const sessions = await Promise.all(Array.from({ length: 4 }, () => connect(key)));
    try {
      const projects = sessions.map((s) => s.session.project(id));
      await Promise.all(projects.map((p) => untilLeased(p, () => p.call("ping", "echo", 0))));
      const callers = await Promise.all(projects.map(async (p) => (await p.audit({ limit: 1 }))[0]!.caller));
      // Every session calls at once, so one session's batch carries the others' rows.
      await Promise.all(projects.map(async (p, i) => {
        for (let n = 1; n <= 30; n++) expect(await p.call("ping", "echo", { i, n })).toEqual({ i, n });
      }));
      for (const [i, p] of projects.entries()) {
        const mine = (await p.audit({ limit: 1000 })).filter((r) => r.caller === callers[i] && r.via === "lease" && r.args[0] === "object(2)");
        expect(mine).toHaveLength(30);
      }
    } finally {
      for (const s of sessions) s.close();
    }
  });

  it("send the rows of a project's sessions in one batch per linger, however many sessions call", async () => {
    const { key } = await newUser();
    const id = await newProject(key);
    const sessions = await Promise.all(Array.from({ length: 10 }, () => connect(key)));
    const batches: number[] = [];
    const auditBatch = ProjectActor.prototype.auditBatch;
    try {
      const projects = sessions.map((s) => s.session.project(id));
      await Promise.all(projects.map((p) => untilLeased(p, () => p.call("ping", "echo", 0))));
      // Every session's own read has flushed its rows: from here on, only lingering sends them.
      ProjectActor.prototype.auditBatch = function (this: ProjectActor, records, bytesIn) {
        batches.push(records.length);
        return auditBatch.call(this, records, bytesIn);
      };
      const end = Date.now() + 4 * LINGER_MIN_MS;
      let calls = 0;
      await Promise.all(projects.map(async (p, i) => {
        await new Promise((r) => setTimeout(r, i * 3));
        while (Date.now() < end) {
          await p.call("ping", "echo", 1);
          calls++;
          // A few calls per session per linger, as under fan-out, rather than a full batch.
          await new Promise((r) => setTimeout(r, 10 + i));
        }
      }));
      await until(async () => (batches.reduce((a, b) => a + b, 0) >= calls ? true : undefined), "every row to land");
      // Sessions lingering each on a timer of their own send a dozen small batches here (measured:
      // 12–13); one departure per project sends about one per linger in all (4–5).
      expect(batches.length).toBeLessThanOrEqual(7);
      expect(calls).toBeGreaterThan(batches.length * 10);
    } finally {
      ProjectActor.prototype.auditBatch = auditBatch;
      for (const s of sessions) s.close();
    }
  });

  it("linger longer as more projects hold rows in the isolate, so that it sends about the same batches a second", () => {
    expect(lingerMs(1)).toBe(LINGER_MIN_MS);
    expect(lingerMs(0)).toBe(LINGER_MIN_MS);
    // Past the floor, the wait grows with the projects: batches a second stay the same.
    const per = (projects: number) => projects / (lingerMs(projects) / 1000);
    expect(lingerMs(50)).toBeGreaterThan(LINGER_MIN_MS);
    expect(per(50)).toBeCloseTo(per(80));
    expect(lingerMs(100)).toBeGreaterThan(lingerMs(50));
    expect(lingerMs(10_000)).toBe(LINGER_MAX_MS);
  });

  it("renew a lease before it runs out, so that steady calls never fall back to the actor", { timeout: 30_000 }, async () => {
    const { a, close } = await twoSessions();
    try {
      await untilLeased(a, () => a.call("ping", "echo", 0));
      const from = (await a.audit({ limit: 1000 })).length;
      const end = Date.now() + LEASE_TTL_MS + 1_500;
      while (Date.now() < end) {
        await a.call("ping", "echo", 1);
        await new Promise((r) => setTimeout(r, 50));
      }
      const rows = (await a.audit({ limit: 1000 })).slice(from);
      expect(rows.length).toBeGreaterThan(50);
      expect(rows.filter((r) => r.via !== "lease")).toEqual([]);
    } finally {
      close();
    }
  });

  it("apply a redefinition, a shadow and a removal to the very next call of a session holding a lease", async () => {
    const { a, b, close } = await twoSessions();
    try {
      await b.define("greet", { source: `export function hello(n) { return "v1 " + n; }` });
      await untilLeased(a, () => a.call("greet", "hello", "x"));
      expect(await a.call("greet", "hello", "x")).toBe("v1 x");

      await b.define("greet", { source: `export function hello(n) { return "v2 " + n; }` });
      expect(await a.call("greet", "hello", "x")).toBe("v2 x");

      await untilLeased(a, () => a.call("ping", "echo", 1));
      const handle = await b.shadow("ping", new Shadow());
      expect(await a.call("ping", "echo", 7)).toEqual({ shadowed: 7 });
      expect((await a.audit({ capability: "ping", limit: 1000 })).at(-1)).toMatchObject({ kind: "shadow", via: "actor" });
      await handle.revoke();
      expect(await a.call("ping", "echo", 8)).toBe(8);

      await untilLeased(a, () => a.call("greet", "hello", "y"));
      await b.remove("greet");
      expect(await failure(a.call("greet", "hello", "x"))).toMatchObject({ code: "capability_unknown" });
    } finally {
      close();
    }
  });

  it("send fetch on a lease by the lent policy, with substitution, scrubbing and a full audit row", async () => {
    const { a, b, close } = await twoSessions();
    try {
      const value = `lease-secret-${crypto.randomUUID()}`;
      await b.setSecret("L", value, { hosts: [`http://${host}`] });
      const get = async (t: string) => {
        const res = await a.fetch(`${upstream}/echo/${t}?q=1`, { headers: { authorization: 'Bearer getSecret("L")' } });
        return { status: res.status, text: await res.text() };
      };
      await untilLeased(a, () => get(tag()));
      const t = tag();
      const got = await get(t);
      expect(got.status).toBe(200);
      expect(got.text).not.toContain(value);
      expect(got.text).toContain("[redacted:L]");
      expect((await upstreamSeen(upstream, t))[0]!.headers.authorization).toBe(`Bearer ${value}`);
      const row = await until(async () => {
        const last = (await a.audit({ capability: "fetch", limit: 1000 })).at(-1)!;
        return last.egress?.bytesIn != null ? last : undefined;
      }, "the bytes-in figure");
      expect(row).toMatchObject({ via: "lease", outcome: "ok", egress: { host, path: `/echo/${t}`, status: 200, secrets: ["L"], decision: "allow", bytesIn: got.text.length } });
      expect(JSON.stringify(row)).not.toContain(value);
    } finally {
      close();
    }
  });

  it("apply a policy change, a hold and a shadow of fetch to the very next request of a session holding a lease", async () => {
    const { a, b, close } = await twoSessions();
    try {
      await untilLeased(a, async () => (await a.fetch(`${upstream}/quiet/${tag()}`)).arrayBuffer());
      await b.setPolicy({ rules: [{ host: upstream, action: "deny" }] });
      expect(await failure(a.fetch(`${upstream}/quiet/${tag()}`))).toMatchObject({ code: "egress_denied" });
      expect((await a.audit({ capability: "fetch", limit: 1000 })).at(-1)).toMatchObject({ outcome: "error", errorCode: "egress_denied", egress: { decision: "deny" } });

      await b.setPolicy({ rules: [{ host: upstream, path: "/quiet/held", action: "hold" }, { host: upstream, action: "allow" }] });
      await untilLeased(a, async () => (await a.fetch(`${upstream}/quiet/${tag()}`)).arrayBuffer());
      const t = tag();
      const fetching = a.fetch(`${upstream}/quiet/held/${t}`);
      const held = await until(async () => (await b.approvals())[0], "the hold");
      expect(await upstreamSeen(upstream, t)).toEqual([]);
      await b.approve(held.id);
      expect((await fetching).status).toBe(200);

      await untilLeased(a, async () => (await a.fetch(`${upstream}/quiet/${tag()}`)).arrayBuffer());
      const handle = await b.shadow("fetch", new FetchShadow());
      expect(await (await a.fetch(`${upstream}/quiet/x`)).text()).toBe("shadowed /quiet/x");
      await handle.revoke();
    } finally {
      close();
    }
  });

  it("make a change after an actor restart wait out the leases the earlier instance lent", { timeout: 40_000 }, async () => {
    const { a, b, close } = await twoSessions();
    try {
      await b.define("greet", { source: `export function hello(n) { return "before " + n; }` });
      await untilLeased(a, () => a.call("greet", "hello", "x"));
      await abortAllDurableObjects();
      // b's first call after the reset finds its stub broken and drops it, as any session would.
      await b.capabilities().catch(() => undefined);
      // The new instance does not know session a's lease; it must not answer before it expired.
      await b.define("greet", { source: `export function hello(n) { return "after " + n; }` });
      // a's own stub to the old instance fails once (internal) and is replaced; never "before".
      const next = () => a.call("greet", "hello", "x");
      expect(await next().catch(next)).toBe("after x");
    } finally {
      close();
    }
  });
});
