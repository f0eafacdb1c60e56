// Streams in the actor's SQLite. Offsets start at 1 and are dense per stream: an append moves
// the stream's head and writes the events in one transaction, and the actor runs one call's
// synchronous code at a time, so no two appends can take the same offset.
import type { Encoded } from "./args";

export const STREAMS_SCHEMA = [
  `CREATE TABLE stream_heads (
     stream TEXT PRIMARY KEY,
     last INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   )`,
  `CREATE TABLE stream_events (
     stream TEXT NOT NULL,
     seq INTEGER NOT NULL,
     at INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     event TEXT NOT NULL,
     PRIMARY KEY (stream, seq)
   )`,
  `CREATE TABLE stream_idempotency (
     stream TEXT NOT NULL,
     key TEXT NOT NULL,
     first INTEGER NOT NULL,
     last INTEGER NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (stream, key)
   )`,
];

export type StoredEvent = { offset: number; event: unknown; at: string };
export type Appended = { first: number; last: number; replayed: boolean };

export function lastOffset(sql: SqlStorage, stream: string): number {
  return sql.exec<{ last: number }>(`SELECT last FROM stream_heads WHERE stream = ?`, stream).toArray()[0]?.last ?? 0;
}

/**
 * Appends all of `events` or none. With a key already used on this stream, writes nothing and
 * returns the offsets the first call got.
 */
export function appendEvents(storage: DurableObjectStorage, stream: string, events: Encoded[], key?: string): Appended {
  return storage.transactionSync(() => {
    const sql = storage.sql;
    if (key !== undefined) {
      const prior = sql
        .exec<{ first: number; last: number }>(`SELECT first, last FROM stream_idempotency WHERE stream = ? AND key = ?`, stream, key)
        .toArray()[0];
      if (prior) return { first: prior.first, last: prior.last, replayed: true };
    }
    const at = Date.now();
    // The head moves first, in the statement that reads it, so an append costs one statement
    // for its offsets (the transaction keeps the events and the head together either way).
    const last = sql
      .exec<{ last: number }>(
        `INSERT INTO stream_heads (stream, last, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (stream) DO UPDATE SET last = last + ?2, updated_at = ?3
         RETURNING last`,
        stream, events.length, at,
      )
      .one().last;
    const first = last - events.length + 1;
    events.forEach((e, i) => {
      sql.exec(`INSERT INTO stream_events (stream, seq, at, bytes, event) VALUES (?, ?, ?, ?, ?)`, stream, first + i, at, e.bytes, e.text);
    });
    if (key !== undefined) {
      sql.exec(`INSERT INTO stream_idempotency (stream, key, first, last, at) VALUES (?, ?, ?, ?, ?)`, stream, key, first, last, at);
    }
    return { first, last, replayed: false };
  });
}

/**
 * Events after `after`, in order: at most `limit` of them and, past the first, no more than
 * `maxBytes` of JSON, so one page never holds more than the budget plus one event.
 */
export function readEvents(sql: SqlStorage, stream: string, after: number, limit: number, maxBytes: number): StoredEvent[] {
  const out: StoredEvent[] = [];
  let bytes = 0;
  // The cursor steps row by row, so stopping at the byte budget reads no further rows.
  const rows = sql.exec<{ seq: number; at: number; bytes: number; event: string }>(
    `SELECT seq, at, bytes, event FROM stream_events WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?`,
    stream, after, limit,
  );
  for (const r of rows) {
    if (out.length > 0 && bytes + r.bytes > maxBytes) break;
    bytes += r.bytes;
    out.push({ offset: r.seq, event: JSON.parse(r.event), at: new Date(r.at).toISOString() });
  }
  return out;
}
