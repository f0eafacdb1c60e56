// A short-lived cache of sealed secret rows, so that a request does not pay a D1 read for secrets
// it used a moment ago. It holds ciphertext only: a value is decrypted per request, as before,
// and plaintext is never kept between requests. Keyed by project; a write or delete through this
// isolate drops the project's entry at once, and the TTL bounds how long another isolate (a
// deployment runs many) can keep using a row after it changed elsewhere.
import type { SecretBinding } from "../../core/host-binding";

export type SealedRow = { name: string; sealed: Uint8Array; hosts: SecretBinding[] };

/** How long a sealed row may be reused after it was read. */
export const SEALED_TTL_MS = 5_000;
/** Projects kept at once; the least recently filled goes first. */
const MAX_PROJECTS = 512;

const byProject = new Map<string, { expires: number; rows: Map<string, SealedRow> }>();

/** The cached rows among `names`; the rest must be read. */
export function cachedRows(projectId: string, names: readonly string[], now = Date.now()): { hit: SealedRow[]; miss: string[] } {
  const entry = byProject.get(projectId);
  if (entry && entry.expires <= now) byProject.delete(projectId);
  const rows = entry && entry.expires > now ? entry.rows : undefined;
  const hit: SealedRow[] = [];
  const miss: string[] = [];
  for (const name of names) {
    const row = rows?.get(name);
    if (row) hit.push(row);
    else miss.push(name);
  }
  return { hit, miss };
}

/** Keeps rows just read from D1; they expire together with the project's entry. */
export function keepRows(projectId: string, rows: readonly SealedRow[], now = Date.now()): void {
  if (rows.length === 0) return;
  let entry = byProject.get(projectId);
  if (!entry || entry.expires <= now) {
    byProject.delete(projectId);
    entry = { expires: now + SEALED_TTL_MS, rows: new Map() };
    byProject.set(projectId, entry);
    if (byProject.size > MAX_PROJECTS) byProject.delete(byProject.keys().next().value!);
  }
  for (const r of rows) entry.rows.set(r.name, r);
}

/** Called after every write or delete of a project's secrets. */
export function forgetProject(projectId: string): void {
  byProject.delete(projectId);
}
