// Hold-for-approval: a held request waits in the actor as metadata only, watchers see it live,
// an owner or approver answers it (approve, always, deny), the timeout denies, and a held call
// never delays the calls around it.
import { inject, describe, expect, it } from "vitest";
import { MAX_PENDING, type Approval, type ApprovalEvent } from "../actors/egress/approvals";
import { call, connect, newUser, tag, until, upstreamSeen } from "./helpers";
import { project, rpcError } from "./egress-helpers";

const upstream = inject("upstream");
const other = inject("otherUpstream");
const host = new URL(upstream).host;

/** A policy that holds anything under /echo/held on the upstream. */
const holding = (holdTimeoutMs?: number) => ({
  rules: [{ host: upstream, path: "/echo/held", action: "hold" }, { host: upstream, action: "allow" }, { host: other, action: "allow" }],
  ...(holdTimeoutMs ? { holdTimeoutMs } : {}),
});

describe("hold for approval", () => {
  it("hold → approve: parked as metadata only, seen live by a watcher, sent once approved, audited as approved", async () => {
    const { p, close } = await project();
    try {
      await p.setPolicy(holding());
      const value = `held-secret-${crypto.randomUUID()}`;
      await p.setSecret("H", value, { hosts: [`http://${host}`] });
      const events: ApprovalEvent[] = [];
      const watch = await p.watchApprovals((e: ApprovalEvent) => void events.push(e));
      const t = tag();
      const fetching = p.fetch(`${upstream}/echo/held/${t}?q=1`, { headers: { authorization: 'Bearer getSecret("H")' } });
      const held = await until(async () => (await p.approvals())[0], "the hold");
      expect(held).toMatchObject({ method: "GET", host, path: `/echo/held/${t}`, secrets: ["H"], state: "pending" });
      expect(JSON.stringify(held)).not.toContain(value);
      expect(await upstreamSeen(upstream, t)).toEqual([]);
      await until(async () => (events.some((e) => e.type === "held" && e.approval.id === held.id) ? true : undefined), "the held event");

      const decided = await p.approve(held.id);
      expect(decided).toMatchObject({ id: held.id, state: "approved", decidedBy: expect.stringMatching(/^user:/) });
      const res = await fetching;
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("[redacted:H]");
      expect(await upstreamSeen(upstream, t)).toHaveLength(1);
      await until(async () => (events.some((e) => e.type === "decided" && e.approval.state === "approved") ? true : undefined), "the decided event");
      expect(await p.approvals()).toEqual([]);
      const rows = await p.audit({ capability: "fetch" });
      expect(rows.slice(-2).map((r) => r.egress!.decision)).toEqual(["hold", "approved"]);
      expect(rows.at(-1)).toMatchObject({ outcome: "ok", egress: { decision: "approved", status: 200, secrets: ["H"] } });
      // A decided request cannot be decided again.
      expect((await rpcError(p.deny(held.id))).code).toBe("conflict");
      await watch.close();
    } finally {
      close();
    }
  });

  it("hold → deny: the caller gets approval_denied and nothing is sent", async () => {
    const { p, close } = await project();
    try {
      await p.setPolicy(holding());
      const t = tag();
      const fetching = rpcError(p.fetch(`${upstream}/echo/held/${t}`));
      const held = await until(async () => (await p.approvals())[0], "the hold");
      expect((await p.deny(held.id)).state).toBe("denied");
      expect((await fetching).code).toBe("approval_denied");
      expect(await upstreamSeen(upstream, t)).toEqual([]);
      expect((await p.audit({ capability: "fetch" })).at(-1)).toMatchObject({ errorCode: "approval_denied", egress: { decision: "denied" } });
    } finally {
      close();
    }
  });

  it("hold → timeout: nobody answers within the project's timeout, so it is denied", async () => {
    const { p, close } = await project();
    try {
      await p.setPolicy(holding(300));
      const t = tag();
      const started = Date.now();
      const err = await rpcError(p.fetch(`${upstream}/echo/held/${t}`));
      expect(err.code).toBe("approval_timeout");
      expect(Date.now() - started).toBeGreaterThanOrEqual(280);
      expect(await upstreamSeen(upstream, t)).toEqual([]);
      expect(await p.approvals()).toEqual([]);
      expect((await p.audit({ capability: "fetch" })).at(-1)).toMatchObject({ errorCode: "approval_timeout", egress: { decision: "timed_out" } });
    } finally {
      close();
    }
  });

  it("approve with always turns into an allow rule: the same request is not held again", async () => {
    const { p, close } = await project();
    try {
      await p.setPolicy(holding());
      const t = tag();
      const fetching = p.fetch(`${upstream}/echo/held/${t}`, { method: "POST", body: "x" });
      const held = await until(async () => (await p.approvals())[0], "the hold");
      await p.approve(held.id, { always: true });
      expect((await fetching).status).toBe(200);
      expect((await p.policy()).rules[0]).toEqual({ host: upstream, methods: ["POST"], path: `/echo/held/${t}`, action: "allow" });
      expect((await p.fetch(`${upstream}/echo/held/${t}`, { method: "POST", body: "y" })).status).toBe(200);
      expect(await upstreamSeen(upstream, t)).toHaveLength(2);
      // Another method on the same path is still held.
      const again = rpcError(p.fetch(`${upstream}/echo/held/${t}`));
      const next = await until(async () => (await p.approvals())[0], "the second hold");
      await p.deny(next.id);
      expect((await again).code).toBe("approval_denied");
    } finally {
      close();
    }
  });

  it("needs the approval right: owners and approvers answer, plain members get 403; bad ids are 400", async () => {
    const owner = await project();
    const approver = await newUser();
    const member = await newUser();
    for (const [u, role] of [[approver, "approver"], [member, "member"]] as const) {
      const res = await call(`/v1/projects/${owner.id}/members`, { method: "POST", token: owner.key, body: JSON.stringify({ userId: u.userId, role }) });
      expect(res.status).toBe(201);
    }
    try {
      await owner.p.setPolicy(holding());
      const t = tag();
      const fetching = rpcError(owner.p.fetch(`${upstream}/echo/held/${t}`));
      const held = await until(async () => (await owner.p.approvals())[0], "the hold");

      const m = await connect(member.key);
      expect(await m.session.project(owner.id).approvals()).toHaveLength(1);
      expect((await rpcError(m.session.project(owner.id).approve(held.id))).code).toBe("forbidden");
      m.close();
      const http = (token: string, id: string, verb: string) => call(`/v1/projects/${owner.id}/approvals/${id}/${verb}`, { method: "POST", token });
      expect((await http(member.key, held.id, "deny")).status).toBe(403);
      expect((await http(approver.key, "nope", "deny")).status).toBe(400);
      expect((await http(approver.key, "apr_doesnotexist", "deny")).status).toBe(404);
      expect((await owner.p.approvals())[0]!.state).toBe("pending");

      const res = await http(approver.key, held.id, "deny");
      expect(res.status).toBe(200);
      expect(((await res.json()) as Approval).decidedBy).toBe(`user:${approver.userId}`);
      expect((await fetching).code).toBe("approval_denied");
    } finally {
      owner.close();
    }
  });

  it("caps the requests one project may have held at once: the next is refused at once, and room comes back as they are decided", async () => {
    const { p, close } = await project();
    try {
      await p.setPolicy(holding());
      const held = Array.from({ length: MAX_PENDING }, () => rpcError(p.fetch(`${upstream}/echo/held/${tag()}`)));
      await until(async () => ((await p.approvals()).length === MAX_PENDING ? true : undefined), "every hold");
      const auditBefore = (await p.audit({ capability: "fetch", limit: 1000 })).length;
      const t = tag();
      const refused = await rpcError(p.fetch(`${upstream}/echo/held/${t}`));
      expect(refused.code).toBe("limit_exceeded");
      expect(refused.message).toContain(`at most ${MAX_PENDING} requests held`);
      // Refused before anything about it was written: no pending row, no "hold" audit row, one error row.
      expect(await p.approvals()).toHaveLength(MAX_PENDING);
      const rows = (await p.audit({ capability: "fetch", limit: 1000 })).slice(auditBefore);
      expect(rows.map((r) => [r.outcome, r.errorCode])).toEqual([["error", "limit_exceeded"]]);
      expect(await upstreamSeen(upstream, t)).toEqual([]);
      // A request the policy allows is not held, so the cap does not touch it.
      expect((await p.fetch(`${upstream}/echo/free/${tag()}`)).status).toBe(200);

      const first = (await p.approvals())[0]!;
      await p.deny(first.id);
      const next = rpcError(p.fetch(`${upstream}/echo/held/${tag()}`));
      await until(async () => ((await p.approvals()).length === MAX_PENDING ? true : undefined), "the next hold");
      for (const a of await p.approvals()) await p.deny(a.id);
      expect(new Set((await Promise.all([...held, next])).map((e) => e.code))).toEqual(new Set(["approval_denied"]));
    } finally {
      close();
    }
  });

  it("a held request does not delay other calls, even ones that would be batched with it", async () => {
    const { p, close } = await project();
    try {
      await p.setPolicy(holding());
      // A burst with the held fetch in the middle: more calls than the batcher sends one by one,
      // so those behind the first few queue up together with the held one.
      const before = Array.from({ length: 12 }, (_, i) => p.call("ping", "echo", i));
      const held = rpcError(p.fetch(`${upstream}/echo/held/${tag()}`));
      const after = Array.from({ length: 12 }, (_, i) => p.call("ping", "echo", 100 + i));
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("calls were delayed by the held request")), 5_000));
      const pings = await Promise.race([Promise.all([...before, ...after]), timeout]);
      expect(pings).toEqual([...Array.from({ length: 12 }, (_, i) => i), ...Array.from({ length: 12 }, (_, i) => 100 + i)]);
      await until(async () => (await p.approvals())[0], "the hold");
      const free = await Promise.all(Array.from({ length: 8 }, () => p.fetch(`${upstream}/echo/free/${tag()}`).then((r) => r.status)));
      expect(free.every((s) => s === 200)).toBe(true);
      expect((await p.approvals())).toHaveLength(1);
      await p.deny((await p.approvals())[0]!.id);
      expect((await held).code).toBe("approval_denied");
    } finally {
      close();
    }
  });
});
