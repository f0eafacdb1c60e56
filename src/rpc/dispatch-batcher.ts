// Coalesces the dispatches one front-door isolate sends to one ProjectActor. Up to MAX_IN_FLIGHT
// actor RPCs run at once; calls that arrive while that many are outstanding wait and then go
// together as one dispatchMany() RPC. A lone call goes at once (no timer, no added latency);
// under load the actor hop, the expensive part of a call, is paid once per batch instead of
// once per call. Every call is still dispatched and audited by the actor one by one.
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
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...call, resolve, reject });
      this.#pump();
    });
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
    try {
      const calls = batch.map(({ capability, method, args, caller }) => ({ capability, method, args, caller }));
      const results = (await this.actor().dispatchMany(calls)) as Settled[];
      batch.forEach((c, i) => {
        const r = results[i]!;
        if (r.ok) c.resolve(r.value);
        else c.reject(asCapstanError(new Error(r.error)));
      });
    } catch (err) {
      const e = asCapstanError(err);
      for (const c of batch) c.reject(e);
    }
  }
}
