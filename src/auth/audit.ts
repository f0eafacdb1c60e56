// The auth audit in D1: what happened to identities and grants, and every refusal with its
// reason. Entries name ids (users, keys, sessions, projects, signing keys), never a presented
// secret or its hash; attacker-chosen strings (an unverified kid or iss) are cut short.
import { z } from "zod";

export type AuditVia = "api_key" | "token" | "session" | "service";

export type AuditEvent = {
  event:
    | "user.created"
    | "key.minted"
    | "key.revoked"
    | "token.minted"
    | "session.created"
    | "session.revoked"
    | "project.created"
    | "member.added"
    | "member.role_changed"
    | "member.removed"
    | "signing_key.created"
    | "signing_key.rotated"
    | "auth.refused"
    | "project.refused"
    | "session.refresh_refused";
  outcome?: "ok" | "refused";
  reason?: string;
  userId?: string | null;
  keyId?: string | null;
  projectId?: string | null;
  sessionId?: string | null;
  via?: AuditVia | null;
  ip?: string | null;
  detail?: Record<string, string | number | boolean | null>;
};

const MAX_TEXT = 120;
const cut = (s: string | null | undefined) => (s == null ? null : s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s);

/**
 * The insert for one event, so callers can batch it with the write it records. With
 * `ifPreviousChanged`, the row is written only if the statement just before it in the batch
 * changed a row (SQLite's changes()), so a refused write records nothing.
 */
export function auditStatement(env: Env, e: AuditEvent, opts: { ifPreviousChanged?: boolean } = {}): D1PreparedStatement {
  const detail = e.detail ? JSON.stringify(Object.fromEntries(Object.entries(e.detail).map(([k, v]) => [k, typeof v === "string" ? cut(v) : v]))) : null;
  return env.DB.prepare(
    `INSERT INTO auth_audit (at, event, outcome, reason, user_id, key_id, project_id, session_id, via, ip, detail)
     SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? ${opts.ifPreviousChanged ? "WHERE changes() > 0" : ""}`,
  ).bind(
    Date.now(),
    e.event,
    e.outcome ?? (e.event.endsWith("refused") ? "refused" : "ok"),
    cut(e.reason),
    cut(e.userId),
    cut(e.keyId),
    cut(e.projectId),
    cut(e.sessionId),
    e.via ?? null,
    cut(e.ip),
    detail,
  );
}

/** Records an event on its own. A failing audit write is logged and does not change the answer. */
export async function audit(env: Env, e: AuditEvent): Promise<void> {
  try {
    await auditStatement(env, e).run();
  } catch (err) {
    console.error("auth audit write failed", e.event, e.reason ?? "", err instanceof Error ? err.message : String(err));
  }
}

export const AuthAuditQuery = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  event: z.string().max(64).optional(),
  userId: z.string().max(128).optional(),
  projectId: z.string().max(128).optional(),
});

export type AuthAuditRow = {
  id: number;
  at: string;
  event: string;
  outcome: "ok" | "refused";
  reason: string | null;
  userId: string | null;
  keyId: string | null;
  projectId: string | null;
  sessionId: string | null;
  via: string | null;
  ip: string | null;
  detail: Record<string, unknown> | null;
};

/** Events oldest first, after a cursor (the last id seen). */
export async function readAudit(env: Env, q: z.infer<typeof AuthAuditQuery>): Promise<AuthAuditRow[]> {
  const where = ["id > ?"];
  const args: (string | number)[] = [q.after ?? 0];
  if (q.event) (where.push("event = ?"), args.push(q.event));
  if (q.userId) (where.push("user_id = ?"), args.push(q.userId));
  if (q.projectId) (where.push("project_id = ?"), args.push(q.projectId));
  const { results } = await env.DB.prepare(`SELECT * FROM auth_audit WHERE ${where.join(" AND ")} ORDER BY id LIMIT ?`)
    .bind(...args, q.limit ?? 100)
    .all<Record<string, string | number | null>>();
  return results.map((r) => ({
    id: r.id as number,
    at: new Date(r.at as number).toISOString(),
    event: r.event as string,
    outcome: r.outcome as "ok" | "refused",
    reason: r.reason as string | null,
    userId: r.user_id as string | null,
    keyId: r.key_id as string | null,
    projectId: r.project_id as string | null,
    sessionId: r.session_id as string | null,
    via: r.via as string | null,
    ip: r.ip as string | null,
    detail: r.detail ? (JSON.parse(r.detail as string) as Record<string, unknown>) : null,
  }));
}
