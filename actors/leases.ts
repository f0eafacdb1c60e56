// Resolution leases: the actor lends the front door the resolution of one capability, so that a
// call whose answer needs nothing of the actor's (a pure built-in, a source capability that runs
// in its own loaded isolate) does not cross into the actor and back. The actor stays the only
// one who resolves: a lease is its answer, good until it revokes it or the lease expires, and
// every leased call is still audited here (see auditBatch in project-actor.ts).
//
// A change to a capability's resolution (a definition, a removal, a shadow) completes only after
// every lease on that capability is revoked: each holder has acknowledged, or its lease has run
// out. Leases outlive an actor restart only until they expire, so after a restart a change waits
// out the leases an earlier incarnation granted, as recorded in `lease_horizon`.
import type { EgressPolicy } from "../core/egress-policy";
import type { CapabilityKind } from "./dispatch-types";

/** How long a lease is good for, counted by the holder from the moment it asked. */
export const LEASE_TTL_MS = 10_000;
/** How long a holder gets to acknowledge a revocation before its lease is waited out instead. */
const REVOKE_ACK_MS = 2_000;

export const LEASES_SCHEMA = [`CREATE TABLE lease_horizon (id INTEGER PRIMARY KEY CHECK (id = 1), until INTEGER NOT NULL)`];

/** What a lease lets the front door run by itself. */
export type LeasedResolution =
  | { kind: Extract<CapabilityKind, "builtin">; capability: string; policy?: EgressPolicy }
  | { kind: Extract<CapabilityKind, "source">; capability: string; hash: string; source: string; methods: string[] };

export type LeaseGrant = { capability: string; incarnation: string; version: number; ttlMs: number; resolution: LeasedResolution };

/** The front door's side of a lease, called back over Workers RPC. */
export interface LeaseHolder {
  revoke(capability: string, incarnation: string, version: number): void | Promise<void>;
  dup?(): LeaseHolder;
  [Symbol.dispose]?(): void;
}

type Held = { holder: LeaseHolder; grantedAt: number };

export class Leases {
  readonly incarnation = crypto.randomUUID();
  #version = 0;
  readonly #byCapability = new Map<string, Map<string, Held>>();
  /** Leases granted before this incarnation started are good until then. */
  readonly #priorUntil: number;
  #horizonWritten = 0;

  constructor(private sql: SqlStorage) {
    this.#priorUntil = sql.exec<{ until: number }>(`SELECT until FROM lease_horizon WHERE id = 1`).toArray()[0]?.until ?? 0;
  }

  grant(holderId: string, holder: LeaseHolder, resolution: LeasedResolution): LeaseGrant {
    const now = Date.now();
    const capability = resolution.capability;
    let held = this.#byCapability.get(capability);
    if (!held) this.#byCapability.set(capability, (held = new Map()));
    // A stub received as an argument is released when the call returns unless it is duplicated.
    const kept = holder.dup ? holder.dup() : holder;
    held.get(holderId)?.holder[Symbol.dispose]?.();
    held.set(holderId, { holder: kept, grantedAt: now });
    this.#prune(now);
    // What a later incarnation must wait out. It is written ahead by half a lease, so that
    // renewals cost a SQLite commit at most every LEASE_TTL_MS / 2 rather than one each (a
    // commit costs more than the calls a lease saves); a change right after a restart may so
    // wait up to 1.5 × LEASE_TTL_MS.
    if (this.#horizonWritten < now + LEASE_TTL_MS) {
      this.#horizonWritten = now + LEASE_TTL_MS * 1.5;
      this.sql.exec(`INSERT OR REPLACE INTO lease_horizon (id, until) VALUES (1, ?)`, this.#horizonWritten);
    }
    return { capability, incarnation: this.incarnation, version: this.#version, ttlMs: LEASE_TTL_MS, resolution };
  }

  /**
   * Revokes every lease on `capability`; resolves once none can still be used. Call it after the
   * change is made, so that a lease asked for meanwhile already sees the change.
   */
  async revoke(capability: string): Promise<void> {
    const version = ++this.#version;
    const held = this.#byCapability.get(capability);
    this.#byCapability.delete(capability);
    const waits: Promise<void>[] = [];
    for (const { holder, grantedAt } of held?.values() ?? []) {
      waits.push(
        answered(holder.revoke(capability, this.incarnation, version))
          .then((ok) => (ok ? undefined : until(grantedAt + LEASE_TTL_MS)))
          .finally(() => holder[Symbol.dispose]?.()),
      );
    }
    waits.push(until(this.#priorUntil));
    await Promise.all(waits);
  }

  #prune(now: number): void {
    for (const [capability, held] of this.#byCapability) {
      for (const [id, h] of held) {
        if (h.grantedAt + LEASE_TTL_MS < now) {
          h.holder[Symbol.dispose]?.();
          held.delete(id);
        }
      }
      if (held.size === 0) this.#byCapability.delete(capability);
    }
  }
}

/**
 * Whether the holder answered in time. A failed call counts as an answer: it means the holder's
 * side is gone (its session or isolate ended), and its lease went with it.
 */
async function answered(call: void | Promise<void>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), REVOKE_ACK_MS)));
  try {
    return await Promise.race([Promise.resolve(call).then(() => true, () => false), late]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function until(at: number): Promise<void> {
  const ms = at - Date.now();
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
