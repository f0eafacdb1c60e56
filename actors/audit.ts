// The audit log: one row per dispatch, metadata only. Argument values never reach it; an
// egress contributes its method, host, path (no query), status, the names of secrets used, the
// policy decision, redirects followed and bytes out and in (bytes in are added when the
// response body has been read to its end, after the row is written).
import { describeArg } from "../core/arg-shapes";
import type { EgressMeta } from "../isolates/egress-pipe";
import type { Caller, CapabilityKind } from "./dispatch-types";

export const AUDIT_SCHEMA = [
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
     secrets TEXT,
     args TEXT NOT NULL DEFAULT '[]'
   )`,
  `CREATE INDEX audit_capability ON audit (capability, seq)`,
  `ALTER TABLE audit ADD COLUMN egress_decision TEXT`,
  `ALTER TABLE audit ADD COLUMN bytes_out INTEGER`,
  `ALTER TABLE audit ADD COLUMN bytes_in INTEGER`,
  `ALTER TABLE audit ADD COLUMN egress_redirects INTEGER`,
  `ALTER TABLE audit ADD COLUMN via TEXT NOT NULL DEFAULT 'actor'`,
];

export type EgressDecision = "allow" | "deny" | "hold" | "approved" | "denied" | "timed_out";
export type AuditedEgress = EgressMeta & { decision?: EgressDecision; bytesIn?: number };

export type AuditRow = {
  seq: number;
  at: string;
  capability: string;
  method: string;
  kind: CapabilityKind;
  caller: string;
  outcome: "ok" | "error";
  durationMs: number;
  errorCode: string | null;
  /** The arguments' shapes and sizes, never their content. */
  args: string[];
  /** Who ran the call: the actor, or the front door on a lease the actor lent it. */
  via: "actor" | "lease";
  egress: {
    method: string; host: string; path: string; status: number; secrets: string[];
    decision: EgressDecision | null; bytesOut: number | null; bytesIn: number | null; redirects: number | null;
  } | null;
};

export type AuditEntry = {
  capability: string;
  method: string;
  kind: CapabilityKind;
  caller: Caller;
  outcome: "ok" | "error";
  durationMs: number;
  errorCode?: string;
  args: unknown[];
  egress?: AuditedEgress;
  /** Already described by whoever ran the call (a leased call); else taken from `args`. */
  argShapes?: string[];
  /** When the call was made, if not now (a leased call, reported afterwards). */
  at?: number;
  via?: "actor" | "lease";
};

/** A call the front door ran on a lease, as it reports it: the argument shapes, never values. */
export type LeasedCallRecord = Omit<AuditEntry, "args" | "argShapes" | "at" | "via"> & { argShapes: string[]; at: number };

export function callerLabel(c: Caller): string {
  return `${c.kind}:${c.id}`;
}

/** Writes one row and returns its seq. */
export function writeAudit(sql: SqlStorage, e: AuditEntry): number {
  return sql.exec<{ seq: number }>(
    `INSERT INTO audit (at, capability, method, kind, caller, outcome, duration_ms, error_code,
                        egress_method, egress_host, egress_path, egress_status, secrets, args,
                        egress_decision, bytes_out, bytes_in, egress_redirects, via)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     RETURNING seq`,
    e.at ?? Date.now(),
    e.capability,
    e.method,
    e.kind,
    callerLabel(e.caller),
    e.outcome,
    e.durationMs,
    e.errorCode ?? null,
    e.egress?.method ?? null,
    e.egress?.host ?? null,
    e.egress?.path ?? null,
    e.egress?.status ?? null,
    e.egress ? JSON.stringify(e.egress.secrets) : null,
    JSON.stringify(e.argShapes ?? e.args.map(describeArg)),
    e.egress?.decision ?? null,
    e.egress?.bytesOut ?? null,
    e.egress?.bytesIn ?? null,
    e.egress?.redirects ?? null,
    e.via ?? "actor",
  ).one().seq;
}

export function recordBytesIn(sql: SqlStorage, seq: number, bytes: number): void {
  sql.exec(`UPDATE audit SET bytes_in = ? WHERE seq = ?`, bytes, seq);
}

type Raw = {
  seq: number; at: number; capability: string; method: string; kind: string; caller: string; outcome: string;
  duration_ms: number; error_code: string | null; egress_method: string | null; egress_host: string | null;
  egress_path: string | null; egress_status: number | null; secrets: string | null; args: string;
  egress_decision: string | null; bytes_out: number | null; bytes_in: number | null; egress_redirects: number | null;
  via: string;
};

export function readAudit(sql: SqlStorage, after: number, limit: number, capability?: string): AuditRow[] {
  const rows = capability
    ? sql.exec<Raw>(`SELECT * FROM audit WHERE seq > ? AND capability = ? ORDER BY seq LIMIT ?`, after, capability, limit)
    : sql.exec<Raw>(`SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit);
  return rows.toArray().map((r) => ({
    seq: r.seq,
    at: new Date(r.at).toISOString(),
    capability: r.capability,
    method: r.method,
    kind: r.kind as CapabilityKind,
    caller: r.caller,
    outcome: r.outcome as "ok" | "error",
    durationMs: r.duration_ms,
    errorCode: r.error_code,
    args: JSON.parse(r.args),
    via: r.via === "lease" ? "lease" : "actor",
    egress: r.egress_host
      ? {
          method: r.egress_method!, host: r.egress_host, path: r.egress_path!, status: r.egress_status ?? 0, secrets: JSON.parse(r.secrets ?? "[]"),
          decision: r.egress_decision as EgressDecision | null, bytesOut: r.bytes_out, bytesIn: r.bytes_in, redirects: r.egress_redirects,
        }
      : null,
  }));
}
