// What a principal may reach in which project. A token's grants are a snapshot taken when it was
// minted and travel in its claims; an API key's are read from D1 membership on each use.
import { z } from "zod";
import { MAX_PROJECT_CLAIMS } from "./config";

/**
 * owner: everything, including membership, egress policy and approvals. approver: a member who
 * may also approve or deny requests held by the egress policy. member: uses the project.
 */
export const Role = z.enum(["owner", "approver", "member"]);
export type Role = z.infer<typeof Role>;

/** Who may answer a request held for approval. */
export function canApprove(role: string): boolean {
  return role === "owner" || role === "approver";
}

/** Project id → role. */
export type Grants = Map<string, Role>;

/** A user's memberships, ready to be claims, or null when there are too many for a token to carry. */
export async function membershipClaims(env: Env, userId: string): Promise<Record<string, Role> | null> {
  const { results } = await env.DB.prepare(`SELECT project_id, role FROM project_members WHERE user_id = ? ORDER BY added_at, project_id LIMIT ?`)
    .bind(userId, MAX_PROJECT_CLAIMS + 1)
    .all<{ project_id: string; role: Role }>();
  if (results.length > MAX_PROJECT_CLAIMS) return null;
  return Object.fromEntries(results.map((r) => [r.project_id, r.role]));
}
