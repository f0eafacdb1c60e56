// Which projects a principal reaches. An API key reaches its user's D1 memberships, looked up on
// each use. A token reaches exactly what its claims grant: its issuer decided that when it minted
// it, and no lookup is made per request (a token too large to list its grants says so, and only
// then is membership looked up). Anything else does not exist for the caller.
import { audit, auditStatement } from "./audit";
import type { Role } from "./grants";
import { viaOf, type Principal } from "./principal-types";

export type ProjectRow = { id: string; name: string; role: Role; created_at: number };

export async function projectFor(env: Env, who: Principal, projectId: string): Promise<ProjectRow | null> {
  if (who.kind === "token" && who.grants) {
    const role = who.grants.get(projectId);
    if (!role) return null;
    // The grant decides; this read only fetches the project's name and creation time.
    const p = await env.DB.prepare(`SELECT id, name, created_at FROM projects WHERE id = ?`).bind(projectId).first<Omit<ProjectRow, "role">>();
    return p ? { ...p, role } : null;
  }
  return env.DB.prepare(
    `SELECT p.id, p.name, m.role, p.created_at FROM projects p JOIN project_members m ON m.project_id = p.id WHERE p.id = ? AND m.user_id = ?`,
  )
    .bind(projectId, who.userId)
    .first<ProjectRow>();
}

export async function projectsFor(env: Env, who: Principal): Promise<ProjectRow[]> {
  if (who.kind === "token" && who.grants) {
    const ids = [...who.grants.keys()];
    if (ids.length === 0) return [];
    const { results } = await env.DB.prepare(
      `SELECT id, name, created_at FROM projects WHERE id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id`,
    )
      .bind(JSON.stringify(ids))
      .all<Omit<ProjectRow, "role">>();
    return results.map((p) => ({ ...p, role: who.grants!.get(p.id)! }));
  }
  const { results } = await env.DB.prepare(
    `SELECT p.id, p.name, m.role, p.created_at FROM projects p JOIN project_members m ON m.project_id = p.id
     WHERE m.user_id = ? ORDER BY p.created_at, p.id`,
  )
    .bind(who.userId)
    .all<ProjectRow>();
  return results;
}

/** The writes that create a project owned by `who`, audited, for one batch. */
export function createProjectStatements(env: Env, who: Principal, projectId: string, name: string, now: number): D1PreparedStatement[] {
  return [
    // A user vouched for by an external issuer may not have a row yet; ours always do.
    env.DB.prepare(`INSERT INTO users (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`).bind(who.userId, now),
    env.DB.prepare(`INSERT INTO projects (id, name, owner_id, created_at) VALUES (?, ?, ?, ?)`).bind(projectId, name, who.userId, now),
    env.DB.prepare(`INSERT INTO project_members (project_id, user_id, role, added_at) VALUES (?, ?, 'owner', ?)`).bind(projectId, who.userId, now),
    auditStatement(env, { event: "project.created", userId: who.userId, projectId, via: viaOf(who), keyId: who.kind === "api_key" ? who.keyId : null }),
  ];
}

/**
 * A token's grants are a snapshot; the project its holder just created is added to this
 * principal's copy, so the same session (a capnweb connection, say) can go on to use it.
 */
export function grantCreated(who: Principal, projectId: string): void {
  if (who.kind === "token" && who.grants) who.grants.set(projectId, "owner");
}

/** Records a refused reach into a project: the caller sees "not found", the audit sees why. */
export function auditProjectRefused(env: Env, who: Principal, projectId: string, reason = "not_a_member"): Promise<void> {
  return audit(env, {
    event: "project.refused",
    reason,
    userId: who.userId,
    projectId,
    via: viaOf(who),
    keyId: who.kind === "api_key" ? who.keyId : null,
  });
}
