// Built-in methods that need nothing but their arguments: no storage, no bindings, no I/O. The
// actor runs them as built-ins, and the front door may run them itself on a lease from the actor
// (actors/leases.ts), so their code lives here, where both sides can import it.

export type PureMethod = (args: unknown[]) => unknown;

export const PURE_CAPABILITIES: Readonly<Record<string, Readonly<Record<string, PureMethod>>>> = {
  ping: {
    echo: (args) => args[0],
  },
};
