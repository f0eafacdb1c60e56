// project.cap(name): a stub whose methods are the capability's methods, each a dispatch. capnweb
// exposes an RpcTarget's prototype methods, so the class is made for the method list at hand.
import { RpcTarget } from "capnweb";

export function capabilityStub(methods: string[], call: (method: string, args: unknown[]) => Promise<unknown>): RpcTarget {
  class Capability extends RpcTarget {}
  for (const m of methods) {
    Object.defineProperty(Capability.prototype, m, {
      value: function (...args: unknown[]) {
        return call(m, args);
      },
    });
  }
  return new Capability();
}
