// API keys: shown once at minting, stored only as a sha256 hash, found by hash lookup.
import { mintKeyId, mintKeySecret } from "./ids";
import { sha256Hex } from "./hash";

export type MintedKey = { id: string; name: string; prefix: string; key: string };

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

/** The user a key belongs to, or null for an unknown, revoked or expired key. */
export async function userForApiKey(env: Env, key: string): Promise<string | null> {
  const row = await env.DB.prepare(`SELECT id, user_id, expires_at, revoked_at FROM api_keys WHERE hash = ?`)
    .bind(await sha256Hex(key))
    .first<{ id: string; user_id: string; expires_at: number | null; revoked_at: number | null }>();
  if (!row || row.revoked_at !== null) return null;
  if (row.expires_at !== null && row.expires_at <= Date.now()) return null;
  return row.user_id;
}
