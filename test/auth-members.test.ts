// Membership: a user reaches a project they created or were added to by an owner; anyone else
// gets 404 everywhere (no existence oracle), and the attempt is audited. Owners change roles and
// remove members, anyone may leave, and a project never loses its last owner.
import { describe, expect, it } from "vitest";
import { auditCursor, authAudit } from "./auth-helpers";
import { call, connect, newProject, newUser } from "./helpers";

const addMember = (token: string, projectId: string, body: unknown) =>
  call(`/v1/projects/${projectId}/members`, { method: "POST", token, body: JSON.stringify(body) });
const setRole = (token: string, projectId: string, userId: string, body: unknown) =>
  call(`/v1/projects/${projectId}/members/${userId}`, { method: "PUT", token, body: JSON.stringify(body) });
const removeMember = (token: string, projectId: string, userId: string) =>
  call(`/v1/projects/${projectId}/members/${userId}`, { method: "DELETE", token });
const members = async (token: string, projectId: string) => {
  const res = await call(`/v1/projects/${projectId}/members`, { token });
  expect(res.status).toBe(200);
  return ((await res.json()) as { userId: string; role: string }[]).map((m) => [m.userId, m.role]);
};
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

describe("membership", () => {
  it("an owner adds a member, who then reaches the project on routes and over capnweb; both are audited", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const project = await newProject(alice.key, "shared");
    expect((await call(`/v1/projects/${project}/secrets`, { token: bob.key })).status).toBe(404);
    const res = await addMember(alice.key, project, { userId: bob.userId, role: "member" });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ projectId: project, userId: bob.userId, role: "member" });
    expect((await call(`/v1/projects/${project}/secrets`, { token: bob.key })).status).toBe(200);
    const listed = (await (await call("/v1/projects", { token: bob.key })).json()) as { id: string; role: string }[];
    expect(listed).toEqual([expect.objectContaining({ id: project, role: "member" })]);
    const { session, close } = await connect(bob.key);
    try {
      expect(await session.project(project).listSecrets()).toEqual([]);
    } finally {
      close();
    }
    expect(await authAudit({ event: "project.created", userId: alice.userId })).toEqual([expect.objectContaining({ projectId: project })]);
    expect(await authAudit({ event: "member.added", projectId: project })).toEqual([
      expect.objectContaining({ userId: alice.userId, detail: { member: bob.userId, role: "member" } }),
    ]);
  });

  it("a member who is not an owner cannot add members (403: they know it exists); a non-member gets 404", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const carol = await newUser();
    const project = await newProject(alice.key);
    await addMember(alice.key, project, { userId: bob.userId, role: "member" });
    expect((await addMember(bob.key, project, { userId: carol.userId, role: "owner" })).status).toBe(403);
    expect((await addMember(carol.key, project, { userId: carol.userId, role: "owner" })).status).toBe(404);
    expect((await call(`/v1/projects/${project}/secrets`, { token: carol.key })).status).toBe(404);
  });

  it("validates the body, refuses unknown users and duplicates", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const project = await newProject(alice.key);
    const badRole = await addMember(alice.key, project, { userId: bob.userId, role: "admin" });
    expect(badRole.status).toBe(400);
    expect(((await badRole.json()) as { error: { message: string } }).error.message).toMatch(/^body\.role /);
    expect((await addMember(alice.key, project, { userId: "bob" })).status).toBe(400);
    expect((await addMember(alice.key, project, { userId: "usr_nosuchuser000000000000", role: "member" })).status).toBe(404);
    expect((await addMember(alice.key, project, { userId: bob.userId, role: "member" })).status).toBe(201);
    expect((await addMember(alice.key, project, { userId: bob.userId, role: "owner" })).status).toBe(409);
    expect((await addMember(alice.key, "not-a-project", { userId: bob.userId, role: "member" })).status).toBe(400);
  });

  it("answers a cross-project attempt exactly as a missing project, on every route and over capnweb, and audits it", async () => {
    const alice = await newUser();
    const mallory = await newUser();
    const project = await newProject(alice.key);
    const missing = "prj_doesnotexist000000000";
    const cursor = await auditCursor();
    const answers: string[] = [];
    for (const id of [project, missing]) {
      for (const [method, path, body] of [
        ["GET", `/v1/projects/${id}/secrets`, undefined],
        ["PUT", `/v1/projects/${id}/secrets/S`, JSON.stringify({ value: "v", hosts: ["a.example"] })],
        ["DELETE", `/v1/projects/${id}/secrets/S`, undefined],
        ["GET", `/v1/projects/${id}/audit`, undefined],
        ["POST", `/v1/projects/${id}/members`, JSON.stringify({ userId: mallory.userId, role: "owner" })],
      ] as const) {
        const res = await call(path, { method, token: mallory.key, body });
        expect(res.status, `${method} ${path}`).toBe(404);
        answers.push((await res.text()).replace(id, "ID"));
      }
    }
    expect(answers.slice(0, 5)).toEqual(answers.slice(5));
    const { session, close } = await connect(mallory.key);
    try {
      await expect(session.project(project).listSecrets()).rejects.toMatchObject({ code: "not_found" });
    } finally {
      close();
    }
    const rows = (await authAudit({ after: cursor, userId: mallory.userId })).filter((r) => r.projectId === project);
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.event === "project.refused" && r.reason === "not_a_member")).toBe(true);
  });
  it("lists members to any member, and changes a role only by an owner, audited with what it was", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const carol = await newUser();
    const project = await newProject(alice.key);
    await addMember(alice.key, project, { userId: bob.userId, role: "member" });
    expect(await members(bob.key, project)).toEqual([[alice.userId, "owner"], [bob.userId, "member"]]);
    expect((await call(`/v1/projects/${project}/members`, { token: carol.key })).status).toBe(404);

    const changed = await setRole(alice.key, project, bob.userId, { role: "approver" });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ projectId: project, userId: bob.userId, role: "approver" });
    expect(await members(alice.key, project)).toEqual([[alice.userId, "owner"], [bob.userId, "approver"]]);
    expect(await authAudit({ event: "member.role_changed", projectId: project })).toEqual([
      expect.objectContaining({ userId: alice.userId, detail: { member: bob.userId, from: "member", role: "approver" } }),
    ]);
    // Only an owner; a bad body or user names the field; someone who is not a member is 404.
    expect((await setRole(bob.key, project, bob.userId, { role: "owner" })).status).toBe(403);
    const bad = await setRole(alice.key, project, bob.userId, { role: "admin" });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).message).toMatch(/^body\.role /);
    const badUser = await setRole(alice.key, project, "bob", { role: "member" });
    expect(badUser.status).toBe(400);
    expect((await errorOf(badUser)).message).toMatch(/^user /);
    expect((await setRole(alice.key, project, carol.userId, { role: "member" })).status).toBe(404);
    expect((await setRole(carol.key, project, bob.userId, { role: "member" })).status).toBe(404);
    expect(await members(alice.key, project)).toEqual([[alice.userId, "owner"], [bob.userId, "approver"]]);
  });

  it("removes a member, whose API key loses the project at once; a member may leave but not remove others", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const carol = await newUser();
    const project = await newProject(alice.key);
    await addMember(alice.key, project, { userId: bob.userId, role: "member" });
    await addMember(alice.key, project, { userId: carol.userId, role: "member" });
    expect((await removeMember(bob.key, project, carol.userId)).status).toBe(403);

    expect((await removeMember(alice.key, project, bob.userId)).status).toBe(204);
    expect((await call(`/v1/projects/${project}/secrets`, { token: bob.key })).status).toBe(404);
    expect((await removeMember(alice.key, project, bob.userId)).status).toBe(404);
    expect((await removeMember(carol.key, project, carol.userId)).status).toBe(204);
    expect(await members(alice.key, project)).toEqual([[alice.userId, "owner"]]);
    expect((await authAudit({ event: "member.removed", projectId: project })).map((r) => [r.userId, r.detail])).toEqual([
      [alice.userId, { member: bob.userId, role: "member" }],
      [carol.userId, { member: carol.userId, role: "member" }],
    ]);
  });

  it("never leaves a project without an owner: the last one can neither step down nor leave, even racing another", async () => {
    const alice = await newUser();
    const bob = await newUser();
    const project = await newProject(alice.key);
    const cursor = await auditCursor();
    const demote = await setRole(alice.key, project, alice.userId, { role: "member" });
    expect(demote.status).toBe(409);
    expect((await errorOf(demote)).message).toContain("last owner");
    expect((await removeMember(alice.key, project, alice.userId)).status).toBe(409);
    // Refused changes are not recorded as changes.
    expect((await authAudit({ after: cursor, projectId: project })).filter((r) => r.event.startsWith("member."))).toEqual([]);

    // Two owners demoting each other at once: one wins, one is refused, one owner is left.
    await addMember(alice.key, project, { userId: bob.userId, role: "owner" });
    const answers = await Promise.all([
      setRole(alice.key, project, bob.userId, { role: "member" }),
      setRole(bob.key, project, alice.userId, { role: "member" }),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const roles = await members(answers[0]!.status === 200 ? alice.key : bob.key, project);
    expect(roles.filter(([, role]) => role === "owner")).toHaveLength(1);

    // With another owner, the first may leave.
    const owner = roles.find(([, role]) => role === "owner")![0];
    const other = owner === alice.userId ? bob : alice;
    expect((await setRole(owner === alice.userId ? alice.key : bob.key, project, other.userId, { role: "owner" })).status).toBe(200);
    expect((await removeMember(other.key, project, other.userId)).status).toBe(204);
    expect((await call(`/v1/projects/${project}/secrets`, { token: other.key })).status).toBe(404);
  });
});
