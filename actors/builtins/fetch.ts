// The built-in `fetch` capability: evaluates the project's egress policy (parking a held
// request until it is decided), then hands the request, placeholders still raw, to the
// EgressPipe for this project, with the policy so the pipe can re-check every redirect hop.
// The project id in the pipe's props is the actor's own identity.
import { decide } from "../../core/egress-policy";
import { CapstanError } from "../../core/errors";
import { attemptMeta, egressDenied } from "../../core/egress-attempt";
import { callerLabel } from "../audit";
import type { Builtin } from "./builtin";

export const fetchBuiltin: Builtin = {
  description: "Outbound HTTP through the EgressPipe: policy checked, secret placeholders substituted, responses scrubbed.",
  methods: {
    async fetch(ctx, args, note) {
      const request = args[0];
      if (!(request instanceof Request)) throw new CapstanError("bad_request", "fetch expects a Request");
      const meta = attemptMeta(request);
      note.egress = meta;
      const url = new URL(request.url);
      const policy = ctx.egress.policy();
      const d = decide(policy, url, request.method);
      let approved = false;
      if (d.action === "deny") {
        note.egress = { ...meta, decision: "deny" };
        throw egressDenied(request, d.reason);
      }
      if (d.action === "hold") {
        // The hold itself is a row of its own, written now: the final row comes when it is decided.
        ctx.egress.approvals.assertRoom();
        ctx.egress.auditHold({ ...meta, decision: "hold" });
        const { state, always } = await ctx.egress.approvals.hold(
          { method: request.method, host: meta.host, path: meta.path, secrets: meta.secrets, caller: note.caller ? callerLabel(note.caller) : "unknown" },
          policy.holdTimeoutMs,
        );
        note.egress = { ...meta, decision: state };
        if (state === "denied") throw new CapstanError("approval_denied", `${request.method} ${url.protocol}//${url.host}${url.pathname} was held for approval and denied`);
        if (state === "timed_out") throw new CapstanError("approval_timeout", `${request.method} ${url.protocol}//${url.host}${url.pathname} was held for approval and nobody answered within ${policy.holdTimeoutMs} ms`);
        if (always) await ctx.egress.allowAlways(url, request.method);
        approved = true;
      } else note.egress = { ...meta, decision: "allow" };
      const decision = note.egress.decision;
      const pipe = ctx.exports.EgressPipe({ props: { projectId: ctx.projectId } });
      let settle!: (bytes: number) => void;
      const bytesIn = new Promise<number>((resolve) => (settle = resolve));
      const { response, meta: sent } = await pipe.egress(request, { policy: ctx.egress.policy(), approved }, (bytes: number) => settle(bytes));
      note.egress = { ...sent, decision };
      note.bytesIn = bytesIn;
      return response;
    },
  },
};
