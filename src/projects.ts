// Projects and membership in D1. A project the caller is not a member of does not exist for
// them: "not found", never "forbidden", so there is no existence oracle.
import { CapstanError } from "../core/errors";
import { mintProjectId } from "./auth/ids";
import type { Principal } from "./auth/principal";

export type ProjectInfo = { id: string; name: string; role: string; createdAt: string };

export async function createProject(env: Env, who: Principal, name: string): Promise<ProjectInfo> {
  const id = mintProjectId();
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO projects (id, name, owner_id, created_at) VALUES (?, ?, ?, ?)`).bind(id, name, who.userId, now),
    env.DB.prepare(`INSERT INTO project_members (project_id, user_id, role, added_at) VALUES (?, ?, 'owner', ?)`).bind(id, who.userId, now),
  ]);
  return { id, name, role: "owner", createdAt: new Date(now).toISOString() };
}

export async function listProjects(env: Env, who: Principal): Promise<ProjectInfo[]> {
  const { results } = await env.DB.prepare(
    `SELECT p.id, p.name, m.role, p.created_at FROM projects p JOIN project_members m ON m.project_id = p.id
     WHERE m.user_id = ? ORDER BY p.created_at, p.id`,
  )
    .bind(who.userId)
    .all<{ id: string; name: string; role: string; created_at: number }>();
  return results.map((r) => ({ id: r.id, name: r.name, role: r.role, createdAt: new Date(r.created_at).toISOString() }));
}

export async function requireMember(env: Env, who: Principal, projectId: string): Promise<ProjectInfo> {
  const r = await env.DB.prepare(
    `SELECT p.id, p.name, m.role, p.created_at FROM projects p JOIN project_members m ON m.project_id = p.id
     WHERE p.id = ? AND m.user_id = ?`,
  )
    .bind(projectId, who.userId)
    .first<{ id: string; name: string; role: string; created_at: number }>();
  if (!r) throw new CapstanError("not_found", `project "${projectId}" not found`);
  return { id: r.id, name: r.name, role: r.role, createdAt: new Date(r.created_at).toISOString() };
}

export function actorFor(env: Env, projectId: string) {
  return env.PROJECT_ACTOR.get(env.PROJECT_ACTOR.idFromName(projectId));
}
