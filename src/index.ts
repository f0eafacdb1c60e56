// The Worker: the stateless front door as the default export, and the classes the runtime
// instantiates (the ProjectActor Durable Object and the egress-side entrypoints).
import { CapstanError } from "../core/errors";
import { withQueuedCookies } from "./auth/cookies";
import { errorResponse } from "./http";
import { MethodNotAllowed } from "./router";
import { httpRoutes } from "./routes/http-api";
import { rpcRoute } from "./routes/rpc";

export { ProjectActor } from "../actors/project-actor";
export { EgressPipe } from "../isolates/egress-pipe";
export { ProjectEgress } from "../isolates/project-egress";

export default {
  async fetch(request, env, ctx): Promise<Response> {
    try {
      const path = new URL(request.url).pathname;
      if (path === "/rpc") return withQueuedCookies(request, await rpcRoute(env, request, ctx));
      const m = httpRoutes(env).match(request);
      if (!m) throw new CapstanError("not_found", `no route for ${request.method} ${path}`);
      return withQueuedCookies(request, await m.handler(request, m.params));
    } catch (err) {
      const res = errorResponse(err);
      if (err instanceof MethodNotAllowed) res.headers.set("allow", err.allowed.join(", "));
      return withQueuedCookies(request, res);
    }
  },
} satisfies ExportedHandler<Env>;
