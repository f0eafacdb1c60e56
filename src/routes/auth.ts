// Every auth route, mounted on the front door's router in one place.
import { addMember } from "../auth/members";
import { requirePrincipal } from "../auth/principal";
import { AddMemberBody } from "../auth/schemas";
import { json, readJson } from "../http";
import type { Router } from "../router";
import { ProjectId, parse } from "../schemas";
import { internalAuthRoutes } from "./auth-internal";
import { keyRoutes } from "./auth-keys";
import { tokenRoutes } from "./auth-tokens";

export function authRoutes(router: Router, env: Env): Router {
  internalAuthRoutes(router, env);
  keyRoutes(router, env);
  tokenRoutes(router, env);
  return router.on("POST", "/v1/projects/:id/members", async (request, p) => {
    const who = await requirePrincipal(env, request);
    const projectId = parse(ProjectId, p.id, "id");
    const body = parse(AddMemberBody, await readJson(request), "body");
    return json(await addMember(env, who, projectId, body.userId, body.role), 201);
  });
}
