// The project's egress policy, kept in the actor's SQLite as one JSON document: it is read on
// every fetch and written rarely, and it is always replaced whole, so a half-written policy
// cannot exist. No secret is ever part of it.
import { DEFAULT_POLICY, type EgressPolicy, type PolicyRule } from "../../core/egress-policy";

export const POLICY_SCHEMA = [`CREATE TABLE egress_policy (id INTEGER PRIMARY KEY CHECK (id = 1), doc TEXT NOT NULL, updated_at INTEGER NOT NULL)`];

export function readPolicy(sql: SqlStorage): EgressPolicy {
  const row = sql.exec<{ doc: string }>(`SELECT doc FROM egress_policy WHERE id = 1`).toArray()[0];
  return row ? { ...DEFAULT_POLICY, ...(JSON.parse(row.doc) as Partial<EgressPolicy>) } : DEFAULT_POLICY;
}

export function writePolicy(sql: SqlStorage, policy: EgressPolicy): EgressPolicy {
  sql.exec(`INSERT OR REPLACE INTO egress_policy (id, doc, updated_at) VALUES (1, ?, ?)`, JSON.stringify(policy), Date.now());
  return policy;
}

/** An "always" approval: its rule goes first, so it wins over the hold that parked the request. */
export function prependRule(sql: SqlStorage, rule: PolicyRule): EgressPolicy {
  const p = readPolicy(sql);
  const same = (r: PolicyRule) => JSON.stringify(r) === JSON.stringify(rule);
  return writePolicy(sql, { ...p, rules: [rule, ...p.rules.filter((r) => !same(r))].slice(0, 200) });
}
