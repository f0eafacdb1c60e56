// Every auth route, mounted on the front door's router in one place.
import { addMember, listMembers, removeMember, setMemberRole } from "../auth/members";
import { requirePrincipal } from "../auth/principal";
import { AddMemberBody, SetRoleBody, UserIdParam } from "../auth/schemas";
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
  return router
    .on("GET", "/v1/projects/:id/members", async (request, p) => {
      const who = await requirePrincipal(env, request);
      return json(await listMembers(env, who, parse(ProjectId, p.id, "id")));
    })
    .on("POST", "/v1/projects/:id/members", async (request, p) => {
      const who = await requirePrincipal(env, request);
      const projectId = parse(ProjectId, p.id, "id");
      const body = parse(AddMemberBody, await readJson(request), "body");
      return json(await addMember(env, who, projectId, body.userId, body.role), 201);
    })
    .on("PUT", "/v1/projects/:id/members/:user", async (request, p) => {
      const who = await requirePrincipal(env, request);
      const projectId = parse(ProjectId, p.id, "id");
      const userId = parse(UserIdParam, p.user, "user");
      const body = parse(SetRoleBody, await readJson(request), "body");
      return json(await setMemberRole(env, who, projectId, userId, body.role));
    })
    .on("DELETE", "/v1/projects/:id/members/:user", async (request, p) => {
      const who = await requirePrincipal(env, request);
      await removeMember(env, who, parse(ProjectId, p.id, "id"), parse(UserIdParam, p.user, "user"));
      return new Response(null, { status: 204 });
    });
}
