// `ping`: answers with what it is given. A round-trip check for clients, and the call the
// benchmarks use to measure dispatch without any I/O behind it. Its method is pure
// (core/pure-capabilities.ts), so the front door may also run it on a lease.
import { PURE_CAPABILITIES } from "../../core/pure-capabilities";
import type { Builtin } from "./builtin";

const pure = PURE_CAPABILITIES.ping!;

export const pingBuiltin: Builtin = {
  description: "Answers with what it is given: a round-trip check.",
  methods: Object.fromEntries(Object.entries(pure).map(([name, fn]) => [name, async (_ctx, args) => fn(args)])),
};
