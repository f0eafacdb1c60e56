// The actor's own SQLite schema, applied in order on construction. Append; never edit a step.
const STEPS: string[] = [
  `CREATE TABLE audit (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     capability TEXT NOT NULL,
     method TEXT NOT NULL,
     kind TEXT NOT NULL,
     caller TEXT NOT NULL,
     outcome TEXT NOT NULL,
     duration_ms REAL NOT NULL,
     error_code TEXT,
     egress_method TEXT,
     egress_host TEXT,
     egress_path TEXT,
     egress_status INTEGER,
     secrets TEXT
   )`,
  `CREATE TABLE source_capabilities (
     name TEXT PRIMARY KEY,
     description TEXT NOT NULL,
     source TEXT NOT NULL,
     hash TEXT NOT NULL,
     methods TEXT NOT NULL,
     version INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   )`,
];

export function migrate(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS _schema (version INTEGER NOT NULL)`);
  const row = sql.exec<{ version: number }>(`SELECT version FROM _schema`).toArray()[0];
  let version = row?.version ?? 0;
  if (!row) sql.exec(`INSERT INTO _schema (version) VALUES (0)`);
  for (; version < STEPS.length; version++) {
    sql.exec(STEPS[version]!);
    sql.exec(`UPDATE _schema SET version = ?`, version + 1);
  }
}
