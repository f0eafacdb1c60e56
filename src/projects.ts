// Projects and membership in D1. A project the caller is not a member of does not exist for
// them: "not found", never "forbidden", so there is no existence oracle.
import { CapstanError } from "../core/errors";
import { mintProjectId } from "./auth/ids";
import { auditProjectRefused, createProjectStatements, grantCreated, projectFor, projectsFor } from "./auth/access";
import type { Principal } from "./auth/principal";

export type ProjectInfo = { id: string; name: string; role: string; createdAt: string };

export async function createProject(env: Env, who: Principal, name: string): Promise<ProjectInfo> {
  const id = mintProjectId();
  const now = Date.now();
  await env.DB.batch(createProjectStatements(env, who, id, name, now));
  grantCreated(who, id);
  return { id, name, role: "owner", createdAt: new Date(now).toISOString() };
}

export async function listProjects(env: Env, who: Principal): Promise<ProjectInfo[]> {
  const rows = await projectsFor(env, who);
  return rows.map((r) => ({ id: r.id, name: r.name, role: r.role, createdAt: new Date(r.created_at).toISOString() }));
}

/** The project if `who` may reach it (see src/auth/access.ts for how claims and keys differ). */
export async function requireMember(env: Env, who: Principal, projectId: string): Promise<ProjectInfo> {
  const r = await projectFor(env, who, projectId);
  if (!r) {
    await auditProjectRefused(env, who, projectId);
    throw new CapstanError("not_found", `project "${projectId}" not found`);
  }
  return { id: r.id, name: r.name, role: r.role, createdAt: new Date(r.created_at).toISOString() };
}

export function actorFor(env: Env, projectId: string) {
  return env.PROJECT_ACTOR.get(env.PROJECT_ACTOR.idFromName(projectId));
}
