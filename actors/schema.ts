// The actor's own SQLite schema. Each part of the actor owns a named list of steps, applied in
// order on construction and recorded per part, so parts can grow their tables independently.
// Append steps; never edit one that has shipped.

export function migrate(sql: SqlStorage, part: string, steps: readonly string[]): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS _schema_parts (part TEXT PRIMARY KEY, version INTEGER NOT NULL)`);
  const row = sql.exec<{ version: number }>(`SELECT version FROM _schema_parts WHERE part = ?`, part).toArray()[0];
  for (let version = row?.version ?? 0; version < steps.length; version++) {
    sql.exec(steps[version]!);
    sql.exec(`INSERT OR REPLACE INTO _schema_parts (part, version) VALUES (?, ?)`, part, version + 1);
  }
}
