// Carries the audit rows of leased calls (see leased-calls.ts) to the actor: one auditBatch RPC
// at a time, each taking every row that queued up meanwhile. The first row of a batch waits a
// few milliseconds for company, so that even one client calling in a tight loop shares an actor
// hop among many calls; a session's own audit() read flushes at once. The flush runs under
// waitUntil, so a session that ends does not cut it short.
import type { LeasedCallRecord } from "../../actors/audit";

type Actor = DurableObjectStub<import("../../actors/project-actor").ProjectActor>;

type Item = { record: LeasedCallRecord; figure?: number; figureSent?: boolean; seq?: number };

const MAX_BATCH = 500;
/** How long a row may wait for others before its batch leaves. */
const LINGER_MS = 10;
const ATTEMPTS = 3;

export class AuditSender {
  #queue: Item[] = [];
  /** Bytes-in figures for rows already in the log, by their sequence number. */
  #bytesIn: [number, number][] = [];
  #sending: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  /** Readers waiting on flushed(): while there are any, batches leave without lingering. */
  #flushing = 0;

  constructor(
    private actor: () => Actor,
    private forgetActor: () => void,
    private ctx: ExecutionContext,
  ) {}

  /**
   * Queues a leased call's row. `bytesIn` settles when a fetched body has been read to its end;
   * the figure follows the row to the actor in a later batch.
   */
  add(record: LeasedCallRecord, bytesIn?: Promise<number>): void {
    const item: Item = { record };
    this.#queue.push(item);
    // A figure that settles before its row leaves rides in the row; a later one follows it.
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

  #start(): void {
    if (this.#sending) return;
    this.#sending = this.#drain().finally(() => {
      this.#sending = null;
      // Work that arrived as the drain was ending (a bytes-in figure settling) starts the next.
      if (this.#queue.length || this.#bytesIn.length) this.#start();
    });
    this.ctx.waitUntil(this.#sending);
  }

  /** Resolves when every row added so far is in the actor's audit log (or was given up on). */
  async flushed(): Promise<void> {
    this.#flushing++;
    try {
      this.#wake?.();
      while (this.#sending) await this.#sending;
    } finally {
      this.#flushing--;
    }
  }

  #linger(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wake?.(), LINGER_MS);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  async #drain(): Promise<void> {
    let failures = 0;
    while (this.#queue.length || this.#bytesIn.length) {
      if (!this.#flushing && this.#queue.length < MAX_BATCH) await this.#linger();
      const batch = this.#queue.slice(0, MAX_BATCH);
      const figures = this.#bytesIn.slice();
      const records = batch.map((item) => {
        if (item.figure === undefined || !item.record.egress) return item.record;
        item.figureSent = true;
        return { ...item.record, egress: { ...item.record.egress, bytesIn: item.figure } };
      });
      try {
        const seqs = await this.actor().auditBatch(records, figures);
        this.#queue.splice(0, batch.length);
        this.#bytesIn.splice(0, figures.length);
        failures = 0;
        batch.forEach((item, i) => {
          item.seq = seqs[i];
          if (item.seq !== undefined && item.figure !== undefined && !item.figureSent) {
            item.figureSent = true;
            this.#bytesIn.push([item.seq, item.figure]);
          }
        });
      } catch {
        for (const item of batch) item.figureSent = false;
        // The actor was reset (a deploy, a restart): a fresh stub reaches its next incarnation.
        this.forgetActor();
        if (++failures >= ATTEMPTS) {
          this.#queue.splice(0, batch.length);
          this.#bytesIn.splice(0, figures.length);
          console.error(`audit: ${batch.length} leased call rows could not be delivered to the project actor`);
          failures = 0;
        }
      }
    }
  }
}
