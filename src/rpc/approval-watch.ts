// A client watching held requests, as the actor reaches it: a Workers-RPC target in the front
// door that forwards each event to the client's capnweb callback. When the client's session
// breaks, the watch is dropped from the actor; the handle the client holds closes it by hand.
import { RpcTarget, type RpcStub } from "capnweb";
import type { ApprovalEvent } from "../../actors/egress/approvals";

type Callback = (event: ApprovalEvent) => unknown;

export class ApprovalWatchBridge extends RpcTarget {
  readonly #callback: RpcStub<Callback>;
  constructor(callback: unknown, onBroken: () => void) {
    super();
    // Params are released when the call that brought them returns; keep our own duplicate.
    this.#callback = (callback as RpcStub<Callback>).dup();
    this.#callback.onRpcBroken(onBroken);
  }
  async notify(event: ApprovalEvent): Promise<void> {
    await this.#callback(event);
  }
}

export class ApprovalWatch extends RpcTarget {
  constructor(private watchId: string, private doClose: () => Promise<boolean>) {
    super();
  }
  get id(): string {
    return this.watchId;
  }
  async close(): Promise<void> {
    await this.doClose();
  }
}
