// Coalesces the dispatches one front-door isolate sends to one ProjectActor. Up to MAX_IN_FLIGHT
// actor RPCs run at once; calls that arrive while that many are outstanding wait and then go
// together as one dispatchMany() RPC. A lone call goes at once (no timer, no added latency);
// under load the actor hop, the expensive part of a call, is paid once per batch instead of
// once per call. Every call is still dispatched and audited by the actor one by one, and each
// is settled on its own as soon as it finishes (the actor calls back a BatchSink per call), so
// a slow call, such as a fetch held for approval, never delays the calls batched with it.
// `fetch` never joins a batch at all: a held fetch may wait for a minute, and should not hold
// one of the MAX_IN_FLIGHT slots that other calls queue behind.
import { RpcTarget } from "cloudflare:workers";
import type { Caller } from "../../actors/dispatch-types";
import { asCapstanError } from "../../core/errors";

type Actor = DurableObjectStub<import("../../actors/project-actor").ProjectActor>;
type Call = { capability: string; method: string; args: unknown[]; caller: Caller };
type Waiting = Call & { resolve: (v: unknown) => void; reject: (e: unknown) => void };
type Settled = { ok: true; value: unknown } | { ok: false; error: string };

const MAX_IN_FLIGHT = 4;
const MAX_BATCH = 128;

export class DispatchBatcher {
  #inFlight = 0;
  #queue: Waiting[] = [];

  constructor(private actor: () => Actor) {}

  dispatch(call: Call): Promise<unknown> {
    if (call.capability === "fetch") return this.#direct(call);
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...call, resolve, reject });
      this.#pump();
    });
  }

  async #direct(c: Call): Promise<unknown> {
    try {
      return await this.actor().dispatch(c.capability, c.method, c.args, c.caller);
    } catch (err) {
      throw asCapstanError(err);
    }
  }

  #pump(): void {
    while (this.#inFlight < MAX_IN_FLIGHT && this.#queue.length) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      this.#inFlight++;
      void this.#send(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  async #send(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) {
      const c = batch[0]!;
      try {
        c.resolve(await this.actor().dispatch(c.capability, c.method, c.args, c.caller));
      } catch (err) {
        c.reject(asCapstanError(err));
      }
      return;
    }
    const sink = new BatchSink(batch);
    try {
      const calls = batch.map(({ capability, method, args, caller }) => ({ capability, method, args, caller }));
      await this.actor().dispatchMany(calls, sink);
    } catch (err) {
      sink.fail(asCapstanError(err));
    }
  }
}

/** Where the actor reports each call of a batch as it finishes. */
export class BatchSink extends RpcTarget {
  #open: (Waiting | null)[];
  constructor(batch: Waiting[]) {
    super();
    this.#open = [...batch];
  }
  settle(i: number, r: Settled): void {
    const c = this.#open[i];
    if (!c) return;
    this.#open[i] = null;
    if (r.ok) c.resolve(r.value);
    else c.reject(asCapstanError(new Error(r.error)));
  }
  /** The batch's RPC failed: whatever was not settled fails with it. */
  fail(e: unknown): void {
    this.#open.forEach((c, i) => {
      if (c) c.reject(e);
      this.#open[i] = null;
    });
  }
}
