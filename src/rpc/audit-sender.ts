// Carries the audit rows of leased calls (see leased-calls.ts) to the actor. Each session's
// sender makes one auditBatch RPC at a time; the first row of a batch waits a while for company,
// and a batch that leaves also takes the rows that the project's other sessions in this isolate
// are holding, so that many sessions calling a little each still share actor hops.
// A session's own audit() read waits until its rows are in the log, whoever's batch took them.
// Each flush runs under waitUntil, so a session that ends does not cut its batch short.
//
// The wait is what the actor hop costs: one auditBatch RPC takes more of the isolate than the
// leased call whose row it carries, so rows that travel alone undo what the lease saved. It is
// LINGER_MIN_MS, and grows with the number of projects holding rows in this isolate, so that
// under fan-out (many projects, a few calls each per wait) the isolate still sends about
// BATCHES_PER_SECOND batches in all, up to LINGER_MAX_MS. The cost of a longer wait is a later
// audit log for readers on other sessions, and more rows lost if the isolate dies while holding
// them (docs/security.md#resolution-leases).
import type { LeasedCallRecord } from "../../actors/audit";

type Actor = DurableObjectStub<import("../../actors/project-actor").ProjectActor>;

type Item = { record: LeasedCallRecord; owner: AuditSender; figure?: number; figureSent?: boolean; seq?: number };

const MAX_BATCH = 500;
/** How long a row may wait for others before its batch leaves, with one project holding rows. */
export const LINGER_MIN_MS = 50;
/** The longest it may wait, however many projects hold rows. */
export const LINGER_MAX_MS = 1000;
/** The isolate's budget of audit batches, shared by the projects holding rows. */
const BATCHES_PER_SECOND = 100;

/** How long the batch starting now may linger, given how many projects hold rows here. */
export function lingerMs(projectsHolding: number): number {
  return Math.min(LINGER_MAX_MS, Math.max(LINGER_MIN_MS, (projectsHolding * 1000) / BATCHES_PER_SECOND));
}
const ATTEMPTS = 3;

/** Per project, the senders in this isolate that hold rows not yet on their way. */
const holding = new Map<string, Set<AuditSender>>();
/** Per project, when (Date.now()) the rows it holds leave, whichever sender takes them. */
const departures = new Map<string, number>();

export class AuditSender {
  #queue: Item[] = [];
  /** How many of the first rows in #queue are in this sender's batch on the wire. */
  #inFlight = 0;
  /** This sender's rows riding in another sender's batch, and who waits for them to land. */
  #elsewhere = 0;
  #landed: (() => void)[] = [];
  /** Bytes-in figures for rows already in the log, by their sequence number. */
  #bytesIn: [number, number][] = [];
  #sending: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  /** Readers waiting on flushed(): while there are any, batches leave without lingering. */
  #flushing = 0;

  constructor(
    private projectId: string,
    private actor: () => Actor,
    private forgetActor: () => void,
    private ctx: ExecutionContext,
  ) {}

