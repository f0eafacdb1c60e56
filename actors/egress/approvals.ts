// Requests held for approval. A held request waits in the actor's memory (its promise is the
// caller's fetch) while its row here says what it is: method, host, path, the names of the
// secrets it uses, who asked. Never a value, never a body. Watchers (client sessions, bridged
// by the front door) hear of each new hold and each decision as it happens.
import { CapstanError } from "../../core/errors";

export const APPROVALS_SCHEMA = [
  `CREATE TABLE approvals (
     id TEXT PRIMARY KEY,
     requested_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     method TEXT NOT NULL,
     host TEXT NOT NULL,
     path TEXT NOT NULL,
     secrets TEXT NOT NULL,
     caller TEXT NOT NULL,
     state TEXT NOT NULL,
     decided_by TEXT,
     decided_at INTEGER
   )`,
  `CREATE INDEX approvals_state ON approvals (state, requested_at)`,
];

export type ApprovalState = "pending" | "approved" | "denied" | "timed_out" | "abandoned";
export type Approval = {
  id: string;
  requestedAt: string;
  expiresAt: string;
  method: string;
  host: string;
  path: string;
  secrets: string[];
  caller: string;
  state: ApprovalState;
  decidedBy: string | null;
  always?: boolean;
};
export type ApprovalEvent = { type: "held" | "decided"; approval: Approval };
/** A watcher as the actor reaches it: a Workers-RPC target in the front door. */
export type ApprovalWatcher = { notify(event: ApprovalEvent): Promise<void>; dup?: () => ApprovalWatcher; [Symbol.dispose]?: () => void };
export type HoldRequest = { method: string; host: string; path: string; secrets: string[]; caller: string };
const MAX_WATCHERS = 64;
/**
 * Requests one project may have waiting at once. Each holds a caller's call open in the actor's
 * memory, and untrusted code could otherwise park them without end.
 */
export const MAX_PENDING = 100;
/** Decided requests kept for the record; older ones are dropped as new ones are decided. */
const KEEP_DECIDED = 1000;
type Outcome = { state: "approved" | "denied" | "timed_out"; always: boolean };

type Row = {
  id: string; requested_at: number; expires_at: number; method: string; host: string; path: string;
  secrets: string; caller: string; state: string; decided_by: string | null;
};

function toApproval(r: Row): Approval {
  return {
    id: r.id,
    requestedAt: new Date(r.requested_at).toISOString(),
    expiresAt: new Date(r.expires_at).toISOString(),
    method: r.method,
    host: r.host,
    path: r.path,
    secrets: JSON.parse(r.secrets),
    caller: r.caller,
    state: r.state as ApprovalState,
    decidedBy: r.decided_by,
  };
}

function mintApprovalId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `apr_${btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

export class Approvals {
  readonly #waiting = new Map<string, (o: Outcome) => void>();
  readonly #watchers = new Map<string, ApprovalWatcher>();

  constructor(private sql: SqlStorage) {
    // A request held by an earlier incarnation of the actor has lost its caller: it is over.
    sql.exec(`UPDATE approvals SET state = 'abandoned', decided_at = ? WHERE state = 'pending'`, Date.now());
  }

  /** Refuses a new hold while MAX_PENDING are waiting; checked before anything about it is written. */
  assertRoom(): void {
    if (this.#waiting.size >= MAX_PENDING) {
      throw new CapstanError("limit_exceeded", `a project may have at most ${MAX_PENDING} requests held for approval at once; decide some first`);
    }
  }

  /** Parks a request until someone decides or the timeout denies it. */
  async hold(req: HoldRequest, timeoutMs: number): Promise<Outcome> {
    this.assertRoom();
    const id = mintApprovalId();
    const now = Date.now();
    this.sql.exec(
      `INSERT INTO approvals (id, requested_at, expires_at, method, host, path, secrets, caller, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
      id, now, now + timeoutMs, req.method, req.host, req.path, JSON.stringify(req.secrets), req.caller,
    );
    const outcome = new Promise<Outcome>((resolve) => this.#waiting.set(id, resolve));
    const timer = setTimeout(() => this.#settle(id, "timed_out", null, false), timeoutMs);
    this.#broadcast({ type: "held", approval: this.#get(id)! });
    try {
      return await outcome;
    } finally {
      clearTimeout(timer);
    }
  }

  pending(): Approval[] {
    return this.sql.exec<Row>(`SELECT * FROM approvals WHERE state = 'pending' ORDER BY requested_at`).toArray().map(toApproval);
  }

  /** Decides a pending request; anything else is a clear refusal, and nothing changes. */
  decide(id: string, state: "approved" | "denied", by: string, always: boolean): Approval {
    const row = this.#get(id);
    if (!row) throw new CapstanError("not_found", `no held request "${id}"`);
    if (row.state !== "pending" || !this.#waiting.has(id)) throw new CapstanError("conflict", `held request "${id}" is already ${row.state === "pending" ? "over" : row.state}`);
    return this.#settle(id, state, by, always)!;
  }

  watch(id: string, watcher: ApprovalWatcher): void {
    if (this.#watchers.size >= MAX_WATCHERS) {
      watcher[Symbol.dispose]?.();
      throw new CapstanError("limit_exceeded", `a project may have at most ${MAX_WATCHERS} approval watchers`);
    }
    this.#watchers.set(id, watcher);
  }

  unwatch(id: string): boolean {
    const w = this.#watchers.get(id);
    this.#watchers.delete(id);
    try {
      w?.[Symbol.dispose]?.();
    } catch {
      // A stub of a session that is gone may throw on release; it is released either way.
    }
    return Boolean(w);
  }

  #get(id: string): Approval | null {
    const r = this.sql.exec<Row>(`SELECT * FROM approvals WHERE id = ?`, id).toArray()[0];
    return r ? toApproval(r) : null;
  }

  #settle(id: string, state: Outcome["state"], by: string | null, always: boolean): Approval | null {
    const resolve = this.#waiting.get(id);
    if (!resolve) return null;
    this.#waiting.delete(id);
    this.sql.exec(`UPDATE approvals SET state = ?, decided_by = ?, decided_at = ? WHERE id = ?`, state, by, Date.now(), id);
    this.sql.exec(
      `DELETE FROM approvals WHERE state != 'pending' AND id NOT IN
         (SELECT id FROM approvals WHERE state != 'pending' ORDER BY requested_at DESC LIMIT ?)`,
      KEEP_DECIDED,
    );
    resolve({ state, always });
    const approval = { ...this.#get(id)!, always };
    this.#broadcast({ type: "decided", approval });
    return approval;
  }

  #broadcast(event: ApprovalEvent): void {
    for (const [id, w] of this.#watchers) {
      // A watcher that cannot be reached is dropped; the others still hear.
      w.notify(event).catch(() => this.unwatch(id));
    }
  }
}
