// A project's members: any member may list them; only an owner may add one, change a role or
// remove someone, and anyone may leave. A project never loses its last owner. A caller who
// cannot reach the project at all gets "not found" (and the attempt is audited); a member who
// is not an owner knows it exists and gets "forbidden".
import { CapstanError } from "../../core/errors";
import { projectFor, auditProjectRefused, type ProjectRow } from "./access";
import { auditStatement } from "./audit";
import type { Role } from "./grants";
import { viaOf, type Principal } from "./principal-types";

export type Member = { projectId: string; userId: string; role: Role; addedAt: string };
type MemberRow = { user_id: string; role: Role; added_at: number };

async function reach(env: Env, who: Principal, projectId: string): Promise<ProjectRow> {
  const project = await projectFor(env, who, projectId);
  if (!project) {
    await auditProjectRefused(env, who, projectId);
    throw new CapstanError("not_found", `project "${projectId}" not found`);
  }
  return project;
}

async function asOwner(env: Env, who: Principal, projectId: string, what: string): Promise<ProjectRow> {
  const project = await reach(env, who, projectId);
  if (project.role !== "owner") {
    await auditProjectRefused(env, who, projectId, "not_an_owner");
    throw new CapstanError("forbidden", `only an owner of the project can ${what}`);
  }
  return project;
}

const toMember = (projectId: string, r: MemberRow): Member => ({ projectId, userId: r.user_id, role: r.role, addedAt: new Date(r.added_at).toISOString() });

async function memberRow(env: Env, projectId: string, userId: string): Promise<MemberRow> {
  const row = await env.DB.prepare(`SELECT user_id, role, added_at FROM project_members WHERE project_id = ? AND user_id = ?`).bind(projectId, userId).first<MemberRow>();
  if (!row) throw new CapstanError("not_found", `user "${userId}" is not a member of this project`);
  return row;
}

/** True unless taking `userId`'s owner role away would leave the project without one (checked in the write). */
const KEEPS_AN_OWNER = `(role != 'owner' OR (SELECT COUNT(*) FROM project_members WHERE project_id = ?1 AND role = 'owner') > 1)`;

function lastOwner(userId: string): CapstanError {
  return new CapstanError("conflict", `user "${userId}" is the project's last owner; make someone else an owner first`);
}

/** The audit row for a membership change, written only if the write just before it changed a row. */
function auditIfChanged(env: Env, who: Principal, projectId: string, event: "member.added" | "member.removed" | "member.role_changed", detail: Record<string, string>) {
  return auditStatement(env, { event, userId: who.userId, keyId: who.kind === "api_key" ? who.keyId : null, projectId, via: viaOf(who), detail }, { ifPreviousChanged: true });
}

export async function listMembers(env: Env, who: Principal, projectId: string): Promise<Member[]> {
  await reach(env, who, projectId);
  const { results } = await env.DB.prepare(`SELECT user_id, role, added_at FROM project_members WHERE project_id = ? ORDER BY added_at, user_id`)
    .bind(projectId)
    .all<MemberRow>();
  return results.map((r) => toMember(projectId, r));
}

export async function setMemberRole(env: Env, who: Principal, projectId: string, userId: string, role: Role): Promise<Member> {
  await asOwner(env, who, projectId, "change a member's role");
  const before = await memberRow(env, projectId, userId);
  if (before.role === role) return toMember(projectId, before);
  const [updated] = await env.DB.batch([
    env.DB.prepare(`UPDATE project_members SET role = ?3 WHERE project_id = ?1 AND user_id = ?2 AND role = ?4 AND ${role === "owner" ? "1" : KEEPS_AN_OWNER}`).bind(projectId, userId, role, before.role),
    auditIfChanged(env, who, projectId, "member.role_changed", { member: userId, from: before.role, role }),
  ]);
  if (updated!.meta.changes !== 1) {
    const now = await memberRow(env, projectId, userId);
    if (now.role === before.role) throw lastOwner(userId);
    throw new CapstanError("conflict", `user "${userId}"'s role changed meanwhile (now ${now.role}); read it again`);
  }
  return toMember(projectId, { ...before, role });
}

export async function removeMember(env: Env, who: Principal, projectId: string, userId: string): Promise<void> {
  if (userId === who.userId) await reach(env, who, projectId);
  else await asOwner(env, who, projectId, "remove a member");
  const before = await memberRow(env, projectId, userId);
  const [deleted] = await env.DB.batch([
    env.DB.prepare(`DELETE FROM project_members WHERE project_id = ?1 AND user_id = ?2 AND ${KEEPS_AN_OWNER}`).bind(projectId, userId),
    auditIfChanged(env, who, projectId, "member.removed", { member: userId, role: before.role }),
  ]);
  if (deleted!.meta.changes !== 1) {
    await memberRow(env, projectId, userId);
    throw lastOwner(userId);
  }
}

export async function addMember(env: Env, who: Principal, projectId: string, userId: string, role: Role): Promise<Member> {
  await asOwner(env, who, projectId, "add members");
  const user = await env.DB.prepare(`SELECT 1 AS one FROM users WHERE id = ?`).bind(userId).first();
  if (!user) throw new CapstanError("not_found", `user "${userId}" not found`);
  const now = Date.now();
  const [inserted] = await env.DB.batch([
    env.DB.prepare(`INSERT INTO project_members (project_id, user_id, role, added_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`).bind(projectId, userId, role, now),
    auditIfChanged(env, who, projectId, "member.added", { member: userId, role }),
  ]);
  if (inserted!.meta.changes !== 1) throw new CapstanError("conflict", `user "${userId}" is already a member of this project`);
  return { projectId, userId, role, addedAt: new Date(now).toISOString() };
}
