// `ping`: answers with what it is given. A round-trip check for clients, and the call the
// benchmarks use to measure dispatch without any I/O behind it.
import type { Builtin } from "./builtin";

export const pingBuiltin: Builtin = {
  description: "Answers with what it is given: a round-trip check.",
  methods: {
    async echo(_ctx, args) {
      return args[0];
    },
  },
};
