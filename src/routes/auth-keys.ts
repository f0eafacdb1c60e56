// API keys: mint (shown once), list (never the key or its hash), revoke.
import { mintApiKey, listApiKeys, revokeApiKey } from "../auth/api-keys";
import { requirePrincipal } from "../auth/principal";
import { viaOf } from "../auth/principal-types";
import { KeyIdParam, NewKeyBody } from "../auth/schemas";
import { json, readJson } from "../http";
import type { Router } from "../router";
import { parse } from "../schemas";

const NO_STORE = { "cache-control": "no-store" };

export function keyRoutes(router: Router, env: Env): Router {
  return router
    .on("POST", "/v1/keys", async (request) => {
      const who = await requirePrincipal(env, request);
      const body = parse(NewKeyBody, await readJson(request), "body");
      return json(await mintApiKey(env, who.userId, body.name, body.expiresAt, viaOf(who)), 201, NO_STORE);
    })
    .on("GET", "/v1/keys", async (request) => {
      const who = await requirePrincipal(env, request);
      return json(await listApiKeys(env, who.userId));
    })
    .on("DELETE", "/v1/keys/:id", async (request, p) => {
      const who = await requirePrincipal(env, request);
      await revokeApiKey(env, who.userId, parse(KeyIdParam, p.id, "id"), viaOf(who));
      return new Response(null, { status: 204 });
    });
}
