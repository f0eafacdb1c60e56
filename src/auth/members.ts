// Adding a member to a project: only an owner may. A caller who cannot reach the project at all
// gets "not found" (and the attempt is audited); a member who is not an owner knows it exists
// and gets "forbidden".
import { CapstanError } from "../../core/errors";
import { projectFor, auditProjectRefused } from "./access";
import type { Role } from "./grants";
import { viaOf, type Principal } from "./principal-types";

export type Member = { projectId: string; userId: string; role: Role; addedAt: string };

export async function addMember(env: Env, who: Principal, projectId: string, userId: string, role: Role): Promise<Member> {
  const project = await projectFor(env, who, projectId);
  if (!project) {
    await auditProjectRefused(env, who, projectId);
    throw new CapstanError("not_found", `project "${projectId}" not found`);
  }
  if (project.role !== "owner") {
    await auditProjectRefused(env, who, projectId, "not_an_owner");
    throw new CapstanError("forbidden", "only an owner of the project can add members");
  }
  const user = await env.DB.prepare(`SELECT 1 AS one FROM users WHERE id = ?`).bind(userId).first();
  if (!user) throw new CapstanError("not_found", `user "${userId}" not found`);
  const now = Date.now();
  const [inserted] = await env.DB.batch([
    env.DB.prepare(`INSERT INTO project_members (project_id, user_id, role, added_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`).bind(projectId, userId, role, now),
    // Recorded only when the insert above was this call's (the timestamp is ours).
    env.DB.prepare(
      `INSERT INTO auth_audit (at, event, outcome, user_id, key_id, project_id, via, detail)
       SELECT ?, 'member.added', 'ok', ?, ?, ?, ?, ?
       WHERE EXISTS (SELECT 1 FROM project_members WHERE project_id = ? AND user_id = ? AND added_at = ? AND role = ?)`,
    ).bind(now, who.userId, who.kind === "api_key" ? who.keyId : null, projectId, viaOf(who), JSON.stringify({ member: userId, role }), projectId, userId, now, role),
  ]);
  if (inserted!.meta.changes !== 1) throw new CapstanError("conflict", `user "${userId}" is already a member of this project`);
  return { projectId, userId, role, addedAt: new Date(now).toISOString() };
}
