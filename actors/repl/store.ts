// REPL sessions in the actor: who owns each, the history of its lines (SQLite), and the
// bindings carried from line to line (the storage API, which keeps structured-cloned values).
import { CapstanError } from "../../core/errors";
import type { Carried } from "../../isolates/loaded/repl-transform";

export const REPL_SCHEMA = [
  `CREATE TABLE repl_sessions (
     id TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_used_at INTEGER NOT NULL
   )`,
  `CREATE TABLE repl_history (
     session_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     at INTEGER NOT NULL,
     code TEXT NOT NULL,
     outcome TEXT NOT NULL,
     display TEXT,
     error_name TEXT,
     error_message TEXT,
     duration_ms REAL NOT NULL,
     PRIMARY KEY (session_id, seq)
   )`,
];

export type HistoryEntry = {
  seq: number;
  at: string;
  code: string;
  outcome: "ok" | "error";
  value?: string;
  error?: { name: string; message: string };
  durationMs: number;
};

/** A stored binding: carried by value (with the value) or by source. */
export type StoredBinding = Carried & { value?: unknown; seq: number };

const DISPLAY_MAX = 16 * 1024;

/** Opens or resumes a session; a session belongs to the user who opened it. */
export function openSession(sql: SqlStorage, id: string, owner: string): void {
  const row = sql.exec<{ owner: string }>(`SELECT owner FROM repl_sessions WHERE id = ?`, id).toArray()[0];
  if (row && row.owner !== owner) throw new CapstanError("not_found", `no REPL session "${id}" in this project`);
  if (row) sql.exec(`UPDATE repl_sessions SET last_used_at = ? WHERE id = ?`, Date.now(), id);
  else sql.exec(`INSERT INTO repl_sessions (id, owner, created_at, last_used_at) VALUES (?, ?, ?, ?)`, id, owner, Date.now(), Date.now());
}

export function appendHistory(sql: SqlStorage, sessionId: string, e: Omit<HistoryEntry, "seq" | "at">): number {
  const next = (sql.exec<{ n: number | null }>(`SELECT MAX(seq) AS n FROM repl_history WHERE session_id = ?`, sessionId).toArray()[0]?.n ?? 0) + 1;
  sql.exec(
    `INSERT INTO repl_history (session_id, seq, at, code, outcome, display, error_name, error_message, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    sessionId, next, Date.now(), e.code, e.outcome, e.value?.slice(0, DISPLAY_MAX) ?? null, e.error?.name ?? null, e.error?.message ?? null, e.durationMs,
  );
  return next;
}

export function readHistory(sql: SqlStorage, sessionId: string): HistoryEntry[] {
  type Row = { seq: number; at: number; code: string; outcome: "ok" | "error"; display: string | null; error_name: string | null; error_message: string | null; duration_ms: number };
  return sql
    .exec<Row>(`SELECT * FROM repl_history WHERE session_id = ? ORDER BY seq`, sessionId)
    .toArray()
    .map((r) => ({
      seq: r.seq,
      at: new Date(r.at).toISOString(),
      code: r.code,
      outcome: r.outcome,
      ...(r.display !== null ? { value: r.display } : {}),
      ...(r.error_name !== null ? { error: { name: r.error_name, message: r.error_message ?? "" } } : {}),
      durationMs: r.duration_ms,
    }));
}

const prefix = (sessionId: string) => `repl:${sessionId}:`;

export async function loadBindings(storage: DurableObjectStorage, sessionId: string): Promise<StoredBinding[]> {
  const map = await storage.list<StoredBinding>({ prefix: prefix(sessionId) });
  return [...map.values()].sort((a, b) => a.seq - b.seq);
}

/** The storage API takes at most 128 keys per call. */
function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += 128) out.push(items.slice(i, i + 128));
  return out;
}

export async function saveBindings(storage: DurableObjectStorage, sessionId: string, put: StoredBinding[], drop: string[]): Promise<void> {
  for (const part of chunks(drop)) await storage.delete(part.map((n) => prefix(sessionId) + n));
  for (const part of chunks(put)) await storage.put(Object.fromEntries(part.map((b) => [prefix(sessionId) + b.name, b])));
}

export async function forgetSession(storage: DurableObjectStorage, sql: SqlStorage, sessionId: string): Promise<void> {
  const keys = [...(await storage.list({ prefix: prefix(sessionId) })).keys()];
  for (const part of chunks(keys)) await storage.delete(part);
  sql.exec(`DELETE FROM repl_sessions WHERE id = ?`, sessionId);
}
