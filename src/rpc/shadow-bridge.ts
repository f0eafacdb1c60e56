// A client's shadow, as the actor reaches it: a Workers-RPC target in the front door that
// forwards each call to the client's capnweb stub, adding `next` (the layer beneath) as the
// last argument. It tells the actor which failures mean "the client went away" (shadow_broken)
// and which are the shadow's own answer (capability_failed).
import { RpcTarget, type RpcStub } from "capnweb";
import { CapstanError } from "../../core/errors";

type ClientShadow = Record<string, (...args: unknown[]) => Promise<unknown>>;

export class ShadowBridge extends RpcTarget {
  #broken = false;
  readonly #target: RpcStub<ClientShadow>;

  constructor(target: RpcStub<ClientShadow>, readonly name: string, onBroken: () => void) {
    super();
    // Params are released when the call that brought them returns; keep our own duplicate.
    this.#target = target.dup();
    this.#target.onRpcBroken(() => {
      this.#broken = true;
      onBroken();
    });
  }

  async invoke(method: string, args: unknown[], next: (...a: unknown[]) => Promise<unknown>): Promise<unknown> {
    if (this.#broken) throw new CapstanError("shadow_broken", `the session that installed the shadow of "${this.name}" is gone`);
    const passNext = (...a: unknown[]) => next(...a);
    try {
      const fn = this.#target[method] as unknown as (...a: unknown[]) => Promise<unknown>;
      return await fn(...args, passNext);
    } catch (err) {
      if (this.#broken) throw new CapstanError("shadow_broken", `the session that installed the shadow of "${this.name}" is gone`);
      const message = err instanceof Error ? err.message : String(err);
      throw new CapstanError("capability_failed", `the shadow of "${this.name}" failed: ${message}`);
    }
  }

  [Symbol.dispose](): void {
    this.#target[Symbol.dispose]();
  }
}
