// The secret store: sealed rows in D1, keyed by project. Writes arrive from the stateless front
// door; plaintext is read back only by the EgressPipe. No function here returns a value to a
// caller outside the egress side.
import { CapstanError } from "../../core/errors";
import type { SecretBinding } from "../../core/host-binding";
import { openSecret, sealSecret } from "./crypto";
import { cachedRows, forgetProject, keepRows, type SealedRow } from "./sealed-cache";

export type SecretInfo = { name: string; hosts: SecretBinding[]; updatedAt: string };
export type OpenedSecret = { name: string; value: string; hosts: SecretBinding[] };

export async function putSecret(env: Env, projectId: string, name: string, value: string, hosts: SecretBinding[]): Promise<void> {
  const sealed = await sealSecret(env, projectId, name, value);
  await env.DB.prepare(
    `INSERT INTO secrets (project_id, name, sealed, hosts, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (project_id, name) DO UPDATE SET sealed = ?3, hosts = ?4, updated_at = ?5`,
  )
    .bind(projectId, name, sealed, JSON.stringify(hosts), Date.now())
    .run();
  forgetProject(projectId);
}

export async function listSecrets(env: Env, projectId: string): Promise<SecretInfo[]> {
  const { results } = await env.DB.prepare(`SELECT name, hosts, updated_at FROM secrets WHERE project_id = ? ORDER BY name`)
    .bind(projectId)
    .all<{ name: string; hosts: string; updated_at: number }>();
  return results.map((r) => ({ name: r.name, hosts: JSON.parse(r.hosts), updatedAt: new Date(r.updated_at).toISOString() }));
}

/** Returns whether a secret was there to delete. */
export async function deleteSecret(env: Env, projectId: string, name: string): Promise<boolean> {
  const r = await env.DB.prepare(`DELETE FROM secrets WHERE project_id = ? AND name = ?`).bind(projectId, name).run();
  forgetProject(projectId);
  return r.meta.changes > 0;
}

/**
 * Opens exactly the named secrets of one project; an unknown name is a typed refusal. Sealed rows
 * read in the last few seconds come from the isolate's cache (./sealed-cache.ts); every value is
 * decrypted here, per request.
 */
export async function openSecrets(env: Env, projectId: string, names: readonly string[]): Promise<Map<string, OpenedSecret>> {
  const opened = new Map<string, OpenedSecret>();
  if (names.length === 0) return opened;
  const { hit, miss } = cachedRows(projectId, names);
  const rows: SealedRow[] = [...hit];
  if (miss.length) {
    const { results } = await env.DB.prepare(
      `SELECT name, sealed, hosts FROM secrets WHERE project_id = ? AND name IN (SELECT value FROM json_each(?))`,
    )
      .bind(projectId, JSON.stringify(miss))
      .all<{ name: string; sealed: ArrayBuffer; hosts: string }>();
    const read = results.map((r) => ({ name: r.name, sealed: new Uint8Array(r.sealed), hosts: JSON.parse(r.hosts) as SecretBinding[] }));
    keepRows(projectId, read);
    rows.push(...read);
  }
  for (const r of rows) {
    const value = await openSecret(env, projectId, r.name, r.sealed);
    opened.set(r.name, { name: r.name, value, hosts: r.hosts });
  }
  for (const name of names) {
    if (!opened.has(name)) throw new CapstanError("secret_unknown", `secret "${name}" is not set in this project`);
  }
  return opened;
}