  /**
   * Queues a leased call's row. `bytesIn` settles when a fetched body has been read to its end;
   * the figure rides in the row if it has settled by the time the row leaves, else follows it.
   */
  add(record: LeasedCallRecord, bytesIn?: Promise<number>): void {
    const item: Item = { record, owner: this };
    this.#queue.push(item);
    this.#hold(true);
    void bytesIn?.then((n) => {
      item.figure = n;
      if (item.seq !== undefined && !item.figureSent) {
        item.figureSent = true;
        this.#bytesIn.push([item.seq, n]);
        this.#start();
      }
    });
    if (this.#queue.length >= MAX_BATCH) this.#wake?.();
    this.#start();
  }

  /** Resolves when every row added so far is in the actor's audit log (or was given up on). */
  async flushed(): Promise<void> {
    this.#flushing++;
    try {
      this.#wake?.();
      while (this.#sending || this.#elsewhere) {
        if (this.#sending) await this.#sending;
        else await new Promise<void>((resolve) => this.#landed.push(resolve));
      }
    } finally {
      this.#flushing--;
    }
  }

  #start(): void {
    if (this.#sending) return;
    this.#sending = this.#drain().finally(() => {
      this.#sending = null;
      // Work that arrived as the drain was ending (a bytes-in figure settling) starts the next.
      if (this.#queue.length || this.#bytesIn.length) this.#start();
    });
    this.ctx.waitUntil(this.#sending);
  }

  /** Whether this sender is listed as holding rows others may take. */
  #hold(on: boolean): void {
    let set = holding.get(this.projectId);
    if (on) {
      if (!set) holding.set(this.projectId, (set = new Set()));
      set.add(this);
    } else if (set) {
      set.delete(this);
      if (set.size === 0) {
        holding.delete(this.projectId);
        departures.delete(this.projectId);
      }
    }
  }

  /** The rows of the project's other senders that are not already on the wire. */
  #takeFromOthers(room: number): Item[] {
    const taken: Item[] = [];
    for (const other of holding.get(this.projectId) ?? []) {
      if (other === this || taken.length >= room) continue;
      const items = other.#queue.splice(other.#inFlight, room - taken.length);
      if (!items.length) continue;
      // A row another sender already carries for its owner is counted there once.
      other.#elsewhere += items.filter((item) => item.owner === other).length;
      if (other.#queue.length === 0) other.#hold(false);
      taken.push(...items);
    }
    return taken;
  }

  /** Called on the owner when rows of its that another sender carried have landed or were given back. */
  #release(n: number): void {
    this.#elsewhere -= n;
    if (this.#elsewhere === 0) for (const resolve of this.#landed.splice(0)) resolve();
  }

  /**
   * Waits for the project's next departure: the first sender to linger sets it, and the others'
   * rows leave with that batch instead of each sender keeping a timer of its own. Returns at once
   * when woken (a reader flushing, a full batch) or when nothing is left to send.
   */
  async #linger(): Promise<void> {
    for (;;) {
      if (!this.#queue.length && !this.#bytesIn.length) return;
      const now = Date.now();
      let at = departures.get(this.projectId);
      if (at === undefined) departures.set(this.projectId, (at = now + lingerMs(holding.size)));
      if (at <= now || (await this.#sleep(at - now))) return;
      // The departure came; unless a batch left meanwhile (its sender cleared it), this one leaves.
      if (departures.get(this.projectId) === at) return;
    }
  }

  /** Sleeps `ms`; true if woken early. */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve(false);
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve(true);
      };
    });
  }

  async #drain(): Promise<void> {
    let failures = 0;
    while (this.#queue.length || this.#bytesIn.length) {
      if (!this.#flushing && this.#queue.length < MAX_BATCH) await this.#linger();
      // Another session's batch may have taken everything while this one lingered.
      if (!this.#queue.length && !this.#bytesIn.length) break;
      const own = this.#queue.slice(0, MAX_BATCH);
      this.#inFlight = own.length;
      const batch = [...own, ...this.#takeFromOthers(MAX_BATCH - own.length)];
      // Rows that come after this batch wait for a departure of their own.
      departures.delete(this.projectId);
      const figures = this.#bytesIn.slice();
      const records = batch.map((item) => {
        if (item.figure === undefined || !item.record.egress) return item.record;
        item.figureSent = true;
        return { ...item.record, egress: { ...item.record.egress, bytesIn: item.figure } };
      });
      try {
        const seqs = await this.actor().auditBatch(records, figures);
        this.#queue.splice(0, own.length);
        this.#bytesIn.splice(0, figures.length);
        failures = 0;
        batch.forEach((item, i) => {
          item.seq = seqs[i];
          if (item.seq !== undefined && item.figure !== undefined && !item.figureSent) {
            item.figureSent = true;
            this.#bytesIn.push([item.seq, item.figure]);
          }
        });
        this.#releaseOthers(batch);
      } catch {
        for (const item of batch) item.figureSent = false;
        // Rows taken from other sessions stay with this batch, to be retried with it: their own
        // sessions may be gone, and a stub must be used from the request that made it.
        this.#queue.splice(own.length, 0, ...batch.slice(own.length));
        // The actor was reset (a deploy, a restart): a fresh stub reaches its next incarnation.
        this.forgetActor();
        if (++failures >= ATTEMPTS) {
          const dropped = this.#queue.splice(0, batch.length);
          this.#bytesIn.splice(0, figures.length);
          this.#releaseOthers(dropped);
          console.error(`audit: ${dropped.length} leased call rows could not be delivered to the project actor`);
          failures = 0;
        }
      } finally {
        this.#inFlight = 0;
        if (this.#queue.length === 0) this.#hold(false);
      }
    }
  }

  /** Tells the owners of rows this sender carried for them that those rows are done with. */
  #releaseOthers(items: Item[]): void {
    const byOwner = new Map<AuditSender, number>();
    for (const item of items) if (item.owner !== this) byOwner.set(item.owner, (byOwner.get(item.owner) ?? 0) + 1);
    for (const [owner, n] of byOwner) owner.#release(n);
  }
}
