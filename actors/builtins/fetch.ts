// The built-in `fetch` capability: hands the request, placeholders still raw, to the EgressPipe
// for this project. The project id in the pipe's props is the actor's own identity.
import { CapstanError } from "../../core/errors";
import { placeholderNames } from "../../core/placeholders";
import type { EgressMeta } from "../../isolates/egress-pipe";
import type { Builtin } from "./builtin";

export const fetchBuiltin: Builtin = {
  description: "Outbound HTTP through the EgressPipe: secret placeholders substituted, responses scrubbed.",
  methods: {
    async fetch(ctx, args, note) {
      const request = args[0];
      if (!(request instanceof Request)) throw new CapstanError("bad_request", "fetch expects a Request");
      note.egress = attemptMeta(request);
      const pipe = ctx.exports.EgressPipe({ props: { projectId: ctx.projectId } });
      const { response, meta } = await pipe.egress(request);
      note.egress = meta;
      return response;
    },
  },
};

/** What is known of an egress before the pipe answers, so a refusal is audited too. */
function attemptMeta(request: Request): EgressMeta {
  const url = new URL(request.url);
  const names = new Set(placeholderNames(decodeURIComponent(url.pathname + url.search)));
  for (const [, v] of request.headers) for (const n of placeholderNames(v)) names.add(n);
  return { method: request.method, host: url.host, path: url.pathname, status: 0, secrets: [...names] };
}
