// Source capabilities as rows in the actor's SQLite: the module text, its content hash (the
// loader's cache key), its exported methods and a version bumped on every redefinition.

export type SourceCapability = {
  name: string;
  description: string;
  source: string;
  hash: string;
  methods: string[];
  version: number;
};

export const SOURCE_SCHEMA = [
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

type Row = { name: string; description: string; source: string; hash: string; methods: string; version: number };

export function getSource(sql: SqlStorage, name: string): SourceCapability | null {
  const r = sql.exec<Row>(`SELECT name, description, source, hash, methods, version FROM source_capabilities WHERE name = ?`, name).toArray()[0];
  return r ? { ...r, methods: JSON.parse(r.methods) } : null;
}

export function listSources(sql: SqlStorage): Omit<SourceCapability, "source">[] {
  return sql
    .exec<Omit<Row, "source">>(`SELECT name, description, hash, methods, version FROM source_capabilities ORDER BY name`)
    .toArray()
    .map((r) => ({ ...r, methods: JSON.parse(r.methods) }));
}

/** Stores a definition; returns its version (1 for a new name, previous + 1 otherwise). */
export function putSource(sql: SqlStorage, def: Omit<SourceCapability, "version">): number {
  const previous = sql.exec<{ version: number }>(`SELECT version FROM source_capabilities WHERE name = ?`, def.name).toArray()[0];
  const version = (previous?.version ?? 0) + 1;
  sql.exec(
    `INSERT OR REPLACE INTO source_capabilities (name, description, source, hash, methods, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    def.name, def.description, def.source, def.hash, JSON.stringify(def.methods), version, Date.now(),
  );
  return version;
}

export function deleteSource(sql: SqlStorage, name: string): boolean {
  return sql.exec(`DELETE FROM source_capabilities WHERE name = ?`, name).rowsWritten > 0;
}
