// API keys: shown once at minting, stored only as a sha256 hash, found by hash lookup. A key acts
// exactly as its user, with no scopes of its own.
import { waitUntil } from "cloudflare:workers";
import { CapstanError } from "../../core/errors";
import { auditStatement, type AuditVia } from "./audit";
import { sha256Hex } from "./hash";
import { mintKeyId, mintKeySecret } from "./ids";

export type MintedKey = { id: string; name: string; prefix: string; key: string };
export type KeyInfo = {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revoked: boolean;
};

/** Live keys a user may hold at once: enough for any honest use, a ceiling for a runaway script. */
const MAX_LIVE_KEYS = 100;
/** lastUsedAt is a hint for people cleaning up keys; writing it more often than this buys nothing. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** A new key and the statement that stores its hash, so callers can batch it with other writes. */
export async function prepareApiKey(env: Env, userId: string, name: string, expiresAt?: number): Promise<{ minted: MintedKey; insert: D1PreparedStatement }> {
  const key = mintKeySecret();
  const id = mintKeyId();
  const prefix = key.slice(0, 12);
  const insert = env.DB.prepare(
    `INSERT INTO api_keys (id, user_id, name, prefix, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).bind(id, userId, name, prefix, await sha256Hex(key), Date.now(), expiresAt ?? null);
  return { minted: { id, name, prefix, key }, insert };
}

/** Mints a key for `userId` (always the caller: the route never takes an owner from the body). */
export async function mintApiKey(env: Env, userId: string, name: string, expiresAt: number | undefined, via: AuditVia): Promise<MintedKey> {
  const live = await env.DB.prepare(
    `SELECT COUNT(*) AS n FROM api_keys WHERE user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`,
  )
    .bind(userId, Date.now())
    .first<{ n: number }>();
  if ((live?.n ?? 0) >= MAX_LIVE_KEYS) throw new CapstanError("conflict", `a user may hold at most ${MAX_LIVE_KEYS} live keys; revoke one first`);
  const { minted, insert } = await prepareApiKey(env, userId, name, expiresAt);
  await env.DB.batch([insert, auditStatement(env, { event: "key.minted", userId, keyId: minted.id, via, detail: { name } })]);
  return minted;
}

export async function listApiKeys(env: Env, userId: string): Promise<KeyInfo[]> {
  const { results } = await env.DB.prepare(
    `SELECT id, name, prefix, created_at, expires_at, last_used_at, revoked_at FROM api_keys WHERE user_id = ? ORDER BY created_at, id`,
  )
    .bind(userId)
    .all<{ id: string; name: string; prefix: string; created_at: number; expires_at: number | null; last_used_at: number | null; revoked_at: number | null }>();
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return results.map((r) => ({
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    createdAt: iso(r.created_at)!,
    expiresAt: iso(r.expires_at),
    lastUsedAt: iso(r.last_used_at),
    revoked: r.revoked_at !== null,
  }));
}

/**
 * Revokes one of the caller's keys, and every browser session opened with it. Revoking a
 * revoked key is a no-op; another user's key is "not found", like a key that does not exist.
 */
export async function revokeApiKey(env: Env, userId: string, keyId: string, via: AuditVia): Promise<void> {
  const now = Date.now();
  const [revoked] = await env.DB.batch([
    env.DB.prepare(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`).bind(now, keyId, userId),
    env.DB.prepare(
      `UPDATE session_families SET revoked_at = ?, revoked_reason = 'key_revoked' WHERE key_id = ? AND revoked_at IS NULL
       AND EXISTS (SELECT 1 FROM api_keys WHERE id = ? AND user_id = ?)`,
    ).bind(now, keyId, keyId, userId),
    // Recorded only when this batch is the one that revoked it (its timestamp is ours).
    env.DB.prepare(
      `INSERT INTO auth_audit (at, event, outcome, user_id, key_id, via) SELECT ?, 'key.revoked', 'ok', ?, ?, ?
       WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = ? AND user_id = ? AND revoked_at = ?)`,
    ).bind(now, userId, keyId, via, keyId, userId, now),
  ]);
  if (revoked!.meta.changes === 1) return;
  const exists = await env.DB.prepare(`SELECT 1 AS one FROM api_keys WHERE id = ? AND user_id = ?`).bind(keyId, userId).first();
  if (!exists) throw new CapstanError("not_found", `key "${keyId}" not found`);
}

export type KeyCheck =
  | { ok: true; userId: string; keyId: string }
  | { ok: false; reason: "unknown_key" | "revoked_key" | "expired_key"; userId: string | null; keyId: string | null };

/** Who a presented key belongs to, or why it is refused. Notes the use, cheaply, when it succeeds. */
export async function checkApiKey(env: Env, key: string): Promise<KeyCheck> {
  const row = await env.DB.prepare(`SELECT id, user_id, expires_at, revoked_at, last_used_at FROM api_keys WHERE hash = ?`)
    .bind(await sha256Hex(key))
    .first<{ id: string; user_id: string; expires_at: number | null; revoked_at: number | null; last_used_at: number | null }>();
  if (!row) return { ok: false, reason: "unknown_key", userId: null, keyId: null };
  const now = Date.now();
  if (row.revoked_at !== null) return { ok: false, reason: "revoked_key", userId: row.user_id, keyId: row.id };
  if (row.expires_at !== null && row.expires_at <= now) return { ok: false, reason: "expired_key", userId: row.user_id, keyId: row.id };
  if (row.last_used_at === null || row.last_used_at <= now - LAST_USED_RESOLUTION_MS) {
    // The condition makes concurrent requests (in any isolate) write at most once per window.
    const cutoff = now - LAST_USED_RESOLUTION_MS;
    waitUntil(
      env.DB.prepare(`UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`)
        .bind(now, row.id, cutoff)
        .run()
        .catch((err: unknown) => console.error("recording a key's last use failed", err instanceof Error ? err.message : String(err))),
    );
  }
  return { ok: true, userId: row.user_id, keyId: row.id };
}
